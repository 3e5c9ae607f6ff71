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
//!
//! `--follow-symlinks` moves the wall, not the method: a real path outside the root is
//! allowed too (still never a hidden one), and opened with the same confined open below the
//! file system's root `/`. So every system's confined open serves both cases unchanged: no
//! "follow" mode per implementation, and the same guarantee that what is opened is exactly
//! the real path that was checked.

use std::fs::{File, Metadata};
use std::path::Path;

use crate::files::confined_open::{is_symlink_error, open_no_symlinks};
use crate::files::site::Site;
use crate::files::url_path::{is_hidden, UrlPath};
use crate::files::FileError;

/// What a URL path names inside the root. (`Metadata` is large on FreeBSD; one lives per
/// request, on the stack, so boxing it would buy nothing.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Resolved {
    File { file: File, metadata: Metadata, reach: Reach },
    Directory,
}

/// How a path was reached, for the debug narration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The path the URL named, with no symlink on it.
    Direct,
    /// Through a symlink, to a real path inside the root.
    LinkInside,
    /// Through a symlink, to a real path outside the root (`--follow-symlinks`).
    LinkOutside,
}

/// Resolves a URL path to a regular file or a folder inside the root.
pub fn resolve_path(site: &Site, path: &UrlPath<'_>) -> Result<Resolved, FileError> {
    if !site.hidden && path.has_hidden_segment() {
        return Err(FileError::NotFound("dotfile hidden"));
    }
    let (file, metadata, reach) = open_reached(site, &path.relative)?;
    if metadata.is_dir() {
        Ok(Resolved::Directory)
    } else {
        Ok(Resolved::File { file, metadata, reach })
    }
}

/// Opens `relative` (no leading slash; `""` is the root) below the root, read-only, and
/// returns it with its metadata. FIFOs, sockets and devices are refused: opening is
/// non-blocking so a FIFO cannot stall the thread, and they are never served.
pub fn open_beneath(site: &Site, relative: &str) -> Result<(File, Metadata), FileError> {
    open_reached(site, relative).map(|(file, metadata, _)| (file, metadata))
}

/// `open_beneath`, saying how the file was reached.
pub fn open_reached(site: &Site, relative: &str) -> Result<(File, Metadata, Reach), FileError> {
    // The common case, a path with no symlink in it: the path the URL named is the file's
    // real path (its dotfile check already done on the URL).
    let (file, reach) = match open_no_symlinks(&site.root_dir, relative) {
        Ok(file) => (file, Reach::Direct),
        Err(e) if is_symlink_error(&e) => open_through_symlinks(site, relative)?,
        Err(e) => return Err(e.into()),
    };
    let metadata = file.metadata()?;
    if metadata.is_file() || metadata.is_dir() {
        Ok((file, metadata, reach))
    } else {
        Err(FileError::Forbidden("not a regular file"))
    }
}

/// The path goes through a symlink. Find where it really leads (relative or absolute links
/// alike), require that within the wall (`within_wall`), then open exactly that real path
/// with symlinks forbidden: if anything was swapped in between, the open fails instead of
/// following it.
fn open_through_symlinks(site: &Site, relative: &str) -> Result<(File, Reach), FileError> {
    let canonical = match site.root.join(relative).canonicalize() {
        Ok(canonical) => canonical,
        Err(e) => return Err(why_unreal(site, relative, e.into())),
    };
    let (below, real, reach) = within_wall(site, &canonical)?;
    if reach == Reach::LinkOutside {
        // Outside the root anything may sit at the end of a link: a device is not even
        // opened (opening one can have effects: a tape rewinds, a watchdog arms).
        let metadata = std::fs::symlink_metadata(&canonical)?;
        if !metadata.is_file() && !metadata.is_dir() {
            return Err(FileError::Forbidden("not a regular file"));
        }
    }
    let file = open_no_symlinks(below, real).map_err(|e| {
        if is_symlink_error(&e) {
            FileError::NotFound("symlink changed while opening")
        } else {
            e.into()
        }
    })?;
    Ok((file, reach))
}

