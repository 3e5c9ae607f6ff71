//! Routing (README, Routing): index.html then index.htm, `/.well-known/`, the root's
//! `404.html`, `--clean-urls`, `--spa` and `--follow-symlinks` — and that none of them moves
//! the wall: every refusal answers as it does without them, byte for byte.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, SystemTime};

use support::{check_each, contains, Launch, Response, Sandbox, TestServer};

/// What a browser sends when it navigates (Chromium 120+).
const NAVIGATION: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
                          image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";

const INDEX: &str = "<!DOCTYPE html>\n<title>app</title><div id=app></div><script src=/app.js></script>\n";
const NOT_FOUND: &str = "<!DOCTYPE html>\n<title>Lost</title><h1>Nothing here</h1>\n";

fn navigate(server: &TestServer, method: &str, target: &str) -> Response {
    server.send(method, target, &[("Accept", NAVIGATION)])
}

/// Whether the response has a field by that name.
fn has_field(response: &Response, name: &str) -> bool {
    response.header(name).is_some()
}

// ---------------------------------------------------------------------------------------
// Index pages and /.well-known/
// ---------------------------------------------------------------------------------------

#[test]
fn a_folder_serves_index_html_then_index_htm() {
    let server = TestServer::start_debug(&["--threads", "1"]);
    server.write("old/index.htm", "<p>htm</p>\n");
    server.write("both/index.html", "<p>html</p>\n");
    server.write("both/index.htm", "<p>htm</p>\n");
    server.write("neither/a.txt", "a\n");
    let response = server.get("/old/");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"<p>htm</p>\n");
    assert_eq!(response.expect_header("Content-Type"), "text/html; charset=utf-8");
    assert!(has_field(&response, "ETag") && has_field(&response, "Last-Modified"));
    let response = server.get("/both/");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"<p>html</p>\n");
    let response = server.get("/neither/");
    response.assert_status("HTTP/1.1 200 OK");
    assert!(response.body_text().contains("a.txt"), "a listing: {}", response.body_text());
    // The folder's index page is remembered; an index.html created beside index.htm takes
    // over at the very next request (the folder changed).
    assert_eq!(server.get("/old/").body, b"<p>htm</p>\n");
    server.write("old/index.html", "<p>new html</p>\n");
    assert_eq!(server.get("/old/").body, b"<p>new html</p>\n");
    fs::remove_file(server.root.join("old/index.html")).expect("remove");
    assert_eq!(server.get("/old/").body, b"<p>htm</p>\n");
    assert!(server.log().contains("resolved old/index.htm ("), "{}", server.log_tail(20));
}

/// An `index.html` that is a link to nothing yet: `index.htm` answers, and the moment the
/// link's target appears — in another folder, which nothing watches — `index.html` does.
#[test]
fn an_index_html_link_that_starts_to_resolve_takes_over_at_once() {
    let server = TestServer::start_with(&["--threads", "1"]);
    server.write("docs/index.htm", "<p>htm</p>\n");
    server.mkdir("pages");
    symlink("../pages/docs.html", server.root.join("docs/index.html")).expect("symlink");
    for _ in 0..3 {
        assert_eq!(server.get("/docs/").body, b"<p>htm</p>\n");
    }
    server.write("pages/docs.html", "<p>linked html</p>\n");
    assert_eq!(server.get("/docs/").body, b"<p>linked html</p>\n");
}

#[test]
fn without_listings_a_folder_with_neither_index_is_404() {
    let server = TestServer::start_with(&["--no-listing"]);
    server.write("old/index.htm", "<p>htm</p>\n");
    server.mkdir("neither");
    assert_eq!(server.get("/old/").body, b"<p>htm</p>\n");
    server.get("/neither/").assert_error("HTTP/1.1 404 Not Found");
}

