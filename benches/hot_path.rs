//! Criterion benches of rawserve's hot path (issue 7): every step one connection-per-request
//! GET goes through, from the bytes of the head to the bytes of the response head, and one
//! whole request over a loopback socket.
//!
//! Run: `cargo bench --bench hot_path` (short: `-- --warm-up-time 1 --measurement-time 3`).
//!
//! Before the timed benches the binary prints an allocation census: heap allocations per
//! request for each in-memory step, counted by a global allocator that counts only while a
//! census runs (so the timed benches pay one relaxed load per allocation, nothing more).
//!
//! What each group measures:
//! - `parse_head`: `scan_head` + `empty_field_slots` + `parse_request` on a curl-like and a
//!   browser-like head. Pure CPU.
//! - `resolve`: `parse_target` + `resolve_path` on a small fixture root. Includes the
//!   `openat2` + `statx` + `close` syscalls that opening a file costs: the file system, not
//!   parsing, dominates it.
//! - `response_head`: `write_response_head` for a 200 with Content-Type, Last-Modified,
//!   ETag, Accept-Ranges and Cache-Control; `write` alone (fields built once) and
//!   `build+write` (the fields made from the file's metadata, as `file_response` does).
//! - `syscall_floor`: `getppid` (the cost of entering the kernel at all on this machine), a plain
//!   open + fstat + close of the same file, and a failed lookup of a missing `.br` sibling (what
//!   a lookup from disk pays twice per text file).
//! - `pipeline/parse+resolve+head`: the issue's < 1 µs target, as the server runs it: the
//!   head scanned, `exchange::answer` (parse, target, the loop's file cache: one look at its
//!   change watch, then the response for the file in memory, validators, preconditions, and
//!   the head written with the first piece of the body beside it). `css` is a text file (siblings looked for),
//!   `bin` is not.
//! - `pipeline/parse+resolve+head (disk)`: the same with the file cache off
//!   (`--no-file-cache`): open, fstat, sibling lookups, read and close on every request.
//! - `pipeline/parse+open+head (steps)`: parse_head, resolve and response_head in sequence,
//!   opening the file from disk each time (the pieces above, without the handler).
//! - `listing/50_entries`: `render_listing` of a 50-entry folder (one `stat` per entry).
//! - `respond_to_bytes`: the whole in-memory exchange, head and 1 KiB body as bytes.
//! - `loopback/get_1k`: connect, send a GET, read to EOF against an in-process server.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput};

use std::sync::Arc;

use rawserve::files::body::{Body, Source};
use rawserve::files::listing::render_listing;
use rawserve::files::resolve::{resolve_path, Resolved};
use rawserve::files::site::Site;
use rawserve::http::added_fields::AddedFields;
use rawserve::http::conditional::file_etag;
use rawserve::http::date::Dates;
use rawserve::http::exchange::{answer, respond_to_bytes, LoopState, Service};
use rawserve::http::head::{scan_head, HeadScan};
use rawserve::http::request::{empty_field_slots, parse_request};
use rawserve::http::response::{write_response_head, Response, Status};
use rawserve::http::target::parse_target;
use rawserve::{Config, Server};

// ---------------------------------------------------------------------------------------
// Allocation census
// ---------------------------------------------------------------------------------------

struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOC_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the pointer came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOC_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Runs `f` `rounds` times (after one warm-up call) and returns (allocations, bytes) per call.
fn census(rounds: u64, mut f: impl FnMut()) -> (f64, f64) {
    f();
    ALLOCS.store(0, Ordering::SeqCst);
    ALLOC_BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..rounds {
        f();
    }
    COUNTING.store(false, Ordering::SeqCst);
    let n = rounds as f64;
    (ALLOCS.load(Ordering::SeqCst) as f64 / n, ALLOC_BYTES.load(Ordering::SeqCst) as f64 / n)
}

// ---------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------

/// A curl-like head, as `wrk`/`oha`/`curl` send it.
const CURL_HEAD: &[u8] =
    b"GET /assets/app.css HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

/// A browser-like head: 12 fields, about 600 bytes.
const BROWSER_HEAD: &[u8] = b"GET /assets/app.css?v=3 HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Accept: text/css,*/*;q=0.1\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: no-cors\r\n\
Sec-Fetch-Dest: style\r\n\
Referer: http://localhost:8080/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\r\n";

/// A GET for a 1 KiB file whose type is not compressible (no `.br`/`.gz` lookups).
const BIN_HEAD: &[u8] =
    b"GET /assets/1k.bin HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

