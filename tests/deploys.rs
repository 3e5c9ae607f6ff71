//! Deploys: the ROOT argument means the path. The three usual ways of replacing a site —
//! `mv site site.old && mv new site`, `rm -rf site && mkdir site` (+ files), and a release
//! symlink `ln -sfn releases/v2 current` — each done 15 times while client threads loop GETs:
//! every request that began after a swap completed is answered 200 from the new tree, every
//! answer comes from exactly one tree, and nothing else is ever sent. With and without the
//! file cache; `cargo test --features portable` runs the same tests on the stat-based watch.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use support::{read_to_eof, start_download, try_get, Launch, Sandbox};

const SWAPS: u64 = 15;
const CLIENTS: usize = 3;
/// What each client asks for: a file, a folder's index page, a file in a subfolder, and one
/// too big for the file cache (served from disk with sendfile).
const TARGETS: [&str; 4] = ["/a.txt", "/", "/sub/page.html", "/big.txt"];

/// The body `target` has in tree `n`: every byte says which tree it is from.
fn body(n: u64, target: &str) -> Vec<u8> {
    let line = format!("tree {n:04} {target}\n");
    let size = if target == "/big.txt" { 64 * 1024 } else { 1024 };
    line.repeat(size / line.len()).into_bytes()
}

/// The tree number a body is from, when the whole body is exactly that tree's.
fn tree_of(target: &str, bytes: &[u8]) -> Option<u64> {
    let n = std::str::from_utf8(bytes.get(5..9)?).ok()?.parse().ok()?;
    (body(n, target) == bytes).then_some(n)
}

/// Writes tree `n` into `dir`. Each file is written beside its name and renamed into place,
/// as rsync does, so no file is ever seen half-written.
fn write_tree(dir: &Path, n: u64) {
    fs::create_dir_all(dir.join("sub")).expect("create tree");
    for (target, name) in TARGETS.iter().zip(["a.txt", "index.html", "sub/page.html", "big.txt"]) {
        let path = dir.join(name);
        let partial = dir.join(format!(".{}.partial", name.replace('/', "_")));
        fs::write(&partial, body(n, target)).expect("write file");
        fs::rename(&partial, &path).expect("rename file into place");
    }
}

/// Swaps counted by the test: `started` before the first step of swap k, `completed` after its
/// last. A request that began when both were equal and ended before `started` moved again
/// overlapped no swap.
#[derive(Default)]
struct Swaps {
    started: AtomicU64,
    completed: AtomicU64,
    stop: AtomicBool,
}

/// What the clients saw.
#[derive(Default, Debug)]
struct Seen {
    answers: usize,
    /// 404s while a non-atomic deploy (`rm -rf`) was in progress.
    missing_during_swap: usize,
}

/// Loops GETs over `TARGETS` until `swaps.stop`, checking each answer; returns what it saw or
/// the first wrong answer.
fn client(server_addr: std::net::SocketAddr, swaps: &Swaps, atomic_deploy: bool) -> Result<Seen, String> {
    let mut seen = Seen::default();
    let mut i = 0;
    while !swaps.stop.load(Ordering::SeqCst) {
        let target = TARGETS[i % TARGETS.len()];
        i += 1;
        let completed = swaps.completed.load(Ordering::SeqCst);
        let started = swaps.started.load(Ordering::SeqCst);
        let response = try_get(server_addr, target).map_err(|e| format!("GET {target}: {e}"))?;
        let started_after = swaps.started.load(Ordering::SeqCst);
        let quiet = started == completed && started_after == started;
        seen.answers += 1;
        if response.status == 404 && !atomic_deploy && !quiet {
            seen.missing_during_swap += 1;
            continue;
        }
        if response.status != 200 {
            return Err(format!("GET {target} (tree {completed}, quiet {quiet}): {}", response.status_line));
        }
        let Some(n) = tree_of(target, &response.body) else {
            let shown = String::from_utf8_lossy(&response.body[..response.body.len().min(80)]).into_owned();
            return Err(format!("GET {target}: a body from no single tree ({} bytes): {shown:?}", response.body.len()));
        };
        // Began after swap `completed` finished: from that tree, or (overlapping a later
        // swap) from one that swap made.
        if n < completed || n > started_after {
            return Err(format!("GET {target}: tree {n}, but trees {completed}..={started_after} were current"));
        }
        if quiet && n != completed {
            return Err(format!("GET {target}: tree {n} after swap {completed} completed"));
        }
    }
    Ok(seen)
}

