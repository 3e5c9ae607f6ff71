//! One exchange at the HTTP layer, independent of sockets: the bytes of a request head in, one
//! plain value out — the bytes to write, the file regions to send, whether to linger, what the
//! access line says. The socket side moves those bytes and builds no HTTP itself; the fuzz
//! targets and benches call the same functions.

use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use log::{debug, log_enabled, warn, Level};

pub use crate::files::body::{Piece, Source};
use crate::files::deploy::{FollowedRoot, HeldSite};
use crate::files::site::Site;
use crate::files::FileMemory;
use crate::http::access_log::{escape_for_log, AccessLog, AccessRecord};
use crate::http::added_fields::AddedFields;
use crate::http::date::Dates;
use crate::http::handler::respond;
use crate::http::head::{scan_head, HeadScan};
pub use crate::http::live::EventStream;
use crate::http::live::{is_stream_target, open_stream, Live};
use crate::http::request::{empty_field_slots, parse_request};
use crate::http::response::{write_response_head, Response, Status};
use crate::http::syntax::first_line;
use crate::http::RequestError;
use crate::limits::{INITIAL_HEAD_BUFFER, LIVE_STREAMS, MAX_HEAD_BYTES};

/// What is served, and how: the state every event loop shares.
pub struct Service {
    /// The tree opened at start, with its policies; what requests are answered from unless
    /// the root's path is followed.
    pub site: Site,
    /// The fields every response carries beyond the server's own (`--header`, `--cors`,
    /// `--cross-origin-isolation`), and whether CORS preflights are answered.
    pub added: AddedFields,
    /// Where access lines go, in which format, and whose forwarding fields to believe.
    pub access_log: AccessLog,
    /// With `--live-reload`: the events and streams every loop shares.
    pub live: Option<Arc<Live>>,
    /// The root's path, followed across deploys (`files::deploy`).
    pub deploys: Option<FollowedRoot>,
}

impl Service {
    /// The site with nothing added to its responses and no access log (benches, fuzzing);
    /// `Server::bind` sets both.
    pub fn new(site: Site) -> Service {
        Service::with_stream_cap(site, LIVE_STREAMS)
    }

    /// With at most `streams` live-reload streams open at once (when the site has live reload).
    pub fn with_stream_cap(site: Site, streams: usize) -> Service {
        let live = site.live_reload.then(|| Arc::new(Live::new(streams)));
        Service { site, added: AddedFields::default(), access_log: AccessLog::default(), live, deploys: None }
    }

    /// Serves whatever folder `path` (absolute) names as each request arrives, the site it
    /// was made with first. Where the path cannot be followed, that site is served as opened,
    /// with a warning.
    pub fn following(mut self, path: &Path) -> Service {
        match self.site.try_clone().and_then(|first| FollowedRoot::new(path, first)) {
            Ok(deploys) => {
                debug!("root: following {} across deploys", path.display());
                self.deploys = Some(deploys);
            }
            Err(e) => warn!(
                "root: {} will not be followed across deploys ({e}); serving the folder it names now",
                path.display()
            ),
        }
        self
    }
}

/// What the HTTP side keeps per event loop: formatted dates, the file cache, the sibling
/// memory. Owned by the loop and passed to every exchange, so nothing is shared or locked.
pub struct LoopState {
    pub(crate) dates: Dates,
    pub(crate) files: FileMemory,
    /// Access lines are being logged: build the request line...
    describe: bool,
    /// ...with `Referer` and `User-Agent`...
    agent: bool,
    /// ...and the forwarding fields (some peers are trusted proxies).
    forwarding: bool,
    /// The debug narration is on: describe what each request resolved to.
    narrate: bool,
    resolved: Option<String>,
    /// The tree this loop answers from when the root is followed (taken out while answering).
    held: Option<HeldSite>,
}

impl LoopState {
    /// Opens what the loop's file cache needs now, so a loop's fds are all open from its start.
    pub fn new(service: &Service) -> LoopState {
        let mut files = FileMemory::default();
        files.cache.prepare(&service.site);
        LoopState {
            dates: Dates::default(),
            files,
            describe: service.access_log.enabled(),
            agent: service.access_log.logs_agent(),
            forwarding: service.access_log.reads_forwarding(),
            narrate: log_enabled!(Level::Debug),
            resolved: None,
            held: service.deploys.as_ref().map(FollowedRoot::hold),
        }
    }

    /// Notes what the request resolved to, for the debug narration (formatted only then).
    pub(crate) fn note_resolved(&mut self, describe: impl FnOnce() -> String) {
        if self.narrate {
            self.resolved = Some(describe());
        }
    }
}