/// Where a real path may be opened from: inside the root, below the root folder; with
/// `--follow-symlinks`, anywhere else, below `/`. Unless `--hidden` it may hold no dotfile: a
/// link must not publish `.env`, `.git` or `~/.ssh`. Outside the root, the dot-names the root
/// itself sits under (`~/.sites/blog`) are not held against it; every dot-name below the
/// folder the root and the target share is. `strip_prefix` compares whole components, so
/// `/srv/public-x` is not inside `/srv/public` (CVE-2014-6394 was a string-prefix compare).
fn within_wall<'s, 'p>(site: &'s Site, canonical: &'p Path) -> Result<(&'s File, &'p str, Reach), FileError> {
    let not_utf8 = FileError::NotFound("symlink to a name that is not UTF-8");
    if let Ok(inside) = canonical.strip_prefix(&site.root) {
        let inside = inside.to_str().ok_or(not_utf8)?;
        if !site.hidden && is_hidden(inside) {
            return Err(FileError::NotFound("symlink to a dotfile"));
        }
        return Ok((&site.root_dir, inside, Reach::LinkInside));
    }
    let filesystem_root = site.links_out.as_ref().ok_or(FileError::NotFound("symlink leaves the root"))?;
    let shared = site.root.components().zip(canonical.components()).take_while(|(a, b)| a == b).count();
    let beyond = canonical.components().skip(shared);
    if !site.hidden && beyond.into_iter().any(|c| c.as_os_str().as_encoded_bytes().starts_with(b".")) {
        return Err(FileError::NotFound("symlink to a dotfile outside the root"));
    }
    let real = canonical.strip_prefix("/").map_err(|_| FileError::NotFound("symlink leaves the root"))?;
    Ok((filesystem_root, real.to_str().ok_or(not_utf8)?, Reach::LinkOutside))
}

