//! Readiness: which sockets can make progress now. One interface, one implementation per
//! system, chosen at compile time: `epoll(7)` on Linux, `kqueue(2)` on macOS and FreeBSD.
//!
//! What every implementation promises (the event loop relies on nothing else):
//! - `Interest::Listener` is reported while connections wait to be accepted (level-triggered).
//!   On Linux only one of the loops waiting on the listener is woken per connection
//!   (`EPOLLEXCLUSIVE`); kqueue wakes every loop, and all but one find nothing to accept.
//! - `Interest::Connection` is reported when the socket becomes readable or writable or the
//!   peer hangs up, edge-triggered: a handler reads or writes until `WouldBlock`, then waits.
//!   Registering both directions at once means switching from reading to writing costs no
//!   syscall.
//! - `Interest::Wake` (the `Waker`) is level-triggered: once woken, it is reported to every
//!   loop at every wait.
//! - Tokens come back exactly as given; one wait may report a token twice (kqueue reports
//!   reading and writing as two events). Closing a socket removes it from the poller.
//!
//! Sources are anything with a file descriptor (`AsFd`), so no raw fd or libc struct appears
//! in this interface.

use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};

#[cfg(target_os = "linux")]
mod epoll;
#[cfg(target_os = "linux")]
pub use epoll::{Events, Poller};

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
mod kqueue;
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub use kqueue::{Events, Poller};

/// What a registration waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// A listening socket: connections to accept.
    Listener,
    /// A connection: readable, writable or hung up (edge-triggered).
    Connection,
    /// The waker: shutdown has begun.
    Wake,
}

/// A pipe whose read end becomes readable, and stays readable, once `wake` is called: every
/// event loop registers it, so one call reaches all of them. A pipe, not Linux's eventfd,
/// because every system has one and this is not on any per-request path.
pub struct Waker {
    read: io::PipeReader,
    write: io::PipeWriter,
}

impl Waker {
    pub fn new() -> io::Result<Waker> {
        // std creates both ends close-on-exec.
        let (read, write) = io::pipe()?;
        Ok(Waker { read, write })
    }

    /// Makes the read end readable for good (nothing ever reads it). A pipe holds far more
    /// than the one byte each shutdown writes, so this never blocks.
    pub fn wake(&self) {
        let _ = (&self.write).write(&[1]);
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}
