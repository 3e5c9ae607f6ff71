//! Small files kept in memory, per event loop, for exactly as long as the kernel says they
//! have not changed.
//!
//! Serving a small file from disk costs five syscalls beside the socket's (openat2, statx,
//! the folder's fstatat for precompressed siblings, read, close): a fifth of the server's CPU
//! per connection. A loop that keeps the bytes skips them all. What makes that safe is
//! inotify: before a file is read into the cache, the folders on its path and the file (and
//! its siblings) are watched, and every lookup first reads the inotify queue (one
//! non-blocking `read`). The kernel queues an event inside the syscall that changes a watched
//! thing (write, truncate, rename, unlink, chmod, utimes, a new sibling or index page), so a
//! change that completed before a request arrived is seen before that request is answered:
//! any event at all empties the cache. Not seen by inotify: writes through a shared `mmap`,
//! changes made by another machine on a network file system, and a file system mounted over
//! a served folder; `--no-file-cache` turns the cache off for such roots. Only paths without
//! symlinks are kept.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use log::debug;

use crate::files::media_type::{compressible, media_type};
use crate::files::resolve::{openat2_beneath, OPEN_FLAGS, RESOLVE_NO_SYMLINKS};
use crate::files::site::Site;
use crate::limits::{FILE_CACHE_BYTES, FILE_CACHE_FILES, FILE_CACHE_WATCHES, SMALL_FILE_BYTES};

/// A cached file: its bytes, and those of its precompressed siblings.
#[derive(Debug)]
pub struct CachedFile {
    /// The file's path below the root (`docs/index.html` for the folder URL `/docs/`).
    pub relative: String,
    pub content_type: Cow<'static, str>,
    pub plain: Snapshot,
    pub brotli: Option<Snapshot>,
    pub gzip: Option<Snapshot>,
}

/// One file's bytes and modification time, read after its watches were in place.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub bytes: Arc<[u8]>,
    pub modified: SystemTime,
}

/// What a URL path names: a file (`/a.html`) or a folder's index page (`/docs/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named<'p> {
    File(&'p str),
    FolderIndex(&'p str),
}

/// The cached file for a URL path, if this loop has it and nothing changed since.
pub fn lookup(site: &Site, named: Named<'_>) -> Option<Rc<CachedFile>> {
    with_cache(site, |cache| {
        if cache.files.is_empty() && cache.indexes.is_empty() {
            return None;
        }
        cache.forget_if_changed();
        match named {
            Named::File(relative) => cache.files.get(relative),
            Named::FolderIndex(folder) => cache.indexes.get(folder),
        }
        .cloned()
    })
}

/// Reads the small regular file `relative` (what `named` resolved to, `len` bytes when it was
/// opened) and its siblings into the cache, watched. `None` when it cannot be cached (too big,
/// a symlink on the path, the cache full, no inotify): the caller serves it from disk.
pub fn load(site: &Site, named: Named<'_>, relative: &str, len: u64) -> Option<Rc<CachedFile>> {
    with_cache(site, |cache| {
        cache.forget_if_changed();
        // A full cache takes no more: nothing is watched or read for a file it cannot keep.
        let room = FILE_CACHE_BYTES.saturating_sub(cache.bytes) as u64;
        if cache.files.len() + cache.indexes.len() >= FILE_CACHE_FILES || len > room {
            return None;
        }
        let loaded = cache.read_watched(site, relative);
        // Something changed while it was being read: serve it from disk this time.
        if cache.forget_if_changed() {
            return None;
        }
        let loaded = match loaded {
            Ok(loaded) => Rc::new(loaded),
            Err(why) => {
                debug!("file cache: not keeping {relative}: {why}");
                return None;
            }
        };
        let size = loaded.plain.bytes.len()
            + loaded.brotli.as_ref().map_or(0, |s| s.bytes.len())
            + loaded.gzip.as_ref().map_or(0, |s| s.bytes.len());
        if cache.bytes + size > FILE_CACHE_BYTES {
            return None;
        }
        cache.bytes += size;
        debug!("file cache: keeping {relative} ({size} bytes), watched by inotify");
        match named {
            Named::File(key) => cache.files.insert(key.to_string(), Rc::clone(&loaded)),
            Named::FolderIndex(key) => cache.indexes.insert(key.to_string(), Rc::clone(&loaded)),
        };
        Some(loaded)
    })
}

/// Creates this thread's inotify instance now, so a loop's fds are all open from its start.
pub fn prepare(site: &Site) {
    with_cache(site, |cache| cache.watcher().map(|_| ()));
}

/// Runs `f` on this thread's cache for `site`; `None` when the site has the cache off.
fn with_cache<R>(site: &Site, f: impl FnOnce(&mut FileCache) -> Option<R>) -> Option<R> {
    if !site.file_cache {
        return None;
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.for_site(site);
        f(&mut cache)
    })
}

thread_local! {
    static CACHE: RefCell<FileCache> = RefCell::new(FileCache::default());
}

#[derive(Default)]
struct FileCache {
    /// The `Site::id` the entries belong to (tests and benches run several sites per thread).
    site: u64,
    watcher: Option<Watcher>,
    files: HashMap<String, Rc<CachedFile>>,
    indexes: HashMap<String, Rc<CachedFile>>,
    bytes: usize,
}

struct Watcher {
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

impl FileCache {
    fn for_site(&mut self, site: &Site) {
        if self.site != site.id {
            *self = FileCache { site: site.id, ..FileCache::default() };
        }
    }

