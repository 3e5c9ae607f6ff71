//! The document root every fuzz target serves: created once per process (in a temp dir),
//! with a few files, folders, precompressed siblings, dotfiles, hostile names and symlinks
//! that point inside and outside the root. Outside the root lies a secret whose bytes must
//! never appear in a response and whose path must never be resolved.
#![allow(dead_code)] // each target uses part of the fixture

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rawserve::files::site::Site;

/// Bytes of the file outside the root. Never in any response.
pub const SECRET: &[u8] = b"OUTSIDE-SECRET-7f3a9c";
/// Bytes of the dotfile inside the root. Never in a response while dotfiles are hidden.
pub const DOTFILE: &[u8] = b"DOTENV-HIDDEN-51b2";

pub struct Fixture {
    /// listing on, dotfiles hidden: the defaults.
    pub site: Site,
    /// listing off, dotfiles served.
    pub hidden_site: Site,
    /// The canonical root.
    pub root: PathBuf,
    /// The canonical folder outside the root, and the secret file in it.
    pub outside: PathBuf,
    pub secret_path: PathBuf,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(create)
}

fn create() -> Fixture {
    let tmp = std::env::temp_dir();
    remove_stale(&tmp);
    let base = tmp.join(format!("rawserve-fuzz-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    let root = base.join("root");
    let outside = base.join("outside");
    for dir in [&root, &outside, &root.join("sub"), &root.join("list"), &root.join(".git"), &root.join(".well-known")] {
        fs::create_dir_all(dir).expect("fixture folder");
    }
    let write = |path: &Path, bytes: &[u8]| fs::write(path, bytes).expect("fixture file");
    write(&outside.join("secret.txt"), SECRET);
    write(&root.join("a.txt"), b"hello\n");
    write(&root.join("page.html"), b"<!DOCTYPE html><title>p</title><p>page</p>\n");
    write(&root.join("style.css"), "body { color: #123 }\n".repeat(100).as_bytes());
    write(&root.join("style.css.gz"), b"\x1f\x8b fake gzip");
    write(&root.join("style.css.br"), b"fake brotli");
    // Larger than `SMALL_FILE_BYTES` (32 KiB): served as a file region, not from memory.
    let big: Vec<u8> = (0..40 * 1024u32).map(|i| b'a' + (i % 26) as u8).collect();
    write(&root.join("big.bin"), &big);
    write(&root.join("empty.txt"), b"");
    write(&root.join("sub").join("index.html"), b"<p>sub index</p>\n");
    write(&root.join("sub").join("\u{65e5}\u{672c}.txt"), b"nihon\n");
    write(&root.join("sub").join("space name.txt"), b"space\n");
    write(&root.join("list").join("<b>&\"'.txt"), b"hostile name\n");
    write(&root.join("list").join("100%.txt"), b"percent\n");
    write(&root.join(".env"), DOTFILE);
    write(&root.join(".git").join("config"), DOTFILE);
    // Routing: the root's 404 page, `/.well-known/` (served) with a dotfile in it (never).
    write(&root.join("404.html"), b"<!DOCTYPE html><title>404</title><p>lost</p>\n");
    write(&root.join(".well-known").join("security.txt"), b"Contact: mailto:s@example.com\n");
    write(&root.join(".well-known").join(".hidden"), DOTFILE);
    symlink(&outside, root.join("out")).expect("symlink out");
    symlink(outside.join("secret.txt"), root.join("secret_link")).expect("symlink secret");
    symlink("../outside/secret.txt", root.join("relative_out")).expect("symlink relative");
    symlink("a.txt", root.join("inside")).expect("symlink inside");
    symlink("sub", root.join("sublink")).expect("symlink sub");
    symlink("loop", root.join("loop")).expect("symlink loop");
    symlink("missing", root.join("dangling")).expect("symlink dangling");
    let site = Site::open(&root, true, false, "no-cache".into()).expect("fixture site");
    let hidden_site = Site::open(&root, false, true, "max-age=60".into()).expect("fixture site");
    let root = site.root.clone();
    let outside = outside.canonicalize().expect("canonical outside");
    let secret_path = outside.join("secret.txt");
    Fixture { site, hidden_site, root, outside, secret_path }
}

/// Removes fixtures left by fuzzing processes that have exited (libFuzzer's -fork/-jobs
/// start many).
fn remove_stale(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("rawserve-fuzz-")) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
