//! Reading a folder through an open fd (`fdopendir(3)`), not by path: a folder opened with the
//! wall's checks is listed as exactly that folder, even if its path is swapped for a symlink
//! in between. Every Unix has `fdopendir`; Linux's `/proc/self/fd` is not needed.

use std::ffi::{CStr, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a name in a folder is, as `fstatat` sees it (a symlink is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Folder,
    Symlink,
    /// A FIFO, socket or device: never served.
    Other,
}

#[derive(Debug, Clone)]
pub struct FolderEntry {
    pub name: OsString,
    pub kind: Kind,
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// The entries of an open folder, without `.` and `..`, in the order the file system gives.
/// A name that vanished between listing and `fstatat` is left out.
pub fn read_folder(folder: File) -> io::Result<Vec<FolderEntry>> {
    let fd = folder.into_raw_fd();
    // SAFETY: `fd` is an open folder fd; on success the DIR stream owns it.
    let dir = unsafe { libc::fdopendir(fd) };
    if dir.is_null() {
        let error = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so the fd is still ours to close.
        unsafe { libc::close(fd) };
        return Err(error);
    }
    let stream = DirStream(dir);
    let mut entries = Vec::new();
    loop {
        // SAFETY: the stream is open; readdir returns null at the end (or on error).
        let entry = unsafe { libc::readdir(stream.0) };
        if entry.is_null() {
            break;
        }
        // SAFETY: readdir's entry stays valid until the next readdir on this stream, and
        // d_name is NUL-terminated.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        if let Some(entry) = stat_entry(&stream, name) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

struct DirStream(*mut libc::DIR);

impl AsRawFd for DirStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        // SAFETY: the stream is open for as long as self lives.
        unsafe { libc::dirfd(self.0) }
    }
}

impl Drop for DirStream {
    fn drop(&mut self) {
        // SAFETY: the stream is open and closed exactly once, here (closing its fd too).
        unsafe { libc::closedir(self.0) };
    }
}

#[allow(clippy::unnecessary_cast)] // stat's field types differ between systems
fn stat_entry(stream: &DirStream, name: &CStr) -> Option<FolderEntry> {
    // SAFETY: zeroed stat is a valid buffer for fstatat to fill.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the folder fd is open, the name NUL-terminated, `stat` writable.
    let result = unsafe { libc::fstatat(stream.as_raw_fd(), name.as_ptr(), &mut stat, libc::AT_SYMLINK_NOFOLLOW) };
    if result != 0 {
        return None;
    }
    let kind = match stat.st_mode & libc::S_IFMT {
        libc::S_IFREG => Kind::File,
        libc::S_IFDIR => Kind::Folder,
        libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    };
    let (secs, nanos) = (stat.st_mtime as i64, stat.st_mtime_nsec as i64);
    let modified = u64::try_from(secs).ok().map(|s| UNIX_EPOCH + Duration::new(s, nanos.clamp(0, 999_999_999) as u32));
    Some(FolderEntry {
        name: OsStr::from_bytes(name.to_bytes()).to_os_string(),
        kind,
        len: stat.st_size as u64,
        modified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::resolve::tests::tempdir;

    #[test]
    fn lists_names_kinds_and_sizes_without_following_links() {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.path().join("a.txt"), b"hello").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::os::unix::fs::symlink("/etc", dir.path().join("link")).expect("symlink");
        let mut entries = read_folder(File::open(dir.path()).expect("open")).expect("read");
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let seen: Vec<_> = entries.iter().map(|e| (e.name.to_str().expect("utf-8"), e.kind)).collect();
        assert_eq!(seen, [("a.txt", Kind::File), ("link", Kind::Symlink), ("sub", Kind::Folder)]);
        assert_eq!(entries[0].len, 5);
        assert!(entries[0].modified.is_some());
    }
}
