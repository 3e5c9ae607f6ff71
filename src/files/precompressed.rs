//! Precompressed siblings (`page.html.br`, `page.html.gz`) of a file in the root.
//!
//! Looking for them costs two failed opens per request for every text file of a site that
//! has none — most sites. So each event loop remembers which files had no sibling, along with
//! their folder's modification time: creating a file in a folder changes that time, so one
//! `stat` of the folder tells whether the memory still holds, and nothing is ever stale.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{File, Metadata};
use std::os::fd::AsRawFd;

use crate::files::resolve::open_beneath;
use crate::files::site::Site;
use crate::files::PathHash;
use crate::limits::{REMEMBERED_FILES, SETTLE_TIME};

/// One event loop's memory of files seen without siblings: file path → its folder's
/// modification time (ns) then.
#[derive(Default)]
pub struct SiblingMemory {
    /// The `Site::id` remembered for: another tree (a deploy) may have the same folder times
    /// (`rsync -a`, `tar x` keep them) and other siblings.
    site: u64,
    without_siblings: HashMap<String, i128, PathHash>,
}

impl SiblingMemory {
    /// Opens the siblings `relative + suffix` for each suffix that exists as a regular file.
    pub fn find<const N: usize>(
        &mut self,
        site: &Site,
        relative: &str,
        suffixes: [&str; N],
    ) -> [Option<(File, Metadata)>; N] {
        if self.site != site.id {
            self.without_siblings.clear();
            self.site = site.id;
        }
        let folder = relative.rsplit_once('/').map_or("", |(folder, _)| folder);
        let folder_mtime = folder_mtime_ns(site, folder);
        if folder_mtime.is_some() && self.without_siblings.get(relative) == folder_mtime.as_ref() {
            return std::array::from_fn(|_| None);
        }
        let found = suffixes.map(|suffix| {
            let sibling = format!("{relative}{suffix}");
            open_beneath(site, &sibling).ok().filter(|(_, metadata)| metadata.is_file())
        });
        if let (Some(mtime), true) = (folder_mtime.filter(|m| settled(*m)), found.iter().all(Option::is_none)) {
            if self.without_siblings.len() >= REMEMBERED_FILES {
                self.without_siblings.clear();
            }
            self.without_siblings.insert(relative.to_string(), mtime);
        }
        found
    }
}

/// File times come from a coarse clock: a sibling created just after the folder's last
/// change could share its mtime. A folder changed within `SETTLE_TIME` is therefore not
/// remembered, and its files are looked up every time until it settles.
fn settled(mtime_ns: i128) -> bool {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
    now - mtime_ns > SETTLE_TIME.as_nanos() as i128
}

/// The folder's modification time in nanoseconds, from `fstatat` relative to the root.
#[allow(clippy::unnecessary_cast)] // time_t and the nsec field differ in type between systems
fn folder_mtime_ns(site: &Site, folder: &str) -> Option<i128> {
    let path = CString::new(if folder.is_empty() { "." } else { folder }).ok()?;
    // SAFETY: zeroed stat is a valid buffer for fstatat to fill.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the root fd is open, the path is NUL-terminated, `stat` is writable.
    let result = unsafe { libc::fstatat(site.root_dir.as_raw_fd(), path.as_ptr(), &mut stat, 0) };
    (result == 0).then(|| i128::from(stat.st_mtime as i64) * 1_000_000_000 + i128::from(stat.st_mtime_nsec as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::resolve::tests::tempdir;

    #[test]
    fn siblings_appear_as_soon_as_they_are_created() {
        let dir = tempdir::Dir::new();
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/a.html"), b"plain").expect("write");
        let settled_time = std::time::SystemTime::now() - std::time::Duration::from_secs(5);
        File::open(dir.path().join("sub")).expect("open folder").set_modified(settled_time).expect("set mtime");
        let site = Site::open(dir.path(), true, false, String::new()).expect("site");
        let mut memory = SiblingMemory::default();
        let [br, gz] = memory.find(&site, "sub/a.html", [".br", ".gz"]);
        assert!(br.is_none() && gz.is_none());
        // Remembered now; a new sibling changes the folder's mtime and is found at once.
        assert!(memory.without_siblings.contains_key("sub/a.html"));
        let [br, gz] = memory.find(&site, "sub/a.html", [".br", ".gz"]);
        assert!(br.is_none() && gz.is_none());
        std::fs::write(dir.path().join("sub/a.html.gz"), b"gz").expect("write");
        let [br, gz] = memory.find(&site, "sub/a.html", [".br", ".gz"]);
        assert!(br.is_none());
        assert_eq!(gz.expect("gzip sibling found").1.len(), 2);
    }

    #[test]
    fn a_folder_changed_just_now_is_not_remembered() {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.path().join("b.html"), b"plain").expect("write");
        let site = Site::open(dir.path(), true, false, String::new()).expect("site");
        let mut memory = SiblingMemory::default();
        let [br, gz] = memory.find(&site, "b.html", [".br", ".gz"]);
        assert!(br.is_none() && gz.is_none());
        assert!(!memory.without_siblings.contains_key("b.html"));
    }
}
