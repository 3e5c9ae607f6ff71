//! A URL path → a file in the root (`http::target::parse_target`, then
//! `files::resolve::resolve_path`). Whatever the input, a file that opens is inside the
//! canonical root (read back from `/proc/self/fd`, so symlinks count), never the secret
//! outside it. The same input is also tried as an already-decoded relative path, skipping
//! the URL layer's checks, so the wall (openat2 RESOLVE_BENEATH) is fuzzed on its own.
#![no_main]

use std::borrow::Cow;
use std::fs::File;
use std::os::fd::AsRawFd;

use libfuzzer_sys::fuzz_target;
use rawserve::files::resolve::{open_beneath, resolve_path, Resolved};
use rawserve::files::site::Site;
use rawserve::http::target::{parse_target, UrlPath};

#[path = "../common/fixture.rs"]
mod fixture;

use fixture::{fixture, Fixture};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let fx = fixture();
    if let Ok(path) = parse_target(text) {
        check(fx, &fx.site, &path);
        check(fx, &fx.hidden_site, &path);
    }
    let raw = UrlPath { relative: Cow::Borrowed(text), trailing_slash: false, query: None };
    check(fx, &fx.site, &raw);
    check(fx, &fx.hidden_site, &raw);
});

fn check(fx: &Fixture, site: &Site, path: &UrlPath<'_>) {
    if let Ok(Resolved::File { file, .. }) = resolve_path(site, path) {
        assert_inside(fx, &file, path);
        if !site.hidden {
            assert!(!path.has_hidden_segment(), "a dotfile resolved while hidden: {path:?}");
        }
    }
    if let Ok((file, _)) = open_beneath(site, &path.relative) {
        assert_inside(fx, &file, path);
    }
}

fn assert_inside(fx: &Fixture, file: &File, path: &UrlPath<'_>) {
    let opened = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("readlink");
    assert!(opened.starts_with(&fx.root), "{path:?} opened {opened:?}, outside {:?}", fx.root);
    assert_ne!(opened, fx.secret_path, "{path:?} opened the secret");
    assert!(!opened.starts_with(&fx.outside), "{path:?} opened {opened:?}");
}
