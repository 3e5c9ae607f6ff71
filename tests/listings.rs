//! Folder listings as a person and a program read them (issue 14): human sizes with the
//! exact bytes in a `title`, a breadcrumb, sorting by name, size or date, JSON for
//! `Accept: application/json`, `Vary: Accept`, weak ETags of their own per format and sort,
//! and every name on disk either listed with a link that works or left out for a stated
//! reason. Exact bodies and fields, over a real socket.

mod support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use support::browser::Browser;
use support::{check_each, TestServer};

const HTML: &str = "text/html; charset=utf-8";
const JSON: &[(&str, &str)] = &[("Accept", "application/json")];

fn set_mtime(path: &Path, seconds: u64) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.set_modified(UNIX_EPOCH + Duration::from_secs(seconds)).expect("set mtime");
}

/// `/docs/`: two folders, five files with awkward names and known sizes and times, and
/// what must be left out: a dotfile, a name that is not UTF-8, and a socket.
fn docs(args: &[&str]) -> TestServer {
    let server = TestServer::start_with(args);
    let files: [(&str, &[u8], u64); 5] = [
        ("docs/small.txt", b"small", 1_700_000_000),
        ("docs/big.bin", &[b'x'; 1536], 1_500_000_000),
        ("docs/a\\b.txt", b"a\\b", 1_400_000_000),
        ("docs/\"q\" & <x>.txt", b"q", 1_300_000_000),
        ("docs/ctl\u{1}.txt", b"c1", 1_200_000_000),
    ];
    for (name, bytes, mtime) in files {
        set_mtime(&server.write(name, bytes), mtime);
    }
    server.write("docs/.env", "SECRET=1\n");
    std::fs::write(server.root.join("docs").join(OsStr::from_bytes(b"bad\xff.txt")), "latin-1\n").expect("write");
    let socket = UnixListener::bind(server.root.join("docs/sock")).expect("bind a socket file");
    drop(socket);
    set_mtime(&server.mkdir("docs/alpha"), 1_600_000_000);
    set_mtime(&server.mkdir("docs/zeta"), 1_000_000_000);
    server
}

/// One JSON entry per line, as the server writes them.
fn json_line(name: &str, kind: &str, size: Option<u64>, mtime: &str, href: &str) -> String {
    let size = size.map_or("null".to_string(), |s| s.to_string());
    format!("{{\"name\":{name},\"type\":\"{kind}\",\"size\":{size},\"mtime\":\"{mtime}\",\"href\":\"{href}\"}}")
}

fn docs_json_lines() -> Vec<(&'static str, String)> {
    vec![
        ("alpha", json_line("\"alpha\"", "directory", None, "2020-09-13T12:26:40Z", "/docs/alpha/")),
        ("zeta", json_line("\"zeta\"", "directory", None, "2001-09-09T01:46:40Z", "/docs/zeta/")),
        (
            "\"q\" & <x>.txt",
            json_line(
                "\"\\\"q\\\" \\u0026 \\u003cx\\u003e.txt\"",
                "file",
                Some(1),
                "2011-03-13T07:06:40Z",
                "/docs/%22q%22%20%26%20%3Cx%3E.txt",
            ),
        ),
        ("a\\b.txt", json_line("\"a\\\\b.txt\"", "file", Some(3), "2014-05-13T16:53:20Z", "/docs/a%5Cb.txt")),
        ("big.bin", json_line("\"big.bin\"", "file", Some(1536), "2017-07-14T02:40:00Z", "/docs/big.bin")),
        ("ctl\u{1}.txt", json_line("\"ctl\\u0001.txt\"", "file", Some(2), "2008-01-10T21:20:00Z", "/docs/ctl%01.txt")),
        ("small.txt", json_line("\"small.txt\"", "file", Some(5), "2023-11-14T22:13:20Z", "/docs/small.txt")),
    ]
}

fn json_body(lines: &[&String]) -> String {
    let joined: Vec<&str> = lines.iter().map(|l| l.as_str()).collect();
    format!("[\n{}\n]\n", joined.join(",\n"))
}

/// The names of a JSON listing, in order (each line holds one entry's `"name":` first).
fn json_names(body: &str) -> Vec<String> {
    let lines = docs_json_lines();
    body.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let l = l.trim_end_matches(',');
            lines.iter().find(|(_, line)| line == l).map_or_else(|| format!("unknown: {l}"), |(n, _)| n.to_string())
        })
        .collect()
}

