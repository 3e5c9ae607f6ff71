//! Following the root's path without a kernel queue: every request compares the identity
//! (device, inode) of what the path names now, from one `stat`, with that of the folder being
//! served. Used on macOS and FreeBSD, and on Linux under `--features portable`.
//!
//! The identity is exact: while the old folder is open here its inode cannot be freed, so a
//! new folder at the same path (`rm -rf site && mkdir site`) always has another one.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::files::site::Site;

pub struct RootWatch {
    path: PathBuf,
}

impl RootWatch {
    pub fn new(path: &Path) -> io::Result<RootWatch> {
        Ok(RootWatch { path: path.to_path_buf() })
    }

    /// True when the path names something other than the folder `held` serves (or nothing).
    pub fn may_have_moved(&self, held: &Site) -> bool {
        std::fs::metadata(&self.path).map_or(true, |m| (m.dev(), m.ino()) != held.device_inode)
    }

    /// There is no queue to read.
    pub fn settle(&self) {}
}
