//! The document root is a wall: a traversal corpus (the bugs of well-known servers),
//! symlinks out of the root, dotfiles, and the open-redirect rules of `Location`.

mod support;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use support::{check_each, contains, Response, Sandbox, TestServer};

/// A server whose root is `SANDBOX/public`, with secrets beside it:
/// `SANDBOX/secret.txt` and `SANDBOX/public-restricted/x` (a prefix-sibling of the root).
struct Walled {
    server: TestServer,
    secret: Vec<u8>,
}

fn walled(args: &[&str]) -> Walled {
    let sandbox = Sandbox::new();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let secret = format!("TOP-SECRET-{}-{nanos}", std::process::id()).into_bytes();
    std::fs::write(sandbox.path().join("secret.txt"), &secret).expect("secret");
    std::fs::create_dir(sandbox.path().join("public-restricted")).expect("sibling");
    std::fs::write(sandbox.path().join("public-restricted/x"), &secret).expect("sibling secret");
    let outside = sandbox.path().to_path_buf();
    let server = TestServer::start_in(
        sandbox,
        "public",
        |root: &Path| {
            std::fs::write(root.join("inside.txt"), "inside\n").expect("inside");
            std::fs::create_dir_all(root.join("dir/sub")).expect("dir");
            std::fs::write(root.join("dir/f.txt"), "dir file\n").expect("dir file");
            std::fs::create_dir_all(root.join("foo")).expect("foo");
            std::fs::create_dir_all(root.join("evil.com")).expect("evil.com");
            std::fs::create_dir_all(root.join("a b")).expect("a b");
            std::fs::create_dir_all(root.join("\u{65e5}\u{672c}")).expect("nihon");
            std::fs::write(root.join(".env"), "DOTENV=1\n").expect(".env");
            std::fs::create_dir_all(root.join(".git")).expect(".git");
            std::fs::write(root.join(".git/config"), "[core]\n").expect(".git/config");
            symlink(outside.join("secret.txt"), root.join("link-secret.txt")).expect("symlink");
            symlink("../secret.txt", root.join("rel-link-secret.txt")).expect("symlink");
            symlink(&outside, root.join("link-out")).expect("symlink");
            symlink("/etc", root.join("link-etc")).expect("symlink");
            symlink("inside.txt", root.join("link-inside.txt")).expect("symlink");
            symlink("dir", root.join("alias-dir")).expect("symlink");
            std::fs::create_dir_all(root.join("sub")).expect("sub");
            symlink(outside.join("secret.txt"), root.join("sub/index.html")).expect("symlink");
        },
        args,
    );
    Walled { server, secret }
}

fn assert_refused(w: &Walled, response: &Response) {
    assert!(response.status == 400 || response.status == 404, "expected 400 or 404, got {:?}", response.status_line);
    let line = response.status_line.clone();
    response.assert_error(&line);
    assert!(!contains(&response.body, &w.secret), "the secret was served");
    assert!(!response.body_text().contains("root:"), "/etc/passwd was served");
}

#[test]
fn traversal_corpus_never_leaves_the_root() {
    let w = walled(&[]);
    let root = w.server.root.display().to_string();
    let outside = w.server.outside().display().to_string();
    let targets: Vec<String> = vec![
        "/../secret.txt".into(),
        "/..%2fsecret.txt".into(),
        "/..%2Fsecret.txt".into(),
        "/%2e%2e/secret.txt".into(),
        "/%2E%2E/secret.txt".into(),
        "/%2e%2e%2fsecret.txt".into(),
        "/.%2e/secret.txt".into(),
        "/%2e./secret.txt".into(),
        "/..%5csecret.txt".into(),
        "/..%5c..%5csecret.txt".into(),
        "/%252e%252e/secret.txt".into(),
        "/%252e%252e%252fsecret.txt".into(),
        "/%c0%ae%c0%ae/secret.txt".into(),
        "/%c0%ae%c0%ae%c0%afsecret.txt".into(),
        "/%e0%80%ae%e0%80%ae/secret.txt".into(),
        "/%u002e%u002e/secret.txt".into(),
        "/..%00/secret.txt".into(),
        "/secret.txt".into(),
        "/etc/passwd".into(),
        "//etc/passwd".into(),
        "///etc/passwd".into(),
        "/../../../../../../etc/passwd".into(),
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd".into(),
        format!("/{root}/../secret.txt"),
        format!("/{outside}/secret.txt"),
        format!("/{root}"),
        format!("/{root}/inside.txt"),
        "/./../secret.txt".into(),
        "/dir/../../secret.txt".into(),
        "/dir/sub/../../../secret.txt".into(),
        "/foo/c:/windows/win.ini".into(),
        "/c:/windows/win.ini".into(),
        "/foobar\\..\\..\\secret.txt".into(),
        "/..\\secret.txt".into(),
        "/../public-restricted/x".into(),
        "/%2e%2e/public-restricted/x".into(),
        "/..%2fpublic-restricted%2fx".into(),
        "/.../secret.txt".into(),
        "/..;/secret.txt".into(),
    ];
    check_each(&targets, |target| {
        assert_refused(&w, &w.server.get(target));
    });
}

