//! Small files kept in memory, per event loop, for exactly as long as the watch seam
//! (`files::watch`) says they have not changed.
//!
//! Serving a small file from disk costs five syscalls beside the socket's (open, fstat, the
//! folder's fstatat for precompressed siblings, read, close): a fifth of the server's CPU
//! per connection on Linux. A loop that keeps the bytes skips them. Before a file is read
//! into the cache, the watch tracks the folders on its path and the file (and its siblings);
//! every lookup asks it whether anything changed, so a change that completed before a
//! request arrived is seen before that request is answered. Only paths without symlinks are
//! kept; `--no-file-cache` turns the cache off.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{debug, trace};

use crate::files::confined_open::open_no_symlinks;
use crate::files::media_type::FileType;
use crate::files::site::Site;
use crate::files::watch::{ChangeWatch, Stamp, Untracked};
use crate::files::PathHash;
use crate::limits::{FILE_CACHE_BYTES, FILE_CACHE_FILES, SMALL_FILE_BYTES};

/// A cached file: its bytes, and those of its precompressed siblings.
#[derive(Debug)]
pub struct CachedFile {
    /// The file's path below the root (`docs/index.html` for the folder URL `/docs/`).
    pub relative: String,
    pub file_type: FileType,
    pub plain: Snapshot,
    pub brotli: Option<Snapshot>,
    pub gzip: Option<Snapshot>,
    /// What the watch needs to tell whether all of it is still current.
    stamps: Vec<Stamp>,
}

impl CachedFile {
    fn size(&self) -> usize {
        [Some(&self.plain), self.brotli.as_ref(), self.gzip.as_ref()].into_iter().flatten().map(|s| s.bytes.len()).sum()
    }
}

/// One file's bytes and modification time, read after the watch was in place.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub bytes: Arc<[u8]>,
    pub modified: SystemTime,
    /// The HTTP side's entity tag for these bytes (their length and modification time, before
    /// any suffix for a coding or a live page), made by it on first use and kept as long as
    /// they are (`http::file_response`): the file layer only holds it.
    pub etag: OnceCell<String>,
}

