//! One connection's life at the transport layer: recv the head (with a deadline), hand it
//! to the HTTP layer, send the response (with an idle timeout), then close — after a
//! lingering drain when the client may still be sending (RFC 9112 §9.6).
//!
//! Sockets are non-blocking: every step goes as far as the kernel allows and then returns
//! `Next::Wait`, so the event loop can park the connection on epoll and serve others. A
//! connection therefore never holds a thread while it waits for a slow client.

use std::fs::File;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Instant;

use log::{debug, info, log_enabled, warn, Level};

use crate::files::body::{Body, Piece, Source};
use crate::http::exchange::{answer_head, refuse_head};
use crate::http::head::{scan_head, HeadScan};
use crate::http::response::{write_response_head, Response};
use crate::http::RequestError;
use crate::limits::{LINGER_IDLE, LINGER_MAX_BYTES, LINGER_TIME, MAX_HEAD_BYTES};
use crate::server::Shared;

/// What the event loop should do with the connection after a step.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Blocked on the peer: park it on epoll until readiness or its deadline.
    Wait,
    /// Finished or failed: drop it (which closes the socket).
    Close,
}

/// The bytes of the head buffer a connection starts with; it grows to `MAX_HEAD_BYTES`.
const INITIAL_HEAD_BUFFER: usize = 2048;

enum State {
    /// `buf` holds exactly the bytes received so far; its spare capacity is where recv writes.
    ReadingHead {
        buf: Vec<u8>,
        scanned: usize,
    },
    Sending {
        out: Outgoing,
        linger: bool,
    },
    Lingering {
        started: Instant,
        drained: u64,
    },
}

/// What the access log line says about the request.
#[derive(Default)]
struct AccessRecord {
    request_line: Option<String>,
    status: u16,
    body_bytes: u64,
    /// Why the request was refused, for bad requests.
    refusal: Option<String>,
}

pub struct Connection {
    pub id: u64,
    stream: TcpStream,
    peer: SocketAddr,
    accepted_at: Instant,
    /// When the current state gives up: head deadline, write idle timeout, linger idle.
    deadline: Instant,
    state: State,
    access: AccessRecord,
}

impl Connection {
    pub fn new(id: u64, stream: TcpStream, peer: SocketAddr, shared: &Shared, now: Instant) -> Connection {
        debug!("conn {id} accepted from {peer} (fd {})", stream.as_raw_fd());
        Connection {
            id,
            stream,
            peer,
            accepted_at: now,
            deadline: now + shared.config.head_timeout,
            state: State::ReadingHead { buf: Vec::new(), scanned: 0 },
            access: AccessRecord::default(),
        }
    }

    pub fn stream_fd(&self) -> std::os::fd::RawFd {
        self.stream.as_raw_fd()
    }