/// A path through a symlink has no real path (`error`, from `canonicalize`). When the
/// nearest folder above it that does resolve is within the wall and the name below that is
/// simply absent, it is `Missing`, as the same path without links would be (so `--spa` and
/// `--clean-urls` work in a linked folder). Otherwise it is a refusal: a dangling link, or a
/// name below a link the wall refuses — which must look the same whether or not the name
/// exists beyond it, or the answer would tell what is in `/etc`.
fn why_unreal(site: &Site, relative: &str, error: FileError) -> FileError {
    if !matches!(error, FileError::Missing) {
        return error;
    }
    let mut below = relative;
    while let Some((folder, name)) = below.rsplit_once('/') {
        if let Ok(canonical) = site.root.join(folder).canonicalize() {
            if let Err(refusal) = within_wall(site, &canonical) {
                return refusal;
            }
            let first_name = relative[folder.len() + 1..].split('/').next().unwrap_or(name);
            return match std::fs::symlink_metadata(canonical.join(first_name)) {
                Ok(metadata) if metadata.file_type().is_symlink() => FileError::NotFound("symlink to nothing"),
                _ => FileError::Missing,
            };
        }
        below = folder;
    }
    // Nothing above it resolved: the first name itself is a link to nothing.
    FileError::NotFound("symlink to nothing")
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
        assert!(matches!(resolve(&site, "/missing"), Err(FileError::Missing)));
        assert!(matches!(resolve(&site, "/a.txt/x"), Err(FileError::Missing)));
        assert!(matches!(resolve(&site, "/.env"), Err(FileError::NotFound("dotfile hidden"))));
        let absolute = format!("/{}", site.root.join("a.txt").display());
        assert!(matches!(resolve(&site, &absolute), Err(FileError::Missing)));
        assert!(open_through_symlinks(&site, "absolute-inside").is_ok());
    }

    #[test]
    fn well_known_is_the_one_dot_folder_served() {
        let (dir, site) = site_with_files();
        std::fs::create_dir(dir.path().join(".well-known")).expect("mkdir");
        std::fs::write(dir.path().join(".well-known/security.txt"), b"Contact: x").expect("write");
        std::fs::write(dir.path().join(".well-known/.private"), b"P").expect("write");
        symlink(".well-known", dir.path().join("wk")).expect("symlink");
        assert!(matches!(resolve(&site, "/.well-known/security.txt"), Ok(Resolved::File { .. })));
        assert!(matches!(resolve(&site, "/.well-known/"), Ok(Resolved::Directory)));
        assert!(matches!(resolve(&site, "/wk/security.txt"), Ok(Resolved::File { reach: Reach::LinkInside, .. })));
        assert!(matches!(resolve(&site, "/.well-known/.private"), Err(FileError::NotFound("dotfile hidden"))));
        assert!(matches!(resolve(&site, "/wk/.private"), Err(FileError::NotFound("dotfile hidden"))));
        assert!(matches!(resolve(&site, "/.Well-Known/security.txt"), Err(FileError::NotFound("dotfile hidden"))));
        assert!(matches!(resolve(&site, "/sub/.well-known"), Err(FileError::NotFound("dotfile hidden"))));
    }

    /// Missing below a link is `Missing` only where the link is within the wall: otherwise the
    /// answer would tell what exists beyond it.
    #[test]
    fn missing_below_a_link_is_missing_only_within_the_wall() {
        let (dir, site) = site_with_files();
        symlink("sub", dir.path().join("alias")).expect("symlink");
        symlink("nowhere", dir.path().join("dangling")).expect("symlink");
        assert!(matches!(resolve(&site, "/alias/missing"), Err(FileError::Missing)));
        assert!(matches!(resolve(&site, "/alias/missing/deeper"), Err(FileError::Missing)));
        assert!(matches!(resolve(&site, "/inside/x"), Err(FileError::Missing)), "below a linked file");
        assert!(matches!(resolve(&site, "/dangling"), Err(FileError::NotFound("symlink to nothing"))));
        assert!(matches!(resolve(&site, "/dangling/x"), Err(FileError::NotFound("symlink to nothing"))));
        for beyond in ["/leak/passwd", "/leak/no-such-file-here", "/leak/no/such/file"] {
            assert!(matches!(resolve(&site, beyond), Err(FileError::NotFound("symlink leaves the root"))), "{beyond}");
        }
        for dotted in ["/gitlink/config", "/gitlink/no-such-file"] {
            assert!(matches!(resolve(&site, dotted), Err(FileError::NotFound("symlink to a dotfile"))), "{dotted}");
        }
    }

    #[test]
    fn follow_symlinks_opens_real_paths_outside_but_never_hidden_ones() {
        let outside = tempdir::Dir::new();
        std::fs::create_dir_all(outside.path().join("shared/deep")).expect("mkdir");
        std::fs::write(outside.path().join("shared/a.css"), b"A").expect("write");
        std::fs::write(outside.path().join("shared/.env"), b"SECRET").expect("write");
        std::fs::create_dir(outside.path().join(".config")).expect("mkdir");
        std::fs::write(outside.path().join(".config/token"), b"SECRET").expect("write");
        let (dir, mut site) = site_with_files();
        symlink(outside.path().join("shared"), dir.path().join("assets")).expect("symlink");
        symlink(outside.path().join("shared/.env"), dir.path().join("env")).expect("symlink");
        symlink(outside.path().join(".config"), dir.path().join("config")).expect("symlink");
        symlink("/dev/null", dir.path().join("device")).expect("symlink");
        assert!(matches!(resolve(&site, "/assets/a.css"), Err(FileError::NotFound("symlink leaves the root"))));
        site.follow_symlinks_out().expect("open /");
        match resolve(&site, "/assets/a.css") {
            Ok(Resolved::File { metadata, reach: Reach::LinkOutside, .. }) => assert_eq!(metadata.len(), 1),
            other => panic!("{other:?}"),
        }
        assert!(matches!(resolve(&site, "/assets/deep"), Ok(Resolved::Directory)));
        assert!(matches!(resolve(&site, "/assets/missing"), Err(FileError::Missing)));
        assert!(matches!(resolve(&site, "/assets/.env"), Err(FileError::NotFound("dotfile hidden"))));
        for hidden in ["/env", "/config/token", "/config/missing"] {
            let got = resolve(&site, hidden);
            assert!(
                matches!(got, Err(FileError::NotFound("symlink to a dotfile outside the root"))),
                "{hidden}: {got:?}"
            );
        }
        assert!(matches!(resolve(&site, "/device"), Err(FileError::Forbidden("not a regular file"))));
        // Inside the root the rules are the same as without the option.
        assert!(matches!(resolve(&site, "/envlink"), Err(FileError::NotFound("symlink to a dotfile"))));
        assert!(matches!(resolve(&site, "/inside"), Ok(Resolved::File { reach: Reach::LinkInside, .. })));
        assert!(matches!(resolve(&site, "/a.txt"), Ok(Resolved::File { reach: Reach::Direct, .. })));
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
