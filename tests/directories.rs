//! Folders: `/dir` → 301, `/dir/` → index.html or a listing (order, sizes, parent link,
//! hidden dotfiles, hostile names escaped, hrefs that lead back to each file),
//! and `--no-listing`.

mod support;

use support::{check_each, percent_decode, TestServer};

const HTML: &str = "text/html; charset=utf-8";

/// Every `href="..."` value in a page, in order, with `&amp;` (the only entity an
/// attribute of ours could need) decoded as a browser would.
fn hrefs(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"'))
        .map(|(v, _)| v.replace("&amp;", "&"))
        .collect()
}

#[test]
fn folder_with_index_html_serves_it() {
    let server = TestServer::start();
    let index = "<!DOCTYPE html><title>docs</title><p>hello</p>\n";
    server.write("docs/index.html", index);
    server.write("docs/other.txt", "other");
    let response = server.get("/docs/");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Type"), HTML);
    assert_eq!(response.body, index.as_bytes());
    // The root too.
    server.write("index.html", "<p>root index</p>");
    let response = server.get("/");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Type"), HTML);
    assert_eq!(response.body, b"<p>root index</p>");
}

#[test]
fn folder_without_slash_redirects() {
    let server = TestServer::start();
    server.write("docs/index.html", "x");
    let response = server.get("/docs");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/docs/");
    let response = server.get("/docs?a=1");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/docs/?a=1");
}

#[test]
fn file_with_a_trailing_slash_is_not_found() {
    // `/file.txt/` names a folder; a file is not one (POSIX: ENOTDIR; nginx and Apache: 404).
    // Serving the file there would also make its relative links resolve one level too deep.
    let server = TestServer::start();
    server.write("file.txt", "f");
    let response = server.get("/file.txt/");
    response.assert_error("HTTP/1.1 404 Not Found");
}

#[test]
fn listing_orders_folders_first_with_sizes_and_no_parent_at_root() {
    let server = TestServer::start();
    server.write("aaa-file.txt", vec![b'x'; 1234]);
    server.write("zzz-folder/inner.txt", "i");
    server.write("mmm-file.bin", vec![0u8; 56789]);
    server.mkdir("bbb-folder");
    let known = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000); // 2017-07-14
    let file = std::fs::File::options().write(true).open(server.root.join("aaa-file.txt")).expect("open");
    file.set_modified(known).expect("set mtime");
    let response = server.get("/");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Type"), HTML);
    let page = response.body_text();
    let links = hrefs(&page);
    let names: Vec<String> = links.iter().map(|h| String::from_utf8(percent_decode(h)).expect("utf-8 href")).collect();
    // Folders first (with a trailing slash), then files; no parent link at the root.
    let position = |needle: &str| names.iter().position(|n| n.trim_start_matches("./") == needle);
    let (bbb, zzz) = (position("bbb-folder/"), position("zzz-folder/"));
    let (aaa, mmm) = (position("aaa-file.txt"), position("mmm-file.bin"));
    assert!(bbb.is_some() && zzz.is_some() && aaa.is_some() && mmm.is_some(), "links: {names:?}");
    assert!(bbb.max(zzz) < aaa.min(mmm), "folders are not first: {names:?}");
    assert!(!names.iter().any(|n| n == "../" || n == ".."), "parent link at the root: {names:?}");
    assert!(page.contains("bbb-folder/"), "folder name shown with a trailing slash");
    // Sizes: each file's size appears in its own row (after its name, before the next link).
    for (name, size) in [("aaa-file.txt", "1234"), ("mmm-file.bin", "56789")] {
        let at = page.find(&format!(">{name}<")).unwrap_or_else(|| panic!("{name} not shown: {page}"));
        let row_end = page[at..].find("href=").map_or(page.len(), |i| at + i);
        assert!(page[at..row_end].contains(size), "size {size} of {name} not in its row: {:?}", &page[at..row_end]);
    }
    // Modification times: aaa-file.txt was last modified in 2017.
    let at = page.find(">aaa-file.txt<").expect("shown");
    let row_end = page[at..].find("href=").map_or(page.len(), |i| at + i);
    assert!(page[at..row_end].contains("2017"), "no modification time in the row: {:?}", &page[at..row_end]);
}