/// What the socket side sends for one request, and what its log says.
pub struct Transmission {
    /// Sent first, in one `send`: the response head, with the body's first piece when that is
    /// in memory.
    pub bytes: Vec<u8>,
    /// How many of `bytes` are the head.
    pub head_len: usize,
    /// What follows `bytes`, in order.
    pub rest: Vec<Piece>,
    /// Where `Piece::Region`s come from.
    pub source: Option<Source>,
    /// The client may still be sending (a body, pipelined bytes, a head that was refused
    /// before it ended): after the response, shut down writing and drain before closing.
    pub linger: bool,
    pub record: AccessRecord,
    /// A live-reload stream: once `bytes` and `rest` are sent the response goes on, with what
    /// the stream gives (`EventStream::poll`) on each timer tick, until either side closes.
    pub stream: Option<EventStream>,
}

/// A response decided on and not yet encoded: the request's bytes may still be in the buffer
/// the transmission will be written into.
struct Reply {
    response: Response,
    linger: bool,
    record: AccessRecord,
    stream: Option<EventStream>,
}

impl Reply {
    fn new(response: Response, linger: bool, record: AccessRecord) -> Reply {
        Reply { response, linger, record, stream: None }
    }

    /// Encodes the response into `bytes` (emptied first): the connection's own buffer, which
    /// received the head, so a small response costs no allocation of its own.
    fn encode(self, service: &Service, dates: &mut Dates, mut bytes: Vec<u8>) -> Transmission {
        let Reply { response, linger, mut record, stream } = self;
        record.status = response.status().code();
        record.refusal = response.refusal();
        // One send carries the head and a first piece that is in memory: room for both at
        // once (a head is 200–400 bytes).
        let first_len = match response.body().pieces.first() {
            Some(Piece::Bytes(first)) => Some(first.len()),
            Some(Piece::Region { offset, len }) => {
                response.body().source.as_ref().and_then(|s| s.memory_region(*offset, *len)).map(<[u8]>::len)
            }
            None => None,
        };
        bytes.clear();
        bytes.reserve(512 + first_len.unwrap_or(0));
        write_response_head(&mut bytes, &response, &service.added, dates);
        let head_len = bytes.len();
        let crate::files::body::Body { pieces, source } = response.into_body();
        let mut rest = pieces.into_iter();
        if first_len.is_some() {
            match rest.next() {
                Some(Piece::Bytes(first)) => bytes.extend_from_slice(&first),
                Some(Piece::Region { offset, len }) => bytes
                    .extend_from_slice(source.as_ref().and_then(|s| s.memory_region(offset, len)).unwrap_or_default()),
                None => {}
            }
        }
        Transmission { bytes, head_len, rest: rest.collect(), source, linger, record, stream }
    }
}

/// The head of one request as it arrives: bytes are received into the spare room it offers,
/// and after each receive it says whether the head is complete — and then what to send.
#[derive(Default)]
pub struct RequestReader {
    /// Exactly the bytes received so far; its spare capacity is where `recv` writes.
    buf: Vec<u8>,
    scanned: usize,
    /// The last receive filled all the room offered: more may be waiting.
    filled: bool,
}

impl RequestReader {
    /// Receives into `buffer` (emptied first): one a closed connection gave back, so its
    /// allocation serves the next (`socket::event_loop`).
    pub fn with_buffer(mut buffer: Vec<u8>) -> RequestReader {
        buffer.clear();
        RequestReader { buf: buffer, ..RequestReader::default() }
    }

