//! Property tests (proptest) for the three rules an attacker aims at:
//!
//! 1. The document root is a wall: for any path, through the URL layer or straight to the
//!    resolver, what opens is inside the canonical root (read back from `/proc/self/fd`, so
//!    symlinks count) or nothing opens.
//! 2. Percent-decoding and re-encoding round-trip: `parse_target(encode_path(p))` gives `p`
//!    back for every path of non-empty segments without `/`, `\`, NUL, `.` or `..`, and the
//!    URL layer's output is a fixed point of encode-then-decode.
//! 3. A listing never carries a `<`, `>`, `"` or `'` that came from a file name.
//! 4. `--follow-symlinks` opens no dot-path and nothing through a `..`.
//!
//! 256 cases each, failures not persisted to disk, so `cargo test` stays fast and clean.

mod support;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use rawserve::files::html::escape_html;
use rawserve::files::listing::render_listing;
use rawserve::files::resolve::{open_beneath, resolve_path, Resolved};
use rawserve::files::site::Site;
use rawserve::files::url_path::is_hidden;
use rawserve::http::target::{encode_path, encode_segment, parse_target, UrlPath};
use support::Sandbox;

const SECRET: &[u8] = b"OUTSIDE-SECRET-props";

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

/// A root with files, a folder, dotfiles, and symlinks in and out; a secret beside it.
struct Fixture {
    _dir: Sandbox,
    root: PathBuf,
    outside: PathBuf,
    sites: [Site; 2],
}

impl Fixture {
    fn new() -> Fixture {
        let dir = Sandbox::new();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        for folder in [&root, &outside, &root.join("sub"), &root.join(".git")] {
            fs::create_dir_all(folder).expect("mkdir");
        }
        fs::write(outside.join("secret.txt"), SECRET).expect("write");
        fs::write(root.join("a.txt"), b"A").expect("write");
        fs::write(root.join("sub").join("b.txt"), b"B").expect("write");
        fs::write(root.join(".env"), b"dotenv").expect("write");
        fs::write(root.join(".git").join("config"), b"git").expect("write");
        symlink(&outside, root.join("out")).expect("symlink");
        symlink(outside.join("secret.txt"), root.join("secret_link")).expect("symlink");
        symlink("../outside/secret.txt", root.join("relative_out")).expect("symlink");
        symlink("a.txt", root.join("inside")).expect("symlink");
        symlink("/", root.join("slash")).expect("symlink");
        symlink("loop", root.join("loop")).expect("symlink");
        let sites = [
            Site::open(&root, true, false, "no-cache".into()).expect("site"),
            Site::open(&root, true, true, "no-cache".into()).expect("site"),
        ];
        Fixture { _dir: dir, root, outside, sites }
    }

    /// Resolves `path` on both sites; whatever opens must be inside the root.
    fn check(&self, path: &UrlPath<'_>) -> Result<(), TestCaseError> {
        for site in &self.sites {
            if let Ok(Resolved::File { file, .. }) = resolve_path(site, path) {
                self.check_inside(&file, path)?;
                prop_assert!(site.hidden || !path.has_hidden_segment(), "dotfile served while hidden: {:?}", path);
            }
            if let Ok((file, _)) = open_beneath(site, &path.relative) {
                self.check_inside(&file, path)?;
            }
        }
        Ok(())
    }

    fn check_inside(&self, file: &fs::File, path: &UrlPath<'_>) -> Result<(), TestCaseError> {
        let opened = fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("readlink");
        prop_assert!(opened.starts_with(&self.root), "{:?} opened {:?}", path, opened);
        prop_assert!(!opened.starts_with(&self.outside), "{:?} opened {:?}", path, opened);
        Ok(())
    }
}

