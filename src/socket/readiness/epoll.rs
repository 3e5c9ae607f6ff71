//! Readiness on Linux: a thin, safe wrapper over `epoll(7)`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::Interest;

fn flags(interest: Interest) -> u32 {
    (match interest {
        // Only one of the loops waiting on the listener is woken per new connection (no
        // thundering herd); level-triggered, so a connection left in the backlog is reported again.
        Interest::Listener => libc::EPOLLIN | libc::EPOLLEXCLUSIVE,
        // Edge triggering is safe because every handler reads until EAGAIN and writes until
        // EAGAIN or a short write the socket says it has no room after (`sys::room_to_send`).
        Interest::Connection => libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET,
        Interest::Wake => libc::EPOLLIN,
    }) as u32
}

pub struct Poller {
    epoll: OwnedFd,
}

/// Where `Poller::wait` puts what it saw.
pub struct Events {
    list: Vec<libc::epoll_event>,
    len: usize,
}

impl Events {
    pub fn with_capacity(capacity: usize) -> Events {
        Events { list: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)], len: 0 }
    }

    pub fn tokens(&self) -> impl Iterator<Item = u64> + '_ {
        self.list[..self.len].iter().map(|event| event.u64)
    }
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh fd owned by nobody else.
        Ok(Poller { epoll: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    pub fn add(&self, source: &impl AsFd, token: u64, interest: Interest) -> io::Result<()> {
        let mut event = libc::epoll_event { events: flags(interest), u64: token };
        let fd = source.as_fd().as_raw_fd();
        // SAFETY: valid fds and a valid event struct for the call's duration.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) })
    }

    pub fn delete(&self, source: &impl AsFd) -> io::Result<()> {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        let fd = source.as_fd().as_raw_fd();
        // SAFETY: as in `add`; the event is ignored for DEL but must be non-null on old kernels.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut event) })
    }

    /// Waits for events; `None` waits forever.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let timeout_ms = match timeout {
            None => -1,
            // Round up so a deadline 0.3 ms away does not become a busy 0 ms poll.
            Some(t) => t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32,
        };
        events.len = 0;
        let capacity = events.list.len().min(i32::MAX as usize) as i32;
        // SAFETY: the buffer is valid for `capacity` entries.
        let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), events.list.as_mut_ptr(), capacity, timeout_ms) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        events.len = n as usize;
        Ok(())
    }
}

fn cvt(result: libc::c_int) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
