//! Linux: `openat2(2)` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, one syscall that the
//! kernel itself confines. Where it is missing (Linux before 5.6, or a seccomp sandbox that
//! answers unknown syscalls with `EPERM` or `ENOSYS`), the walk does the same job.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{opened, path_arg, walk, OPEN_FLAGS};

static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

pub fn open_no_symlinks(root: &File, relative: &str) -> io::Result<File> {
    if OPENAT2_MISSING.load(Ordering::Relaxed) {
        return walk::open_no_symlinks(root, relative);
    }
    let path = path_arg(relative)?;
    // SAFETY: open_how is plain data; zeroed is its documented "no options" value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = OPEN_FLAGS as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
    // SAFETY: the fd, the NUL-terminated path and `how` are valid for the call; the size
    // passed is the struct's own.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    match opened(fd as libc::c_int) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
            if e.raw_os_error() == Some(libc::ENOSYS) {
                OPENAT2_MISSING.store(true, Ordering::Relaxed);
            }
            walk::open_no_symlinks(root, relative)
        }
        // RESOLVE_BENEATH refuses an escape with EXDEV; without `..` and symlinks none can
        // happen, but if it did, it is a path through something it must not follow.
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => Err(io::Error::from_raw_os_error(libc::ELOOP)),
        other => other,
    }
}