/// Pieces of hostile paths: traversal in every spelling, NUL, backslashes, absolute paths,
/// names of the fixture's symlinks, and arbitrary text. `{ROOT}` becomes the root's path.
fn path_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "../", "..\\", "..", ".", "./", "/", "//", "\\", "%2e%2e/", "%2E%2E%2F", ".%2e/", "%2e./", "..%2f",
            "..%5c", "%5c", "%2f", "%252e%252e/", "%252e", "%25", "%00", "\0", "%c0%ae%c0%ae/", "%e0%80%ae",
            "/etc/passwd", "etc/passwd", "/proc/self/root/", "{ROOT}", "{ROOT}/a.txt", "out/", "out/secret.txt",
            "secret_link", "relative_out", "slash/etc/passwd", "loop", "inside", "a.txt", "sub/", "sub/b.txt",
            ".env", ".git/config", "?", "?x=../", "#", "http://h/", "%", "%zz", "%2",
        ])
        .prop_map(String::from),
        1 => "[a-z./%\\\\?#:]{0,8}",
        1 => any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

fn hostile_path() -> impl Strategy<Value = String> {
    prop::collection::vec(path_piece(), 0..12).prop_map(|pieces| pieces.concat())
}

#[test]
fn any_target_resolves_inside_the_root_or_not_at_all() {
    let fx = Fixture::new();
    let root = fx.root.to_str().expect("UTF-8 root").to_string();
    proptest!(config(), |(raw in hostile_path(), slash in any::<bool>())| {
        let raw = raw.replace("{ROOT}", &root);
        let target = if slash { format!("/{raw}") } else { raw.clone() };
        if let Ok(path) = parse_target(&target) {
            prop_assert!(!path.relative.split('/').any(|s| s == ".." || s == "."), "{:?}", path);
            prop_assert!(!path.relative.contains('\0'), "{:?}", path);
            // A raw `\` is refused; a `\` in a name can only come from `%5C`, as a byte of
            // that name (one segment: it never separates, and `..\` is not `..`).
            prop_assert!(!target.contains('\\'), "a raw backslash got through: {:?}", target);
            if path.relative.contains('\\') {
                prop_assert!(target.to_ascii_lowercase().contains("%5c"), "{:?} from {:?}", path, target);
            }
            fx.check(&path)?;
        }
    });
}

#[test]
fn any_decoded_path_resolves_inside_the_root_or_not_at_all() {
    // Straight to the resolver, skipping the URL layer's `..`/NUL/backslash checks: the
    // wall (openat2 RESOLVE_BENEATH, or the canonicalizing fallback) must hold on its own.
    let fx = Fixture::new();
    let root = fx.root.to_str().expect("UTF-8 root").to_string();
    proptest!(config(), |(raw in hostile_path(), trailing_slash in any::<bool>())| {
        let raw = raw.replace("{ROOT}", &root);
        fx.check(&UrlPath { relative: Cow::Borrowed(&raw), trailing_slash, query: None })?;
    });
}

#[test]
fn floods_of_dot_dot_never_leave_the_root() {
    let fx = Fixture::new();
    let spellings = prop::sample::select(vec!["../", "..\\", "%2e%2e/", "%252e%252e/", "..%2f", ".%2e/", "..;/"]);
    proptest!(config(), |(spelling in spellings, n in 1usize..200, tail in prop::sample::select(vec![
        "outside/secret.txt", "etc/passwd", "", "root/a.txt", "%00",
    ]))| {
        let raw = format!("{}{tail}", spelling.repeat(n));
        if let Ok(path) = parse_target(&format!("/{raw}")) {
            fx.check(&path)?;
        }
        fx.check(&UrlPath { relative: Cow::Borrowed(&raw), trailing_slash: false, query: None })?;
    });
}

/// Whether `opened` holds a dot-name below the folder it shares with `root`: what
/// `--follow-symlinks` must never open without `--hidden`.
fn dot_name_beyond_the_root(root: &std::path::Path, opened: &std::path::Path) -> bool {
    let shared = root.components().zip(opened.components()).take_while(|(a, b)| a == b).count();
    opened.components().skip(shared).any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."))
}

