//! Live reload in headless Chromium, as a person uses it: a page open while its files are
//! edited. Writing the page shows the new text (the page reloaded); changing only the
//! stylesheet applies the new style without a reload (a marker set by script survives);
//! deleting the page shows the 404 page, re-creating it shows the page again; restarting the
//! server reconnects and reloads.
//!
//! Runs in both builds: natively the watch is inotify, under `--features portable` the walk
//! compared on a timer. Needs Debian's `chromium` and `chromium-driver` (see `tests/browser.rs`):
//! skipped without them, except under CI, where that fails.

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use support::browser::{program_under_test, Browser};
use support::{Launch, Sandbox, TestServer};

/// A change shows in about half a second; a loaded machine gets ten times that. The measured
/// time is printed.
const SHOWN_WITHIN: Duration = Duration::from_secs(5);

fn page(text: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>live</title>\
         <link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/style.css\"></head>\
         <body><p id=\"text\">{text}</p></body></html>\n"
    )
}

fn start(root: &Path, port: Option<u16>) -> TestServer {
    let port = port.map(|p| p.to_string());
    let mut args = vec!["--live-reload"];
    if let Some(port) = &port {
        args.extend(["--port", port]);
    }
    Launch::serving(root).program(program_under_test()).args(&args).log_level("debug").start()
}

/// Waits until the server has parked `count` streams in all (the page's script connected).
fn wait_streams(server: &TestServer, count: usize) {
    let until = Instant::now() + SHOWN_WITHIN;
    while server.log_lines_containing("stream open: parked") < count {
        assert!(Instant::now() < until, "no live-reload stream #{count}; log:\n{}", server.log_tail(30));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `js` gives `expected`, and how long that took.
fn shows(browser: &Browser, js: &str, expected: &str, what: &str) -> Duration {
    let started = Instant::now();
    let check = format!("const v = (() => {{ {js} }})(); return v === {expected:?} ? true : null;");
    if browser.wait_until(&check, SHOWN_WITHIN).is_none() {
        let now = browser.eval(js);
        panic!("{what}: not {expected:?} within {SHOWN_WITHIN:?}; it is {now:?}");
    }
    let took = started.elapsed();
    println!("{what}: shown after {took:?}");
    took
}

const TEXT: &str = "return document.getElementById('text')?.textContent ?? document.title;";
const COLOR: &str = "const p = document.getElementById('text'); return p ? getComputedStyle(p).color : null;";
const MARKER: &str = "return window.rawserveMarker ?? 'none';";

#[test]
fn open_pages_follow_their_files_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let sandbox = Sandbox::new();
    let root = sandbox.path();
    fs::write(root.join("page.html"), page("one")).expect("write");
    fs::write(root.join("style.css"), "#text { color: rgb(255, 0, 0) }\n").expect("write");
    let mut server = start(root, None);

    browser.open(&server.url("/page.html"));
    assert_eq!(browser.eval(TEXT).as_str(), Some("one"));
    wait_streams(&server, 1);

    // The page is written: it reloads and shows the new text.
    browser.eval("window.rawserveMarker = 'set'; return null;");
    fs::write(root.join("page.html"), page("two")).expect("write");
    shows(&browser, TEXT, "two", "a written page");
    assert_eq!(browser.eval(MARKER).as_str(), Some("none"), "the page was reloaded");
    wait_streams(&server, 2);

    // Only the stylesheet changes: the new style applies, the page is not reloaded.
    assert_eq!(browser.eval(COLOR).as_str(), Some("rgb(255, 0, 0)"));
    browser.eval("window.rawserveMarker = 'kept'; return null;");
    fs::write(root.join("style.css"), "#text { color: rgb(0, 0, 255) }\n").expect("write");
    shows(&browser, COLOR, "rgb(0, 0, 255)", "a changed stylesheet");
    assert_eq!(browser.eval(MARKER).as_str(), Some("kept"), "a stylesheet change must not reload the page");
    let sheets = browser.eval("return document.querySelectorAll('link[rel=stylesheet]').length;");
    assert_eq!(sheets.as_f64(), Some(1.0), "the old stylesheet is gone once the new one loaded");
    let severe = browser.severe_console_entries();
    assert!(severe.is_empty(), "console errors: {severe:?}");

    // Deleted: the 404 page (which has the script too); re-created: the page again.
    fs::remove_file(root.join("page.html")).expect("remove");
    shows(&browser, TEXT, "404 Not Found", "a deleted page");
    wait_streams(&server, 3);
    fs::write(root.join("page.html"), page("three")).expect("write");
    shows(&browser, TEXT, "three", "a re-created page");
    wait_streams(&server, 4);

    // The server restarts (on the same port) while the page changes: the page reconnects
    // and reloads.
    browser.eval("window.rawserveMarker = 'before restart'; return null;");
    let port = server.port;
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).is_some_and(|s| s.success()), "clean exit");
    fs::write(root.join("page.html"), page("four")).expect("write");
    let server = start(root, Some(port));
    shows(&browser, TEXT, "four", "the page after a restart");
    assert_eq!(browser.eval(MARKER).as_str(), Some("none"), "the page was reloaded");
    wait_streams(&server, 1);
    let _ = browser.severe_console_entries(); // the refused reconnects while it was down
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The "done when": `www/` served with `--live-reload` (a copy, so the repository is
/// not edited), its home page open, `style.css` edited: the new rule applies in place.
#[test]
fn editing_www_style_css_restyles_the_open_home_page_in_place() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let sandbox = Sandbox::new();
    let root = sandbox.path().join("www");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("www"), &root);
    let server = start(&root, None);
    browser.open(&server.url("/"));
    wait_streams(&server, 1);
    browser.eval("window.rawserveMarker = 'kept'; return null;");
    let property = "return getComputedStyle(document.documentElement).getPropertyValue('--live-edit').trim() || null;";
    assert!(browser.eval(property).is_null());
    let mut css = fs::read_to_string(root.join("style.css")).expect("read");
    css.push_str("\n:root { --live-edit: yes; }\n");
    fs::write(root.join("style.css"), css).expect("write");
    shows(&browser, property, "yes", "an edited www/style.css");
    assert_eq!(browser.eval(MARKER).as_str(), Some("kept"), "the home page was not reloaded");
    let errors = browser.eval("return window.__pageErrors ?? [];");
    assert!(errors.items().is_empty(), "the page recorded errors: {errors:?}");
    let severe = browser.severe_console_entries();
    assert!(severe.is_empty(), "console errors: {severe:?}");
}
