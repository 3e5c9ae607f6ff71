//! Mapping a decoded URL path into the document root: the root is a wall.
//!
//! The URL layer already removed dot-segments (refusing a `..` that climbs above the root)
//! and refused encoded separators, backslashes and NUL, lexically: `a/../b` is `b` whatever
//! `a` is on disk, so `..` never walks back out of a symlinked folder. Here the file is
//! opened through `files::confined_open`, which never follows a symlink, so a path with none
//! is inside the root by construction, with no race between checking and opening. A path
//! that does go through a symlink is resolved to its real path, which must lie inside the
//! canonical root and (unless `--hidden`) hold no dotfile; exactly that real path is then
//! opened the same way, so a link swapped in between makes the open fail instead of being
//! followed.

use std::fs::{File, Metadata};

use crate::files::confined_open::{is_symlink_error, open_no_symlinks};
use crate::files::site::Site;
use crate::files::url_path::UrlPath;
use crate::files::FileError;

/// What a URL path names inside the root. (`Metadata` is large on FreeBSD; one lives per
/// request, on the stack, so boxing it would buy nothing.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Resolved {
    File { file: File, metadata: Metadata },
    Directory,
}

/// Resolves a URL path to a regular file or a folder inside the root.
pub fn resolve_path(site: &Site, path: &UrlPath<'_>) -> Result<Resolved, FileError> {
    if !site.hidden && path.has_hidden_segment() {
        return Err(FileError::NotFound("dotfile hidden"));
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
    // The common case, a path with no symlink in it: the path the URL named is the file's
    // real path (its dotfile check already done on the URL).
    let file = match open_no_symlinks(&site.root_dir, relative) {
        Ok(file) => file,
        Err(e) if is_symlink_error(&e) => open_through_symlinks(site, relative)?,
        Err(e) => return Err(e.into()),
    };
    let metadata = file.metadata()?;
    if metadata.is_file() || metadata.is_dir() {
        Ok((file, metadata))
    } else {
        Err(FileError::Forbidden("not a regular file"))
    }
}

/// The path goes through a symlink. Find where it really leads (relative or absolute links
/// alike), require that inside the root and free of dotfiles (a link must not publish `.env`
/// or `.git`), then open exactly that real path with symlinks forbidden: if anything was
/// swapped in between, the open fails instead of following it.
fn open_through_symlinks(site: &Site, relative: &str) -> Result<File, FileError> {
    let canonical = site.root.join(relative).canonicalize().map_err(|e| match FileError::from(e) {
        FileError::NotFound(_) => FileError::NotFound("symlink to nothing"),
        other => other,
    })?;
    let inside = real_path_inside(site, &canonical)?;
    open_no_symlinks(&site.root_dir, inside).map_err(|e| {
        if is_symlink_error(&e) {
            FileError::NotFound("symlink changed while opening")
        } else {
            e.into()
        }
    })
}

/// `canonical` relative to the root, or NotFound when it is outside the root or, unless
/// `--hidden`, names a dotfile. `strip_prefix` compares whole components, so
/// `/srv/public-x` is not inside `/srv/public` (CVE-2014-6394 was a string-prefix compare).
fn real_path_inside<'p>(site: &Site, canonical: &'p std::path::Path) -> Result<&'p str, FileError> {
    let inside = canonical.strip_prefix(&site.root).map_err(|_| FileError::NotFound("symlink leaves the root"))?;
    let inside = inside.to_str().ok_or(FileError::NotFound("symlink to a name that is not UTF-8"))?;
    if !site.hidden && inside.split('/').any(|segment| segment.starts_with('.')) {
        return Err(FileError::NotFound("symlink to a dotfile"));
    }
    Ok(inside)
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
        assert!(
            matches!(resolve(&site, "/envlink"), Err(FileError::NotFound("symlink to a dotfile"))),
            "a link must not publish a dotfile"
        );
        assert!(matches!(resolve(&site, "/gitlink/config"), Err(FileError::NotFound("symlink to a dotfile"))));
        assert!(matches!(resolve(&site, "/leak/passwd"), Err(FileError::NotFound("symlink leaves the root"))));
        assert!(matches!(resolve(&site, "/missing"), Err(FileError::NotFound("no such file"))));
        assert!(matches!(resolve(&site, "/a.txt/x"), Err(FileError::NotFound("no such file"))));
        assert!(matches!(resolve(&site, "/.env"), Err(FileError::NotFound("dotfile hidden"))));
        let absolute = format!("/{}", site.root.join("a.txt").display());
        assert!(matches!(resolve(&site, &absolute), Err(FileError::NotFound("no such file"))));
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