#[test]
fn json_listing_exact_body_and_fields() {
    let server = docs(&[]);
    let response = server.send("GET", "/docs/", JSON);
    response.assert_status("HTTP/1.1 200 OK");
    let lines = docs_json_lines();
    let expected = json_body(&lines.iter().map(|(_, l)| l).collect::<Vec<_>>());
    assert_eq!(response.body_text(), expected);
    let names: Vec<&str> = response.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Date",
            "Server",
            "Content-Length",
            "Connection",
            "X-Content-Type-Options",
            "Content-Type",
            "ETag",
            "Cache-Control",
            "Vary"
        ]
    );
    assert_eq!(response.expect_header("Content-Type"), "application/json");
    assert_eq!(response.expect_header("Vary"), "Accept");
    assert_eq!(response.expect_header("Cache-Control"), "no-cache");
    assert!(response.expect_header("ETag").starts_with("W/\"7-"), "{:?}", response.header("ETag"));
    // HEAD: the same head, no body.
    let head = server.send("HEAD", "/docs/", JSON);
    head.assert_head_response("HTTP/1.1 200 OK");
    assert_eq!(head.headers_without_date(), response.headers_without_date());
    // Every href serves its entry.
    let served: [(&str, &[u8]); 5] = [
        ("/docs/%22q%22%20%26%20%3Cx%3E.txt", b"q"),
        ("/docs/a%5Cb.txt", b"a\\b"),
        ("/docs/big.bin", &[b'x'; 1536]),
        ("/docs/ctl%01.txt", b"c1"),
        ("/docs/small.txt", b"small"),
    ];
    check_each(&served, |(href, body)| {
        let response = server.get(href);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body, *body);
    });
    for folder in ["/docs/alpha/", "/docs/zeta/"] {
        let response = server.send("GET", folder, JSON);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body, b"[]\n");
    }
}

#[test]
fn html_listing_rows_breadcrumb_and_column_heads() {
    let server = docs(&[]);
    let response = server.get("/docs/");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Type"), HTML);
    assert_eq!(response.expect_header("Vary"), "Accept");
    let page = response.body_text();
    let expected_start = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
        <meta name=\"color-scheme\" content=\"light dark\"><title>Index of /docs/</title>\n<style>";
    assert!(page.starts_with(expected_start), "{page}");
    let body = &page[page.find("</style></head>\n").expect("end of the style") + 16..];
    let row = |href: &str, text: &str, size: &str, date: &str, time: &str| {
        let size = match size {
            "-" => "<td class=\"size\">-</td>".to_string(),
            s => {
                let (shown, bytes) = s.split_once('|').expect("shown|bytes");
                format!("<td class=\"size\" title=\"{bytes}\">{shown}</td>")
            }
        };
        format!(
            "<tr><td><a href=\"{href}\">{text}</a></td>{size}<td class=\"date\"><time datetime=\"{date}T{time}Z\">\
             {date}<span class=\"time\"> {}</span></time></td></tr>\n",
            &time[..5]
        )
    };
    let expected = [
        "<body><main>\n<h1>Index of <a href=\"../\">/</a><span aria-current=\"page\">docs/</span></h1>\n<table>\n\
         <thead><tr><th aria-sort=\"ascending\"><a href=\"?sort=name&amp;order=desc\">Name</a></th>\
         <th class=\"size\"><a href=\"?sort=size&amp;order=asc\">Size</a></th>\
         <th class=\"date\"><a href=\"?sort=date&amp;order=asc\">Modified (UTC)</a></th></tr></thead>\n<tbody>\n\
         <tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n"
            .to_string(),
        row("./alpha/", "alpha/", "-", "2020-09-13", "12:26:40"),
        row("./zeta/", "zeta/", "-", "2001-09-09", "01:46:40"),
        row(
            "./%22q%22%20%26%20%3Cx%3E.txt",
            "&quot;q&quot; &amp; &lt;x&gt;.txt",
            "1 B|1 byte",
            "2011-03-13",
            "07:06:40",
        ),
        row("./a%5Cb.txt", "a\\b.txt", "3 B|3 bytes", "2014-05-13", "16:53:20"),
        row("./big.bin", "big.bin", "1.5 KiB|1536 bytes", "2017-07-14", "02:40:00"),
        row("./ctl%01.txt", "ctl\u{1}.txt", "2 B|2 bytes", "2008-01-10", "21:20:00"),
        row("./small.txt", "small.txt", "5 B|5 bytes", "2023-11-14", "22:13:20"),
        "</tbody>\n</table>\n<p class=\"note\">1 name is not shown: it is not UTF-8, and URLs on this server \
         name files in UTF-8.</p>\n</main></body></html>\n"
            .to_string(),
    ]
    .concat();
    assert_eq!(body, expected);
    // One small page: inline CSS, no script, no other resource.
    assert!(!page.contains("<script") && !page.contains("<link") && !page.contains("<img"), "{page}");
    assert!(page.len() < 6000, "{} bytes", page.len());
    // The breadcrumb of a deeper folder links each step, relatively.
    server.mkdir("docs/alpha/x y");
    let page = server.get("/docs/alpha/x%20y/").body_text();
    assert!(
        page.contains(
            "<h1>Index of <a href=\"../../../\">/</a><a href=\"../../\">docs/</a><a href=\"../\">alpha/</a>\
             <span aria-current=\"page\">x y/</span></h1>"
        ),
        "{page}"
    );
}