#[test]
fn well_known_is_served_without_hidden_and_nothing_hidden_below_it() {
    let server = TestServer::start();
    server.write(".well-known/security.txt", "Contact: mailto:security@example.com\n");
    server.write(".well-known/acme-challenge/token-1", "token-1.thumbprint\n");
    server.write(".well-known/.secret", "SECRET\n");
    server.write(".well-known/sub/.env", "SECRET\n");
    server.write(".well-known/.git/config", "SECRET\n");
    server.write(".env", "SECRET\n");
    server.write("sub/.well-known/x", "SECRET\n");
    let response = server.get("/.well-known/security.txt");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"Contact: mailto:security@example.com\n");
    assert_eq!(response.expect_header("Content-Type"), "text/plain; charset=utf-8");
    let response = server.get("/.well-known/acme-challenge/token-1");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"token-1.thumbprint\n");
    // The same name percent-encoded is the same name.
    assert_eq!(server.get("/%2ewell-known/security.txt").status, 200);
    let response = server.get("/.well-known");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/.well-known/");
    let listing = server.get("/.well-known/");
    listing.assert_status("HTTP/1.1 200 OK");
    assert!(listing.body_text().contains("security.txt"));
    assert!(!listing.body_text().contains(".secret") && !listing.body_text().contains(".git"));
    let hidden = [
        "/.well-known/.secret",
        "/.well-known/sub/.env",
        "/.well-known/.git/config",
        "/.well-known/.git/",
        "/.env",
        "/sub/.well-known/x",
        "/.WELL-KNOWN/security.txt",
        "/.Well-Known/security.txt",
        "/.well-known./security.txt",
    ];
    check_each(&hidden, |target| {
        let response = server.get(target);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert!(!response.body_text().contains("SECRET"));
    });
}

// ---------------------------------------------------------------------------------------
// 404.html
// ---------------------------------------------------------------------------------------

/// A root with a 404 page, a dotfile, a link out of the root, a FIFO and a file for ranges.
fn site_with_a_404_page(root: &Path) {
    fs::write(root.join("404.html"), NOT_FOUND).expect("404.html");
    fs::write(root.join("a.txt"), "0123456789").expect("a.txt");
    fs::write(root.join(".env"), "DOTENV=1\n").expect(".env");
    fs::create_dir(root.join("folder")).expect("folder");
    symlink("/etc", root.join("link-etc")).expect("symlink");
    let fifo = std::ffi::CString::new(root.join("fifo").into_os_string().into_encoded_bytes()).expect("path");
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[test]
fn every_404_carries_the_root_404_page_and_head_gets_its_head() {
    let server = Launch::new().prepare(site_with_a_404_page).args(&["--no-listing"]).start();
    // Missing, a missing folder, a hidden dotfile, a link out of the root, a folder without an
    // index page: one page, the same bytes, so no 404 tells more than another.
    let targets = ["/missing", "/missing/", "/a/b/c.html", "/a.txt/x", "/.env", "/link-etc/passwd", "/folder/"];
    let first = server.get("/missing");
    check_each(&targets, |target| {
        let response = server.get(target);
        response.assert_status("HTTP/1.1 404 Not Found");
        assert_eq!(response.body, NOT_FOUND.as_bytes());
        assert_eq!(response.expect_header("Content-Type"), "text/html; charset=utf-8");
        for absent in ["ETag", "Last-Modified", "Accept-Ranges", "Vary", "Cache-Control"] {
            assert!(!has_field(&response, absent), "{absent} on a 404: {:?}", response.headers);
        }
        assert_eq!(response.headers_without_date(), first.headers_without_date());
        let head = server.head(target);
        head.assert_head_response("HTTP/1.1 404 Not Found");
        assert_eq!(head.headers_without_date(), response.headers_without_date());
    });
}

/// Method, target, fields, the status line expected.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn other_refusals_keep_the_servers_own_pages() {
    let server = Launch::new().prepare(site_with_a_404_page).start();
    let cases: [Case; 6] = [
        ("GET", "/%zz", &[], "HTTP/1.1 400 Bad Request"),
        ("GET", "/../a.txt", &[], "HTTP/1.1 400 Bad Request"),
        ("GET", "/fifo", &[], "HTTP/1.1 403 Forbidden"),
        ("POST", "/missing", &[], "HTTP/1.1 405 Method Not Allowed"),
        ("GET", "/a.txt", &[("Range", "bytes=50-")], "HTTP/1.1 416 Range Not Satisfiable"),
        ("GET", "/a.txt", &[("If-Match", "\"other\"")], "HTTP/1.1 412 Precondition Failed"),
    ];
    check_each(&cases, |(method, target, fields, status)| {
        let response = server.send(method, target, fields);
        response.assert_error(status);
        assert!(!contains(&response.body, b"Nothing here"), "the 404 page on a {status}");
    });
}

/// How one variant of a broken 404.html is made in the root.
type Prepare<'a> = &'a dyn Fn(&Path);

