//! The file side: a URL path becomes a file inside the document root, or a reason why not.

pub mod body;
pub mod file_cache;
pub mod listing;
pub mod media_type;
pub mod precompressed;
pub mod resolve;
pub mod site;
pub mod url_path;

use std::fmt;
use std::io;

/// Why a path cannot be served, at the file layer. `http::response` maps each to a status.
#[derive(Debug)]
pub enum FileError {
    /// Missing, outside the root, a hidden dotfile, or a symlink that leaves the root: all
    /// look the same from outside, so nothing leaks about what exists beyond the wall.
    NotFound,
    /// Exists but may not be read (permissions, not a regular file or folder).
    Forbidden,
    /// The process ran out of file descriptors: a passing overload, not the file's fault.
    OutOfFileDescriptors,
    /// Anything else the file system said.
    Io(io::Error),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotFound => f.write_str("not found"),
            FileError::Forbidden => f.write_str("forbidden"),
            FileError::OutOfFileDescriptors => f.write_str("out of file descriptors"),
            FileError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl From<io::Error> for FileError {
    fn from(error: io::Error) -> FileError {
        match error.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR | libc::EXDEV | libc::ELOOP | libc::ENAMETOOLONG | libc::EINVAL) => {
                FileError::NotFound
            }
            Some(libc::EACCES | libc::EPERM) => FileError::Forbidden,
            Some(libc::EMFILE | libc::ENFILE) => FileError::OutOfFileDescriptors,
            _ => FileError::Io(error),
        }
    }
}
