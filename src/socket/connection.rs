//! One connection's life at the transport layer: recv the head (with a deadline), hand it
//! to the HTTP side, send what it answers (with an idle timeout), then close — after a
//! lingering drain when the client may still be sending (RFC 9112 §9.6).
//!
//! Sockets are non-blocking: every step goes as far as the kernel allows and then returns
//! `Next::Wait`, so the event loop can park the connection and serve others. A connection
//! therefore never holds a thread while it waits for a slow client. It ends in one place,
//! `Connection::close`, which narrates and writes the access line.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use log::{debug, log_enabled, trace, warn, Level};

use crate::http::access_log::AccessRecord;
use crate::http::exchange::{EventStream, LoopState, Piece, RequestReader, Source, Transmission};
use crate::limits::{LINGER_IDLE, LINGER_MAX_BYTES, LINGER_TIME, LIVE_PENDING_BYTES, TIMER_TICK};
use crate::socket::sys;
use crate::socket::Shared;

/// What the event loop should do with the connection after a step.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Blocked on the peer: park it until readiness or its deadline.
    Wait,
    /// Finished or failed: `close` it.
    Close,
}

enum State {
    ReadingHead(RequestReader),
    Sending {
        out: Outgoing,
        linger: bool,
        stream: Option<EventStream>,
    },
    Lingering {
        started: Instant,
        drained: u64,
    },
    /// A live-reload stream: its head is sent; what the HTTP side's `EventStream` gives on
    /// each timer tick is sent as it comes, until the peer closes or the server stops.
    Streaming(Streaming),
}

struct Streaming {
    events: EventStream,
    /// Bytes given and not yet sent (the client is slow to read): at most `LIVE_PENDING_BYTES`.
    pending: Vec<u8>,
    sent: usize,
    /// When sending last made no progress, for the write timeout.
    stalled_since: Option<Instant>,
    /// Bytes the client sent on the stream, read and dropped.
    drained: u64,
}

pub struct Connection {
    id: u64,
    stream: TcpStream,
    peer: SocketAddr,
    accepted_at: Instant,
    /// When the current state gives up: head deadline, write idle timeout, linger idle.
    deadline: Instant,
    state: State,
    record: AccessRecord,
    body_sent: u64,
}

/// `conn 7 +85µs recv 78 bytes`: every narration line names the connection and the time
/// since it was accepted, so one request's path through the layers reads in order.
macro_rules! narrate {
    ($conn:expr, $($arg:tt)+) => {
        debug!("conn {} +{:?} {}", $conn.id, $conn.accepted_at.elapsed(), format_args!($($arg)+))
    };
}