/// What a URL path names: a file (`/a.html`) or a folder's index page (`/docs/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named<'p> {
    File(&'p str),
    FolderIndex(&'p str),
}

type PathMap = HashMap<String, Rc<CachedFile>, PathHash>;

/// One event loop's cache. Owned by the loop and passed to each request: nothing is shared
/// between threads, so nothing is locked.
#[derive(Default)]
pub struct FileCache {
    /// The `Site::id` the entries belong to (tests and benches serve several sites).
    site: u64,
    watch: ChangeWatch,
    files: PathMap,
    indexes: PathMap,
    bytes: usize,
}

impl FileCache {
    pub fn new() -> FileCache {
        FileCache::default()
    }

    /// Opens what the watch needs (an inotify instance) now, so a loop's fds are all open
    /// from its start.
    pub fn prepare(&mut self, site: &Site) {
        self.site = site.id;
        if site.file_cache {
            self.watch.prepare();
        }
    }

    /// The cached file for a URL path, if this loop has it and nothing changed since.
    pub fn lookup(&mut self, site: &Site, named: Named<'_>) -> Option<Rc<CachedFile>> {
        if !self.serves(site) || (self.files.is_empty() && self.indexes.is_empty()) {
            return None;
        }
        self.forget_if_changed();
        let (map, key) = match named {
            Named::File(key) => (&mut self.files, key),
            Named::FolderIndex(key) => (&mut self.indexes, key),
        };
        let cached = map.get(key)?;
        if self.watch.unchanged(site, &cached.stamps) {
            return Some(Rc::clone(cached));
        }
        debug!("file cache: {} changed; dropped", cached.relative);
        self.bytes -= cached.size();
        map.remove(key);
        None
    }

    /// Reads the small regular file `relative` (what `named` resolved to, `len` bytes when it
    /// was opened) and its siblings into the cache, tracked. `None` when it cannot be cached
    /// (too big, a symlink on the path, the cache full, the watch unable): the caller serves it
    /// from disk.
    pub fn load(&mut self, site: &Site, named: Named<'_>, relative: &str, len: u64) -> Option<Rc<CachedFile>> {
        if !self.serves(site) {
            return None;
        }
        self.forget_if_changed();
        // A full cache takes no more: nothing is tracked or read for a file it cannot keep.
        let room = FILE_CACHE_BYTES.saturating_sub(self.bytes) as u64;
        if self.files.len() + self.indexes.len() >= FILE_CACHE_FILES || len > room {
            return None;
        }
        let loaded = self.read_tracked(site, relative);
        // Something changed while it was being read: serve it from disk this time.
        if self.forget_if_changed() {
            return None;
        }
        let loaded = match loaded {
            Ok(loaded) if self.watch.unchanged(site, &loaded.stamps) => Rc::new(loaded),
            Ok(_) => return None,
            Err(why) => {
                trace!("file cache: not keeping {relative}: {why}");
                return None;
            }
        };
        let size = loaded.size();
        if self.bytes + size > FILE_CACHE_BYTES {
            return None;
        }
        self.bytes += size;
        trace!("file cache: keeping {relative} ({size} bytes)");
        match named {
            Named::File(key) => self.files.insert(key.to_string(), Rc::clone(&loaded)),
            Named::FolderIndex(key) => self.indexes.insert(key.to_string(), Rc::clone(&loaded)),
        };
        Some(loaded)
    }

    /// The cache is on for this site; entries of another site are dropped, and so is the
    /// watch: its watches pin the old tree's folders (a deploy replaced it, `files::deploy`).
    fn serves(&mut self, site: &Site) -> bool {
        if self.site != site.id {
            self.forget();
            self.watch = ChangeWatch::new();
            if site.file_cache {
                self.watch.prepare();
            }
            self.site = site.id;
        }
        site.file_cache
    }

    fn forget(&mut self) {
        self.files.clear();
        self.indexes.clear();
        self.bytes = 0;
    }

    /// Empties the cache when the watch reports a change; true when it did.
    fn forget_if_changed(&mut self) -> bool {
        if self.watch.anything_changed() {
            self.forget();
            return true;
        }
        false
    }

    fn read_tracked(&mut self, site: &Site, relative: &str) -> Result<CachedFile, Untracked> {
        let folder = relative.rsplit_once('/').map_or("", |(folder, _)| folder);
        let mut stamps = vec![self.watch.track_folders(site, folder)?];
        let plain = self.snapshot(site, relative, &mut stamps)?.ok_or("gone")?;
        let name = relative.rsplit('/').next().unwrap_or(relative);
        let file_type = FileType::of(name);
        let (mut brotli, mut gzip) = (None, None);
        if file_type.has_siblings() {
            brotli = self.snapshot(site, &format!("{relative}.br"), &mut stamps)?;
            gzip = self.snapshot(site, &format!("{relative}.gz"), &mut stamps)?;
        }
        Ok(CachedFile { relative: relative.to_string(), file_type, plain, brotli, gzip, stamps })
    }

    /// Tracks, then reads, `relative`: `None` if it does not exist; an error if it exists but
    /// is not a small regular file reached without symlinks.
    fn snapshot(
        &mut self,
        site: &Site,
        relative: &str,
        stamps: &mut Vec<Stamp>,
    ) -> Result<Option<Snapshot>, Untracked> {
        let file = match open_no_symlinks(&site.root_dir, relative) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(_) => return Err("not openable without following symlinks"),
        };
        stamps.push(self.watch.track_file(site, relative, &file)?);
        // Metadata and bytes are taken after tracking began: a change from here on is seen by
        // the next lookup, which drops them.
        let metadata = file.metadata().map_err(|_| "fstat failed")?;
        if !metadata.is_file() || metadata.len() > SMALL_FILE_BYTES {
            return Err("not a small regular file");
        }
        let mut bytes = vec![0; metadata.len() as usize];
        file.read_exact_at(&mut bytes, 0).map_err(|_| "shorter than its size")?;
        let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
        Ok(Some(Snapshot { bytes: bytes.into(), modified, etag: OnceCell::new() }))
    }
}
