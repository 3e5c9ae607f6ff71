//! accept(): takes connections off the listening socket. It never dies: every error is
//! either expected and survived, or logged and survived.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use log::{debug, error, info, warn};

use crate::http::exchange::{overloaded, LoopState};
use crate::limits::BURST_QUIET;
use crate::socket::sys::{accept_nonblocking, replace_fd};
use crate::socket::Shared;

/// What one `accept4` gave.
pub enum Accepted {
    /// A connection, with when it was accepted and whether it came over the in-flight cap
    /// (then it is not counted: the event loop evicts one of its own connections to make
    /// room for it, or answers it with `refuse_over_cap`).
    Connection { stream: TcpStream, peer: SocketAddr, at: Instant, over_cap: bool },
    /// A connection lost before it was ours, or answered 503 with the spare fd: go on.
    Skipped,
    /// The backlog is empty (EAGAIN): wait for the next readiness.
    Idle,
    /// Out of fds or memory: stop accepting for `ACCEPT_PAUSE`, leaving the kernel's
    /// backlog to hold the clients.
    Pause,
}

/// Takes one connection off the listener. The event loop serves it before taking the next,
/// so at one client at a time the `accept4` that finds the backlog empty comes after the
/// answer, not before it (`benches/results/single-connection-2026-12-03.md`).
pub fn accept_one(shared: &Shared, state: &mut LoopState) -> Accepted {
    match accept_nonblocking(&shared.listener) {
        Ok((stream, peer)) => {
            if let Some(failures) = shared.fd_exhaustion.ended() {
                info!("file descriptors available again after {failures} accept failures");
            }
            let in_flight = shared.in_flight.fetch_add(1, Ordering::Relaxed);
            let over_cap = in_flight >= shared.limits.max_connections;
            if over_cap {
                shared.in_flight.fetch_sub(1, Ordering::Relaxed);
            } else {
                if let Some(refused) = shared.overloaded.ended() {
                    info!("below the connection cap again after refusing {refused} connections");
                }
                if let Some(evicted) = shared.evicted.ended() {
                    info!("below the connection cap again after evicting {evicted} slow heads");
                }
            }
            Accepted::Connection { stream, peer, at: Instant::now(), over_cap }
        }
        Err(e) => match e.raw_os_error() {
            Some(libc::EAGAIN) => Accepted::Idle,
            // The client gave up between SYN and accept, a signal, a firewall verdict,
            // a protocol error on one connection: nothing to do with the next one.
            Some(code) if lost_one_connection(code) => {
                debug!("accept: {e} (one connection lost, going on)");
                Accepted::Skipped
            }
            Some(libc::EMFILE | libc::ENFILE) => {
                if shared.fd_exhaustion.failed() {
                    warn!("accept: {e}: out of file descriptors; answering 503 with a spare fd until some close");
                }
                match refuse_with_spare_fd(shared, state) {
                    SpareRefusal::Refused => Accepted::Skipped,
                    // Linux takes the new fd before it looks at the backlog, so EMFILE also
                    // comes with nobody waiting: right after serving the connection that took
                    // the last fd, say.
                    SpareRefusal::NobodyWaiting => Accepted::Idle,
                    SpareRefusal::NoSpare => Accepted::Pause,
                }
            }
            Some(libc::ENOBUFS | libc::ENOMEM) => {
                warn!("accept: {e}: pausing");
                Accepted::Pause
            }
            // Shutdown has closed the listener.
            Some(libc::EINVAL) if shared.stopping.load(Ordering::Relaxed) => Accepted::Idle,
            _ => {
                error!("accept: unexpected error {e}; pausing and going on");
                Accepted::Pause
            }
        },
    }
}

/// A connection over the cap for which no connection could be evicted (all have a response
/// in flight, or are younger than `EVICTION_MIN_AGE`): `503` at once.
pub fn refuse_over_cap(shared: &Shared, stream: &TcpStream, state: &mut LoopState) {
    if shared.overloaded.failed() {
        warn!(
            "{} connections in flight, the cap, and none to evict: answering 503 until some finish (--max-connections)",
            shared.limits.max_connections
        );
    }
    refuse(stream, shared, state);
}

/// Counts an eviction at the cap; logs the first of a burst.
pub fn note_eviction(shared: &Shared) {
    if shared.evicted.failed() {
        warn!(
            "{} connections in flight, the cap: evicting the slowest heads (408) to serve new clients (--max-connections)",
            shared.limits.max_connections
        );
    }
}

/// The client gave up between SYN and accept, a signal, a firewall verdict, a protocol error
/// on one connection (Linux reports pending network errors through accept): nothing to do
/// with the next one.
fn lost_one_connection(code: i32) -> bool {
    let common = [
        libc::ECONNABORTED,
        libc::EINTR,
        libc::EPROTO,
        libc::EPERM,
        libc::ENETDOWN,
        libc::ENOPROTOOPT,
        libc::EHOSTDOWN,
        libc::EHOSTUNREACH,
        libc::EOPNOTSUPP,
        libc::ENETUNREACH,
    ];
    #[cfg(target_os = "linux")]
    if code == libc::ENONET {
        return true;
    }
    common.contains(&code)
}