/// A document root in the temp dir, removed on drop.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("rawserve-bench-{}-{nanos}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("assets")).expect("create fixture folders");
        fs::create_dir_all(dir.join("list")).expect("create fixture folders");
        // Deterministic 1 KiB bodies.
        let kib: Vec<u8> = (0..1024u32).map(|i| b'a' + (i % 26) as u8).collect();
        fs::write(dir.join("assets/app.css"), &kib).expect("write app.css");
        fs::write(dir.join("assets/1k.bin"), &kib).expect("write 1k.bin");
        fs::write(dir.join("index.html"), b"<!doctype html><title>bench</title>\n").expect("write index.html");
        // 50 entries: 45 files of varied names and sizes, 5 folders.
        for i in 0..45 {
            let name = format!("file-{i:02}{}", [".txt", ".html", ".png", ".tar.gz", " with space & <amp>.md"][i % 5]);
            fs::write(dir.join("list").join(name), &kib[..(i * 37) % 1024]).expect("write listing entry");
        }
        for i in 0..5 {
            fs::create_dir(dir.join("list").join(format!("folder-{i}"))).expect("create listing folder");
        }
        Fixture { dir: dir.canonicalize().expect("canonical fixture path") }
    }

    fn path(&self) -> &Path {
        &self.dir
    }

    fn site(&self) -> Site {
        Site::open(self.path(), true, false, "no-cache".to_string()).expect("open fixture site")
    }

    fn site_without_file_cache(&self) -> Site {
        Site { file_cache: false, ..self.site() }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// The steps, each as the server runs it
// ---------------------------------------------------------------------------------------

/// scan + parse; returns the number of fields so nothing is optimised away.
fn parse_step(bytes: &[u8]) -> usize {
    let mut scanned = 0;
    let Ok(HeadScan::Complete(len)) = scan_head(bytes, &mut scanned) else { panic!("complete head") };
    let mut slots = empty_field_slots();
    let head = parse_request(&bytes[..len], &mut slots).expect("valid head");
    head.fields.len() + head.target.len()
}

/// parse_target + resolve_path (opens the file and reads its metadata, then closes it).
fn resolve_step(site: &Site, target: &str) -> u64 {
    let path = parse_target(target).expect("valid target");
    match resolve_path(site, &path).expect("resolves") {
        Resolved::File { metadata, .. } => metadata.len(),
        Resolved::Directory => 0,
    }
}

/// The fields `file_response` puts on a typical 200, made from the file's length and mtime,
/// the way it makes them (the body: the file's bytes in memory).
fn typical_response(bytes: &Arc<[u8]>, modified: SystemTime, cache_control: &str, dates: &mut Dates) -> Response {
    let len = bytes.len() as u64;
    let mut response = Response::new(Status::Ok, Body::region(Source::Memory(Arc::clone(bytes)), 0, len));
    response
        .field("Content-Type", "text/css; charset=utf-8")
        .field("ETag", &file_etag(len, modified))
        .field("Last-Modified", dates.imf_fixdate(modified).as_str())
        .field("Accept-Ranges", "bytes")
        .field("Cache-Control", cache_control);
    response
}

/// scan + parse + target + resolve + response head, into a reused buffer.
fn pipeline_step(site: &Site, bytes: &[u8], out: &mut Vec<u8>, dates: &mut Dates) -> usize {
    let mut scanned = 0;
    let Ok(HeadScan::Complete(len)) = scan_head(bytes, &mut scanned) else { panic!("complete head") };
    let mut slots = empty_field_slots();
    let head = parse_request(&bytes[..len], &mut slots).expect("valid head");
    let path = parse_target(head.target).expect("valid target");
    let Ok(Resolved::File { metadata, .. }) = resolve_path(site, &path) else { panic!("a file") };
    let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
    let mut response = Response::new(Status::Ok, Body::empty());
    response
        .field("Content-Type", "text/css; charset=utf-8")
        .field("ETag", &file_etag(metadata.len(), modified))
        .field("Last-Modified", dates.imf_fixdate(modified).as_str())
        .field("Accept-Ranges", "bytes")
        .field("Cache-Control", &site.cache_control);
    out.clear();
    write_response_head(out, &response, &AddedFields::default(), dates);
    out.len()
}

/// What the connection's reader does with a complete head: the real handler (through the
/// file cache when the site has it on), the head bytes written, the first piece beside them.
/// `buffer` goes round as a connection's does: the head is answered into it, and it comes
/// back for the next.
fn answer_step(service: &Service, state: &mut LoopState, bytes: &[u8], buffer: &mut Vec<u8>) -> usize {
    let mut scanned = 0;
    let Ok(HeadScan::Complete(len)) = scan_head(bytes, &mut scanned) else { panic!("complete head") };
    let transmission = answer(&bytes[..len], false, service, state, std::mem::take(buffer));
    let sent = transmission.bytes.len() + transmission.rest.len();
    *buffer = transmission.bytes;
    sent
}

fn listing_step(site: &Site) -> usize {
    let path = parse_target("/list/").expect("valid target");
    render_listing(site, &path).expect("listing renders").len()
}

/// One connection: connect, send the head, read until the server closes.
fn loopback_get(addr: SocketAddr, request: &[u8], buf: &mut Vec<u8>) -> usize {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request).expect("send request");
    buf.clear();
    stream.read_to_end(buf).expect("read response");
    assert!(buf.starts_with(b"HTTP/1.1 200 "), "unexpected response: {:?}", String::from_utf8_lossy(buf));
    buf.len()
}

