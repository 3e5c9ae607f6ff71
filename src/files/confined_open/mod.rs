//! Opening a path below the root folder so that no symlink is ever followed on the way.
//!
//! What every implementation promises: `open_no_symlinks(root, relative)` opens `relative`
//! (segments joined by `/`; `""` is the root itself) below the open `root` folder, read-only,
//! non-blocking (a FIFO cannot stall the thread), close-on-exec; it fails with `ELOOP` if any
//! component is a symlink, without following it, and with `EXDEV` if a component is `..`
//! (the URL layer never lets one through, but the wall does not depend on that). A path with
//! no `..` and no symlink cannot leave the folder it starts in, so that is the whole wall;
//! `files::resolve` decides what to do with paths that do go through a link.
//!
//! | system | how |
//! |---|---|
//! | Linux 5.6+ | `openat2(RESOLVE_BENEATH \| RESOLVE_NO_SYMLINKS)`: one syscall, the kernel enforces both |
//! | macOS 11+ | `openat(O_NOFOLLOW_ANY)`: one syscall; older macOS ignore the flag, so it is used only on Darwin 20+ |
//! | FreeBSD | the walk: FreeBSD 13's `O_RESOLVE_BENEATH` keeps a path inside the folder but follows links within it, and a link to `.env` must not be followed either |
//! | anything else, Linux without openat2, `--features portable` | the walk: `openat(O_NOFOLLOW)` one component at a time, each relative to the folder the last one opened |

use std::fs::File;
use std::io;

#[cfg(all(target_os = "linux", not(feature = "portable")))]
mod openat2;
#[cfg(all(target_os = "linux", not(feature = "portable")))]
use openat2 as system;

#[cfg(all(target_os = "macos", not(feature = "portable")))]
mod nofollow_any;
#[cfg(all(target_os = "macos", not(feature = "portable")))]
use nofollow_any as system;

mod walk;
#[cfg(any(feature = "portable", not(any(target_os = "linux", target_os = "macos"))))]
use walk as system;

/// Opens `relative` below `root` without following any symlink (see the module's promise).
pub fn open_no_symlinks(root: &File, relative: &str) -> io::Result<File> {
    if relative.split('/').any(|component| component == "..") {
        return Err(io::Error::from_raw_os_error(libc::EXDEV));
    }
    system::open_no_symlinks(root, relative)
}

/// Flags of every open: read-only, and never blocking, becoming a controlling terminal, or
/// leaking into a child process.
const OPEN_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;

fn path_arg(relative: &str) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(if relative.is_empty() { "." } else { relative })
        .map_err(|_| io::Error::from_raw_os_error(libc::ENOENT))
}

/// True when the error means "a symlink was in the way".
pub fn is_symlink_error(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::ELOOP)
}

#[allow(dead_code)] // each system uses what its implementation needs
fn opened(fd: libc::c_int) -> io::Result<File> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::resolve::tests::tempdir;
    use std::os::unix::fs::symlink;

    /// Every implementation built for this system keeps the promise, the walk included.
    fn check(open: fn(&File, &str) -> io::Result<File>) {
        let dir = tempdir::Dir::new();
        std::fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
        std::fs::write(dir.path().join("a/b/c.txt"), b"C").expect("write");
        symlink("b", dir.path().join("a/link")).expect("symlink");
        symlink("c.txt", dir.path().join("a/b/clink")).expect("symlink");
        symlink("/etc", dir.path().join("out")).expect("symlink");
        let root = File::open(dir.path()).expect("open root");
        let read = |file: io::Result<File>| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut file.expect("opened"), &mut text).map(|_| text)
        };
        assert_eq!(read(open(&root, "a/b/c.txt")).expect("read"), "C");
        assert!(open(&root, "").expect("the root").metadata().expect("stat").is_dir());
        assert!(open(&root, "a/b").expect("a folder").metadata().expect("stat").is_dir());
        for through_a_link in ["a/link/c.txt", "a/b/clink", "out/passwd", "out", "a/link"] {
            let error = open(&root, through_a_link).expect_err(through_a_link);
            assert!(is_symlink_error(&error), "{through_a_link}: {error}");
        }
        assert_eq!(open(&root, "a/missing").expect_err("missing").kind(), io::ErrorKind::NotFound);
        assert_eq!(open(&root, "a/b/c.txt/x").expect_err("not a folder").raw_os_error(), Some(libc::ENOTDIR));
        std::fs::write(dir.path().join("secret.txt"), b"S").expect("write");
        let inner = File::open(dir.path().join("a")).expect("open a");
        assert_eq!(open(&inner, "../secret.txt").expect_err("climbs").raw_os_error(), Some(libc::EXDEV));
        assert_eq!(open(&inner, "b/../../secret.txt").expect_err("climbs").raw_os_error(), Some(libc::EXDEV));
    }

    #[test]
    fn the_systems_open_follows_no_symlink() {
        check(open_no_symlinks);
    }

    #[test]
    fn the_walk_follows_no_symlink() {
        check(|root, relative| {
            if relative.split('/').any(|c| c == "..") {
                return Err(io::Error::from_raw_os_error(libc::EXDEV));
            }
            walk::open_no_symlinks(root, relative)
        });
    }
}