impl Connection {
    /// `buffer` receives the head and then holds the first bytes sent (a later piece of the
    /// body may take its place): one a closed connection gave back (`close`), or a new one.
    pub fn new(
        id: u64,
        stream: TcpStream,
        peer: SocketAddr,
        shared: &Shared,
        now: Instant,
        buffer: Vec<u8>,
    ) -> Connection {
        let conn = Connection {
            id,
            stream,
            peer,
            accepted_at: now,
            deadline: now + shared.limits.head_timeout,
            state: State::ReadingHead(RequestReader::with_buffer(buffer)),
            record: AccessRecord::default(),
            body_sent: 0,
        };
        if log_enabled!(Level::Debug) {
            use std::os::fd::AsRawFd;
            narrate!(conn, "accepted from {peer} (fd {})", conn.stream.as_raw_fd());
        }
        conn
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Connected but has sent nothing yet: no request, so no response, is in flight.
    pub fn is_idle(&self) -> bool {
        matches!(&self.state, State::ReadingHead(reader) if reader.is_empty())
    }

    /// A live-reload stream (or about to become one): it never finishes by itself.
    pub fn is_stream(&self) -> bool {
        matches!(&self.state, State::Streaming(_) | State::Sending { stream: Some(_), .. })
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// While the head is still arriving: how many bytes of it came, and when the connection
    /// was accepted. `None` once a response is in flight (sending or lingering after it).
    pub fn head_progress(&self) -> Option<(usize, Instant)> {
        match &self.state {
            State::ReadingHead(reader) => Some((reader.received().len(), self.accepted_at)),
            _ => None,
        }
    }

    /// Makes room at the connection cap: answers the head received so far with the HTTP
    /// side's `408` in one non-blocking send (it fits any socket buffer), and shuts down
    /// writing; the caller then closes it. What the client already sent is read first, so
    /// the close does not turn into a reset that could destroy the 408.
    pub fn evict(&mut self, shared: &Shared, state: &mut LoopState) {
        let State::ReadingHead(reader) = &mut self.state else { return };
        narrate!(self, "evicted at the connection cap: {} head bytes since accept", reader.received().len());
        let transmission = reader.evicted(&shared.service, state);
        let mut sink = [0u8; 4096];
        for _ in 0..16 {
            if !matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {
                break;
            }
        }
        self.start_sending(shared, transmission);
        if let State::Sending { out, .. } = &mut self.state {
            let _ = out.write_to(&self.stream);
            self.body_sent = out.body_sent();
        }
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// The first step, right after accept. While `TCP_DEFER_ACCEPT` is on (`held`) the kernel
    /// queues a connection once data has arrived or after holding it for the defer time: one
    /// with nothing to read has been connected that long already, and its head deadline counts it.
    pub fn start(&mut self, shared: &Shared, state: &mut LoopState, held: Option<Duration>) -> Next {
        let next = self.on_ready(shared, state);
        if let (Next::Wait, true, Some(held)) = (&next, self.is_idle(), held) {
            narrate!(self, "arrived silent: the kernel held it {held:?} (TCP_DEFER_ACCEPT)");
            self.deadline = self.deadline.checked_sub(held).unwrap_or(self.deadline);
        }
        next
    }

    /// Drives the connection as far as the socket allows.
    pub fn on_ready(&mut self, shared: &Shared, state: &mut LoopState) -> Next {
        loop {
            let step = match &mut self.state {
                State::ReadingHead(_) => self.read_head(shared, state),
                State::Sending { .. } => self.send(shared),
                State::Lingering { .. } => return self.drain(),
                State::Streaming(_) => return self.stream_step(shared, Instant::now()),
            };
            match step {
                Step::Continue => continue,
                Step::Wait => return Next::Wait,
                Step::Close => return Next::Close,
            }
        }
    }

    /// Called when `deadline()` has passed.
    pub fn on_deadline(&mut self, shared: &Shared, state: &mut LoopState, now: Instant) -> Next {
        if now < self.deadline {
            return Next::Wait;
        }
        match &mut self.state {
            State::ReadingHead(reader) => {
                narrate!(self, "head deadline passed");
                let transmission = reader.timed_out(&shared.service, state);
                self.start_sending(shared, transmission);
                self.on_ready(shared, state)
            }
            State::Sending { .. } => {
                warn!(
                    "conn {} peer {}: no write progress for {:?}, closing",
                    self.id, self.peer, shared.limits.write_timeout
                );
                Next::Close
            }
            State::Lingering { drained, .. } => {
                narrate!(self, "linger over after draining {drained} bytes");
                Next::Close
            }
            State::Streaming(streaming) => {
                if streaming.stalled_since.is_some_and(|since| now >= since + shared.limits.write_timeout) {
                    warn!(
                        "conn {} peer {}: live-reload stream made no write progress for {:?}, closing",
                        self.id, self.peer, shared.limits.write_timeout
                    );
                    return Next::Close;
                }
                let State::Streaming(streaming) = &mut self.state else { return Next::Close };
                if let Some(bytes) = streaming.events.poll(now) {
                    if streaming.pending.len() - streaming.sent + bytes.len() > LIVE_PENDING_BYTES {
                        narrate!(self, "stream: the client reads nothing; closing");
                        return Next::Close;
                    }
                    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default().escape_ascii().to_string();
                    streaming.pending.extend_from_slice(&bytes);
                    narrate!(self, "stream: sending {} bytes ({first})", bytes.len());
                }
                self.stream_step(shared, now)
            }
        }
    }

    /// A stream's step: reads and drops what the client sends (its close ends the stream),
    /// then sends what is pending. Wakes again at the next timer tick, or when the socket can
    /// take more.
    fn stream_step(&mut self, shared: &Shared, now: Instant) -> Next {
        let State::Streaming(streaming) = &mut self.state else { return Next::Close };
        let mut sink = [0u8; 1024];
        loop {
            match (&self.stream).read(&mut sink) {
                Ok(0) => {
                    narrate!(self, "peer closed the stream");
                    return Next::Close;
                }
                Ok(n) => {
                    streaming.drained += n as u64;
                    if streaming.drained > LINGER_MAX_BYTES {
                        narrate!(self, "stream: the client sent more than {LINGER_MAX_BYTES} bytes; closing");
                        return Next::Close;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    narrate!(self, "stream: recv failed: {e}");
                    return Next::Close;
                }
            }
        }
        while streaming.sent < streaming.pending.len() {
            match sys::send_bytes(&self.stream, &streaming.pending[streaming.sent..], false) {
                Ok(n) => {
                    streaming.sent += n;
                    streaming.stalled_since = None;
                    self.body_sent += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let since = *streaming.stalled_since.get_or_insert(now);
                    self.deadline = since + shared.limits.write_timeout;
                    return Next::Wait;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    narrate!(self, "stream: send failed: {e}");
                    return Next::Close;
                }
            }
        }
        streaming.pending.clear();
        streaming.sent = 0;
        self.deadline = now + TIMER_TICK;
        Next::Wait
    }

    fn read_head(&mut self, shared: &Shared, state: &mut LoopState) -> Step {
        let State::ReadingHead(reader) = &mut self.state else { return Step::Close };
        loop {
            let n = match sys::recv_uninit(&self.stream, reader.spare()) {
                Ok(0) => {
                    let received = reader.received().len();
                    narrate!(self, "peer closed after sending {received} bytes of a head");
                    return Step::Close;
                }
                // SAFETY: recv wrote these `n` bytes at the start of the spare room.
                Ok(n) => unsafe {
                    reader.commit(n);
                    n
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    narrate!(self, "recv failed: {e}");
                    return Step::Close;
                }
            };
            narrate!(self, "recv {n} bytes");
            let received = reader.received();
            trace!("conn {} bytes received: \"{}\"", self.id, received[received.len() - n..].escape_ascii());
            if let Some(transmission) = reader.answer(&shared.service, state) {
                self.start_sending(shared, transmission);
                return Step::Continue;
            }
        }
    }

    /// Takes over what the HTTP side answered and starts sending it.
    fn start_sending(&mut self, shared: &Shared, transmission: Transmission) {
        let Transmission { bytes, head_len, rest, source, linger, record, stream } = transmission;
        if let Some(parsed) = &record.parsed {
            narrate!(self, "parsed {parsed}");
        }
        match (&record.resolved, record.refusal) {
            (Some(resolved), _) => narrate!(self, "resolved {resolved}"),
            (None, Some(why)) => narrate!(self, "refused: {why}"),
            (None, None) => {}
        }
        let body_len = rest.iter().map(Piece::len).sum::<u64>() + (bytes.len() - head_len) as u64;
        narrate!(self, "→ {} ({head_len} head bytes, {body_len} body bytes)", record.status);
        trace!("conn {} head as sent: \"{}\"", self.id, bytes[..head_len].escape_ascii());
        self.record = record;
        self.deadline = Instant::now() + shared.limits.write_timeout;
        let out = Outgoing {
            bytes,
            pos: 0,
            head_len,
            rest: rest.into_iter(),
            source,
            region: None,
            written: 0,
            sent_from_file: 0,
        };
        self.state = State::Sending { out, linger, stream };
    }

    fn send(&mut self, shared: &Shared) -> Step {
        let State::Sending { out, linger, stream } = &mut self.state else { return Step::Close };
        let result = out.write_to(&self.stream);
        self.body_sent = out.body_sent();
        match result {
            Ok(Progress::Done) => {
                let (written, from_file) = (out.written, out.sent_from_file);
                if from_file > 0 {
                    narrate!(self, "sent {} bytes (send {written}, sendfile {from_file})", written + from_file);
                } else {
                    narrate!(self, "sent {written} bytes (send)");
                }
                if let Some(events) = stream.take() {
                    narrate!(self, "stream open: parked; events are sent as they come");
                    let streaming = Streaming { events, pending: Vec::new(), sent: 0, stalled_since: None, drained: 0 };
                    self.state = State::Streaming(streaming);
                    return Step::Continue;
                }
                if !*linger {
                    return Step::Close;
                }
                // Lingering close: FIN our side, then read and discard what the client is
                // still sending until it closes too, so the kernel never answers that input
                // with RST while the response is in flight (RFC 9112 §9.6).
                narrate!(self, "shutdown(Write), draining what the client still sends");
                if self.stream.shutdown(Shutdown::Write).is_err() {
                    return Step::Close;
                }
                let now = Instant::now();
                self.deadline = now + LINGER_IDLE;
                self.state = State::Lingering { started: now, drained: 0 };
                Step::Continue
            }
            Ok(Progress::Blocked { progressed }) => {
                if progressed {
                    self.deadline = Instant::now() + shared.limits.write_timeout;
                }
                Step::Wait
            }
            Err(e) => {
                match e.kind() {
                    io::ErrorKind::UnexpectedEof => {
                        warn!("conn {} file changed size while being sent: {e}; closing", self.id)
                    }
                    _ => narrate!(self, "send failed: {e}"),
                }
                Step::Close
            }
        }
    }

    fn drain(&mut self) -> Next {
        let State::Lingering { started, drained } = &mut self.state else { return Next::Close };
        let mut sink = [0u8; 8192];
        loop {
            match self.stream.read(&mut sink) {
                Ok(0) => {
                    let drained = *drained;
                    narrate!(self, "peer closed; drained {drained} bytes");
                    return Next::Close;
                }
                Ok(n) => {
                    *drained += n as u64;
                    if *drained > LINGER_MAX_BYTES || started.elapsed() > LINGER_TIME {
                        let drained = *drained;
                        narrate!(self, "linger limit reached after {drained} bytes");
                        return Next::Close;
                    }
                    self.deadline = (Instant::now() + LINGER_IDLE).min(*started + LINGER_TIME);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Next::Close,
            }
        }
    }

    /// The one place a connection ends: `close()` (dropping the socket, which also takes it
    /// off the poller), the narration's last line, and the access line. Gives back the
    /// connection's buffer, for the next one.
    pub fn close(self, shared: &Shared) -> Vec<u8> {
        let elapsed: Duration = self.accepted_at.elapsed();
        let Connection { id, stream, peer, record, body_sent, state, .. } = self;
        drop(stream);
        debug!("conn {id} +{elapsed:?} closed");
        shared.service.access_log.write(&record, peer, body_sent, elapsed);
        match state {
            State::ReadingHead(reader) => reader.into_buffer(),
            State::Sending { out, .. } => out.bytes,
            State::Lingering { .. } | State::Streaming(_) => Vec::new(),
        }
    }
}

enum Step {
    Continue,
    Wait,
    Close,
}

enum Progress {
    Done,
    Blocked { progressed: bool },
}

/// The bytes still to send: the transmission's first bytes, then the rest of its pieces.
struct Outgoing {
    bytes: Vec<u8>,
    pos: usize,
    head_len: usize,
    rest: std::vec::IntoIter<Piece>,
    source: Option<Source>,
    /// The file region being sent with `sendfile`: (offset, bytes left).
    region: Option<(u64, u64)>,
    /// Bytes that went out with `send`, and with `sendfile` (or its stand-in).
    written: u64,
    sent_from_file: u64,
}

impl Outgoing {
    /// The next piece after `bytes` goes out from a file.
    fn file_region_follows(&self) -> bool {
        matches!(self.source, Some(Source::File(_)))
            && matches!(self.rest.as_slice().first(), Some(Piece::Region { .. }))
    }

    fn body_sent(&self) -> u64 {
        (self.written + self.sent_from_file).saturating_sub(self.head_len as u64)
    }

    /// Writes until done or the socket's buffer is full. After a short write the socket is
    /// asked whether it has room (`sys::room_to_send`) instead of being written to again just
    /// to hear `EAGAIN`: for `sendfile` that call cost 1.6–1.8 µs here (it reads 64 KiB of the
    /// page cache into its pipe before it finds the socket full), and it was half the
    /// `sendfile` calls of a 10 MiB download.
    fn write_to(&mut self, stream: &TcpStream) -> io::Result<Progress> {
        let mut progressed = false;
        loop {
            if self.pos < self.bytes.len() {
                // Bytes followed by a file region are pushed at once (see `sys::send_bytes`).
                let more = !self.file_region_follows();
                match sys::send_bytes(stream, &self.bytes[self.pos..], more) {
                    Ok(n) => {
                        self.pos += n;
                        self.written += n as u64;
                        progressed = true;
                        if self.pos < self.bytes.len() && !sys::room_to_send(stream) {
                            return Ok(Progress::Blocked { progressed });
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Blocked { progressed }),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            } else if let Some((offset, remaining)) = self.region {
                let Some(Source::File(file)) = &self.source else {
                    return Err(io::Error::other("file region without a file"));
                };
                match sys::send_region(stream, file, offset, remaining) {
                    Ok(0) => {
                        // Nothing could be read before the region's end: the file shrank.
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file truncated"));
                    }
                    Ok(n) => {
                        self.sent_from_file += n;
                        progressed = true;
                        self.region = if n == remaining { None } else { Some((offset + n, remaining - n)) };
                        if n < remaining && !sys::room_to_send(stream) {
                            return Ok(Progress::Blocked { progressed });
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Blocked { progressed }),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            } else {
                match self.rest.next() {
                    Some(Piece::Bytes(bytes)) => {
                        self.bytes = bytes;
                        self.pos = 0;
                    }
                    Some(Piece::Region { offset, len }) => match &self.source {
                        Some(memory @ Source::Memory(_)) => {
                            let bytes = memory
                                .memory_region(offset, len)
                                .ok_or_else(|| io::Error::other("region past the end of the bytes"))?;
                            self.bytes.clear();
                            self.bytes.extend_from_slice(bytes);
                            self.pos = 0;
                        }
                        _ => self.region = (len > 0).then_some((offset, len)),
                    },
                    None => return Ok(Progress::Done),
                }
            }
        }
    }
}