    fn watcher(&mut self) -> Option<&mut Watcher> {
        let cap = watch_cap();
        if self.watcher.as_ref().is_some_and(|w| w.watches.len() >= cap) {
            debug!("file cache: {cap} watches held; starting over");
            self.forget();
            self.watcher = None;
        }
        if self.watcher.is_none() {
            // SAFETY: plain syscall with flags only.
            let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
            if fd < 0 {
                debug!("file cache off for now: inotify_init1: {}", io::Error::last_os_error());
                return None;
            }
            // SAFETY: a new fd that nothing else owns.
            let inotify = unsafe { OwnedFd::from_raw_fd(fd) };
            let events = vec![0; 4096].into_boxed_slice();
            self.watcher = Some(Watcher { inotify, folders: HashSet::new(), watches: HashSet::new(), events });
        }
        self.watcher.as_mut()
    }

    fn forget(&mut self) {
        self.files.clear();
        self.indexes.clear();
        self.bytes = 0;
        if let Some(watcher) = &mut self.watcher {
            watcher.folders.clear();
        }
    }

    /// Reads the inotify queue; any event empties the cache. True when it did.
    fn forget_if_changed(&mut self) -> bool {
        let Some(watcher) = &mut self.watcher else { return false };
        // FIONREAD only looks at the queue; an empty `read` also joins and leaves the
        // instance's wait queue (two IRQ-saving locks), which costs a third more.
        let mut queued: libc::c_int = 0;
        // SAFETY: the fd is open and `queued` is a writable c_int, as FIONREAD wants.
        if unsafe { libc::ioctl(watcher.inotify.as_raw_fd(), libc::FIONREAD, &mut queued) } == 0 && queued == 0 {
            return false;
        }
        let mut events = 0usize;
        let failed = loop {
            match read_fd(watcher.inotify.as_raw_fd(), &mut watcher.events) {
                Ok(n) if n > 0 => events += n,
                Ok(_) => break None,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        if let Some(e) = failed {
            debug!("file cache: reading inotify failed ({e}); starting over");
            self.forget();
            self.watcher = None;
            return true;
        }
        if events > 0 {
            debug!("file cache: the root changed ({events} bytes of inotify events); emptied");
            self.forget();
            return true;
        }
        false
    }

    fn read_watched(&mut self, site: &Site, relative: &str) -> Result<CachedFile, &'static str> {
        let watcher = self.watcher().ok_or("no inotify instance")?;
        let folder = relative.rsplit_once('/').map_or("", |(folder, _)| folder);
        watcher.watch_folders(site, folder)?;
        let plain = watcher.snapshot(site, relative)?.ok_or("gone")?;
        let name = relative.rsplit('/').next().unwrap_or(relative);
        let content_type = media_type(name);
        let (mut brotli, mut gzip) = (None, None);
        if compressible(&content_type) {
            brotli = watcher.snapshot(site, &format!("{relative}.br"))?;
            gzip = watcher.snapshot(site, &format!("{relative}.gz"))?;
        }
        Ok(CachedFile { relative: relative.to_string(), content_type, plain, brotli, gzip })
    }
}

impl Watcher {
    /// Watches the root and every folder down to `folder`, each opened without following
    /// symlinks (a path through a link is not cached: the link's target is not watched).
    fn watch_folders(&mut self, site: &Site, folder: &str) -> Result<(), &'static str> {
        if !self.folders.contains("") {
            self.watch_fd(site.root_dir.as_raw_fd())?;
            self.folders.insert(String::new());
        }
        let mut end = 0;
        while end < folder.len() {
            end = folder[end..].find('/').map_or(folder.len(), |at| end + at);
            let prefix = &folder[..end];
            end += 1;
            if self.folders.contains(prefix) {
                continue;
            }
            let dir =
                openat2_beneath(site, prefix, libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC, RESOLVE_NO_SYMLINKS)
                    .map_err(|_| "a folder on the path is a symlink or gone")?;
            self.watch_fd(dir.as_raw_fd())?;
            self.folders.insert(prefix.to_string());
        }
        Ok(())
    }

    /// Watches, then reads, `relative`: `None` if it does not exist; an error if it exists but
    /// is not a small regular file reached without symlinks.
    fn snapshot(&mut self, site: &Site, relative: &str) -> Result<Option<Snapshot>, &'static str> {
        let file = match openat2_beneath(site, relative, OPEN_FLAGS, RESOLVE_NO_SYMLINKS) {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(_) => return Err("not openable without following symlinks"),
        };
        self.watch_fd(file.as_raw_fd())?;
        // Metadata and bytes are taken after the watch is in place: a change from here on
        // queues an event, and the next lookup drops them.
        let metadata = file.metadata().map_err(|_| "fstat failed")?;
        if !metadata.is_file() || metadata.len() > SMALL_FILE_BYTES {
            return Err("not a small regular file");
        }
        let mut bytes = vec![0; metadata.len() as usize];
        file.read_exact_at(&mut bytes, 0).map_err(|_| "shorter than its size")?;
        Ok(Some(Snapshot { bytes: bytes.into(), modified: metadata.modified().unwrap_or(UNIX_EPOCH) }))
    }

    /// Watches the inode behind an open fd, through its `/proc/self/fd` link, so the watch is
    /// on exactly what was opened.
    fn watch_fd(&mut self, fd: RawFd) -> Result<(), &'static str> {
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
