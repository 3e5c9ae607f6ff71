//! Mapping a decoded URL path into the document root: the root is a wall.
//!
//! The URL layer already refused `..`, encoded separators, backslashes and NUL. Here the
//! file is opened with `openat2(root, path, RESOLVE_BENEATH)`, so the kernel itself refuses
//! any path (through symlinks too) that would leave the root, with no race between checking
//! and opening. Where `openat2` is missing (Linux < 5.6, some sandboxes) the fallback
//! canonicalizes and compares path components with the canonical root before opening;
//! that is best-effort against a symlink swapped in between (lighttpd's maintainers say the
//! same of theirs).

use std::ffi::CString;
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::files::site::Site;
use crate::files::url_path::UrlPath;
use crate::files::FileError;

/// What a URL path names inside the root.
#[derive(Debug)]
pub enum Resolved {
    File { file: File, metadata: Metadata },
    Directory,
}

/// Resolves a URL path to a regular file or a folder inside the root.
pub fn resolve_path(site: &Site, path: &UrlPath<'_>) -> Result<Resolved, FileError> {
    if !site.hidden && path.has_hidden_segment() {
        return Err(FileError::NotFound);
    }
    let (file, metadata) = open_beneath(site, &path.relative)?;
    if metadata.is_dir() {
        Ok(Resolved::Directory)
    } else {
        Ok(Resolved::File { file, metadata })
    }
}

/// Opens `relative` (no leading slash; `""` is the root) below the root, read-only, and
/// returns it with its metadata. FIFOs, sockets and devices are refused: opening is
/// non-blocking so a FIFO cannot stall the thread, and they are never served.
pub fn open_beneath(site: &Site, relative: &str) -> Result<(File, Metadata), FileError> {
    let file = if OPENAT2_MISSING.load(Ordering::Relaxed) {
        open_checked_fallback(site, relative)?
    } else {
        // The common case, a path with no symlink in it: one syscall, and the path the URL
        // named is the file's real path (its dotfile check already done on the URL).
        match openat2_beneath(site, relative, OPEN_FLAGS, RESOLVE_NO_SYMLINKS) {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => open_through_symlinks(site, relative)?,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                if e.raw_os_error() == Some(libc::ENOSYS) {
                    OPENAT2_MISSING.store(true, Ordering::Relaxed);
                }
                open_checked_fallback(site, relative)?
            }
            Err(e) => return Err(e.into()),
        }
    };
    let metadata = file.metadata()?;
    if metadata.is_file() || metadata.is_dir() {
        Ok((file, metadata))
    } else {
        Err(FileError::Forbidden)
    }
}

static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

pub(crate) const RESOLVE_NO_SYMLINKS: u64 = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;

/// The path goes through a symlink. Find where it really leads (relative or absolute links
/// alike), require that inside the root and free of dotfiles (a link must not publish `.env`
/// or `.git`), then open exactly that real path with symlinks forbidden: if anything was
/// swapped in between, the open fails instead of following it.
fn open_through_symlinks(site: &Site, relative: &str) -> Result<File, FileError> {
    let canonical = site.root.join(relative).canonicalize()?;
    let inside = real_path_inside(site, &canonical)?;
    Ok(openat2_beneath(site, inside, OPEN_FLAGS, RESOLVE_NO_SYMLINKS)?)
}

/// `canonical` relative to the root, or NotFound when it is outside the root or, unless
/// `--hidden`, names a dotfile. `strip_prefix` compares whole components, so
/// `/srv/public-x` is not inside `/srv/public` (CVE-2014-6394 was a string-prefix compare).
fn real_path_inside<'p>(site: &Site, canonical: &'p std::path::Path) -> Result<&'p str, FileError> {
    let inside = canonical.strip_prefix(&site.root).map_err(|_| FileError::NotFound)?;
    let inside = inside.to_str().ok_or(FileError::NotFound)?;
    if !site.hidden && inside.split('/').any(|segment| segment.starts_with('.')) {
        return Err(FileError::NotFound);
    }
    Ok(inside)
}

pub(crate) const OPEN_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;