#[test]
fn a_404_page_that_cannot_be_served_gives_the_servers_own_404() {
    let sandbox = Sandbox::new();
    fs::write(sandbox.path().join("outside-404.html"), "OUTSIDE THE ROOT\n").expect("outside");
    let outside = sandbox.path().to_path_buf();
    let server = Launch::in_sandbox(sandbox, "root").start();
    let plain = server.get("/missing");
    plain.assert_error("HTTP/1.1 404 Not Found");
    let variants: [(&str, Prepare); 4] = [
        ("a folder", &|root| fs::create_dir(root.join("404.html")).expect("mkdir")),
        ("a link to a dotfile", &|root| {
            fs::write(root.join(".404.html"), "DOTFILE\n").expect("dotfile");
            symlink(".404.html", root.join("404.html")).expect("symlink");
        }),
        ("a link out of the root", &|root| {
            symlink(outside.join("outside-404.html"), root.join("404.html")).expect("symlink")
        }),
        ("a dangling link", &|root| symlink("nowhere.html", root.join("404.html")).expect("symlink")),
    ];
    for (what, make) in variants {
        make(&server.root);
        let response = server.get("/missing");
        response.assert_error("HTTP/1.1 404 Not Found");
        assert_eq!(response.body, plain.body, "404.html as {what}");
        let _ = fs::remove_dir(server.root.join("404.html"));
        let _ = fs::remove_file(server.root.join("404.html"));
        let _ = fs::remove_file(server.root.join(".404.html"));
    }
}

// ---------------------------------------------------------------------------------------
// --clean-urls
// ---------------------------------------------------------------------------------------

fn clean_site(root: &Path) {
    fs::write(root.join("about.html"), "<p>about</p>\n").expect("about");
    fs::create_dir_all(root.join("docs/both")).expect("docs");
    fs::write(root.join("docs/guide.html"), "<p>guide</p>\n").expect("guide");
    fs::write(root.join("docs/index.html"), "<p>docs</p>\n").expect("docs index");
    fs::write(root.join("index.html"), "<p>home</p>\n").expect("index");
    fs::write(root.join("docs/both.html"), "<p>both.html</p>\n").expect("both.html");
    fs::write(root.join(".secret.html"), "SECRET\n").expect("dot");
    fs::write(root.join("a b.html"), "<p>space</p>\n").expect("space");
}

#[test]
fn clean_urls_serve_the_html_file_and_redirect_to_the_clean_name() {
    let server = Launch::new().prepare(clean_site).args(&["--clean-urls"]).start();
    let response = server.get("/about");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"<p>about</p>\n");
    assert_eq!(response.expect_header("Content-Type"), "text/html; charset=utf-8");
    let len = fs::metadata(server.root.join("about.html")).expect("stat").len();
    assert!(response.expect_header("ETag").starts_with(&format!("\"{len:x}-")), "about.html's own validator");
    let head = server.head("/about");
    head.assert_head_response("HTTP/1.1 200 OK");
    assert_eq!(head.headers_without_date(), response.headers_without_date());
    assert_eq!(server.get("/docs/guide").body, b"<p>guide</p>\n");
    assert_eq!(server.get("/a%20b").body, b"<p>space</p>\n");

    let redirects = [
        ("/about.html", "/about"),
        ("/about.html?x=1&y=2", "/about?x=1&y=2"),
        ("/about.html?q=[a]{b}", "/about?q=%5Ba%5D%7Bb%7D"),
        ("/docs/guide.html", "/docs/guide"),
        ("/docs/index.html", "/docs/"),
        ("/index.html", "/"),
        ("/index.html?x", "/?x"),
        ("//about.html", "/about"),
        ("/a%20b.html", "/a%20b"),
        ("/docs/../about.html", "/about"),
    ];
    check_each(&redirects, |(target, location)| {
        let response = server.get(target);
        response.assert_status("HTTP/1.1 301 Moved Permanently");
        assert_eq!(response.expect_header("Location"), *location);
        let head = server.head(target);
        head.assert_head_response("HTTP/1.1 301 Moved Permanently");
        assert_eq!(head.expect_header("Location"), *location);
    });

    // A name that exists keeps its own answer, so x.html stays where it is.
    let response = server.get("/docs/both");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/docs/both/");
    let response = server.get("/docs/both.html");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"<p>both.html</p>\n");
    // A trailing slash names a folder; a dotfile stays hidden however it is named.
    server.get("/about/").assert_error("HTTP/1.1 404 Not Found");
    server.get("/.secret").assert_error("HTTP/1.1 404 Not Found");
    server.get("/.secret.html").assert_error("HTTP/1.1 404 Not Found");
    server.get("/missing").assert_error("HTTP/1.1 404 Not Found");
}

