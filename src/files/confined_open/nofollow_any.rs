//! macOS 11+: `openat(O_NOFOLLOW_ANY)` refuses a symlink in any component with `ELOOP`, in one
//! syscall. Earlier versions ignore unknown flags, which would follow links silently, so the
//! flag is used only when the kernel is Darwin 20 (macOS 11) or later; otherwise the walk.
//! Compiled and linted for macOS by CI; it cannot run on Linux.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

use super::{opened, path_arg, walk, OPEN_FLAGS};

pub fn open_no_symlinks(root: &File, relative: &str) -> io::Result<File> {
    if !has_nofollow_any() {
        return walk::open_no_symlinks(root, relative);
    }
    let path = path_arg(relative)?;
    // SAFETY: the fd is open and the path NUL-terminated.
    opened(unsafe { libc::openat(root.as_raw_fd(), path.as_ptr(), OPEN_FLAGS | libc::O_NOFOLLOW_ANY) })
}

/// Darwin's major version from `uname`: 20 is macOS 11.
fn has_nofollow_any() -> bool {
    static KNOWN: OnceLock<bool> = OnceLock::new();
    *KNOWN.get_or_init(|| {
        // SAFETY: utsname is plain data, filled by uname.
        let mut names: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: a valid, writable utsname.
        if unsafe { libc::uname(&mut names) } != 0 {
            return false;
        }
        // SAFETY: uname NUL-terminates `release`.
        let release = unsafe { std::ffi::CStr::from_ptr(names.release.as_ptr()) };
        let major = release.to_str().ok().and_then(|r| r.split('.').next()).and_then(|m| m.parse::<u32>().ok());
        major.is_some_and(|major| major >= 20)
    })
}