/// `--follow-symlinks` moves the wall past links out of the root, and no further: for any
/// path, what opens holds no dot-name (inside the root, or below the folder the root and the
/// target share), and a `..` component never opens anything, through links or not.
#[test]
fn following_links_out_never_opens_a_dot_path_and_dot_dot_never_opens() {
    let fx = Fixture::new();
    fs::create_dir_all(fx.outside.join(".hidden")).expect("mkdir");
    fs::write(fx.outside.join(".hidden/key"), SECRET).expect("write");
    fs::write(fx.outside.join(".dotfile"), SECRET).expect("write");
    symlink(fx.outside.join(".hidden"), fx.root.join("out_dot")).expect("symlink");
    symlink(fx.outside.join(".hidden/key"), fx.root.join("out_key")).expect("symlink");
    symlink(".git", fx.root.join("git_link")).expect("symlink");
    let mut site = Site::open(&fx.root, true, false, "no-cache".into()).expect("site");
    site.follow_symlinks_out().expect("open /");
    let piece = prop_oneof![
        3 => path_piece(),
        2 => prop::sample::select(vec![
            "out/", "out/secret.txt", "out/.dotfile", "out_dot/", "out_dot/key", "out_key", "git_link/",
            "git_link/config", "slash/", "slash/etc/hostname", "out/../", "out_dot/..", "..", "../", "key",
        ])
        .prop_map(String::from),
    ];
    let opened = |file: &fs::File| fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("readlink");
    proptest!(config(), |(pieces in prop::collection::vec(piece, 0..8), slash in any::<bool>())| {
        let raw = pieces.concat();
        let target = if slash { format!("/{raw}") } else { raw.clone() };
        if let Ok(path) = parse_target(&target) {
            if let Ok(Resolved::File { file, .. }) = resolve_path(&site, &path) {
                let real = opened(&file);
                prop_assert!(!dot_name_beyond_the_root(&fx.root, &real), "{:?} opened {:?}", target, real);
            }
        }
        let climbs = raw.split('/').any(|c| c == "..");
        if let Ok((file, _)) = open_beneath(&site, &raw) {
            let real = opened(&file);
            prop_assert!(!climbs, "{:?} has a `..` and opened {:?}", raw, real);
            // The resolver checks the dot rule on the path it is asked for (`resolve_path`
            // above); below that, it must hold for wherever links lead.
            if !is_hidden(&raw) {
                prop_assert!(!dot_name_beyond_the_root(&fx.root, &real), "{:?} opened {:?}", raw, real);
            }
        }
    });
    // The fixture is what the property needs: links out do open, hidden ones do not.
    let file_at = |target: &str| match resolve_path(&site, &parse_target(target).expect("valid")) {
        Ok(Resolved::File { file, .. }) => Some(opened(&file)),
        _ => None,
    };
    assert_eq!(file_at("/out/secret.txt"), Some(fx.outside.join("secret.txt")));
    assert_eq!(file_at("/out_key"), None);
    assert_eq!(file_at("/out_dot/key"), None);
    assert_eq!(file_at("/out/.dotfile"), None);
}

/// A path segment the URL layer can carry: non-empty, no `/` or NUL, not `.` or `..` (a `\`
/// is a byte of a name, sent as `%5C`).
fn segment() -> impl Strategy<Value = String> {
    prop_oneof!["[^/\\x00]{1,12}", "[a-z\\\\.]{1,6}", "[a-zA-Z0-9%#?&=+;:@!$'()*,~ <>\"\\[\\]{}|^`.-]{1,12}",]
        .prop_filter("not a dot segment", |s| s != "." && s != "..")
}