    /// Gives back the buffer (received bytes and all) when the connection ends before its
    /// head was answered.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Nothing received yet: no request, so no response, is in flight.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn received(&self) -> &[u8] {
        &self.buf
    }

    /// Room for the next receive, growing to the head limit (one byte past it, so "too large"
    /// can be told from "exactly full"). Not zeroed: the kernel is about to fill it.
    pub fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
        if self.buf.len() == self.buf.capacity() {
            let size = (self.buf.capacity() * 2).clamp(INITIAL_HEAD_BUFFER, MAX_HEAD_BYTES + 1);
            self.buf.reserve_exact(size - self.buf.len());
        }
        let room = (MAX_HEAD_BYTES + 1).saturating_sub(self.buf.len());
        let spare = self.buf.spare_capacity_mut();
        let len = spare.len().min(room);
        &mut spare[..len]
    }

    /// Takes in `n` bytes just received into `spare()`.
    ///
    /// # Safety
    /// The first `n` bytes of the slice the last `spare()` returned must have been written.
    pub unsafe fn commit(&mut self, n: usize) {
        let room = (MAX_HEAD_BYTES + 1).saturating_sub(self.buf.len()).min(self.buf.capacity() - self.buf.len());
        debug_assert!(n <= room);
        self.filled = n == room;
        // SAFETY: the caller initialised these `n` (≤ room) bytes of the spare capacity.
        unsafe { self.buf.set_len(self.buf.len() + n) };
    }

    /// After a receive: `None` while the head is incomplete, else what to send (the answer,
    /// or the refusal of a head that broke a limit or can never become a request), written
    /// into this reader's buffer, which it no longer needs.
    pub fn answer(&mut self, service: &Service, state: &mut LoopState) -> Option<Transmission> {
        let reply = match scan_head(&self.buf, &mut self.scanned) {
            Ok(HeadScan::Incomplete) => return None,
            Ok(HeadScan::Complete(head_len)) => {
                // Bytes past the head, or a receive that filled the buffer, mean the client
                // sent (or is sending) more: a body or a pipelined request.
                let more_input = self.buf.len() > head_len || self.filled;
                reply(&self.buf[..head_len], more_input, service, state)
            }
            Err(error) => refusal(&self.buf, &error, state),
        };
        Some(reply.encode(service, &mut state.dates, self.take_buffer()))
    }

    /// The head did not arrive within the head deadline: 408.
    pub fn timed_out(&mut self, service: &Service, state: &mut LoopState) -> Transmission {
        self.refuse(&RequestError::HeadTimeout, service, state)
    }

    /// The connection cap is full and this head has made the least progress: 408 too (RFC
    /// 9110 §15.5.9: the server did not receive a complete request in the time it was
    /// prepared to wait), with its own reason in the log.
    pub fn evicted(&mut self, service: &Service, state: &mut LoopState) -> Transmission {
        self.refuse(&RequestError::Evicted, service, state)
    }

    fn refuse(&mut self, error: &RequestError, service: &Service, state: &mut LoopState) -> Transmission {
        refusal(&self.buf, error, state).encode(service, &mut state.dates, self.take_buffer())
    }

    /// The buffer, for the transmission, leaving a reader with nothing received, as new.
    fn take_buffer(&mut self) -> Vec<u8> {
        std::mem::take(self).buf
    }
}

/// Parses and checks a complete head, then answers it, encoded into `bytes` (emptied first).
/// A panic while answering becomes a 500 for this request alone.
pub fn answer(
    head_bytes: &[u8],
    more_input: bool,
    service: &Service,
    state: &mut LoopState,
    bytes: Vec<u8>,
) -> Transmission {
    reply(head_bytes, more_input, service, state).encode(service, &mut state.dates, bytes)
}

fn reply(head_bytes: &[u8], more_input: bool, service: &Service, state: &mut LoopState) -> Reply {
    let head_bytes = &*higher_minor_as_http11(head_bytes);
    let mut slots = empty_field_slots();
    let mut record = AccessRecord::default();
    state.resolved = None;
    let (response, linger) = match parse_request(head_bytes, &mut slots) {
        Ok(head) => {
            if state.describe {
                record.request_line =
                    Some(format!("{} {} {}", head.method_name, head.target, head.version.as_str()).into_bytes());
            }
            if state.agent {
                let first = |name| head.field_lines(name).next().map(<[u8]>::to_vec);
                record.referer = first("referer");
                record.user_agent = first("user-agent");
            }
            if state.forwarding {
                record.x_forwarded_for = head.field_list("x-forwarded-for").map(|v| v.into_owned());
                record.forwarded = head.field_list("forwarded").map(|v| v.into_owned());
            }
            if state.narrate {
                record.parsed = Some(format!(
                    "{} {} {} ({} fields)",
                    head.method_name,
                    escape_for_log(head.target),
                    head.version.as_str(),
                    head.fields.len()
                ));
            }
            if let Some(live) = service.live.as_ref().filter(|_| is_stream_target(head.target)) {
                let (response, stream) = open_stream(&head, live, state);
                record.resolved = state.resolved.take();
                return Reply { stream, ..Reply::new(response, more_input || head.has_body, record) };
            }
            // The tree is chosen once, now that the request is here: every file, folder and
            // index of this answer comes from it.
            let mut held = state.held.take();
            if let (Some(deploys), Some(held)) = (&service.deploys, &mut held) {
                deploys.refresh(held);
            }
            let site = held.as_ref().map_or(&service.site, |held| &*held.site);
            let response =
                catch_unwind(AssertUnwindSafe(|| respond(&head, service, site, state))).unwrap_or_else(|_| {
                    log::error!("panic while answering {}; sent 500", escape_for_log(head.target));
                    Response::error(Status::InternalServerError).because("panic while answering")
                });
            state.held = held;
            (response, more_input || head.has_body)
        }
        Err(error) => {
            if state.describe {
                record.request_line = Some(first_line(head_bytes).to_vec());
            }
            // Refused before it was understood: more input may follow.
            (refused_head(head_bytes, &error), true)
        }
    };
    record.resolved = state.resolved.take();
    Reply::new(response, linger, record)
}