/// Failures of one kind (over the cap, out of fds) are logged once per burst: at the first,
/// and when the burst is over — after `BURST_QUIET` (1 s) without one, so clients that come and
/// go during an overload do not turn "once per burst" into "once per failure".
#[derive(Default)]
pub struct Burst {
    failures: AtomicU64,
    /// When the last failure happened, in milliseconds since `EPOCH`.
    last_failure_ms: AtomicU64,
}

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Milliseconds on a clock that starts well above zero, so "a second ago" always exists.
fn now_ms() -> u64 {
    1_000_000 + EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

impl Burst {
    /// Counts a failure; true when it starts a burst (log it).
    pub fn failed(&self) -> bool {
        self.last_failure_ms.store(now_ms(), Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// After a success: `Some(failures)` once, when a burst has ended.
    pub fn ended(&self) -> Option<u64> {
        if self.failures.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let quiet = now_ms().saturating_sub(self.last_failure_ms.load(Ordering::Relaxed));
        if quiet < BURST_QUIET.as_millis() as u64 {
            return None;
        }
        Some(self.failures.swap(0, Ordering::Relaxed)).filter(|n| *n > 0)
    }
}

/// An fd held in reserve for answering 503 when the process is out of fds (nginx's trick).
/// What it refers to does not matter, only the slot it holds: it is a duplicate of the
/// waker's fd, which needs no path (a chroot without `/dev` has no `/dev/null`).
pub struct SpareFd {
    fd: Mutex<Option<OwnedFd>>,
    /// Lost to another thread's accept or open (it took the slot freed for a refusal):
    /// taken back the next time a connection closes.
    missing: AtomicBool,
}

impl SpareFd {
    pub fn new(source: BorrowedFd<'_>) -> SpareFd {
        let fd = source.try_clone_to_owned().ok();
        SpareFd { missing: AtomicBool::new(fd.is_none()), fd: Mutex::new(fd) }
    }

    /// Called when a connection has closed and freed its fds.
    pub fn restore_if_missing(&self, source: BorrowedFd<'_>) {
        if self.missing.load(Ordering::Relaxed) {
            if let Ok(mut spare) = self.fd.lock() {
                if spare.is_none() {
                    *spare = source.try_clone_to_owned().ok();
                }
                self.missing.store(spare.is_none(), Ordering::Relaxed);
            }
        }
    }
}

/// What `refuse_with_spare_fd` did.
enum SpareRefusal {
    /// A waiting client got its 503, and the spare is back.
    Refused,
    /// The backlog was empty (or another loop took the freed slot first): nobody to refuse.
    NobodyWaiting,
    /// No spare to make room with.
    NoSpare,
}

/// EMFILE: close the spare to make room, accept the waiting connection into that slot,
/// answer 503, then make the slot the spare again with `replace_fd` (`dup3`) over the refused
/// socket's fd (which closes the socket, its 503 and FIN already queued): the slot is never
/// free for another thread to take. The client gets an answer instead of hanging in the
/// backlog.
fn refuse_with_spare_fd(shared: &Shared, state: &mut LoopState) -> SpareRefusal {
    let spare_fd = &shared.spare_fd;
    let Ok(mut spare) = spare_fd.fd.lock() else { return SpareRefusal::NoSpare };
    let Some(held) = spare.take() else { return SpareRefusal::NoSpare };
    drop(held);
    let refusal = match accept_nonblocking(&shared.listener) {
        Ok((stream, _)) => {
            refuse(&stream, shared, state);
            *spare = replace_fd(shared.waker.as_fd(), OwnedFd::from(stream)).ok();
            SpareRefusal::Refused
        }
        Err(_) => {
            *spare = shared.waker.as_fd().try_clone_to_owned().ok();
            SpareRefusal::NobodyWaiting
        }
    };
    spare_fd.missing.store(spare.is_none(), Ordering::Relaxed);
    match refusal {
        SpareRefusal::Refused if spare.is_none() => SpareRefusal::NoSpare,
        refusal => refusal,
    }
}

/// Sends the HTTP side's `503 Service Unavailable` (with `Retry-After`) and closes, without
/// waiting on the client: what it already sent is read so the close does not turn into a reset.
fn refuse(mut stream: &TcpStream, shared: &Shared, state: &mut LoopState) {
    let mut sink = [0u8; 4096];
    let _ = io::Read::read(&mut stream, &mut sink);
    let _ = io::Write::write(&mut stream, &overloaded(&shared.service, state));
    let _ = stream.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_reported_once_and_ends_after_quiet() {
        let burst = Burst::default();
        assert!(burst.failed());
        assert!(!burst.failed());
        assert_eq!(burst.ended(), None, "not quiet long enough yet");
        assert!(!burst.failed(), "still the same burst");
        burst.last_failure_ms.store(now_ms().saturating_sub(2000), Ordering::Relaxed);
        assert_eq!(burst.ended(), Some(3));
        assert_eq!(burst.ended(), None);
        assert!(burst.failed(), "a new burst");
    }
}