#[test]
fn encoding_then_decoding_gives_the_path_back() {
    proptest!(config(), |(segments in prop::collection::vec(segment(), 1..6))| {
        let relative = segments.join("/");
        let encoded = encode_path(&relative);
        prop_assert!(encoded.starts_with('/') && !encoded.starts_with("//"), "{}", encoded);
        prop_assert!(encoded.is_ascii() && !encoded.contains('\\'), "{}", encoded);
        let decoded = parse_target(&encoded).map_err(|e| TestCaseError::fail(format!("{encoded}: {e}")))?;
        prop_assert_eq!(decoded.relative.as_ref(), relative.as_str());
        prop_assert!(!decoded.trailing_slash);
        prop_assert_eq!(decoded.query, None);
        // Each segment on its own too (the listing's hrefs use `encode_segment`).
        for segment in &segments {
            let one = format!("/{}", encode_segment(segment));
            let back = parse_target(&one).map_err(|e| TestCaseError::fail(format!("{one}: {e}")))?;
            prop_assert_eq!(back.relative.as_ref(), segment.as_str());
        }
    });
}

#[test]
fn decoded_targets_are_a_fixed_point_of_encode_then_decode() {
    // Any target the URL layer accepts decodes to a path that survives re-encoding intact.
    let target = prop::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9._~!$&'()*+,;=:@-]{0,6}",
            "(%[0-9a-fA-F]{2}){1,3}",
            Just("/".to_string()),
            Just("%2e".to_string()),
            Just("%E6%97%A5".to_string()),
        ],
        0..10,
    )
    .prop_map(|pieces| format!("/{}", pieces.concat()));
    proptest!(config(), |(target in target)| {
        if let Ok(path) = parse_target(&target) {
            let encoded = encode_path(&path.relative);
            let again = parse_target(&encoded).map_err(|e| TestCaseError::fail(format!("{encoded}: {e}")))?;
            prop_assert_eq!(again.relative, path.relative);
        }
    });
}

/// File names as a hostile user would pick them: HTML metacharacters, quotes, entities,
/// percent signs, spaces, control characters, any Unicode.
fn file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[<>&\"' a-z%#;=:/\\\\]{1,24}",
        "(<script>|</a>|<img src=x onerror=alert\\(1\\)>|&lt;|&amp;|\"|'|>|<|x){1,4}",
        "[^\\x00]{1,20}",
    ]
    .prop_map(|s: String| s.replace(['/', '\0'], "_"))
    .prop_filter("a name a folder can hold", |s| s != "." && s != ".." && !s.is_empty() && s.len() <= 200)
}

/// Counts of the characters that could open a tag or leave an attribute.
fn markup_counts(page: &str) -> [usize; 4] {
    ['<', '>', '"', '\''].map(|c| page.matches(c).count())
}

#[test]
fn listings_never_carry_markup_from_file_names() {
    let entries = prop::collection::btree_map(file_name(), any::<bool>(), 0..8);
    proptest!(config(), |(entries in entries)| {
        let hostile = Sandbox::new();
        let benign = Sandbox::new();
        for (i, (name, is_dir)) in entries.iter().enumerate() {
            let reference = format!("entry{i}");
            if *is_dir {
                fs::create_dir(hostile.path().join(name)).expect("mkdir");
                fs::create_dir(benign.path().join(reference)).expect("mkdir");
            } else {
                fs::write(hostile.path().join(name), b"x").expect("write");
                fs::write(benign.path().join(reference), b"x").expect("write");
            }
        }
        let root = UrlPath { relative: Cow::Borrowed(""), trailing_slash: true, query: None };
        let render = |dir: &Sandbox| -> String {
            let site = Site::open(dir.path(), true, true, "no-cache".into()).expect("site");
            String::from_utf8(render_listing(&site, &root).expect("listing")).expect("UTF-8 listing")
        };
        let page = render(&hostile);
        let reference = render(&benign);
        // Same template, same number of entries of the same kinds, names without markup:
        // any extra `<`, `>`, `"` or `'` in the hostile page came from a name.
        prop_assert_eq!(markup_counts(&page), markup_counts(&reference), "{}", page);
        for (name, is_dir) in &entries {
            // The link text is exactly the escaped name, and the href its percent-encoding.
            let slash = if *is_dir { "/" } else { "" };
            let text = format!("\">{}{slash}</a>", escape_html(name));
            prop_assert!(page.contains(&text), "{:?} not listed as {:?}", name, text);
            let href = format!("href=\"./{}{slash}\"", encode_segment(name));
            prop_assert!(page.contains(&href), "{:?} not linked as {:?}", name, href);
        }
    });
}