/// Starts the server on `root_name` in `sandbox` (tree 0 already there) and runs the clients
/// while the tree is replaced `SWAPS` times: `prepare(base, k)` makes tree `k` ready without
/// touching what is served, `replace(base, k)` is the deploy itself, counted by `Swaps`.
/// Then checks what the clients saw, and that the old trees' fds were let go.
fn deploy_under_load(
    sandbox: Sandbox,
    root_name: &str,
    args: &[&str],
    atomic: bool,
    prepare: impl Fn(&Path, u64),
    replace: impl Fn(&Path, u64),
) {
    let base = sandbox.path().to_path_buf();
    let server = Launch::in_sandbox(sandbox, root_name).args(args).args(&["--threads", "2"]).start();
    let baseline = server.idle_fd_count();
    let swaps = Arc::new(Swaps::default());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let swaps = Arc::clone(&swaps);
            let addr = server.addr;
            thread::spawn(move || client(addr, &swaps, atomic))
        })
        .collect();
    for k in 1..=SWAPS {
        thread::sleep(Duration::from_millis(30));
        prepare(&base, k);
        swaps.started.store(k, Ordering::SeqCst);
        replace(&base, k);
        swaps.completed.store(k, Ordering::SeqCst);
    }
    thread::sleep(Duration::from_millis(30));
    swaps.stop.store(true, Ordering::SeqCst);
    let mut total = Seen::default();
    for handle in clients {
        let seen = handle.join().expect("client thread").unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail(20)));
        total.answers += seen.answers;
        total.missing_during_swap += seen.missing_during_swap;
    }
    assert!(total.answers > SWAPS as usize, "too few requests to say anything: {total:?}");
    // After the swaps every target answers from the last tree.
    for target in TARGETS {
        let response = try_get(server.addr, target).expect("GET after the swaps");
        assert_eq!(tree_of(target, &response.body), Some(SWAPS), "{target}: {}", response.status_line);
    }
    // The old trees are let go: at most one old root per loop until its next request.
    let fds = server.wait_fds_at_most(baseline + 2, Duration::from_secs(5));
    assert!(fds <= baseline + 2, "fds {fds}, idle baseline {baseline}: old trees are held");
    eprintln!("{root_name}: {total:?}");
}

/// `mv site site.old && mv new site`; the old tree of the swap before is deleted as the next
/// one is prepared.
fn rename_deploys(args: &[&str]) {
    let sandbox = Sandbox::new();
    write_tree(&sandbox.path().join("site"), 0);
    let prepare = |base: &Path, k| {
        let _ = fs::remove_dir_all(base.join("site.old"));
        write_tree(&base.join("new"), k);
    };
    let replace = |base: &Path, _| {
        fs::rename(base.join("site"), base.join("site.old")).expect("mv site site.old");
        fs::rename(base.join("new"), base.join("site")).expect("mv new site");
    };
    deploy_under_load(sandbox, "site", args, true, prepare, replace);
}

/// `rm -rf site && mkdir site` and the files: not atomic, so a request during it may get 404
/// (never a listing: `--no-listing`), and one after it must get the new tree.
fn recreate_deploys(args: &[&str]) {
    let sandbox = Sandbox::new();
    write_tree(&sandbox.path().join("site"), 0);
    let replace = |base: &Path, k| {
        fs::remove_dir_all(base.join("site")).expect("rm -rf site");
        fs::create_dir(base.join("site")).expect("mkdir site");
        write_tree(&base.join("site"), k);
    };
    deploy_under_load(sandbox, "site", &[args, &["--no-listing"]].concat(), false, |_, _| {}, replace);
}

/// `ln -sfn releases/vK current`, by ln itself, with `rawserve current`; releases older than
/// the one before are deleted.
fn symlink_deploys(args: &[&str]) {
    let sandbox = Sandbox::new();
    write_tree(&sandbox.path().join("releases/v0"), 0);
    symlink("releases/v0", sandbox.path().join("current")).expect("ln -s releases/v0 current");
    let prepare = |base: &Path, k| {
        write_tree(&base.join(format!("releases/v{k}")), k);
        if k >= 2 {
            let _ = fs::remove_dir_all(base.join(format!("releases/v{}", k - 2)));
        }
    };
    let replace = |base: &Path, k| {
        let status = Command::new("ln")
            .arg("-sfn")
            .arg(format!("releases/v{k}"))
            .arg("current")
            .current_dir(base)
            .status()
            .expect("run ln");
        assert!(status.success(), "ln -sfn failed");
    };
    deploy_under_load(sandbox, "current", args, true, prepare, replace);
}

#[test]
fn mv_of_a_new_folder_over_the_root_is_served_at_once() {
    rename_deploys(&[]);
}

#[test]
fn mv_of_a_new_folder_over_the_root_is_served_at_once_without_the_file_cache() {
    rename_deploys(&["--no-file-cache"]);
}

#[test]
fn a_root_deleted_and_made_again_is_served_at_once() {
    recreate_deploys(&[]);
}

#[test]
fn a_root_deleted_and_made_again_is_served_at_once_without_the_file_cache() {
    recreate_deploys(&["--no-file-cache"]);
}

#[test]
fn a_release_symlink_switched_by_ln_is_served_at_once() {
    symlink_deploys(&[]);
}

#[test]
fn a_release_symlink_switched_by_ln_is_served_at_once_without_the_file_cache() {
    symlink_deploys(&["--no-file-cache"]);
}

