//! The file side: a URL path becomes a file inside the document root, or a reason why not.

pub mod body;
pub mod confined_open;
pub mod deploy;
pub mod file_cache;
pub mod folder;
pub mod html;
pub mod json;
pub mod listing;
pub mod media_type;
pub mod precompressed;
pub mod resolve;
pub mod site;
pub mod url_path;
pub mod watch;

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;

/// Why a path cannot be served, at the file layer. `http::response` maps each to a status.
/// The reasons go to the access log, never to the client.
#[derive(Debug)]
pub enum FileError {
    /// Nothing by that name: the path, or a folder on it, does not exist (or is a file where a
    /// folder should be). The one "not found" that routing fallbacks (`--clean-urls`,
    /// `--spa`) may answer otherwise; every other reason is a refusal and keeps its 404.
    Missing,
    /// Outside the root, a hidden dotfile, a symlink that leaves the root or leads nowhere:
    /// refusals that look like a missing file from outside (404, the same page), so nothing
    /// leaks about what exists beyond the wall.
    NotFound(&'static str),
    /// Exists but may not be read (permissions, not a regular file or folder).
    Forbidden(&'static str),
    /// The process ran out of file descriptors: a passing overload, not the file's fault.
    OutOfFileDescriptors,
    /// Anything else the file system said.
    Io(io::Error),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Missing => f.write_str("no such file"),
            FileError::NotFound(why) | FileError::Forbidden(why) => f.write_str(why),
            FileError::OutOfFileDescriptors => f.write_str("out of file descriptors"),
            FileError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl From<io::Error> for FileError {
    fn from(error: io::Error) -> FileError {
        match error.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG | libc::EINVAL) => FileError::Missing,
            Some(libc::EXDEV) => FileError::NotFound("outside the root"),
            Some(libc::ELOOP) => FileError::NotFound("symlink loop"),
            Some(libc::EACCES | libc::EPERM) => FileError::Forbidden("permission denied"),
            // open(2) of a Unix socket fails with ENXIO on Linux (also a device without a
            // driver) and EOPNOTSUPP on macOS and FreeBSD: not a regular file, like a FIFO or a
            // device, and not the server's fault.
            Some(libc::ENXIO | libc::EOPNOTSUPP) => FileError::Forbidden("not a regular file"),
            Some(libc::EMFILE | libc::ENFILE) => FileError::OutOfFileDescriptors,
            _ => FileError::Io(error),
        }
    }
}

/// What the file side keeps per event loop: owned by the loop, passed to each request.
#[derive(Default)]
pub struct FileMemory {
    pub cache: file_cache::FileCache,
    pub siblings: precompressed::SiblingMemory,
}

/// How the per-loop maps keyed by URL path (the file cache, the sibling memory) hash: FNV-1a.
/// SipHash, the default, exists to resist keys chosen to collide. These maps keep only paths
/// that name files in the root, at most `FILE_CACHE_FILES` or `REMEMBERED_FILES` of them, so
/// even keys made to collide (a case-insensitive file system lets a client choose many
/// spellings of one file) cost a lookup at most that many comparisons. SipHash was 330
/// instructions of a cached response, FNV-1a is a few per byte of the path (callgrind: the
/// cached response 160 fewer).
pub type PathHash = BuildHasherDefault<PathHasher>;

pub struct PathHasher(u64);

impl Default for PathHasher {
    fn default() -> PathHasher {
        PathHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