    /// Connected but has sent nothing yet: no request, so no response, is in flight.
    pub fn is_idle(&self) -> bool {
        matches!(&self.state, State::ReadingHead { buf, .. } if buf.is_empty())
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The first step, right after accept. With `TCP_DEFER_ACCEPT` the kernel queues a
    /// connection once data has arrived or after holding it for the defer time: one with
    /// nothing to read has been connected that long already, and its head deadline counts it.
    pub fn start(&mut self, shared: &Shared) -> Next {
        let next = self.on_ready(shared);
        if let (Next::Wait, true, Some(held)) = (&next, self.is_idle(), shared.defer_accept) {
            debug!("conn {} arrived silent: the kernel held it {held:?} (TCP_DEFER_ACCEPT)", self.id);
            self.deadline = self.deadline.checked_sub(held).unwrap_or(self.deadline);
        }
        next
    }

    /// Drives the connection as far as the socket allows.
    pub fn on_ready(&mut self, shared: &Shared) -> Next {
        loop {
            let step = match &mut self.state {
                State::ReadingHead { .. } => self.read_head(shared),
                State::Sending { .. } => self.send(shared),
                State::Lingering { .. } => return self.drain(),
            };
            match step {
                Step::Continue => continue,
                Step::Wait => return Next::Wait,
                Step::Close => return Next::Close,
            }
        }
    }

    /// Called when `deadline()` has passed.
    pub fn on_deadline(&mut self, shared: &Shared, now: Instant) -> Next {
        if now < self.deadline {
            return Next::Wait;
        }
        match &self.state {
            State::ReadingHead { buf, .. } => {
                debug!("conn {} head deadline passed: 408", self.id);
                let response = refuse_head(buf, &RequestError::HeadTimeout);
                self.start_sending(shared, response, true);
                self.on_ready(shared)
            }
            State::Sending { .. } => {
                warn!(
                    "conn {} peer {}: no write progress for {:?}, closing",
                    self.id, self.peer, shared.config.write_timeout
                );
                Next::Close
            }
            State::Lingering { drained, .. } => {
                debug!("conn {} linger over after draining {drained} bytes", self.id);
                Next::Close
            }
        }
    }

    fn read_head(&mut self, shared: &Shared) -> Step {
        let State::ReadingHead { buf, scanned } = &mut self.state else { return Step::Close };
        loop {
            if buf.len() == buf.capacity() {
                // One byte past the limit, so "too large" can be told from "exactly full".
                let size = (buf.capacity() * 2).clamp(INITIAL_HEAD_BUFFER, MAX_HEAD_BYTES + 1);
                buf.reserve_exact(size - buf.len());
            }
            let room = (MAX_HEAD_BYTES + 1).saturating_sub(buf.len());
            let n = match recv_into_spare(&self.stream, buf, room) {
                Ok(0) => {
                    debug!("conn {} peer closed after sending {} bytes of a head", self.id, buf.len());
                    return Step::Close;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    debug!("conn {} recv failed: {e}", self.id);
                    return Step::Close;
                }
            };
            let read_filled_buffer = n == room || buf.len() == buf.capacity();
            debug!("conn {} recv {n} bytes", self.id);
            match scan_head(buf, scanned) {
                Ok(HeadScan::Incomplete) => continue,
                Ok(HeadScan::Complete(head_len)) => {
                    // Bytes past the head, or a read that filled the buffer, mean the client
                    // sent (or is sending) more: a body or a pipelined request.
                    let more_input = buf.len() > head_len || read_filled_buffer;
                    let buf = std::mem::take(buf);
                    self.answer(shared, &buf[..head_len], more_input);
                    return Step::Continue;
                }
                Err(error) => {
                    debug!("conn {} bad request head: {error}", self.id);
                    let response = refuse_head(buf, &error);
                    self.start_sending(shared, response, true);
                    return Step::Continue;
                }
            }
        }
    }

    /// Hands the complete head to the HTTP layer and starts sending its answer.
    fn answer(&mut self, shared: &Shared, head_bytes: &[u8], more_input: bool) {
        debug!("conn {} head complete after {:?} ({} bytes)", self.id, self.accepted_at.elapsed(), head_bytes.len());
        let log_access = log_enabled!(target: "rawserve::access", Level::Info);
        let answer = answer_head(head_bytes, &shared.site, log_access);
        if let Some(error) = &answer.error {
            debug!("conn {} bad request: {error}", self.id);
        }
        self.access.request_line = answer.request_line;
        self.start_sending(shared, answer.response, more_input || answer.expect_more_input);
    }

    fn start_sending(&mut self, shared: &Shared, mut response: Response, linger: bool) {
        self.access.status = response.status.code();
        self.access.refusal = response.refusal.take();
        if let State::ReadingHead { buf, .. } = &self.state {
            if self.access.request_line.is_none() && !buf.is_empty() {
                self.access.request_line = Some("-".to_string());
            }
        }
        debug!(
            "conn {} {} → {} {} ({} body bytes)",
            self.id,
            self.access.request_line.as_deref().unwrap_or("(no request)"),
            response.status.code(),
            response.status.reason(),
            response.content_length
        );
        self.deadline = Instant::now() + shared.config.write_timeout;
        self.state = State::Sending { out: Outgoing::new(response), linger };
    }

    fn send(&mut self, shared: &Shared) -> Step {
        let State::Sending { out, linger } = &mut self.state else { return Step::Close };
        let result = out.write_to(&self.stream);
        self.access.body_bytes = out.body_sent();
        match result {
            Ok(Progress::Done) => {
                debug!("conn {} sent {} bytes in {:?}", self.id, out.sent, self.accepted_at.elapsed());
                if !*linger {
                    debug!("conn {} client sent nothing beyond its head: close at once", self.id);
                    return Step::Close;
                }
                // Lingering close: FIN our side, then read and discard what the client is
                // still sending until it closes too, so the kernel never answers that input
                // with RST while the response is in flight (RFC 9112 §9.6).
                debug!("conn {} shutdown(Write), draining input", self.id);
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
                    self.deadline = Instant::now() + shared.config.write_timeout;
                }
                Step::Wait
            }
            Err(e) => {
                match e.kind() {
                    io::ErrorKind::UnexpectedEof => {
                        warn!("conn {} file changed size while being sent: {e}; closing", self.id)
                    }
                    _ => debug!("conn {} send failed: {e}", self.id),
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
                    debug!("conn {} peer closed; drained {drained} bytes", self.id);
                    return Next::Close;
                }
                Ok(n) => {
                    *drained += n as u64;
                    if *drained > LINGER_MAX_BYTES || started.elapsed() > LINGER_TIME {
                        debug!("conn {} linger limit reached after {drained} bytes", self.id);
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
}

impl Drop for Connection {
    fn drop(&mut self) {
        let elapsed = self.accepted_at.elapsed();
        debug!("conn {} closed after {elapsed:?}", self.id);
        if let Some(request_line) = &self.access.request_line {
            let refusal = self.access.refusal.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
            // Milliseconds with one decimal, from integers (float formatting costs more).
            let tenths = elapsed.as_micros() / 100;
            info!(
                target: "rawserve::access",
                "{} \"{}\" {} {} {}.{}ms{refusal}",
                self.peer,
                request_line,
                self.access.status,
                self.access.body_bytes,
                tenths / 10,
                tenths % 10
            );
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

/// The bytes still to send: the head (with the body's first piece when it is in memory),
/// then the body's pieces.
struct Outgoing {
    buf: Vec<u8>,
    pos: usize,
    head_len: usize,
    pieces: std::vec::IntoIter<Piece>,
    source: Option<Source>,
    /// The file region being sent with `sendfile`: (offset, bytes left).
    region: Option<(u64, u64)>,
    sent: u64,
}

impl Outgoing {
    fn new(mut response: Response) -> Outgoing {
        let Body { pieces, source } = std::mem::take(&mut response.body);
        let mut pieces = if response.send_body { pieces } else { Vec::new() }.into_iter();
        let first = match pieces.as_slice().first() {
            Some(Piece::Bytes(bytes)) => Some(bytes.as_slice()),
            Some(Piece::Region { offset, len }) => source.as_ref().and_then(|s| s.memory_region(*offset, *len)),
            None => None,
        };
        // One send carries the head and a first piece that is in memory.
        let mut buf = Vec::with_capacity(256 + first.map_or(0, <[u8]>::len));
        write_response_head(&mut buf, &response);
        let head_len = buf.len();
        if let Some(first) = first {
            buf.extend_from_slice(first);
            pieces.next();
        }
        Outgoing { buf, pos: 0, head_len, pieces, source, region: None, sent: 0 }
    }

    /// The next piece after the bytes in `buf` goes out with `sendfile`.
    fn file_region_follows(&self) -> bool {
        matches!(self.source, Some(Source::File(_)))
            && matches!(self.pieces.as_slice().first(), Some(Piece::Region { .. }))
    }

    fn body_sent(&self) -> u64 {
        self.sent.saturating_sub(self.head_len as u64)
    }

    /// Writes until done or the socket's buffer is full.
    fn write_to(&mut self, stream: &TcpStream) -> io::Result<Progress> {
        let mut progressed = false;
        loop {
            if self.pos < self.buf.len() {
                let more = !self.file_region_follows();
                match send_bytes(stream, &self.buf[self.pos..], more) {
                    Ok(n) => {
                        self.pos += n;
                        self.sent += n as u64;
                        progressed = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Blocked { progressed }),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            } else if let Some((offset, remaining)) = self.region {
                let Some(Source::File(file)) = &self.source else {
                    return Err(io::Error::other("file region without a file"));
                };
                match send_file(stream, file, offset, remaining) {
                    Ok(0) => {
                        // sendfile read nothing before the region's end: the file shrank.
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file truncated"));
                    }
                    Ok(n) => {
                        self.sent += n;
                        progressed = true;
                        self.region = if n == remaining { None } else { Some((offset + n, remaining - n)) };
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Blocked { progressed }),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            } else {
                match self.pieces.next() {
                    Some(Piece::Bytes(bytes)) => {
                        self.buf = bytes;
                        self.pos = 0;
                    }
                    Some(Piece::Region { offset, len }) => match &self.source {
                        Some(memory @ Source::Memory(_)) => {
                            let bytes = memory
                                .memory_region(offset, len)
                                .ok_or_else(|| io::Error::other("region past the end of the bytes"))?;
                            self.buf.clear();
                            self.buf.extend_from_slice(bytes);
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

/// `recv` into the spare capacity of `buf` (at most `limit` bytes): no zeroing of a buffer
/// that the kernel is about to fill.
fn recv_into_spare(stream: &TcpStream, buf: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(limit);
    // SAFETY: the pointer and length describe writable memory owned by `buf`.
    let n = unsafe { libc::recv(stream.as_raw_fd(), spare.as_mut_ptr().cast(), len, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel initialised the first `n` (≤ len) bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + n as usize) };
    Ok(n as usize)
}

/// `send` with `MSG_NOSIGNAL` (a closed peer is an error, not SIGPIPE), and `MSG_MORE` when
/// what follows is more bytes or, at the end, `close()`/`shutdown()`: the FIN then rides on
/// the last data segment, one segment fewer per connection. Bytes followed by a `sendfile`
/// region (a large file's head) are pushed at once instead, as nginx does: corked in front
/// of the file's pages they made the kernel cut a 10 MiB response into 333 segments instead
/// of 265, and clients got 5–15 % fewer MiB/s (64 KiB and 10 MiB files, wrk and oha).
fn send_bytes(stream: &TcpStream, bytes: &[u8], more: bool) -> io::Result<usize> {
    let flags = libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 };
    // SAFETY: the pointer and length describe a live slice.
    let n = unsafe { libc::send(stream.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// `sendfile(2)`: file bytes go from the page cache to the socket without a copy through
/// user space. Returns 0 only at the file's end.
fn send_file(stream: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<u64> {
    let mut off = offset as libc::off_t;
    // The kernel moves at most 0x7ffff000 bytes per call.
    let count = len.min(0x7fff_f000) as usize;
    // SAFETY: both fds are open for the call; `off` is a valid in/out offset.
    let n = unsafe { libc::sendfile(stream.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as u64)
}
