//! What changed below the root, on Linux: one inotify instance with a watch on every folder
//! of the tree (folders created later included), for live reload. The file cache's watch
//! (`inotify.rs`) only needs "anything changed?"; this one reads the events for their names.

use std::collections::{BTreeSet, HashMap};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;
use std::time::Duration;

use log::{debug, warn};

use crate::files::confined_open::open_no_symlinks;
use crate::files::folder::{read_folder, Kind};
use crate::files::site::Site;
use crate::limits::{LIVE_DEBOUNCE, LIVE_WATCHES};

/// What changes a file's bytes or what a name in a folder names. No `IN_ACCESS`/`IN_OPEN`:
/// the server's own reads never count as changes.
const TREE_MASK: u32 = libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_CLOSE_WRITE
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_ONLYDIR;

/// Every folder below the root, watched.
pub struct TreeWatch {
    inotify: OwnedFd,
    /// Watch descriptor → the folder's path below the root (`""` for the root).
    folders: HashMap<libc::c_int, String>,
    hidden: bool,
    /// The watch limit was reached (warned once).
    full: bool,
    events: Box<[u8]>,
}

impl TreeWatch {
    /// A burst of changes is over once none came for this long.
    pub const QUIET: Duration = LIVE_DEBOUNCE;

    /// Watches the root and every folder in it (dot-folders only with `--hidden`; symlinks
    /// are not followed).
    pub fn new(site: &Site) -> io::Result<TreeWatch> {
        // SAFETY: plain syscall with flags only.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new fd that nothing else owns.
        let inotify = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut watch = TreeWatch {
            inotify,
            folders: HashMap::new(),
            hidden: site.hidden,
            full: false,
            events: vec![0; 64 * 1024].into(),
        };
        watch.add_tree(site, "", None);
        debug!("live reload: watching {} folders with inotify", watch.folders.len());
        Ok(watch)
    }

    /// Waits at most `timeout` for changes, and names the paths (below the root) that changed:
    /// none when nothing did, `*` when the kernel's queue overflowed (anything may have).
    pub fn changes(&mut self, site: &Site, timeout: Duration) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        let mut poll = libc::pollfd { fd: self.inotify.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let millis = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut poll, 1, millis) } <= 0 {
            return changed;
        }
        let mut rebuild = false;
        loop {
            // SAFETY: the buffer is valid for writes of its length.
            let n = unsafe { libc::read(self.inotify.as_raw_fd(), self.events.as_mut_ptr().cast(), self.events.len()) };
            if n <= 0 {
                break;
            }
            let mut at = 0;
            let header = std::mem::size_of::<libc::inotify_event>();
            while at + header <= n as usize {
                // SAFETY: the kernel wrote a whole event here; read_unaligned copes with any offset.
                let event: libc::inotify_event = unsafe { std::ptr::read_unaligned(self.events[at..].as_ptr().cast()) };
                let name_bytes = &self.events[at + header..(at + header + event.len as usize).min(n as usize)];
                at += header + event.len as usize;
                let name = String::from_utf8_lossy(name_bytes.split(|b| *b == 0).next().unwrap_or_default());
                if event.mask & libc::IN_Q_OVERFLOW != 0 {
                    changed.insert("*".to_string());
                    rebuild = true;
                    continue;
                }
                if event.mask & libc::IN_IGNORED != 0 {
                    self.folders.remove(&event.wd);
                    continue;
                }
                let Some(folder) = self.folders.get(&event.wd) else { continue };
                if name.is_empty() || (!self.hidden && name.starts_with('.')) {
                    continue;
                }
                let path = if folder.is_empty() { name.into_owned() } else { format!("{folder}/{name}") };
                if event.mask & libc::IN_ISDIR != 0 {
                    if event.mask & libc::IN_MOVED_FROM != 0 {
                        // The folder's watches now name a path that is gone: start over.
                        rebuild = true;
                    } else if event.mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0 {
                        // What was made inside before the watch was in place is named too.
                        self.add_tree(site, &path, Some(&mut changed));
                    }
                }
                changed.insert(path);
            }
        }
        if rebuild {
            self.rebuild(site);
        }
        changed
    }

    /// Drops every watch and watches the tree as it is now (after a folder was renamed: the
    /// watches below it would report the old paths).
    fn rebuild(&mut self, site: &Site) {
        for wd in self.folders.keys() {
            // SAFETY: the inotify fd is open; an already removed wd only returns EINVAL.
            unsafe { libc::inotify_rm_watch(self.inotify.as_raw_fd(), *wd) };
        }
        self.folders.clear();
        self.add_tree(site, "", None);
        debug!("live reload: a folder moved; watching {} folders afresh", self.folders.len());
    }

    /// Watches the folder `relative` and every folder below it; `found` collects every name
    /// seen inside (for a folder that just appeared, its contents are new too).
    fn add_tree(&mut self, site: &Site, relative: &str, mut found: Option<&mut BTreeSet<String>>) {
        let mut pending = vec![relative.to_string()];
        while let Some(folder) = pending.pop() {
            if self.folders.len() >= watch_cap() {
                self.warn_full();
                return;
            }
            let Ok(dir) = open_no_symlinks(&site.root_dir, &folder) else { continue };
            let Ok(path) = CString::new(format!("/proc/self/fd/{}", dir.as_raw_fd())) else { continue };
            // Through the open fd's /proc link: the watch is on exactly the folder opened
            // without following symlinks.
            // SAFETY: the inotify fd is open and the path NUL-terminated.
            let wd = unsafe { libc::inotify_add_watch(self.inotify.as_raw_fd(), path.as_ptr(), TREE_MASK) };
            if wd < 0 {
                let error = io::Error::last_os_error();
                if error.raw_os_error() == Some(libc::ENOSPC) {
                    self.warn_full();
                    return;
                }
                debug!("live reload: cannot watch /{folder}: {error}");
                continue;
            }
            self.folders.insert(wd, folder.clone());
            let Ok(entries) = read_folder(dir) else { continue };
            for entry in entries {
                let Ok(name) = entry.name.into_string() else { continue };
                if !self.hidden && name.starts_with('.') {
                    continue;
                }
                let path = if folder.is_empty() { name } else { format!("{folder}/{name}") };
                if let Some(found) = found.as_deref_mut() {
                    found.insert(path.clone());
                }
                if entry.kind == Kind::Folder {
                    pending.push(path);
                }
            }
        }
    }

    fn warn_full(&mut self) {
        if !std::mem::replace(&mut self.full, true) {
            warn!(
                "live reload: {} folders watched, the limit: changes in further folders are not seen \
                 (raise fs.inotify.max_user_watches)",
                self.folders.len()
            );
        }
    }
}

/// `LIVE_WATCHES`, or half the user's `fs.inotify.max_user_watches` when that is smaller.
fn watch_cap() -> usize {
    static CAP: OnceLock<usize> = OnceLock::new();
    *CAP.get_or_init(|| {
        let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches").ok();
        limit
            .and_then(|text| text.trim().parse::<usize>().ok())
            .map_or(LIVE_WATCHES, |l| (l / 2).clamp(1, LIVE_WATCHES))
    })
}
