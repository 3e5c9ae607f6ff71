//! Following the root's path on Linux: an inotify watch on the folder that holds the root,
//! for the names in it. Renaming, creating, deleting or re-linking the root's name (`mv new
//! site`, `mkdir site`, `ln -sfn releases/v2 current`) queues an event inside the syscall
//! that does it, so one `ioctl(FIONREAD)` per request tells whether the path may name
//! another folder now.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use log::debug;

use crate::files::site::Site;

/// Names appearing, disappearing or being replaced in the parent, and the parent itself
/// being moved or deleted (then the watch is set again on whatever the parent's path names).
const PARENT_MASK: u32 = libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF
    | libc::IN_ONLYDIR;

/// One per server, shared by every event loop: the queue is only looked at per request, and
/// read (by `settle`) under the caller's lock.
pub struct RootWatch {
    inotify: OwnedFd,
    parent: PathBuf,
    /// The watch descriptor on the parent, -1 when none is set.
    watch: AtomicI32,
    events: std::sync::Mutex<Box<[u8]>>,
}

impl RootWatch {
    /// Watches the folder that holds `path` (absolute, its last component a name).
    pub fn new(path: &Path) -> io::Result<RootWatch> {
        let parent = path.parent().ok_or_else(|| io::Error::other("the root has no parent folder"))?;
        // SAFETY: plain syscall with flags only.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new fd that nothing else owns.
        let inotify = unsafe { OwnedFd::from_raw_fd(fd) };
        let watch = RootWatch {
            inotify,
            parent: parent.to_path_buf(),
            watch: AtomicI32::new(-1),
            events: std::sync::Mutex::new(vec![0; 4096].into_boxed_slice()),
        };
        watch.watch_parent()?;
        Ok(watch)
    }

    fn watch_parent(&self) -> io::Result<()> {
        let path = CString::new(self.parent.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: the inotify fd is open and the path NUL-terminated.
        let wd = unsafe { libc::inotify_add_watch(self.inotify.as_raw_fd(), path.as_ptr(), PARENT_MASK) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        self.watch.store(wd, Ordering::Relaxed);
        Ok(())
    }

    /// True when something happened in the parent since the last `settle`: the caller then
    /// compares what the path names with the tree it holds. Not a change by itself (a
    /// sibling of the root may have been created).
    pub fn may_have_moved(&self, _held: &Site) -> bool {
        let mut queued: libc::c_int = 0;
        // SAFETY: the fd is open and `queued` is a writable c_int, as FIONREAD wants.
        let result = unsafe { libc::ioctl(self.inotify.as_raw_fd(), libc::FIONREAD, &mut queued) };
        result != 0 || queued > 0
    }

    /// Reads what is queued, so the next `may_have_moved` is false until something else
    /// happens. Called before the caller looks at the path (an event after that look stays
    /// queued). A parent that was moved or deleted is watched again by its path.
    pub fn settle(&self) {
        let mut buf = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if self.drain(&mut buf) {
            let old = self.watch.swap(-1, Ordering::Relaxed);
            if old >= 0 {
                // SAFETY: removing a watch of our own instance; one already gone fails harmlessly.
                unsafe { libc::inotify_rm_watch(self.inotify.as_raw_fd(), old) };
            }
            match self.watch_parent() {
                Ok(()) => debug!("root: {} was moved or replaced; watching it again", self.parent.display()),
                Err(e) => debug!("root: cannot watch {} again: {e}", self.parent.display()),
            }
            // Removing the old watch queued IN_IGNORED: read it now, not on the next request.
            self.drain(&mut buf);
        }
    }

    /// Reads every queued event; true when the parent itself went away (or events were lost).
    fn drain(&self, buf: &mut [u8]) -> bool {
        const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
        let mut parent_gone = false;
        loop {
            // SAFETY: the buffer is valid for writes of its length.
            let n = unsafe { libc::read(self.inotify.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return parent_gone;
            }
            let mut at = 0;
            while at + HEADER <= n as usize {
                // SAFETY: the kernel wrote whole events; read_unaligned copes with the offset.
                let event: libc::inotify_event = unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                let gone = libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_IGNORED | libc::IN_Q_OVERFLOW;
                parent_gone |= event.mask & gone != 0;
                at += HEADER + event.len as usize;
            }
        }
    }
}