/// The refusal of a head that is incomplete or broke a limit (414, 431, 408, an early 400).
fn refusal(received: &[u8], error: &RequestError, state: &LoopState) -> Reply {
    let record = AccessRecord {
        request_line: (state.describe && !received.is_empty()).then(|| b"-".to_vec()),
        ..AccessRecord::default()
    };
    Reply::new(refused_head(received, error), true, record)
}

/// The whole answer to a connection refused before it was read (over the connection cap, out
/// of file descriptors): `503` with `Retry-After`.
pub fn overloaded(service: &Service, state: &mut LoopState) -> Vec<u8> {
    let reply = Reply::new(Response::error(Status::ServiceUnavailable), false, AccessRecord::default());
    reply.encode(service, &mut state.dates, Vec::new()).bytes
}

/// The error response for a head that was refused (possibly before it was complete). A
/// HEAD request gets the head alone (RFC 9110 §9.3.2), as far as the request line tells.
fn refused_head(received: &[u8], error: &RequestError) -> Response {
    let response = Response::refused(error);
    if first_line(received).starts_with(b"HEAD ") {
        response.without_body()
    } else {
        response
    }
}

/// A whole exchange in memory: scans `bytes` for a head, answers it, and returns the bytes
/// the server would send (file regions are read from the file). For fuzzing and benches.
pub fn respond_to_bytes(bytes: &[u8], service: &Service, state: &mut LoopState) -> Vec<u8> {
    let mut scanned = 0;
    let reply = match scan_head(bytes, &mut scanned) {
        Ok(HeadScan::Complete(len)) => reply(&bytes[..len], false, service, state),
        Ok(HeadScan::Incomplete) => refusal(bytes, &RequestError::HeadTimeout, state),
        Err(error) => refusal(bytes, &error, state),
    };
    transmission_bytes(reply.encode(service, &mut state.dates, Vec::new()))
}

/// Every byte a transmission sends, file regions read from their file.
pub fn transmission_bytes(transmission: Transmission) -> Vec<u8> {
    let Transmission { mut bytes, rest, source, .. } = transmission;
    for piece in rest {
        match piece {
            Piece::Bytes(more) => bytes.extend_from_slice(&more),
            Piece::Region { offset, len } => match &source {
                Some(Source::File(file)) => {
                    let mut region = vec![0; len as usize];
                    if std::os::unix::fs::FileExt::read_exact_at(file, &mut region, offset).is_ok() {
                        bytes.extend_from_slice(&region);
                    }
                }
                Some(memory) => bytes.extend_from_slice(memory.memory_region(offset, len).unwrap_or_default()),
                None => {}
            },
        }
    }
    bytes
}

/// RFC 9110 §6.2: a recipient of a higher minor version of HTTP/1 (`HTTP/1.2`) treats the
/// message as if it were HTTP/1.1 — same major version, compatible syntax. httparse knows
/// only 1.0 and 1.1, so such a request line is handed to it as 1.1.
fn higher_minor_as_http11(head: &[u8]) -> Cow<'_, [u8]> {
    let line = first_line(head);
    match line {
        [.., b' ', b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() && *minor > b'1' => {
            let at = line.as_ptr() as usize - head.as_ptr() as usize + line.len() - 1;
            let mut patched = head.to_vec();
            patched[at] = b'1';
            Cow::Owned(patched)
        }
        _ => Cow::Borrowed(head),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_http1_minor_versions_are_read_as_http11() {
        assert_eq!(
            &*higher_minor_as_http11(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        assert!(matches!(higher_minor_as_http11(b"GET / HTTP/1.1\r\n\r\n"), Cow::Borrowed(_)));
        assert!(matches!(higher_minor_as_http11(b"GET / HTTP/2.0\r\n\r\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn refused_head_request_gets_no_body() {
        let response = refused_head(b"HEAD / HTTP/2.0\r\n", &RequestError::VersionNotSupported);
        assert_eq!(response.status(), Status::HttpVersionNotSupported);
        assert!(response.body().is_empty());
        assert!(!refused_head(b"GET / HTTP/2.0\r\n", &RequestError::VersionNotSupported).body().is_empty());
    }
}