#[test]
fn without_clean_urls_a_url_names_one_file() {
    let server = Launch::new().prepare(clean_site).start();
    server.get("/about").assert_error("HTTP/1.1 404 Not Found");
    let response = server.get("/about.html");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"<p>about</p>\n");
    assert_eq!(server.get("/index.html").status, 200);
}

#[test]
fn a_clean_url_follows_the_files_on_disk_at_once() {
    let server = Launch::new().prepare(clean_site).args(&["--clean-urls", "--threads", "1"]).start();
    for _ in 0..3 {
        assert_eq!(server.get("/about").body, b"<p>about</p>\n");
    }
    // A file named `about` appears: /about is that file now, and /about.html stays put.
    server.write("about", "plain about\n");
    assert_eq!(server.get("/about").body, b"plain about\n");
    assert_eq!(server.get("/about.html").status, 200);
    fs::remove_file(server.root.join("about")).expect("remove");
    assert_eq!(server.get("/about").body, b"<p>about</p>\n");
    assert_eq!(server.get("/about.html").status, 301);
    fs::write(server.root.join("about.html"), "<p>about v2</p>\n").expect("rewrite");
    assert_eq!(server.get("/about").body, b"<p>about v2</p>\n");
}

// ---------------------------------------------------------------------------------------
// --spa
// ---------------------------------------------------------------------------------------

fn spa_site(root: &Path) {
    fs::write(root.join("index.html"), INDEX).expect("index");
    fs::write(root.join("app.js"), "document.title = 'booted';\n").expect("app.js");
    fs::create_dir(root.join("assets")).expect("assets");
    fs::write(root.join("assets/logo.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>").expect("svg");
    fs::write(root.join(".env"), "DOTENV=1\n").expect(".env");
    fs::create_dir(root.join("empty")).expect("empty");
    symlink("/etc", root.join("link-etc")).expect("symlink");
}

#[test]
fn spa_answers_a_navigation_to_a_missing_page_with_the_index() {
    let server = Launch::new().prepare(spa_site).args(&["--spa"]).start();
    let home = server.get("/");
    home.assert_status("HTTP/1.1 200 OK");
    for target in ["/users/42", "/users", "/a/b/c/d", "/users/42/", "/v1.2/users", "/%E6%97%A5%E6%9C%AC", "/assets/x"] {
        let response = navigate(&server, "GET", target);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body, INDEX.as_bytes(), "{target}");
        assert_eq!(response.expect_header("Content-Type"), "text/html; charset=utf-8");
        assert_eq!(response.expect_header("ETag"), home.expect_header("ETag"), "index.html's own validators");
        assert_eq!(response.expect_header("Last-Modified"), home.expect_header("Last-Modified"));
        assert_eq!(response.expect_header("Vary"), "Accept", "{target}");
        let head = navigate(&server, "HEAD", target);
        head.assert_head_response("HTTP/1.1 200 OK");
        assert_eq!(head.headers_without_date(), response.headers_without_date());
    }
    // The index itself does not depend on Accept.
    assert!(!has_field(&home, "Vary"));
}

#[test]
fn spa_index_revalidates_with_its_own_validators() {
    let server = Launch::new().prepare(spa_site).args(&["--spa"]).start();
    let first = navigate(&server, "GET", "/settings/profile");
    let etag = first.expect_header("ETag").to_string();
    let last_modified = first.expect_header("Last-Modified").to_string();
    let fields = [("Accept", NAVIGATION), ("If-None-Match", etag.as_str())];
    let response = server.send("GET", "/settings/profile", &fields);
    response.assert_not_modified(&[
        "Date",
        "Server",
        "Connection",
        "X-Content-Type-Options",
        "Vary",
        "ETag",
        "Last-Modified",
        "Cache-Control",
    ]);
    assert_eq!(response.expect_header("Vary"), "Accept");
    assert_eq!(response.expect_header("ETag"), etag);
    let fields = [("Accept", NAVIGATION), ("If-Modified-Since", last_modified.as_str())];
    assert_eq!(server.send("GET", "/settings/profile", &fields).status, 304);
    let fields = [("Accept", NAVIGATION), ("If-None-Match", "\"something-else\"")];
    assert_eq!(server.send("GET", "/settings/profile", &fields).body, INDEX.as_bytes());
}