#[test]
fn sorting_by_name_size_and_date_keeps_folders_first() {
    let server = docs(&[]);
    let cases: [(&str, [&str; 7]); 7] = [
        ("", ["alpha", "zeta", "\"q\" & <x>.txt", "a\\b.txt", "big.bin", "ctl\u{1}.txt", "small.txt"]),
        (
            "?sort=name&order=asc",
            ["alpha", "zeta", "\"q\" & <x>.txt", "a\\b.txt", "big.bin", "ctl\u{1}.txt", "small.txt"],
        ),
        (
            "?sort=name&order=desc",
            ["zeta", "alpha", "small.txt", "ctl\u{1}.txt", "big.bin", "a\\b.txt", "\"q\" & <x>.txt"],
        ),
        ("?sort=size", ["alpha", "zeta", "\"q\" & <x>.txt", "ctl\u{1}.txt", "a\\b.txt", "small.txt", "big.bin"]),
        (
            "?order=desc&sort=size",
            ["zeta", "alpha", "big.bin", "small.txt", "a\\b.txt", "ctl\u{1}.txt", "\"q\" & <x>.txt"],
        ),
        ("?sort=date&v=2", ["zeta", "alpha", "ctl\u{1}.txt", "\"q\" & <x>.txt", "a\\b.txt", "big.bin", "small.txt"]),
        (
            "?sort=date&order=desc",
            ["alpha", "zeta", "small.txt", "big.bin", "a\\b.txt", "\"q\" & <x>.txt", "ctl\u{1}.txt"],
        ),
    ];
    check_each(&cases, |(query, order)| {
        let target = format!("/docs/{query}");
        let json = server.send("GET", &target, JSON);
        json.assert_status("HTTP/1.1 200 OK");
        assert_eq!(json_names(&json.body_text()), order.to_vec(), "JSON {target}");
        // The page lists the same order (each name's link appears once, in this order).
        let page = server.get(&target).body_text();
        let positions: Vec<usize> = order
            .iter()
            .map(|name| {
                let encoded: String = name
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                let slash = if name.contains('.') { "" } else { "/" };
                page.find(&format!("href=\"./{encoded}{slash}\"")).unwrap_or_else(|| panic!("{name:?} not in {page}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "HTML {target}: {positions:?}");
    });
    // The current column is marked and links to the other order; the others to ascending.
    let page = server.get("/docs/?sort=size&order=desc").body_text();
    assert!(
        page.contains(
            "<thead><tr><th><a href=\"?sort=name&amp;order=asc\">Name</a></th>\
             <th class=\"size\" aria-sort=\"descending\"><a href=\"?sort=size&amp;order=asc\">Size</a></th>\
             <th class=\"date\"><a href=\"?sort=date&amp;order=asc\">Modified (UTC)</a></th></tr></thead>"
        ),
        "{page}"
    );
    let page = server.get("/docs/?sort=date").body_text();
    assert!(
        page.contains("<th class=\"date\" aria-sort=\"ascending\"><a href=\"?sort=date&amp;order=desc\">"),
        "{page}"
    );
}

#[test]
fn a_bad_sort_or_order_is_400_and_other_parameters_are_ignored() {
    let server = docs(&[]);
    let bad = [
        "/docs/?sort=bogus",
        "/docs/?sort=Size",
        "/docs/?sort=",
        "/docs/?sort",
        "/docs/?order=up",
        "/docs/?sort=size&sort=name",
        "/docs/?order=asc&order=asc",
        "/docs/?sort=size%20",
    ];
    check_each(&bad, |target| {
        server.get(target).assert_error("HTTP/1.1 400 Bad Request");
        server.send("GET", target, JSON).assert_error("HTTP/1.1 400 Bad Request");
    });
    // Only listings read the query: a file, an index page and a redirect ignore it.
    server.write("site/index.html", "<p>index</p>");
    let index = server.get("/site/?sort=bogus");
    index.assert_status("HTTP/1.1 200 OK");
    assert_eq!(index.body, b"<p>index</p>");
    let file = server.get("/docs/small.txt?sort=bogus");
    file.assert_status("HTTP/1.1 200 OK");
    assert_eq!(file.body, b"small");
    let redirect = server.get("/docs?sort=bogus");
    redirect.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(redirect.expect_header("Location"), "/docs/?sort=bogus");
    // Unknown parameters are ignored: the same listing as without them.
    let plain = server.get("/docs/");
    let busted = server.get("/docs/?v=123&x&&sort=name");
    busted.assert_status("HTTP/1.1 200 OK");
    assert_eq!(busted.body, plain.body);
    assert_eq!(busted.expect_header("ETag"), plain.expect_header("ETag"));
}

#[test]
fn accept_chooses_json_only_when_the_client_prefers_it() {
    let server = docs(&[]);
    let cases = [
        ("application/json", "application/json"),
        ("application/json;q=0.9, text/html;q=0.1", "application/json"),
        ("text/html;q=0, */*", "application/json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", HTML),
        ("*/*", HTML),
        ("application/json, text/html", HTML),
        ("application/json;q=0", HTML),
        ("image/png", HTML),
        ("application/json;q=bad", HTML),
    ];
    check_each(&cases, |(accept, content_type)| {
        let response = server.send("GET", "/docs/", &[("Accept", accept)]);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.expect_header("Content-Type"), *content_type);
        assert_eq!(response.expect_header("Vary"), "Accept");
    });
    let none = server.get("/docs/");
    assert_eq!(none.expect_header("Content-Type"), HTML);
    // Two Accept lines are one list (RFC 9110 §5.3).
    let two = server.request("GET /docs/ HTTP/1.1\r\nHost: h\r\nAccept: image/png\r\nAccept: application/json\r\n\r\n");
    assert_eq!(two.expect_header("Content-Type"), "application/json");
}

#[test]
fn each_format_and_sort_has_its_own_weak_etag_and_304() {
    let server = docs(&[]);
    let views = [
        ("/docs/", &[][..]),
        ("/docs/", JSON),
        ("/docs/?sort=size", &[][..]),
        ("/docs/?sort=size&order=desc", &[][..]),
        ("/docs/?sort=size&order=desc", JSON),
        ("/docs/?sort=date", &[][..]),
    ];
    let tags: Vec<String> = views
        .iter()
        .map(|(target, fields)| {
            let response = server.send("GET", target, fields);
            response.assert_status("HTTP/1.1 200 OK");
            let tag = response.expect_header("ETag").to_string();
            assert!(tag.starts_with("W/\"") && tag.ends_with('"'), "{tag}");
            assert_eq!(server.send("GET", target, fields).expect_header("ETag"), tag, "stable");
            tag
        })
        .collect();
    for (i, tag) in tags.iter().enumerate() {
        for (j, other) in tags.iter().enumerate() {
            assert!(i == j || tag != other, "{:?} and {:?} share {tag}", views[i], views[j]);
        }
    }
    // The default view and the same view spelled out are the same listing.
    assert_eq!(server.get("/docs/?sort=name&order=asc").expect_header("ETag"), tags[0]);
    let fields_304 = ["Date", "Server", "Connection", "X-Content-Type-Options", "ETag", "Cache-Control", "Vary"];
    for ((target, fields), tag) in views.iter().zip(&tags) {
        let mut with_tag = fields.to_vec();
        with_tag.push(("If-None-Match", tag));
        let response = server.send("GET", target, &with_tag);
        response.assert_not_modified(&fields_304);
        assert_eq!(response.expect_header("ETag"), tag);
        assert_eq!(response.expect_header("Vary"), "Accept");
        let response = server.send("HEAD", target, &with_tag);
        response.assert_not_modified(&fields_304);
    }
    // The HTML tag does not revalidate the JSON listing, nor one sort another.
    let response = server.send("GET", "/docs/", &[("Accept", "application/json"), ("If-None-Match", &tags[0])]);
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Type"), "application/json");
    let response = server.send("GET", "/docs/?sort=size", &[("If-None-Match", &tags[0])]);
    response.assert_status("HTTP/1.1 200 OK");
    // A change in the folder is a new tag for every view.
    server.write("docs/new.txt", "new");
    for ((target, fields), tag) in views.iter().zip(&tags) {
        let mut with_tag = fields.to_vec();
        with_tag.push(("If-None-Match", tag));
        let response = server.send("GET", target, &with_tag);
        response.assert_status("HTTP/1.1 200 OK");
        assert_ne!(response.expect_header("ETag"), tag);
    }
}

#[test]
fn names_on_disk_are_listed_with_working_links_or_left_out_for_a_reason() {
    let server = TestServer::start_debug(&[]);
    server.write("n/a\\b.txt", "backslash\n");
    server.write("n/\\\\server\\share", "unc\n");
    server.write("n/..\\..\\x", "hidden by its dot\n");
    server.mkdir("n/dir\\sub");
    std::fs::write(server.root.join("n").join(OsStr::from_bytes(b"caf\xe9.txt")), "latin-1\n").expect("write");
    std::fs::write(server.root.join("n").join(OsStr::from_bytes(b"\xff\xfe")), "bytes\n").expect("write");
    std::fs::write(server.root.join("n").join(OsStr::from_bytes(b".\xff")), "a hidden one\n").expect("write");
    drop(UnixListener::bind(server.root.join("n/socket")).expect("socket"));
    let response = server.send("GET", "/n/", JSON);
    response.assert_status("HTTP/1.1 200 OK");
    let body = response.body_text();
    let hrefs: Vec<&str> = body.split("\"href\":\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
    assert_eq!(hrefs, ["/n/dir%5Csub/", "/n/%5C%5Cserver%5Cshare", "/n/a%5Cb.txt"], "{body}");
    assert!(body.contains("\"name\":\"\\\\\\\\server\\\\share\""), "{body}");
    let served = [("/n/a%5Cb.txt", "backslash\n"), ("/n/%5C%5Cserver%5Cshare", "unc\n")];
    check_each(&served, |(href, text)| {
        let response = server.get(href);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body_text(), *text);
    });
    server.get("/n/dir%5Csub/").assert_status("HTTP/1.1 200 OK");
    // The page says how many names it cannot link (not the hidden one, not the socket).
    let page = server.get("/n/").body_text();
    assert!(
        page.contains("<p class=\"note\">2 names are not shown: they are not UTF-8, and URLs on this server name files in UTF-8.</p>"),
        "{page}"
    );
    assert!(!page.contains("socket") && !page.contains("x\"") && !page.contains("hidden"), "{page}");
    // They cannot be asked for: a non-UTF-8 path is refused, as before.
    server.get("/n/caf%E9.txt").assert_error("HTTP/1.1 400 Bad Request");
    server.get("/n/socket").assert_error("HTTP/1.1 403 Forbidden");
    // And the debug log names what was left out and why.
    let log = server.log();
    assert!(
        log.contains(
            "listing of /n (HTML, 3 entries, by name asc); left out: 2 not UTF-8, 1 FIFO, socket or device (never served)"
        ),
        "{log}"
    );
}

#[test]
fn hidden_names_stay_out_of_both_formats_unless_hidden() {
    let setup = |server: &TestServer| {
        server.write("h/.env", "SECRET=1\n");
        server.write("h/.git/config", "[core]\n");
        server.write("h/visible.txt", "v");
    };
    let server = TestServer::start();
    setup(&server);
    let json = server.send("GET", "/h/", JSON).body_text();
    assert!(json.contains("\"visible.txt\"") && !json.contains(".env") && !json.contains(".git"), "{json}");
    let page = server.get("/h/").body_text();
    assert!(!page.contains(".env") && !page.contains(".git") && !page.contains("not shown"), "{page}");

    let server = TestServer::start_with(&["--hidden"]);
    setup(&server);
    let json = server.send("GET", "/h/", JSON).body_text();
    assert!(json.contains("\"href\":\"/h/.git/\"") && json.contains("\"href\":\"/h/.env\""), "{json}");
}

#[test]
fn no_listing_answers_404_in_json_too() {
    let server = TestServer::start_with(&["--no-listing"]);
    server.write("plain/file.txt", "f");
    let response = server.send("GET", "/plain/", JSON);
    response.assert_error("HTTP/1.1 404 Not Found");
    assert!(!response.body_text().contains("file.txt"));
}

/// In Chromium: the page needs no script, its column heads sort, on a phone-sized viewport
/// no date or size wraps and nothing scrolls sideways (a long name breaks instead), and with
/// `prefers-color-scheme: dark` it is dark. Skips locally without Chromium, fails under CI.
#[test]
fn in_a_browser_narrow_screens_keep_dates_on_one_line_and_dark_schemes_are_dark() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = docs(&[]);
    server.write("favicon.ico", [0u8; 16]);
    server.write(&format!("docs/{}.txt", "long-name-without-spaces-".repeat(6)), "long");
    browser.open(&server.url("/docs/"));
    let colors = "return [getComputedStyle(document.body).backgroundColor, \
                  getComputedStyle(document.querySelector('td a')).color].join(' / ')";
    assert_eq!(browser.eval(colors).as_str(), Some("rgb(255, 255, 255) / rgb(6, 69, 173)"));
    // Wide: dates with their time of day, each on one line.
    // The cells whose text sits on more than one line (distinct tops of its text's boxes).
    let one_line = "const lines = c => { const r = document.createRange(); r.selectNodeContents(c); \
            return new Set([...r.getClientRects()].filter(b => b.width > 0).map(b => Math.round(b.bottom))).size; }; \
        return [...document.querySelectorAll('td.date, td.size, th')].filter(c => lines(c) > 1) \
            .map(c => c.textContent).join(' | ')";
    assert_eq!(browser.eval(one_line).as_str(), Some(""));
    let time_shown = "return getComputedStyle(document.querySelector('.time')).display";
    assert_eq!(browser.eval(time_shown).as_str(), Some("inline"));
    // A phone: 360 CSS pixels wide.
    browser
        .cdp("Emulation.setDeviceMetricsOverride", r#"{"width":360,"height":740,"deviceScaleFactor":2,"mobile":true}"#);
    browser.wait_until("return innerWidth === 360", Duration::from_secs(5)).expect("a 360 px viewport");
    assert_eq!(browser.eval(time_shown).as_str(), Some("none"), "the time of day is dropped on a phone");
    assert_eq!(browser.eval(one_line).as_str(), Some(""), "a date, size or column head wraps at 360 px");
    let overflow = "return document.documentElement.scrollWidth - innerWidth";
    assert_eq!(browser.eval(overflow).as_f64(), Some(0.0), "the page scrolls sideways at 360 px");
    let name_lines =
        "const a = [...document.querySelectorAll('td a')].find(a => a.textContent.startsWith('long-name')); \
        return a.getClientRects().length > 1 || a.getBoundingClientRect().height > 30";
    assert_eq!(browser.eval(name_lines).as_bool(), Some(true), "the long name should wrap instead");
    // Dark scheme.
    browser.cdp("Emulation.setEmulatedMedia", r#"{"features":[{"name":"prefers-color-scheme","value":"dark"}]}"#);
    assert_eq!(browser.eval(colors).as_str(), Some("rgb(22, 24, 28) / rgb(138, 180, 248)"));
    // The Size head sorts, without script: follow it as a click would.
    browser.eval("document.querySelector('th.size a').click()");
    let first_file = "return location.search === '?sort=size&order=asc' && \
        document.querySelectorAll('tbody tr')[3].querySelector('a').getAttribute('href')";
    let href = browser.wait_until(first_file, Duration::from_secs(10)).expect("the sorted page");
    assert_eq!(href.as_str(), Some("./%22q%22%20%26%20%3Cx%3E.txt"), "smallest file first, after ../ and two folders");
    assert_eq!(browser.eval("return document.scripts.length").as_f64(), Some(0.0));
    let severe = browser.severe_console_entries();
    assert!(severe.is_empty(), "console errors: {severe:?}");
}
