//! The file side: a URL path becomes a file inside the document root, or a reason why not.

pub mod body;
pub mod confined_open;
pub mod deploy;
pub mod file_cache;
pub mod folder;
pub mod html;
pub mod listing;
pub mod media_type;
pub mod precompressed;
pub mod resolve;
pub mod site;
pub mod url_path;
pub mod watch;

use std::fmt;
use std::io;

/// Why a path cannot be served, at the file layer. `http::response` maps each to a status.
/// The reasons go to the access log, never to the client.
#[derive(Debug)]
pub enum FileError {
    /// Missing, outside the root, a hidden dotfile, or a symlink that leaves the root: all
    /// look the same from outside, so nothing leaks about what exists beyond the wall.
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
            FileError::NotFound(why) | FileError::Forbidden(why) => f.write_str(why),
            FileError::OutOfFileDescriptors => f.write_str("out of file descriptors"),
            FileError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl From<io::Error> for FileError {
    fn from(error: io::Error) -> FileError {
        match error.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG | libc::EINVAL) => {
                FileError::NotFound("no such file")
            }
            Some(libc::EXDEV) => FileError::NotFound("outside the root"),
            Some(libc::ELOOP) => FileError::NotFound("symlink loop"),
            Some(libc::EACCES | libc::EPERM) => FileError::Forbidden("permission denied"),
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