/// Assets, scripts and tools, other methods, folders and refusals keep their answers.
#[test]
fn spa_leaves_everything_else_alone() {
    let server = Launch::new().prepare(spa_site).args(&["--spa", "--no-listing"]).start();
    // A missing asset: the last segment has an extension.
    for target in ["/app.css", "/assets/missing.svg", "/users/john.doe", "/favicon.ico"] {
        let response = navigate(&server, "GET", target);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert!(!has_field(&response, "Vary"), "{target}");
    }
    // A client that does not name text/html: fetch(), curl, no Accept at all.
    for accept in [Some("*/*"), Some("application/json"), Some("text/html;q=0, */*"), None] {
        let fields: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let response = server.send("GET", "/users/42", &fields);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert_eq!(response.expect_header("Vary"), "Accept", "{accept:?}");
    }
    // Other methods.
    let response = server.send("POST", "/users/42", &[("Accept", NAVIGATION)]);
    response.assert_error("HTTP/1.1 405 Method Not Allowed");
    assert_eq!(response.expect_header("Allow"), "GET, HEAD");
    navigate(&server, "OPTIONS", "/users/42").assert_error("HTTP/1.1 405 Method Not Allowed");
    // An existing folder keeps its answers (a redirect, and 404 without an index or listing).
    let response = navigate(&server, "GET", "/empty");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/empty/");
    navigate(&server, "GET", "/empty/").assert_error("HTTP/1.1 404 Not Found");
    // Below a link out of the root, a missing name looks like an existing one.
    for target in ["/link-etc/passwd", "/link-etc/no-such-name"] {
        let response = navigate(&server, "GET", target);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert!(!has_field(&response, "Vary"));
    }
    // Existing files are themselves.
    assert_eq!(navigate(&server, "GET", "/app.js").body, b"document.title = 'booted';\n");
}

#[test]
fn spa_without_an_index_page_is_404_and_with_a_404_page_carries_it() {
    let server = Launch::new()
        .prepare(|root| fs::write(root.join("404.html"), NOT_FOUND).expect("404"))
        .args(&["--spa"])
        .start();
    let response = navigate(&server, "GET", "/users/42");
    response.assert_status("HTTP/1.1 404 Not Found");
    assert_eq!(response.body, NOT_FOUND.as_bytes());
    server.write("index.html", INDEX);
    assert_eq!(navigate(&server, "GET", "/users/42").body, INDEX.as_bytes());
    let response = server.send("GET", "/users/42", &[("Accept", "*/*")]);
    response.assert_status("HTTP/1.1 404 Not Found");
    assert_eq!(response.body, NOT_FOUND.as_bytes());
    assert_eq!(response.expect_header("Vary"), "Accept");
}

// ---------------------------------------------------------------------------------------
// The wall, under every option
// ---------------------------------------------------------------------------------------

/// A root beside a secret, with dotfiles, an index, a 404-free site, and links.
fn walled_site(root: &Path, outside: &Path) {
    fs::write(outside.join("secret.txt"), "TOP-SECRET\n").expect("secret");
    fs::create_dir_all(outside.join(".hidden-outside")).expect("dot folder");
    fs::write(outside.join(".hidden-outside/key"), "TOP-SECRET\n").expect("key");
    fs::write(root.join("index.html"), INDEX).expect("index");
    fs::write(root.join("page.html"), "<p>page</p>\n").expect("page");
    fs::write(root.join(".env"), "TOP-SECRET\n").expect(".env");
    fs::write(root.join(".env.html"), "TOP-SECRET\n").expect(".env.html");
    fs::create_dir_all(root.join(".git")).expect(".git");
    fs::write(root.join(".git/config"), "TOP-SECRET\n").expect("config");
    fs::create_dir_all(root.join("dir")).expect("dir");
    symlink(".env", root.join("env-link")).expect("symlink");
    symlink(".git", root.join("git-link")).expect("symlink");
    symlink(outside.join(".hidden-outside"), root.join("outside-dot")).expect("symlink");
    symlink(outside.join(".hidden-outside/key"), root.join("outside-key")).expect("symlink");
}

