//! The file cache's watch without a kernel queue: every use of a cached file compares what
//! `fstatat` says now about it and each folder on its path with what it said when the file
//! was read. Used on macOS and FreeBSD, and on Linux under `--features portable`.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Untracked;
use crate::files::site::Site;
use crate::limits::SETTLE_TIME;

/// What identifies one state of a file or folder: replacing it (rename, delete and create)
/// changes the inode, writing to it the size or modification time, and chmod, rename, link
/// or a write through a hard link elsewhere the change time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
    kind: libc::mode_t,
    size: i64,
    modified_ns: i128,
    changed_ns: i128,
}

/// The paths (below the root) and identities a cached file depends on.
#[derive(Debug)]
pub struct Stamp {
    checks: Vec<(String, Identity)>,
}

#[derive(Default)]
pub struct ChangeWatch;

impl ChangeWatch {
    pub fn new() -> ChangeWatch {
        ChangeWatch
    }

    pub fn prepare(&mut self) {}

    /// There is no queue to look at: each entry is checked on its own by `unchanged`.
    pub fn anything_changed(&mut self) -> bool {
        false
    }

    /// The root and every folder down to `folder`, each as it is now: a folder's modification
    /// time changes when a name in it is created, removed or renamed (a new sibling, a
    /// deleted index page), and its identity when it is swapped for another or for a link.
    pub fn track_folders(&mut self, site: &Site, folder: &str) -> Result<Stamp, Untracked> {
        let mut checks = Vec::new();
        let mut prefixes = vec![""];
        prefixes.extend(folder.match_indices('/').map(|(at, _)| &folder[..at]));
        if !folder.is_empty() {
            prefixes.push(folder);
        }
        for prefix in prefixes {
            let identity = identity_at(site, prefix).ok_or("a folder on the path is gone")?;
            if identity.kind != libc::S_IFDIR {
                return Err("a folder on the path is not a folder (a symlink?)");
            }
            settled(&identity)?;
            checks.push((prefix.to_string(), identity));
        }
        Ok(Stamp { checks })
    }

    /// The file about to be read, as the fd it was opened as says.
    pub fn track_file(&mut self, _site: &Site, relative: &str, file: &File) -> Result<Stamp, Untracked> {
        // SAFETY: zeroed stat is a valid buffer for fstat to fill.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the fd is open and `stat` writable.
        if unsafe { libc::fstat(file.as_raw_fd(), &mut stat) } != 0 {
            return Err("fstat failed");
        }
        let identity = identity_of(&stat);
        settled(&identity)?;
        Ok(Stamp { checks: vec![(relative.to_string(), identity)] })
    }

    /// Whether every path still names what it named when the stamps were taken.
    pub fn unchanged(&self, site: &Site, stamps: &[Stamp]) -> bool {
        stamps.iter().flat_map(|s| &s.checks).all(|(path, then)| identity_at(site, path).as_ref() == Some(then))
    }
}

/// A file or folder changed within `SETTLE_TIME` might change again within the same tick of
/// the clock that stamps it, and that change would not show: it is not cached until it settles.
fn settled(identity: &Identity) -> Result<(), Untracked> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
    let latest = identity.modified_ns.max(identity.changed_ns);
    if now - latest < SETTLE_TIME.as_nanos() as i128 {
        return Err("changed less than a second ago");
    }
    Ok(())
}

/// `fstatat(root, path, AT_SYMLINK_NOFOLLOW)`: a link in the last place is seen as a link.
fn identity_at(site: &Site, relative: &str) -> Option<Identity> {
    let path = CString::new(if relative.is_empty() { "." } else { relative }).ok()?;
    // SAFETY: zeroed stat is a valid buffer for fstatat to fill.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the root fd is open, the path NUL-terminated, `stat` writable.
    let result =
        unsafe { libc::fstatat(site.root_dir.as_raw_fd(), path.as_ptr(), &mut stat, libc::AT_SYMLINK_NOFOLLOW) };
    (result == 0).then(|| identity_of(&stat))
}

// The stat fields' integer types differ between systems (dev_t is u64 on Linux, i32 on
// macOS; mode_t u32 or u16), so the casts are needed somewhere even where they are not here.
#[allow(clippy::unnecessary_cast)]
fn identity_of(stat: &libc::stat) -> Identity {
    Identity {
        device: stat.st_dev as u64,
        inode: stat.st_ino as u64,
        kind: stat.st_mode & libc::S_IFMT,
        size: stat.st_size as i64,
        modified_ns: i128::from(stat.st_mtime as i64) * 1_000_000_000 + i128::from(stat.st_mtime_nsec as i64),
        changed_ns: i128::from(stat.st_ctime as i64) * 1_000_000_000 + i128::from(stat.st_ctime_nsec as i64),
    }
}