// ---------------------------------------------------------------------------------------
// Census and benches
// ---------------------------------------------------------------------------------------

/// A site and its own loop state, as one event loop holds them.
struct Served {
    service: Service,
    state: LoopState,
    buffer: Vec<u8>,
}

impl Served {
    fn new(site: Site) -> Served {
        let service = Service::new(site);
        let state = LoopState::new(&service);
        Served { service, state, buffer: Vec::new() }
    }

    fn answer(&mut self, bytes: &[u8]) -> usize {
        answer_step(&self.service, &mut self.state, bytes, &mut self.buffer)
    }

    fn respond(&mut self, bytes: &[u8]) -> Vec<u8> {
        respond_to_bytes(bytes, &self.service, &mut self.state)
    }
}

fn print_census(cached: &mut Served, disk: &mut Served) {
    let mut out = Vec::with_capacity(1024);
    let mut dates = Dates::default();
    let site = &cached.service.site;
    let css: Arc<[u8]> = fs::read(site.root.join("assets/app.css")).expect("read").into();
    let modified = fs::metadata(site.root.join("assets/app.css")).and_then(|m| m.modified()).expect("mtime");
    let mut rows: Vec<(&str, (f64, f64))> = vec![
        (
            "parse_head/curl",
            census(1000, || {
                black_box(parse_step(black_box(CURL_HEAD)));
            }),
        ),
        (
            "parse_head/browser",
            census(1000, || {
                black_box(parse_step(black_box(BROWSER_HEAD)));
            }),
        ),
        (
            "resolve/file",
            census(1000, || {
                black_box(resolve_step(site, black_box("/assets/app.css")));
            }),
        ),
        (
            "response_head/build+write",
            census(1000, || {
                let response = typical_response(&css, modified, &site.cache_control, &mut dates);
                out.clear();
                write_response_head(&mut out, &response, &AddedFields::default(), &mut dates);
                black_box(out.len());
            }),
        ),
        (
            "pipeline/parse+open+head (steps)",
            census(1000, || {
                black_box(pipeline_step(site, CURL_HEAD, &mut out, &mut dates));
            }),
        ),
        (
            "listing/50_entries",
            census(100, || {
                black_box(listing_step(site));
            }),
        ),
    ];
    rows.push((
        "pipeline/parse+resolve+head css",
        census(1000, || {
            black_box(cached.answer(CURL_HEAD));
        }),
    ));
    rows.push((
        "pipeline/parse+resolve+head bin",
        census(1000, || {
            black_box(cached.answer(BIN_HEAD));
        }),
    ));
    rows.push((
        "pipeline/parse+resolve+head (disk) css",
        census(1000, || {
            black_box(disk.answer(CURL_HEAD));
        }),
    ));
    rows.push((
        "respond_to_bytes/1k_css",
        census(1000, || {
            black_box(cached.respond(CURL_HEAD).len());
        }),
    ));
    eprintln!("\nheap allocations per request (census, before the timed benches):");
    eprintln!("  {:<38} {:>8} {:>10}", "step", "allocs", "bytes");
    for (name, (allocs, bytes)) in rows {
        eprintln!("  {name:<38} {allocs:>8.1} {bytes:>10.0}");
    }
    eprintln!();
}