/// A `..` with nothing left to pop would climb above the root: 400, whatever the spelling
/// (decoded once, `%2e` is `.`), wherever the dot-segments sit (peers.md §3.1 vectors).
#[test]
fn climbing_above_the_root_is_400_in_every_spelling() {
    let w = walled(&[]);
    let targets = [
        "/..",
        "/../",
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/../../../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/%2e%2E/secret.txt",
        "/.%2e/secret.txt",
        "/.%2E/secret.txt",
        "/%2e./secret.txt",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/dir/.%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/dir/../../secret.txt",
        "/dir/%2e%2e/%2e%2e/secret.txt",
        "/dir/sub/../../../secret.txt",
        "/dir/sub/%2e%2e/.%2e/%2e./secret.txt",
        "/dir/../../",
        "/./dir/./../../",
        "/./../secret.txt",
        "/%2e/%2e%2e/secret.txt",
        "//..//secret.txt",
        "/dir//..//..//secret.txt",
        "/../public-restricted/x",
        "/%2e%2e/public-restricted/x",
    ];
    check_each(&targets, |target| {
        let response = w.server.get(target);
        response.assert_error("HTTP/1.1 400 Bad Request");
        assert!(!contains(&response.body, &w.secret), "the secret was served");
    });
    // The query is not the path: `/dir/..?x=/../..` pops once, to the root.
    w.server.get("/dir/..?x=/../..").assert_status("HTTP/1.1 200 OK");
    for target in ["http://localhost/../secret.txt", "http://localhost/dir/%2e%2e/.%2e/secret.txt"] {
        let response = w.server.request(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        response.assert_error("HTTP/1.1 400 Bad Request");
    }
}

/// RFC 3986 §5.2.4 inside the root: dot-segments are removed from the decoded segments, so
/// `/dir/../inside.txt` is `/inside.txt`. Exact answers, in every spelling.
#[test]
fn dot_segments_inside_the_root_are_removed() {
    let w = walled(&[]);
    let files = [
        ("/dir/../inside.txt", "inside\n"),
        ("/./inside.txt", "inside\n"),
        ("/%2e/inside.txt", "inside\n"),
        ("/dir/%2e%2e/inside.txt", "inside\n"),
        ("/dir/%2E%2E/inside.txt", "inside\n"),
        ("/dir/.%2e/inside.txt", "inside\n"),
        ("/dir/%2e./inside.txt", "inside\n"),
        ("/dir/sub/../f.txt", "dir file\n"),
        ("/dir/sub/../../dir/./f.txt", "dir file\n"),
        ("/a%20b/../dir/f.txt", "dir file\n"),
        ("/dir//sub//..//f.txt", "dir file\n"),
        ("/dir/../inside.txt?q=/../..", "inside\n"),
        // Lexical, as URLs are: `link-out/..` is the root, never the folder the link leads to.
        ("/link-out/../inside.txt", "inside\n"),
        ("/alias-dir/../inside.txt", "inside\n"),
        ("/alias-dir/sub/../f.txt", "dir file\n"),
    ];
    check_each(&files, |(target, body)| {
        let response = w.server.get(target);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.expect_header("Content-Type"), "text/plain; charset=utf-8");
        assert_eq!(response.body_text(), *body);
    });
    // A final `.` or `..` leaves a trailing slash (§5.2.4): a folder request.
    let listings = [
        ("/dir/sub/..", "Index of /dir/"),
        ("/dir/sub/%2e%2e", "Index of /dir/"),
        ("/dir/.", "Index of /dir/"),
        ("/dir/%2e", "Index of /dir/"),
        ("/dir/..", "Index of /"),
        ("/dir/../", "Index of /"),
        ("/.", "Index of /"),
        ("/inside.txt/..", "Index of /"),
    ];
    check_each(&listings, |(target, title)| {
        let response = w.server.get(target);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.expect_header("Content-Type"), "text/html; charset=utf-8");
        assert!(response.body_text().contains(&format!("<title>{title}</title>")), "{}", response.body_text());
    });
    // Redirects are built from the normalised segments, and keep the query.
    let redirects = [
        ("/dir/sub/../../dir", "/dir/"),
        ("/inside.txt/../dir", "/dir/"),
        ("/dir/./sub", "/dir/sub/"),
        ("/dir/%2e%2e/dir/sub?a=1&b=2", "/dir/sub/?a=1&b=2"),
        ("//evil.com/../dir", "/dir/"),
        ("/evil.com/%2e%2e/evil.com", "/evil.com/"),
    ];
    check_each(&redirects, |(target, location)| {
        let response = w.server.get(target);
        response.assert_status("HTTP/1.1 301 Moved Permanently");
        assert_eq!(response.expect_header("Location"), *location);
    });
}