/// Refused targets, in every spelling the URL layer knows.
const REFUSED: [&str; 31] = [
    "/../secret.txt",
    "/../secret",
    "/..",
    "/%2e%2e/secret",
    "/%2E%2E/secret.txt",
    "/.%2e/secret",
    "/..%2fsecret",
    "/dir/../../secret",
    "/%zz",
    "/route%zz",
    "/route%",
    "/a%00b",
    "/route%00",
    // `%5C` is a byte of a name (README, Security rules): `/a%5cb` names a missing `a\b`,
    // which the fallbacks may answer, while `..\secret` is a dot-name and stays hidden.
    "/..%5csecret",
    "/route\\x",
    "/.env",
    "/.env/",
    "/%2eenv",
    "/.git/config",
    "/.git",
    "/.git/",
    "/.git/route",
    "/dir/.hidden-route",
    "/env-link",
    "/git-link/config",
    "/git-link/route",
    "/outside-dot/key",
    "/outside-dot/route",
    "/outside-key",
    "/.env.html",
    "/dir/../.env",
];

/// Every fallback at once, asked for HTML: each refusal is the same response (status line,
/// every field but Date, body) as from a server without any routing option.
#[test]
fn every_refusal_answers_as_without_the_routing_options() {
    let sandbox = Sandbox::new();
    let root = sandbox.path().join("root");
    fs::create_dir(&root).expect("root");
    walled_site(&root, sandbox.path());
    let plain = Launch::serving(&root).start();
    let routed = Launch::serving(&root).args(&["--spa", "--clean-urls", "--follow-symlinks"]).start();
    check_each(&REFUSED, |target| {
        for method in ["GET", "HEAD"] {
            let expected = navigate(&plain, method, target);
            assert!([400, 404].contains(&expected.status), "{method} {target}: {}", expected.status_line);
            let response = navigate(&routed, method, target);
            assert_eq!(response.status_line, expected.status_line, "{method} {target}");
            assert_eq!(response.headers_without_date(), expected.headers_without_date(), "{method} {target}");
            assert_eq!(response.body, expected.body, "{method} {target}");
            assert!(!contains(&response.body, b"TOP-SECRET"));
        }
    });
    // And the raw bytes the URL layer refuses before any of it.
    for raw in [
        &b"GET /route\x00x HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\n"[..],
        b"GET /a\\..\\secret HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\n",
    ] {
        let expected = plain.request(raw);
        let response = routed.request(raw);
        assert_eq!(response.status_line, expected.status_line);
        assert_eq!(response.body, expected.body);
    }
}

// ---------------------------------------------------------------------------------------
// --follow-symlinks
// ---------------------------------------------------------------------------------------

/// `SANDBOX/shared` (outside the root) linked in as `/assets`, with a dotfile in it, a dot-folder
/// outside, and a secret beside the root.
fn linked_site(sandbox: &Sandbox) -> std::path::PathBuf {
    let outside = sandbox.path();
    fs::create_dir_all(outside.join("shared/fonts")).expect("shared");
    fs::write(outside.join("shared/site.css"), "body { color: teal; }\n").expect("css");
    fs::write(outside.join("shared/fonts/a.woff2"), "wOF2").expect("font");
    fs::write(outside.join("shared/.env"), "TOP-SECRET\n").expect(".env");
    fs::create_dir_all(outside.join(".config")).expect(".config");
    fs::write(outside.join(".config/token"), "TOP-SECRET\n").expect("token");
    fs::write(outside.join("secret.txt"), "TOP-SECRET\n").expect("secret");
    let root = outside.join("root");
    fs::create_dir(&root).expect("root");
    symlink(outside.join("shared"), root.join("assets")).expect("symlink");
    symlink("../shared/site.css", root.join("style.css")).expect("symlink");
    symlink(outside.join("shared/.env"), root.join("env")).expect("symlink");
    symlink(outside.join(".config"), root.join("config")).expect("symlink");
    root
}

#[test]
fn links_out_of_the_root_are_404_by_default() {
    let sandbox = Sandbox::new();
    let root = linked_site(&sandbox);
    let server = Launch::serving(&root).start();
    for target in ["/assets/site.css", "/assets/", "/style.css", "/env", "/config/token"] {
        let response = server.get(target);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert!(!contains(&response.body, b"teal") && !contains(&response.body, b"TOP-SECRET"));
    }
}