/// `openat2(root, relative, flags, resolve)`; `""` opens the root itself.
pub(crate) fn openat2_beneath(site: &Site, relative: &str, flags: libc::c_int, resolve: u64) -> io::Result<File> {
    let path = CString::new(if relative.is_empty() { "." } else { relative })
        .map_err(|_| io::Error::from_raw_os_error(libc::ENOENT))?;
    // SAFETY: open_how is plain data; zeroed is its documented "no options" value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = resolve;
    // SAFETY: the fd, the NUL-terminated path and `how` are valid for the call; the size
    // passed is the struct's own.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            site.root_dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd as libc::c_int) })
}

/// Without openat2 (Linux < 5.6): the same checks on the canonical path, then a plain open,
/// best-effort against a symlink swapped in between.
fn open_checked_fallback(site: &Site, relative: &str) -> Result<File, FileError> {
    let canonical = site.root.join(relative).canonicalize()?;
    real_path_inside(site, &canonical)?;
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(canonical)?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::http::target::parse_target;
    use std::os::unix::fs::symlink;

    fn site_with_files() -> (tempdir::Dir, Site) {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.path().join("a.txt"), b"A").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join(".env"), b"SECRET").expect("write");
        symlink("/etc", dir.path().join("leak")).expect("symlink");
        symlink("a.txt", dir.path().join("inside")).expect("symlink");
        symlink(dir.path().join("a.txt"), dir.path().join("absolute-inside")).expect("symlink");
        symlink(".env", dir.path().join("envlink")).expect("symlink");
        std::fs::create_dir(dir.path().join(".git")).expect("mkdir");
        std::fs::write(dir.path().join(".git/config"), b"[core]").expect("write");
        symlink(".git", dir.path().join("gitlink")).expect("symlink");
        let site = Site::open(dir.path(), true, false, String::new()).expect("site");
        (dir, site)
    }

    fn resolve(site: &Site, target: &str) -> Result<Resolved, FileError> {
        resolve_path(site, &parse_target(target).expect("valid target"))
    }

    #[test]
    fn files_folders_and_the_wall() {
        let (_dir, site) = site_with_files();
        assert!(matches!(resolve(&site, "/a.txt"), Ok(Resolved::File { .. })));
        assert!(matches!(resolve(&site, "/"), Ok(Resolved::Directory)));
        assert!(matches!(resolve(&site, "/sub"), Ok(Resolved::Directory)));
        assert!(matches!(resolve(&site, "/inside"), Ok(Resolved::File { .. })));
        assert!(matches!(resolve(&site, "/absolute-inside"), Ok(Resolved::File { .. })));
        assert!(matches!(resolve(&site, "/envlink"), Err(FileError::NotFound)), "a link must not publish a dotfile");
        assert!(matches!(resolve(&site, "/gitlink/config"), Err(FileError::NotFound)));
        assert!(matches!(resolve(&site, "/leak/passwd"), Err(FileError::NotFound)));
        assert!(matches!(resolve(&site, "/missing"), Err(FileError::NotFound)));
        assert!(matches!(resolve(&site, "/a.txt/x"), Err(FileError::NotFound)));
        assert!(matches!(resolve(&site, "/.env"), Err(FileError::NotFound)));
        let absolute = format!("/{}", site.root.join("a.txt").display());
        assert!(matches!(resolve(&site, &absolute), Err(FileError::NotFound)));
    }

    #[test]
    fn fallback_keeps_the_same_wall() {
        let (_dir, site) = site_with_files();
        assert!(open_checked_fallback(&site, "a.txt").is_ok());
        assert!(matches!(open_checked_fallback(&site, "leak/passwd"), Err(FileError::NotFound)));
        assert!(matches!(open_checked_fallback(&site, "nope"), Err(FileError::NotFound)));
        assert!(matches!(open_checked_fallback(&site, "envlink"), Err(FileError::NotFound)));
        assert!(open_through_symlinks(&site, "absolute-inside").is_ok());
    }

    /// A temporary folder removed on drop; std has none and this is all the tests need.
    pub mod tempdir {
        use std::path::{Path, PathBuf};
        use std::sync::atomic::{AtomicUsize, Ordering};

        pub struct Dir(PathBuf);

        impl Dir {
            pub fn new() -> Dir {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let path = std::env::temp_dir().join(format!("rawserve-unit-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).expect("temp dir");
                Dir(path)
            }
            pub fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