#[test]
fn listing_below_the_root_has_a_parent_link() {
    let server = TestServer::start();
    server.write("sub/deeper/x.txt", "x");
    let response = server.get("/sub/deeper/");
    response.assert_status("HTTP/1.1 200 OK");
    let links = hrefs(&response.body_text());
    assert!(links.iter().any(|h| h == "../"), "no parent link: {links:?}");
    // The parent link leads to the parent folder's listing.
    let parent = server.get("/sub/");
    parent.assert_status("HTTP/1.1 200 OK");
    assert!(hrefs(&parent.body_text()).iter().any(|h| h.trim_start_matches("./") == "deeper/"));
}

#[test]
fn listing_hides_dotfiles_unless_hidden() {
    let server = TestServer::start();
    server.write(".env", "SECRET");
    server.write(".git/config", "[core]");
    server.write("visible.txt", "v");
    let page = server.get("/").body_text();
    assert!(page.contains("visible.txt"), "{page}");
    assert!(!page.contains(".env"), "dotfile listed: {page}");
    assert!(!page.contains(".git"), "dot-folder listed: {page}");

    let server = TestServer::start_with(&["--hidden"]);
    server.write(".env", "SECRET");
    server.write(".git/config", "[core]");
    let response = server.get("/");
    response.assert_status("HTTP/1.1 200 OK");
    let names: Vec<String> = hrefs(&response.body_text())
        .iter()
        .map(|h| String::from_utf8(percent_decode(h)).expect("utf-8").trim_start_matches("./").to_string())
        .collect();
    assert!(names.contains(&".env".to_string()), "{names:?}");
    assert!(names.contains(&".git/".to_string()), "{names:?}");
}

/// File names that break naive listings. (`/` cannot be in a file name, so the closing tag
/// uses another `<script>`.)
const HOSTILE: &[&str] = &[
    "<script>alert(1)<script>.txt",
    "<img src=x onerror=alert(1)>.txt",
    "\"quote\".txt",
    "it's.txt",
    "a&b.txt",
    "a&amp;b.txt",
    "100%.txt",
    "%41.txt",
    "a#b.txt",
    "q?x=1.txt",
    "with space.txt",
    "\u{65e5}\u{672c}.txt",
    "caf\u{e9}.txt",
    "a:b.txt",
    "javascript:alert(1)",
    "plus+sign.txt",
    "semi;colon.txt",
];

#[test]
fn listing_escapes_hostile_names_and_every_href_leads_to_its_file() {
    let server = TestServer::start();
    for (i, name) in HOSTILE.iter().enumerate() {
        server.write(&format!("h/{name}"), format!("content {i} of {name}"));
    }
    server.mkdir("h/<b>folder<b>");
    let response = server.get("/h/");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Type"), HTML);
    let page = response.body_text();
    assert!(!page.contains("<script>"), "raw <script> in the listing");
    assert!(!page.contains("<img"), "raw <img> in the listing");
    assert!(!page.contains("<b>folder"), "raw <b> in the listing");
    assert!(!page.contains("\"quote\""), "raw quotes in the listing");
    assert!(!page.contains("a&b.txt"), "raw & in the listing");

    let links = hrefs(&page);
    let expected_encodings = [
        ("<script>alert(1)<script>.txt", "%3Cscript%3E"),
        ("\"quote\".txt", "%22quote%22"),
        ("a&b.txt", "a%26b.txt"),
        ("100%.txt", "100%25.txt"),
        ("a#b.txt", "a%23b.txt"),
        ("with space.txt", "with%20space.txt"),
        ("\u{65e5}\u{672c}.txt", "%E6%97%A5%E6%9C%AC.txt"),
    ];
    check_each(&expected_encodings, |(name, encoded)| {
        let href = links
            .iter()
            .find(|h| percent_decode(h) == format!("./{name}").as_bytes() || percent_decode(h) == name.as_bytes())
            .unwrap_or_else(|| panic!("no href for {name:?} in {links:?}"));
        assert!(href.contains(encoded), "href {href:?} for {name:?} lacks {encoded:?}");
    });

    // Every file and folder is linked exactly once, and following the link (as a browser
    // resolves it against /h/) fetches exactly that file.
    let mut names: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    names.push("<b>folder<b>/".to_string());
    check_each(&names, |name| {
        let matching: Vec<&String> = links
            .iter()
            .filter(|h| {
                let decoded = percent_decode(h);
                decoded == format!("./{name}").as_bytes() || decoded == name.as_bytes()
            })
            .collect();
        assert_eq!(matching.len(), 1, "links for {name:?}: {matching:?} among {links:?}");
        let href = matching[0];
        assert!(href.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'<' && b != b'>' && b != b'#'));
        let target = format!("/h/{}", href.trim_start_matches("./"));
        let response = server.get(&target);
        response.assert_status("HTTP/1.1 200 OK");
        if !name.ends_with('/') {
            let i = HOSTILE.iter().position(|h| h == name).expect("index");
            assert_eq!(response.body_text(), format!("content {i} of {name}"), "following {target}");
        }
    });
}