#[test]
fn follow_symlinks_serves_links_out_of_the_root_but_never_dotfiles() {
    let sandbox = Sandbox::new();
    let root = linked_site(&sandbox);
    let server = Launch::serving(&root).args(&["--follow-symlinks"]).start();
    for target in ["/assets/site.css", "/style.css"] {
        let response = server.get(target);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body, b"body { color: teal; }\n");
        assert_eq!(response.expect_header("Content-Type"), "text/css; charset=utf-8");
    }
    assert_eq!(server.get("/assets/fonts/a.woff2").body, b"wOF2");
    let response = server.get("/assets");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/assets/");
    let listing = server.get("/assets/");
    listing.assert_status("HTTP/1.1 200 OK");
    assert!(listing.body_text().contains("site.css") && listing.body_text().contains("fonts"));
    assert!(!listing.body_text().contains(".env"));
    let root_listing = server.get("/").body_text();
    assert!(root_listing.contains("assets") && root_listing.contains("style.css"));
    assert!(!root_listing.contains(">env<") && !root_listing.contains(">config"), "{root_listing}");
    let refused = [
        "/assets/.env",
        "/env",
        "/config/token",
        "/config/",
        "/assets/../secret.txt",
        "/assets/%2e%2e/secret.txt",
        "/../secret.txt",
        "/assets/missing.css",
    ];
    check_each(&refused, |target| {
        let response = server.get(target);
        assert!([400, 404].contains(&response.status), "{}", response.status_line);
        let line = response.status_line.clone();
        response.assert_error(&line);
        assert!(!contains(&response.body, b"TOP-SECRET"));
    });
    server.get("/assets/../secret.txt").assert_error("HTTP/1.1 404 Not Found");
    server.get("/assets/%2e%2e/%2e%2e/secret.txt").assert_error("HTTP/1.1 400 Bad Request");
}

#[test]
fn follow_symlinks_with_hidden_serves_dotfiles_outside_too() {
    let sandbox = Sandbox::new();
    let root = linked_site(&sandbox);
    let server = Launch::serving(&root).args(&["--follow-symlinks", "--hidden"]).start();
    assert_eq!(server.get("/env").body, b"TOP-SECRET\n");
    assert_eq!(server.get("/config/token").body, b"TOP-SECRET\n");
    server.get("/../secret.txt").assert_error("HTTP/1.1 400 Bad Request");
}

/// A file reached through a link out of the root is never kept in the file cache (nothing
/// watches its target), so a change there shows at once: even one that keeps its size and
/// mtime. The sibling memory looks at the target's folder, so a new `.gz` shows at once too.
#[test]
fn files_through_links_out_are_read_from_disk_every_time() {
    let sandbox = Sandbox::new();
    let root = linked_site(&sandbox);
    let shared = sandbox.path().join("shared");
    let css = shared.join("site.css");
    let long_ago = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options().write(true).open(&css).expect("open").set_modified(long_ago).expect("mtime");
    fs::File::open(&shared).expect("open folder").set_modified(long_ago).expect("folder mtime");
    let server = Launch::serving(&root).args(&["--follow-symlinks", "--threads", "1"]).log_level("debug").start();
    for _ in 0..3 {
        assert_eq!(server.get("/assets/site.css").body, b"body { color: teal; }\n");
    }
    fs::write(&css, "body { color: plum; }\n").expect("rewrite, same size");
    fs::File::options().write(true).open(&css).expect("open").set_modified(long_ago).expect("mtime");
    assert_eq!(server.get("/assets/site.css").body, b"body { color: plum; }\n");
    let log = server.log();
    let through = "resolved assets/site.css (from disk, through a symlink out of the root)";
    assert_eq!(log.matches(through).count(), 4, "{}", server.log_tail(30));
    assert!(!log.contains("resolved assets/site.css (in memory)") && !log.contains("assets/site.css (read into"));

    let gzip = [("Accept-Encoding", "gzip")];
    assert!(!has_field(&server.send("GET", "/assets/site.css", &gzip), "Content-Encoding"));
    fs::write(shared.join("site.css.gz"), b"\x1f\x8b-not-really").expect("gz");
    let response = server.send("GET", "/assets/site.css", &gzip);
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Encoding"), "gzip");
    assert_eq!(response.body, b"\x1f\x8b-not-really");
}

// ---------------------------------------------------------------------------------------
// The narration
// ---------------------------------------------------------------------------------------

