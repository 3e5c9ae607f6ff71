//! The file cache's watch on Linux: one inotify instance per event loop.

use std::collections::HashSet;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use log::debug;

use super::Untracked;
use crate::files::confined_open::open_no_symlinks;
use crate::files::site::Site;
use crate::limits::FILE_CACHE_WATCHES;

/// Nothing to remember per file: a change to anything watched is queued as an event.
#[derive(Debug)]
pub struct Stamp;

#[derive(Default)]
pub struct ChangeWatch {
    instance: Option<Instance>,
    /// The instance was dropped (watch cap, read error): whatever it watched is no longer
    /// watched, so the next `anything_changed` says so.
    dropped: bool,
}

struct Instance {
    inotify: OwnedFd,
    /// Folders watched since the last change (a recreated folder needs a new watch).
    folders: HashSet<String>,
    /// Watch descriptors held: each pins an inode and counts against the user's
    /// `fs.inotify.max_user_watches`, so there is a cap.
    watches: HashSet<libc::c_int>,
    /// Where events are read to: big enough for any event (16 bytes and a name of at most
    /// 255), allocated once rather than zeroed on the stack for every lookup.
    events: Box<[u8]>,
}

/// Everything that changes a file's bytes, its metadata, or what a path names.
const WATCH_MASK: u32 = libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_CLOSE_WRITE
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

impl ChangeWatch {
    pub fn new() -> ChangeWatch {
        ChangeWatch::default()
    }

    /// Creates the inotify instance now, so a loop's fds are all open from its start.
    pub fn prepare(&mut self) {
        let _ = self.instance();
    }

    fn instance(&mut self) -> Option<&mut Instance> {
        let cap = watch_cap();
        if self.instance.as_ref().is_some_and(|i| i.watches.len() >= cap) {
            debug!("file cache: {cap} watches held; starting over");
            self.instance = None;
            self.dropped = true;
        }
        if self.instance.is_none() {
            // SAFETY: plain syscall with flags only.
            let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
            if fd < 0 {
                debug!("file cache off for now: inotify_init1: {}", io::Error::last_os_error());
                return None;
            }
            // SAFETY: a new fd that nothing else owns.
            let inotify = unsafe { OwnedFd::from_raw_fd(fd) };
            let events = vec![0; 4096].into_boxed_slice();
            self.instance = Some(Instance { inotify, folders: HashSet::new(), watches: HashSet::new(), events });
        }
        self.instance.as_mut()
    }

    /// True when the kernel queued any event since the last look (the cache must be
    /// emptied). FIONREAD only looks at the queue; an empty `read` also joins and leaves the
    /// instance's wait queue (two IRQ-saving locks), which costs a third more.
    pub fn anything_changed(&mut self) -> bool {
        if std::mem::take(&mut self.dropped) {
            return true;
        }
        let Some(instance) = &mut self.instance else { return false };
        let mut queued: libc::c_int = 0;
        // SAFETY: the fd is open and `queued` is a writable c_int, as FIONREAD wants.
        if unsafe { libc::ioctl(instance.inotify.as_raw_fd(), libc::FIONREAD, &mut queued) } == 0 && queued == 0 {
            return false;
        }
        let mut events = 0usize;
        let failed = loop {
            match read_fd(instance.inotify.as_raw_fd(), &mut instance.events) {
                Ok(n) if n > 0 => events += n,
                Ok(_) => break None,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        if let Some(e) = failed {
            debug!("file cache: reading inotify failed ({e}); starting over");
            self.instance = None;
            return true;
        }
        if events > 0 {
            debug!("file cache: the root changed ({events} bytes of inotify events); emptied");
            instance.folders.clear();
            return true;
        }
        false
    }

    /// Watches the root and every folder down to `folder` (each opened without following
    /// symlinks: a path through a link is not cached, the link's target is not watched).
    pub fn track_folders(&mut self, site: &Site, folder: &str) -> Result<Stamp, Untracked> {
        let instance = self.instance().ok_or("no inotify instance")?;
        if !instance.folders.contains("") {
            instance.watch_fd(site.root_dir.as_raw_fd())?;
            instance.folders.insert(String::new());
        }
        let mut end = 0;
        while end < folder.len() {
            end = folder[end..].find('/').map_or(folder.len(), |at| end + at);
            let prefix = &folder[..end];
            end += 1;
            if instance.folders.contains(prefix) {
                continue;
            }
            let dir =
                open_no_symlinks(&site.root_dir, prefix).map_err(|_| "a folder on the path is a symlink or gone")?;
            instance.watch_fd(dir.as_raw_fd())?;
            instance.folders.insert(prefix.to_string());
        }
        Ok(Stamp)
    }

    /// Watches the inode of a file that is about to be read: a change from here on queues
    /// an event, and the next lookup drops what was read.
    pub fn track_file(&mut self, _site: &Site, _relative: &str, file: &File) -> Result<Stamp, Untracked> {
        self.instance().ok_or("no inotify instance")?.watch_fd(file.as_raw_fd())?;
        Ok(Stamp)
    }

    /// Always true: a change would have been queued, and `anything_changed` reports it.
    pub fn unchanged(&self, _site: &Site, _stamps: &[Stamp]) -> bool {
        true
    }
}

impl Instance {
    /// Watches the inode behind an open fd, through its `/proc/self/fd` link, so the watch is
    /// on exactly what was opened.
    fn watch_fd(&mut self, fd: RawFd) -> Result<(), Untracked> {
        let path = CString::new(format!("/proc/self/fd/{fd}")).map_err(|_| "bad fd path")?;
        // SAFETY: the inotify fd is open and the path is NUL-terminated.
        let wd = unsafe { libc::inotify_add_watch(self.inotify.as_raw_fd(), path.as_ptr(), WATCH_MASK) };
        if wd < 0 {
            return Err("inotify_add_watch failed (no /proc, or out of watches)");
        }
        self.watches.insert(wd);
        Ok(())
    }
}

/// Watches one loop may hold: `FILE_CACHE_WATCHES`, or a sixteenth of the user's
/// `fs.inotify.max_user_watches` when that is smaller (8192 on kernels before 5.11), so that
/// a server with many loops leaves the user's other programs their watches.
fn watch_cap() -> usize {
    static CAP: OnceLock<usize> = OnceLock::new();
    *CAP.get_or_init(|| {
        let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches").ok();
        cap_for_user_limit(limit.and_then(|text| text.trim().parse().ok()))
    })
}

fn cap_for_user_limit(limit: Option<usize>) -> usize {
    limit.map_or(FILE_CACHE_WATCHES, |limit| (limit / 16).clamp(1, FILE_CACHE_WATCHES))
}

fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the buffer is valid for writes of its length.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_cap_leaves_most_of_the_users_limit_to_others() {
        assert_eq!(cap_for_user_limit(Some(8192)), 512);
        assert_eq!(cap_for_user_limit(Some(1_048_576)), FILE_CACHE_WATCHES);
        assert_eq!(cap_for_user_limit(Some(3)), 1);
        assert_eq!(cap_for_user_limit(None), FILE_CACHE_WATCHES);
    }
}