#[test]
fn a_file_named_as_a_folder_is_404_however_it_is_spelled() {
    // `/inside.txt/.` is `/inside.txt/` after §5.2.4: both name a folder that is a file (as
    // nginx answers), so they agree.
    let w = walled(&[]);
    check_each(
        &["/inside.txt/", "/inside.txt/.", "/inside.txt/%2e", "/dir/f.txt/.", "/dir/../inside.txt/."],
        |target| {
            w.server.get(target).assert_error("HTTP/1.1 404 Not Found");
        },
    );
    // The same from the file cache: a request that read the file into memory first.
    w.server.get("/inside.txt").assert_status("HTTP/1.1 200 OK");
    w.server.get("/inside.txt/.").assert_error("HTTP/1.1 404 Not Found");
}

#[test]
fn dot_segments_cannot_reach_dotfiles() {
    // The dotfile rule looks at the normalised path: `/dir/../.env` is `/.env`.
    let w = walled(&[]);
    let targets =
        ["/dir/../.env", "/dir/%2e%2e/.env", "/dir/.%2e/.git/config", "/.git/../.env", "/.git/.", "/.git/x/.."];
    check_each(&targets, |target| {
        let response = w.server.get(target);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert!(!response.body_text().contains("DOTENV") && !response.body_text().contains("[core]"));
    });
    // A dot-folder popped by `..` is not in the path any more.
    let response = w.server.get("/.git/../inside.txt");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"inside\n");
    let w = walled(&["--hidden"]);
    let response = w.server.get("/dir/../.env");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"DOTENV=1\n");
}

#[test]
fn absolute_form_traversal_is_refused() {
    let w = walled(&[]);
    for target in
        ["http://localhost/../secret.txt", "http://localhost/%2e%2e/secret.txt", "http://localhost//etc/passwd"]
    {
        let response = w.server.request(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        assert_refused(&w, &response);
    }
}

#[test]
fn encoded_dot_segments_decode_once_to_literal_names() {
    let w = walled(&[]);
    // `/.%252e/x` decodes once to the literal folder name `.%2e`: a missing dot-folder, 404.
    let response = w.server.get("/.%252e/secret.txt");
    response.assert_error("HTTP/1.1 404 Not Found");
    assert!(!contains(&response.body, &w.secret));
    // A file literally named `%2e%2e` is that file, nothing more.
    w.server.write("%2e%2e", "literal percent name\n");
    let response = w.server.get("/%252e%252e");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"literal percent name\n");
}

#[test]
fn literal_dot_percent_folder_is_served_with_hidden() {
    let w = walled(&["--hidden"]);
    w.server.write(".%2e/x", "in a folder named .%2e\n");
    let response = w.server.get("/.%252e/x");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"in a folder named .%2e\n");
}