#[test]
fn the_debug_log_says_which_rule_served_what() {
    let sandbox = Sandbox::new();
    let root = linked_site(&sandbox);
    fs::write(root.join("index.html"), INDEX).expect("index");
    fs::write(root.join("about.html"), "<p>about</p>\n").expect("about");
    fs::write(root.join("404.html"), NOT_FOUND).expect("404");
    fs::create_dir(root.join("old")).expect("old");
    fs::write(root.join("old/index.htm"), "<p>htm</p>\n").expect("htm");
    let args = ["--spa", "--clean-urls", "--follow-symlinks", "--no-file-cache"];
    let server = Launch::serving(&root).args(&args).log_level("debug").start();
    navigate(&server, "GET", "/about");
    navigate(&server, "GET", "/about.html?x=1");
    navigate(&server, "GET", "/users/42");
    server.send("GET", "/users/43", &[("Accept", "*/*")]);
    navigate(&server, "GET", "/missing.js");
    navigate(&server, "GET", "/assets/site.css");
    navigate(&server, "GET", "/old/");
    let log = server.log();
    for line in [
        "resolved about.html (clean URL, from disk)",
        "resolved about.html: clean URL, redirect to /about?x=1",
        "resolved index.html (SPA fallback, from disk)",
        "resolved nothing servable: no such file (--spa: Accept does not name text/html); the page 404.html",
        "resolved nothing servable: no such file; the page 404.html",
        "resolved assets/site.css (from disk, through a symlink out of the root)",
        "resolved old/index.htm (from disk)",
    ] {
        assert!(log.lines().any(|l| l.ends_with(line)), "no line ending {line:?} in:\n{}", server.log_tail(60));
    }
}

// ---------------------------------------------------------------------------------------
// In a real browser
// ---------------------------------------------------------------------------------------

const SPA_INDEX: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
                         <title>spa</title><script type=\"module\" src=\"/app.js\"></script></head>\
                         <body><main id=\"app\"></main></body></html>\n";

/// The app: records the route it was loaded at, then fetches a missing route of its own the
/// way apps fetch data (`fetch()` sends `Accept: */*`).
const SPA_APP: &str = "const d = document.documentElement.dataset;\n\
                       d.route = location.pathname;\n\
                       const probe = await fetch('/api/users');\n\
                       d.fetchStatus = String(probe.status);\n\
                       d.fetchType = probe.headers.get('content-type') ?? '';\n\
                       d.fetchVary = probe.headers.get('vary') ?? '';\n";

/// `--spa` as Chromium uses it: a deep link and its reload run the app (the navigation names
/// `text/html`; the reload revalidates, 304), and the app's own `fetch()` of a missing route
/// gets its 404, not the index page (`*/*` does not count, README: Routing).
#[test]
fn spa_deep_links_run_the_app_in_chromium_and_its_fetches_get_their_404() {
    let Some(browser) = support::browser::Browser::start() else {
        return;
    };
    let prepare = |root: &Path| {
        fs::write(root.join("index.html"), SPA_INDEX).expect("index");
        fs::write(root.join("app.js"), SPA_APP).expect("app");
    };
    let server = Launch::new().prepare(prepare).args(&["--spa"]).log_level("info").start();
    let ran = "const d = document.documentElement.dataset; return d.fetchStatus ? \
               { route: d.route, status: d.fetchStatus, type: d.fetchType, vary: d.fetchVary } : null;";
    for visit in ["first visit", "reload"] {
        browser.open(&server.url("/users/42"));
        let state = browser
            .wait_until(ran, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{visit}: the app did not run; server log:\n{}", server.log_tail(20)));
        assert_eq!(state.get("route").as_str(), Some("/users/42"), "{visit}");
        assert_eq!(state.get("status").as_str(), Some("404"), "{visit}: the app's fetch of a missing route");
        assert_eq!(state.get("type").as_str(), Some("text/html; charset=utf-8"), "{visit}");
        assert_eq!(state.get("vary").as_str(), Some("Accept"), "{visit}");
    }
    let severe = browser.severe_console_entries();
    assert!(
        severe.iter().all(|message| message.contains("/api/users") && message.contains("404")),
        "console errors other than the expected 404 of /api/users: {severe:?}"
    );
    drop(browser);
    std::thread::sleep(support::LOG_SETTLE);
    let log = server.log();
    assert!(log.contains("\"GET /users/42 HTTP/1.1\" 200"), "{}", server.log_tail(20));
    assert!(log.contains("\"GET /users/42 HTTP/1.1\" 304"), "the reload revalidates: {}", server.log_tail(20));
    assert_eq!(log.matches("\"GET /api/users HTTP/1.1\" 404").count(), 2, "{}", server.log_tail(20));
}