fn bench_in_memory(c: &mut Criterion, cached: &mut Served, disk: &mut Served) {
    let mut group = c.benchmark_group("parse_head");
    group.bench_function("curl", |b| b.iter(|| parse_step(black_box(CURL_HEAD))));
    group.bench_function("browser", |b| b.iter(|| parse_step(black_box(BROWSER_HEAD))));
    group.finish();

    let site = &cached.service.site;
    let mut group = c.benchmark_group("resolve");
    group.bench_function("parse_target", |b| b.iter(|| parse_target(black_box("/assets/app.css?v=3")).is_ok()));
    group.bench_function("file", |b| b.iter(|| resolve_step(site, black_box("/assets/app.css"))));
    group.bench_function("folder", |b| b.iter(|| resolve_step(site, black_box("/list/"))));
    group.finish();

    let css: Arc<[u8]> = fs::read(site.root.join("assets/app.css")).expect("read").into();
    let modified = fs::metadata(site.root.join("assets/app.css")).and_then(|m| m.modified()).expect("mtime");
    let mut dates = Dates::default();
    let mut out = Vec::with_capacity(1024);
    let mut group = c.benchmark_group("response_head");
    let built = typical_response(&css, modified, &site.cache_control, &mut dates);
    group.bench_function("write", |b| {
        b.iter(|| {
            out.clear();
            write_response_head(&mut out, black_box(&built), &AddedFields::default(), &mut dates);
            out.len()
        })
    });
    group.bench_function("file_etag", |b| b.iter(|| file_etag(black_box(1024), black_box(modified))));
    group.bench_function("date_format_string", |b| b.iter(|| httpdate::fmt_http_date(black_box(modified))));
    group.bench_function("build+write", |b| {
        b.iter(|| {
            let response = typical_response(black_box(&css), black_box(modified), &site.cache_control, &mut dates);
            out.clear();
            write_response_head(&mut out, &response, &AddedFields::default(), &mut dates);
            out.len()
        })
    });
    group.finish();

    // The floor under `resolve/file`: what the kernel charges for the syscalls alone.
    let mut group = c.benchmark_group("syscall_floor");
    // SAFETY: getppid has no preconditions.
    group.bench_function("getppid", |b| b.iter(|| unsafe { libc::getppid() }));
    let css_path = site.root.join("assets/app.css");
    group.bench_function("open+fstat+close", |b| {
        b.iter(|| fs::File::open(black_box(&css_path)).and_then(|f| f.metadata()).map(|m| m.len()).unwrap_or(0))
    });
    group.bench_function("failed_open_sibling", |b| {
        b.iter(|| resolve_path(site, &parse_target(black_box("/assets/app.css.br")).expect("valid target")).is_err())
    });
    group.bench_function("parse+open+head (steps)", |b| {
        b.iter(|| pipeline_step(site, black_box(CURL_HEAD), &mut out, &mut dates))
    });
    group.finish();

    let mut group = c.benchmark_group("listing");
    group.bench_function("50_entries", |b| b.iter(|| listing_step(site)));
    group.finish();

    let mut group = c.benchmark_group("pipeline");
    group.bench_function("parse+resolve+head/css", |b| b.iter(|| cached.answer(black_box(CURL_HEAD))));
    group.bench_function("parse+resolve+head/bin", |b| b.iter(|| cached.answer(black_box(BIN_HEAD))));
    group.bench_function("parse+resolve+head (disk)/css", |b| b.iter(|| disk.answer(black_box(CURL_HEAD))));
    group.bench_function("parse+resolve+head (disk)/bin", |b| b.iter(|| disk.answer(black_box(BIN_HEAD))));
    group.finish();

    let mut group = c.benchmark_group("respond_to_bytes");
    group.throughput(Throughput::Elements(1));
    group.bench_function("1k_css", |b| b.iter(|| cached.respond(black_box(CURL_HEAD)).len()));
    group.finish();
}

fn bench_loopback(c: &mut Criterion, root: &Path) {
    let config = Config { root: root.to_path_buf(), port: 0, ..Config::default() };
    let server = Server::bind(config).expect("bind the bench server");
    let addr = server.local_addr().expect("bound address");
    let handle = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run());
    let request = b"GET /assets/1k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let mut buf = Vec::with_capacity(4096);
    let mut group = c.benchmark_group("loopback");
    group.throughput(Throughput::Elements(1));
    group.bench_function("get_1k", |b| b.iter(|| loopback_get(addr, request, &mut buf)));
    group.finish();
    handle.shutdown();
    match thread.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("bench server failed: {e}"),
        Err(_) => eprintln!("bench server thread panicked"),
    }
}

fn main() {
    let fixture = Fixture::new();
    let mut cached = Served::new(fixture.site());
    let mut disk = Served::new(fixture.site_without_file_cache());
    // Sanity: the steps answer what they should before anything is timed.
    assert!(cached.respond(CURL_HEAD).starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(cached.respond(BIN_HEAD).starts_with(b"HTTP/1.1 200 OK\r\n"));
    print_census(&mut cached, &mut disk);

    let mut c = Criterion::default().warm_up_time(Duration::from_secs(1)).configure_from_args();
    bench_in_memory(&mut c, &mut cached, &mut disk);
    bench_loopback(&mut c, fixture.path());
    c.final_summary();
}