#[test]
fn symlinks_pointing_outside_are_404() {
    let w = walled(&[]);
    let targets = [
        "/link-secret.txt",
        "/rel-link-secret.txt",
        "/link-out/secret.txt",
        "/link-out/public-restricted/x",
        "/link-out/",
        "/link-out",
        "/link-etc/passwd",
        "/link-etc/",
    ];
    check_each(&targets, |target| {
        let response = w.server.get(target);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert!(!contains(&response.body, &w.secret));
        assert!(!response.body_text().contains("root:"));
        assert!(!response.body_text().contains("secret.txt"), "a listing of an outside folder");
    });
}

#[test]
fn symlinks_inside_the_root_are_followed() {
    let w = walled(&[]);
    let response = w.server.get("/link-inside.txt");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"inside\n");
    let response = w.server.get("/alias-dir/f.txt");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"dir file\n");
}

#[test]
fn absolute_symlink_to_a_file_inside_the_root_is_served() {
    // The rule is "canonicalize and require the result inside the canonical root": an
    // absolute link whose target is inside the root passes it.
    let w = walled(&[]);
    symlink(w.server.root.join("inside.txt"), w.server.root.join("abs-link-inside.txt")).expect("symlink");
    let response = w.server.get("/abs-link-inside.txt");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"inside\n");
}

#[test]
fn index_html_symlinked_outside_is_not_served() {
    let w = walled(&[]);
    for target in ["/sub/", "/sub/index.html"] {
        let response = w.server.get(target);
        assert!(!contains(&response.body, &w.secret), "{target}: the secret was served");
        let line = response.status_line.clone();
        assert!([200, 403, 404].contains(&response.status), "{target}: {line}");
        response.assert_status(&line);
    }
    w.server.get("/sub/index.html").assert_error("HTTP/1.1 404 Not Found");
}

#[test]
fn dotfiles_are_404_unless_hidden() {
    let w = walled(&[]);
    let targets = ["/.env", "/.git/config", "/.git/", "/.git", "/%2eenv", "/dir/../.env", "/.git%2fconfig"];
    check_each(&targets, |target| {
        let response = w.server.get(target);
        assert!([400, 404].contains(&response.status), "{}", response.status_line);
        let line = response.status_line.clone();
        response.assert_error(&line);
        assert!(!response.body_text().contains("DOTENV"));
        assert!(!response.body_text().contains("[core]"));
    });
    w.server.get("/.env").assert_error("HTTP/1.1 404 Not Found");
    w.server.get("/.git/config").assert_error("HTTP/1.1 404 Not Found");
}

#[test]
fn hidden_option_serves_dotfiles() {
    let w = walled(&["--hidden"]);
    let response = w.server.get("/.env");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"DOTENV=1\n");
    let response = w.server.get("/.git/config");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"[core]\n");
    // Still walled.
    assert_refused(&w, &w.server.get("/link-secret.txt"));
    assert_refused(&w, &w.server.get("/../secret.txt"));
}

/// A `Location` that a browser resolves to this host: a path, never `//host` or `/\host`.
fn assert_local_location(response: &Response) {
    if let Some(location) = response.header("Location") {
        assert!(location.starts_with('/'), "Location {location:?} is not a path");
        assert!(!location.starts_with("//"), "open redirect: Location {location:?}");
        assert!(!location.contains('\\'), "backslash in Location {location:?}");
        assert!(!location.contains("://"), "Location {location:?} names a host");
    }
}

#[test]
fn folder_redirects_never_leave_this_host() {
    let w = walled(&[]);
    let exact = [
        ("//dir", "/dir/"),
        ("///dir", "/dir/"),
        ("//evil.com", "/evil.com/"),
        ("/.//evil.com", "/evil.com/"),
        ("//evil.com/../evil.com", "/evil.com/"),
        ("//evil.com/%2e%2e//evil.com", "/evil.com/"),
    ];
    check_each(&exact, |(target, location)| {
        let response = w.server.get(target);
        response.assert_status("HTTP/1.1 301 Moved Permanently");
        assert_eq!(response.expect_header("Location"), *location);
    });
    let hostile = [
        "//evil.com/%2e%2e",
        "//evil.com/..",
        "//evil.com%2f..",
        "/\\evil.com/..",
        "/\\evil.com",
        "/%5cevil.com",
        "/%5c%5cevil.com",
        "/%2fevil.com",
        "/%2f%2fevil.com",
        "/%2F%2Fevil.com/",
        "//%2fevil.com",
        "/%09/evil.com",
        "///evil.com/%2e%2e",
    ];
    check_each(&hostile, |target| {
        let response = w.server.get(target);
        let line = response.status_line.clone();
        response.assert_status(&line);
        assert_local_location(&response);
    });
}