#[test]
fn no_listing_gives_404_for_folders_without_index() {
    let server = TestServer::start_with(&["--no-listing"]);
    server.write("plain/file.txt", "f");
    server.write("site/index.html", "<p>index</p>");
    for target in ["/", "/plain/"] {
        let response = server.get(target);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert!(!response.body_text().contains("file.txt"), "listing leaked");
    }
    let response = server.get("/site/");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"<p>index</p>");
    let response = server.get("/plain/file.txt");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"f");
}

#[test]
fn listing_head_matches_get() {
    let server = TestServer::start();
    server.write("l/one.txt", "1");
    let get = server.get("/l/");
    let head = server.head("/l/");
    head.assert_head_response("HTTP/1.1 200 OK");
    assert_eq!(head.headers_without_date(), get.headers_without_date());
}

#[test]
fn listing_of_a_hostile_folder_name_escapes_its_title() {
    let server = TestServer::start();
    server.write("<img src=x onerror=alert(1)> & \"q\"/inner.txt", "i");
    let response = server.get("/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%20%26%20%22q%22/");
    response.assert_status("HTTP/1.1 200 OK");
    let page = response.body_text();
    assert!(page.contains("inner.txt"), "{page}");
    assert!(!page.contains("<img"), "raw folder name in the page: {page}");
    assert!(!page.contains("\"q\""), "raw quotes in the page: {page}");
}

#[test]
fn files_dated_before_1970_or_after_9999_are_listed_and_served() {
    let server = TestServer::start();
    let set_mtime = |name: &str, time: std::time::SystemTime| {
        let path = server.write(name, "old or new\n");
        std::fs::File::options().write(true).open(path).expect("open").set_modified(time).expect("set mtime");
    };
    set_mtime("ancient.txt", std::time::UNIX_EPOCH - std::time::Duration::from_secs(86_400));
    set_mtime("future.txt", std::time::UNIX_EPOCH + std::time::Duration::from_secs(300_000_000_000));
    let listing = server.get("/");
    listing.assert_status("HTTP/1.1 200 OK");
    let page = listing.body_text();
    assert!(page.contains("ancient.txt") && page.contains("future.txt"), "{page}");
    let ancient = server.get("/ancient.txt");
    ancient.assert_status("HTTP/1.1 200 OK");
    assert_eq!(ancient.expect_header("Last-Modified"), "Thu, 01 Jan 1970 00:00:00 GMT");
    // File systems store what they can (ext4 stops in 2446); what is stored is what is sent.
    let stored = std::fs::metadata(server.root.join("future.txt")).and_then(|m| m.modified()).expect("mtime");
    let future = server.get("/future.txt");
    future.assert_status("HTTP/1.1 200 OK");
    let expected = if stored.duration_since(std::time::UNIX_EPOCH).is_ok_and(|d| d.as_secs() < 253_402_300_800) {
        httpdate::fmt_http_date(stored)
    } else {
        "Fri, 31 Dec 9999 23:59:59 GMT".to_string()
    };
    assert_eq!(future.expect_header("Last-Modified"), expected);
    assert_eq!(future.body, b"old or new\n");
}
