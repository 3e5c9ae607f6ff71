//! Readiness on macOS and FreeBSD: a thin, safe wrapper over `kqueue(2)`. Compiled and
//! linted for those targets by CI (`cargo clippy --target …`); it cannot run on Linux.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::Interest;

// Tokens travel in `udata`, a pointer-sized field: 64-bit systems carry all 64 bits.
const _: () = assert!(std::mem::size_of::<usize>() == 8, "kqueue tokens need 64-bit pointers");

pub struct Poller {
    kqueue: OwnedFd,
}

/// Where `Poller::wait` puts what it saw.
pub struct Events {
    list: Vec<libc::kevent>,
    len: usize,
}

fn empty_kevent() -> libc::kevent {
    // SAFETY: kevent is plain data (integers and a pointer); all-zero is a valid value, and
    // it covers the fields some systems add (FreeBSD 12's `ext`).
    unsafe { std::mem::zeroed() }
}

fn change(fd: libc::c_int, filter: i16, flags: u16, token: u64) -> libc::kevent {
    let mut event = empty_kevent();
    event.ident = fd as libc::uintptr_t;
    event.filter = filter;
    event.flags = flags;
    event.udata = token as usize as *mut libc::c_void;
    event
}

impl Events {
    pub fn with_capacity(capacity: usize) -> Events {
        Events { list: vec![empty_kevent(); capacity.max(1)], len: 0 }
    }

    pub fn tokens(&self) -> impl Iterator<Item = u64> + '_ {
        self.list[..self.len].iter().map(|event| event.udata as usize as u64)
    }
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::kqueue() };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh fd owned by nobody else.
        let kqueue = unsafe { OwnedFd::from_raw_fd(fd) };
        // kqueue(2) has no close-on-exec flag on every system; set it.
        // SAFETY: plain fcntl on an open fd.
        unsafe { libc::fcntl(kqueue.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        Ok(Poller { kqueue })
    }

    pub fn add(&self, source: &impl AsFd, token: u64, interest: Interest) -> io::Result<()> {
        let fd = source.as_fd().as_raw_fd();
        let add = libc::EV_ADD;
        // EV_CLEAR makes a filter edge-triggered: reported once per change of state.
        let edge = libc::EV_ADD | libc::EV_CLEAR;
        match interest {
            Interest::Listener | Interest::Wake => self.apply(&[change(fd, libc::EVFILT_READ, add, token)], false),
            Interest::Connection => self.apply(
                &[change(fd, libc::EVFILT_READ, edge, token), change(fd, libc::EVFILT_WRITE, edge, token)],
                false,
            ),
        }
    }

    pub fn delete(&self, source: &impl AsFd) -> io::Result<()> {
        let fd = source.as_fd().as_raw_fd();
        let delete = libc::EV_DELETE;
        // A source registered for reading only has no write filter: that ENOENT is expected.
        self.apply(&[change(fd, libc::EVFILT_READ, delete, 0), change(fd, libc::EVFILT_WRITE, delete, 0)], true)
    }

    /// Applies changes with `EV_RECEIPT`, so each one reports its own result.
    fn apply(&self, changes: &[libc::kevent], missing_is_ok: bool) -> io::Result<()> {
        let mut changes = changes.to_vec();
        for event in &mut changes {
            event.flags |= libc::EV_RECEIPT;
        }
        let mut receipts = vec![empty_kevent(); changes.len()];
        // SAFETY: both lists are valid for the lengths passed; no timeout pointer.
        let n = unsafe {
            libc::kevent(
                self.kqueue.as_raw_fd(),
                changes.as_ptr(),
                changes.len() as libc::c_int,
                receipts.as_mut_ptr(),
                receipts.len() as libc::c_int,
                std::ptr::null(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        for receipt in &receipts[..n as usize] {
            let errno = receipt.data as i32;
            if receipt.flags & libc::EV_ERROR != 0 && errno != 0 && !(missing_is_ok && errno == libc::ENOENT) {
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
        Ok(())
    }

    /// Waits for events; `None` waits forever.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let timespec = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as _,
        });
        let timeout_ptr = timespec.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        events.len = 0;
        let capacity = events.list.len().min(i32::MAX as usize) as libc::c_int;
        // SAFETY: the event list is valid for `capacity` entries; the timeout outlives the call.
        let n = unsafe {
            libc::kevent(self.kqueue.as_raw_fd(), std::ptr::null(), 0, events.list.as_mut_ptr(), capacity, timeout_ptr)
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        events.len = n as usize;
        Ok(())
    }
}
