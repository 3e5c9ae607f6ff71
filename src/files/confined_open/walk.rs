//! The walk: open one component at a time with `O_NOFOLLOW`, each relative to the folder the
//! previous step opened. Works on every Unix; costs one `openat` (and `close`) per folder on
//! the path, where `openat2` costs one syscall in all. Race-free: a component swapped for a
//! symlink between two steps is refused by the step that reaches it.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use super::{opened, path_arg, OPEN_FLAGS};

pub fn open_no_symlinks(root: &File, relative: &str) -> io::Result<File> {
    let mut folder: Option<File> = None;
    let mut components = relative.split('/').filter(|c| !c.is_empty()).peekable();
    if components.peek().is_none() {
        return open_component(root, "", OPEN_FLAGS);
    }
    while let Some(component) = components.next() {
        let at = folder.as_ref().unwrap_or(root);
        let flags = if components.peek().is_some() { OPEN_FLAGS | libc::O_DIRECTORY } else { OPEN_FLAGS };
        folder = Some(open_component(at, component, flags | libc::O_NOFOLLOW)?);
    }
    folder.ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
}

/// One `openat`; a refusal caused by a symlink is reported as `ELOOP` on every system
/// (FreeBSD says `EMLINK` for `O_NOFOLLOW` on a link, and `O_DIRECTORY` may say `ENOTDIR`).
fn open_component(at: &File, component: &str, flags: libc::c_int) -> io::Result<File> {
    let name = path_arg(component)?;
    // SAFETY: the folder fd is open and the name is NUL-terminated.
    match opened(unsafe { libc::openat(at.as_raw_fd(), name.as_ptr(), flags) }) {
        Ok(file) => Ok(file),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::EMLINK | libc::ENOTDIR)) => {
            if is_symlink(at, &name) {
                Err(io::Error::from_raw_os_error(libc::ELOOP))
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

fn is_symlink(at: &File, name: &std::ffi::CStr) -> bool {
    // SAFETY: zeroed stat is a valid buffer for fstatat to fill.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the fd is open, the name NUL-terminated, `stat` writable.
    let result = unsafe { libc::fstatat(at.as_raw_fd(), name.as_ptr(), &mut stat, libc::AT_SYMLINK_NOFOLLOW) };
    result == 0 && (stat.st_mode & libc::S_IFMT) == libc::S_IFLNK
}