#[test]
fn listing_of_a_subfolder_escapes_its_title() {
    // The folder's own name is in the title and heading: escaped too.
    let names = prop::collection::vec(file_name(), 1..3);
    proptest!(ProptestConfig { cases: 64, ..config() }, |(names in names)| {
        let dir = Sandbox::new();
        let mut folder = dir.path().to_path_buf();
        for name in &names {
            folder.push(name);
        }
        fs::create_dir_all(&folder).expect("mkdir");
        let site = Site::open(dir.path(), true, true, "no-cache".into()).expect("site");
        let relative = names.join("/");
        let path = UrlPath { relative: Cow::Borrowed(&relative), trailing_slash: true, query: None };
        let page = String::from_utf8(render_listing(&site, &path).expect("listing")).expect("UTF-8");
        let plain = Sandbox::new();
        let plain_relative: Vec<String> = (0..names.len()).map(|i| format!("d{i}")).collect();
        fs::create_dir_all(plain.path().join(plain_relative.join("/"))).expect("mkdir");
        let plain_site = Site::open(plain.path(), true, true, "no-cache".into()).expect("site");
        let plain_path = UrlPath { relative: Cow::Owned(plain_relative.join("/")), trailing_slash: true, query: None };
        let reference = String::from_utf8(render_listing(&plain_site, &plain_path).expect("listing")).expect("UTF-8");
        prop_assert_eq!(markup_counts(&page), markup_counts(&reference), "{}", page);
    });
}

/// The fixture itself is sound: the secret exists, and the obvious ways to it are refused.
#[test]
fn fixture_sanity() {
    let fx = Fixture::new();
    assert_eq!(fs::read(fx.outside.join("secret.txt")).expect("secret"), SECRET);
    let counts: BTreeMap<&str, bool> = ["/a.txt", "/inside", "/sub/b.txt", "/out/secret.txt", "/secret_link", "/.env"]
        .into_iter()
        .map(|t| {
            let path = parse_target(t).expect("valid target");
            (t, matches!(resolve_path(&fx.sites[0], &path), Ok(Resolved::File { .. })))
        })
        .collect();
    assert!(counts["/a.txt"] && counts["/inside"] && counts["/sub/b.txt"], "{counts:?}");
    assert!(!counts["/out/secret.txt"] && !counts["/secret_link"] && !counts["/.env"], "{counts:?}");
}

/// Regression (found by `any_target_resolves_inside_the_root_or_not_at_all` and by the
/// request_head fuzz target; fixed in 707b404): a target that does not start with `/` and has
/// a multi-byte character across byte 7 or 8 made `strip_scheme` slice inside the character
/// and panic (the server answered 500 and logged a backtrace). httparse lets bytes 0x80–0xFF
/// through in the request-target, so any client could send one.
#[test]
fn a_non_ascii_target_is_refused_not_a_panic() {
    for target in ["aaaaaa\u{e9}", "a0aa \u{de6}", "http:/\u{e9}", "https:/\u{e9}x", "\u{e9}\u{e9}\u{e9}\u{e9}"] {
        let outcome = std::panic::catch_unwind(|| parse_target(target).is_err());
        assert_eq!(outcome.ok(), Some(true), "{target:?} must be refused (400), not panic");
    }
}