/// A 16 MiB download begun before `mv site site.old && mv new site && rm -rf site.old`
/// finishes with the old tree's bytes, while a request after the swap gets the new tree.
#[test]
fn a_response_in_flight_finishes_from_the_old_tree() {
    let sandbox = Sandbox::new();
    let base = sandbox.path().to_path_buf();
    let old: Vec<u8> = b"old tree\n".repeat(16 * 1024 * 1024 / 9);
    let server = Launch::in_sandbox(sandbox, "site")
        .prepare(|root| {
            fs::write(root.join("video.bin"), &old).expect("write old file");
            fs::write(root.join("a.txt"), "old\n").expect("write old a.txt");
        })
        .start();
    server.get("/a.txt").assert_status("HTTP/1.1 200 OK");
    let (mut stream, response) = start_download(server.addr, "/video.bin", 64 * 1024).expect("start the download");
    assert_eq!(response.status, 200);
    fs::create_dir(base.join("new")).expect("mkdir new");
    fs::write(base.join("new/video.bin"), b"new tree\n".repeat(1000)).expect("write new file");
    fs::write(base.join("new/a.txt"), "new\n").expect("write new a.txt");
    fs::rename(base.join("site"), base.join("site.old")).expect("mv site site.old");
    fs::rename(base.join("new"), base.join("site")).expect("mv new site");
    fs::remove_dir_all(base.join("site.old")).expect("rm -rf site.old");
    let after = server.get("/a.txt");
    after.assert_status("HTTP/1.1 200 OK");
    assert_eq!(after.body, b"new\n");
    let mut body = response.body;
    body.extend(read_to_eof(&mut stream));
    assert_eq!(body.len(), old.len(), "the download was cut short");
    assert!(body == old, "the download holds bytes of the new tree");
    assert_eq!(server.get("/video.bin").body, b"new tree\n".repeat(1000));
}

/// While the path names nothing, the folder opened before is served; once it names a
/// folder again, that folder is. The switch is logged.
#[test]
fn between_two_renames_the_old_tree_is_served() {
    let sandbox = Sandbox::new();
    let base = sandbox.path().to_path_buf();
    let server = Launch::in_sandbox(sandbox, "site")
        .prepare(|root| fs::write(root.join("a.txt"), "old\n").expect("write"))
        .log_level("debug")
        .start();
    assert_eq!(server.get("/a.txt").body, b"old\n");
    fs::rename(base.join("site"), base.join("site.old")).expect("mv site site.old");
    assert_eq!(server.get("/a.txt").body, b"old\n");
    fs::create_dir(base.join("site")).expect("mkdir site");
    fs::write(base.join("site/a.txt"), "new\n").expect("write");
    assert_eq!(server.get("/a.txt").body, b"new\n");
    assert_eq!(server.log_lines_containing("cannot be served now"), 1, "{}", server.log_tail(20));
    assert_eq!(server.log_lines_containing(" now names "), 1, "{}", server.log_tail(20));
    // A file where the folder was is not served: the last folder is, and the log says why.
    fs::rename(base.join("site"), base.join("site.2")).expect("mv site site.2");
    fs::write(base.join("site"), "not a folder").expect("write a file named site");
    assert_eq!(server.get("/a.txt").body, b"new\n");
    assert_eq!(server.log_lines_containing("cannot be served now"), 2, "{}", server.log_tail(20));
}

/// After a deploy the file cache watches the new tree: a precompressed sibling that appears
/// next to a cached page of the new tree (a change only its folder's watch sees) is served.
/// A symlink switch, because it leaves the old tree untouched (a rename of the old root
/// would be an event of the old watches too).
#[test]
fn the_file_cache_watches_the_new_tree() {
    let sandbox = Sandbox::new();
    let base = sandbox.path().to_path_buf();
    for v in ["v1", "v2"] {
        fs::create_dir_all(base.join("releases").join(v)).expect("mkdir release");
        fs::write(base.join("releases").join(v).join("a.html"), format!("{v}\n")).expect("write");
    }
    symlink("releases/v1", base.join("current")).expect("ln -s");
    let server = Launch::in_sandbox(sandbox, "current").start();
    let gzip = [("Accept-Encoding", "gzip")];
    assert_eq!(server.send("GET", "/a.html", &gzip).body, b"v1\n");
    symlink("releases/v2", base.join("next")).expect("ln -s");
    fs::rename(base.join("next"), base.join("current")).expect("mv -T next current");
    for _ in 0..4 {
        // Each loop (one per core) reads it into its cache.
        let response = server.send("GET", "/a.html", &gzip);
        assert_eq!(response.body, b"v2\n");
        assert_eq!(response.header("Content-Encoding"), None);
    }
    fs::write(base.join("releases/v2/a.html.gz"), b"gzip bytes").expect("write the sibling");
    for _ in 0..4 {
        let response = server.send("GET", "/a.html", &gzip);
        assert_eq!(response.header("Content-Encoding"), Some("gzip"), "{}", response.status_line);
        assert_eq!(response.body, b"gzip bytes");
    }
}