#[test]
fn absolute_form_redirect_is_a_path_on_this_host() {
    let w = walled(&[]);
    let response = w.server.request("GET http://evil.com/dir?a=1 HTTP/1.1\r\nHost: evil.com\r\n\r\n");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/dir/?a=1");
}

#[test]
fn location_is_percent_encoded_and_keeps_the_query() {
    let w = walled(&[]);
    let cases = [
        ("/dir", "/dir/"),
        ("/dir?a=1", "/dir/?a=1"),
        ("/dir?a=1&b=%2F..", "/dir/?a=1&b=%2F.."),
        ("/dir/sub", "/dir/sub/"),
        ("/a%20b", "/a%20b/"),
        ("/a%20b?x=1&y=2", "/a%20b/?x=1&y=2"),
        ("/%E6%97%A5%E6%9C%AC", "/%E6%97%A5%E6%9C%AC/"),
        ("/%e6%97%a5%e6%9c%ac", "/%E6%97%A5%E6%9C%AC/"),
    ];
    check_each(&cases, |(target, location)| {
        let response = w.server.get(target);
        response.assert_status("HTTP/1.1 301 Moved Permanently");
        assert_eq!(response.expect_header("Location"), *location);
        assert_eq!(response.expect_header("Content-Type"), "text/html; charset=utf-8");
        // Following the redirect reaches the folder.
        let followed = w.server.get(location);
        assert_eq!(followed.status, 200, "following {location}: {}", followed.status_line);
    });
}

#[test]
fn query_cannot_inject_fields_through_location() {
    let w = walled(&[]);
    let response = w.server.get("/dir?%0d%0aSet-Cookie:%20pwned=1");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/dir/?%0d%0aSet-Cookie:%20pwned=1");
    assert!(response.header("Set-Cookie").is_none(), "{:?}", response.headers);
}

#[test]
fn the_redirect_page_escapes_the_query_and_location_encodes_it() {
    // Every byte from the request that reaches the HTML page is HTML-escaped; every byte
    // that reaches `Location` is percent-encoded outside what RFC 3986 §3.4 allows there.
    let w = walled(&[]);
    let cases = [
        ("/dir?a=1&b=2", "/dir/?a=1&b=2", "/dir/?a=1&amp;b=2"),
        ("/dir?q='x'&amp;", "/dir/?q='x'&amp;", "/dir/?q=&#39;x&#39;&amp;amp;"),
        ("/dir?x={y}|[z]^", "/dir/?x=%7By%7D%7C%5Bz%5D%5E", "/dir/?x=%7By%7D%7C%5Bz%5D%5E"),
        ("/dir?a=%zz&b=%4&c=%2F", "/dir/?a=%25zz&b=%254&c=%2F", "/dir/?a=%25zz&amp;b=%254&amp;c=%2F"),
        ("/a%20b?x=1&y=2", "/a%20b/?x=1&y=2", "/a%20b/?x=1&amp;y=2"),
    ];
    check_each(&cases, |(target, location, shown)| {
        let response = w.server.get(target);
        response.assert_status("HTTP/1.1 301 Moved Permanently");
        assert_eq!(response.expect_header("Location"), *location);
        assert_eq!(response.expect_header("Content-Type"), "text/html; charset=utf-8");
        let page = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>301 Moved Permanently</title></head>\
             <body><h1>301 Moved Permanently</h1><p><a href=\"{shown}\">{shown}</a></p></body></html>\n"
        );
        assert_eq!(response.body_text(), page);
    });
}

#[test]
fn windows_style_aliases_are_other_names() {
    // Source-disclosure tricks of servers on case-insensitive or stream-capable file systems:
    // here each is just another (missing) name.
    let w = walled(&[]);
    let targets =
        ["/inside.txt.", "/inside.txt::$DATA", "/INSIDE.TXT", "/inside.txt%20", "/inside.txt%00.html", "/inside~1.txt"];
    check_each(&targets, |target| {
        let response = w.server.get(target);
        assert!([400, 404].contains(&response.status), "{}", response.status_line);
        let line = response.status_line.clone();
        response.assert_error(&line);
        assert!(!response.body_text().contains("inside\n"));
    });
}

#[test]
fn symlinks_cannot_publish_dotfiles_or_list_what_is_outside() {
    let w = walled(&[]);
    w.server.write(".env", "SECRET=1\n");
    w.server.write(".git/config", "[core]\n");
    symlink(".env", w.server.root.join("envlink")).expect("symlink");
    symlink(".git", w.server.root.join("gitlink")).expect("symlink");
    check_each(&["/envlink", "/gitlink/config", "/gitlink/"], |target| {
        let response = w.server.get(target);
        response.assert_error("HTTP/1.1 404 Not Found");
        assert!(!response.body_text().contains("SECRET") && !response.body_text().contains("[core]"));
    });
    // A listing names only what could be served: links out of the root and to dotfiles are
    // left out, with their sizes and times.
    let listing = w.server.get("/").body_text();
    for hidden in ["link-secret.txt", "link-etc", "envlink", "gitlink"] {
        assert!(!listing.contains(&format!("\"./{hidden}")), "{hidden} listed: {listing}");
    }
    assert!(listing.contains("\"./link-inside.txt\""), "{listing}");
}

/// `%5C` is a byte of a name (on Linux, macOS and FreeBSD `\` is no separator), a raw `\` is
/// refused: files whose names hold backslashes are served, and no spelling of `..\` leaves the
/// root, reaches a dotfile or puts a `\` in a `Location`.
#[test]
fn an_encoded_backslash_names_a_file_and_never_climbs() {
    let w = walled(&[]);
    w.server.write("a\\b.txt", "backslash name\n");
    w.server.write("x..\\inside.txt", "dots and a backslash\n");
    // A name that starts with a dot is a dotfile, whatever follows.
    w.server.write("..\\hidden.txt", "DOTENV\n");
    w.server.write("dir\\sub/x.txt", "x\n");
    w.server.write("\\.env", "not a dotfile: its name starts with a backslash\n");
    let served = [
        ("/a%5Cb.txt", "backslash name\n"),
        ("/a%5cb.txt", "backslash name\n"),
        ("/x..%5Cinside.txt", "dots and a backslash\n"),
        ("/dir%5Csub/x.txt", "x\n"),
        ("/dir/../a%5Cb.txt", "backslash name\n"),
        ("/%5C.env", "not a dotfile: its name starts with a backslash\n"),
    ];
    check_each(&served, |(target, body)| {
        let response = w.server.get(target);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body_text(), *body);
    });
    // A folder with a backslash redirects to itself, percent-encoded.
    let response = w.server.get("/dir%5Csub");
    response.assert_status("HTTP/1.1 301 Moved Permanently");
    assert_eq!(response.expect_header("Location"), "/dir%5Csub/");
    // Windows-style traversal: a name that is looked for, not found (404), or a raw `\` (400).
    let climbing = [
        ("/..%5csecret.txt", 404),
        ("/..%5c..%5csecret.txt", 404),
        ("/dir/..%5c..%5csecret.txt", 404),
        ("/dir%5c..%5c..%5csecret.txt", 404),
        ("/%5c..%5c..%5c..%5cetc/passwd", 404),
        ("/..%5c..%5c..%5c..%5cwindows/win.ini", 404),
        ("/%5c%5cevil.com/..%5c..%5csecret.txt", 404),
        ("/..%5C.env", 404),
        ("/..%5Chidden.txt", 404),
        ("/%5C..%5C.env", 404),
        ("/dir/..%5C/../../secret.txt", 404),
        ("/dir/..%5C/../../../secret.txt", 400),
        ("/..\\secret.txt", 400),
        ("/a\\b.txt", 400),
        ("/dir\\sub/x.txt", 400),
    ];
    check_each(&climbing, |(target, status)| {
        let response = w.server.get(target);
        assert_eq!(response.status, *status, "{target}: {}", response.status_line);
        assert_refused(&w, &response);
        assert!(!response.body_text().contains("DOTENV"));
    });
}
