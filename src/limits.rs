//! Every limit the server enforces, named, with the reason for its value.
//! The ones a user could need to change are overridable on the command line
//! (see `Config`); the rest are fixed by protocol or kernel behaviour.

use std::time::Duration;

/// The whole request head (request line and fields) must fit in this many bytes.
/// 16 KiB carries the large cookies of single-sign-on sites (darkhttpd's 4000 bytes did not)
/// while keeping one slow client's buffer small. Over it: 431 (RFC 6585 §5).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The request line alone may take at most this many bytes; over it: 414 (RFC 9112 §3).
pub const MAX_REQUEST_LINE_BYTES: usize = 8 * 1024;

/// At most this many header fields; over it: 431. hyper's `DEFAULT_MAX_HEADERS` is the same.
pub const MAX_HEADER_FIELDS: usize = 100;

/// How long a client has to send its whole request head, counted from accept.
/// A total deadline, not an idle one: a client that sends one byte a second (slowloris)
/// would reset an idle timer forever. nginx's `client_header_timeout` is 60 s; a static
/// server's clients send their head in one packet, so 10 s is generous. Over it: 408.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a response may make no progress (the client stopped reading) before the
/// connection is closed. Idle, not total: a big download over a slow link must finish.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(20);

/// Lingering close (RFC 9112 §9.6): after the response, how long to keep draining input the
/// client is still sending (a request body, a pipelined request) so that closing with unread
/// data does not make the kernel send RST over the response. nginx: `lingering_time` 30 s,
/// `lingering_timeout` 5 s; gunicorn 2 s. A client still sending after this is cut off.
pub const LINGER_TIME: Duration = Duration::from_secs(5);

/// Within the lingering time, the longest silence before closing: a client that has sent
/// everything and is just waiting for our FIN gets closed at once (it sends FIN or nothing).
pub const LINGER_IDLE: Duration = Duration::from_secs(1);

/// Lingering drains at most this many bytes; more than that is not a browser's body.
pub const LINGER_MAX_BYTES: u64 = 1024 * 1024;

/// Connections in flight (reading, writing or lingering) across all threads. At it, a new
/// connection takes the place of the one that has made the least progress on its head (that
/// one gets `408`, see `EVICTION_MIN_AGE`); when none may be evicted it gets `503` with
/// `Retry-After` at once. Each costs one socket fd, up to one file
/// fd and at most `MAX_HEAD_BYTES` of buffer, so 4096 bound memory to ~64 MiB worst case.
/// Also clamped to half the process's fd limit at start.
pub const MAX_CONNECTIONS: usize = 4096;

/// A connection still reading its head may be evicted at the connection cap only once it has
/// been connected this long: a real client over a slow link (a 300 ms round trip) has sent
/// its head within a round trip or two, while a slowloris client is still sending its first
/// lines after seconds. Among those, the one with the fewest head bytes received per second
/// since accept goes first (the earlier accepted on a tie).
pub const EVICTION_MIN_AGE: Duration = Duration::from_secs(1);

/// Places at the cap one event loop may borrow when it has no head of its own to evict but
/// another loop reported some at its last sweep: it admits the newcomer and that loop evicts
/// one of its slow heads within a timer tick.
/// Bounds how far, and for how long, in-flight connections can exceed the cap.
pub const EVICTION_DEBT: usize = 64;

/// Seconds a client is told to wait in `Retry-After` when the server sheds load.
pub const RETRY_AFTER_SECS: u32 = 1;

/// On SIGINT/SIGTERM: how long responses in flight may take to finish before exit.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// `listen()` backlog. std's `TcpListener::bind` uses 128, which overflows under
/// `wrk -c 1000`; the kernel also caps it at `net.core.somaxconn` (4096 on current kernels).
pub const LISTEN_BACKLOG: i32 = 4096;

/// `TCP_DEFER_ACCEPT`: the kernel hands over a connection only once its first data has
/// arrived, or after holding it this long (one SYN-ACK retransmission, RFC 6298's 1 s initial
/// RTO). A connect-per-request client sends its request right after the handshake, so the
/// server is woken once per connection instead of twice and never parks it on epoll; idle
/// connections cost the server nothing for this long. Used only when the head timeout is at
/// least twice as long, and counted against it.
pub const DEFER_ACCEPT: Duration = Duration::from_secs(1);

/// The deferral is switched on only while it saves work (`socket/deferral.rs`): when, among
/// `DEFER_WINDOW` connections accepted without it, `DEFER_BUSY_PARKS` found no request yet and
/// had to wait on epoll beside other connections. At one connection at a time the request is
/// almost always there at accept (wrk -c1: 1.02 context switches per request with or without
/// the deferral), and holding the connection in the kernel only moves the server's wake-up
/// from the handshake to the request, onto the client's critical path; at 50 connections
/// without it 57 % of connections waited (`benches/results/single-connection-2026-12-02.md`).
pub const DEFER_WINDOW: u32 = 64;
pub const DEFER_BUSY_PARKS: u32 = 8;

/// While the deferral is on, it is switched off this often to look again: the next
/// `DEFER_WINDOW` connections show whether it still saves anything (at 20,000 connections a
/// second that look costs a few milliseconds of parked connections a second).
pub const DEFER_PROBE: Duration = Duration::from_secs(1);

/// The head buffer a connection starts with when its loop has no spare one
/// (`SPARE_BUFFER_BYTES`); it doubles up to `MAX_HEAD_BYTES` (+1, so "too
/// large" can be told from "exactly full"). Browsers' heads are 300–1500 bytes.
pub const INITIAL_HEAD_BUFFER: usize = 2048;

/// A closed connection's buffer (its head, then its response's first bytes) is kept for the
/// next one when it is no bigger than this, and at most `SPARE_BUFFERS` are kept per loop
/// (at most 256 KiB). A 2 KiB buffer is past glibc's per-thread cache (1032 bytes), so a new
/// one per connection cost two trips into the allocator's bins: ~500 of the ~10,000
/// instructions of a small cached response (callgrind).
pub const SPARE_BUFFER_BYTES: usize = 8 * 1024;
/// How many closed connections' buffers a loop keeps (see `SPARE_BUFFER_BYTES`).
pub const SPARE_BUFFERS: usize = 32;

/// `TCP_NOTSENT_LOWAT`: a socket counts as writable only while less than this much of what
/// was written waits unsent (what is in flight is not limited: the congestion window still
/// grows to the path's bandwidth-delay product). Without it the kernel queues up to the
/// autotuned send buffer (MiBs) per connection, and the queue is drained by the ACKs the
/// client sends, on the client's CPU; with 16 KiB (Cloudflare's and h2o's value) the server
/// refills the socket itself. Measured on loopback with 10 MiB files: 1.6× (wrk) and 3× (oha)
/// the MiB/s, for twice the server's CPU per byte. Less kernel memory per download, too.
pub const NOTSENT_LOWAT: i32 = 16 * 1024;

/// 9999-12-31T23:59:59Z: the last second an HTTP date's four-digit year can spell (httpdate
/// panics past it, and before 1970). File times outside are clamped (`Last-Modified`) or left
/// out (listings).
pub const LAST_HTTP_DATE_SECOND: u64 = 253_402_300_799;

/// Files up to this size are read into memory and sent with the head in one `write`;
/// larger ones go out with `sendfile` straight from the page cache.
pub const SMALL_FILE_BYTES: u64 = 32 * 1024;

/// The file cache (per event loop): at most this many files (URL paths)...
pub const FILE_CACHE_FILES: usize = 1024;

/// ...holding at most this many bytes (files and their precompressed siblings, each at most
/// `SMALL_FILE_BYTES`). A file that does not fit is served from disk as usual.
pub const FILE_CACHE_BYTES: usize = 4 * 1024 * 1024;

/// inotify watches one loop may hold (files, siblings, folders) before it drops its cache
/// and starts over: each pins an inode and counts against `fs.inotify.max_user_watches`,
/// which other programs of the same user need too (never more than a sixteenth of it).
pub const FILE_CACHE_WATCHES: usize = 4096;

/// How many files without precompressed siblings each event loop remembers (with their
/// folder's modification time) before starting over.
pub const REMEMBERED_FILES: usize = 4096;

/// File times come from a coarse clock (a few ms on Linux, and clocks can step): a change made
/// within the same tick as the last one leaves the time unchanged. So a file or folder changed
/// less than this long ago is not remembered by anything that relies on its time staying put
/// (the sibling memory, the file cache without inotify); it is looked at afresh every time
/// until it settles, like git's "racy git" rule.
pub const SETTLE_TIME: Duration = Duration::from_secs(1);

/// How many connections one event loop accepts (serving each as far as its socket allows)
/// per wake-up before it turns to the ones it has open: keeps one loop from hoarding a burst
/// while others idle, and its open connections from waiting behind the burst.
pub const ACCEPT_BATCH: usize = 64;

/// When `accept` fails for lack of fds or memory, pause accepting this long: the
/// connections wait in the kernel's backlog instead of spinning the loop.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Overload and fd exhaustion are logged once per burst; a burst ends after this long
/// without a failure (not at the next success, which would log once per failure while
/// clients come and go).
pub const BURST_QUIET: Duration = Duration::from_secs(1);

/// How often an event loop looks for expired deadlines while it has parked connections.
pub const TIMER_TICK: Duration = Duration::from_millis(100);

/// Most range-specs a `Range` field may carry, and most ranges we will send
/// in one multipart response.
///
/// CVE-2011-3192 ("Apache Killer") took servers down with a single request
/// naming hundreds of overlapping ranges: each became a multipart part, so a
/// few hundred header bytes cost the server memory and output far larger than
/// the file. RFC 9110 §14.2 explicitly lets a server ignore such requests.
/// Real clients (media players, PDF viewers, download resumers) send one
/// range or a handful, so 32 leaves ample room while bounding the work per
/// request (and lets parsing use a fixed on-stack buffer).
pub const MAX_RANGES: usize = 32;

/// file descriptors the process holds besides connections and per-loop fds (stdio, the
/// listener, the waker's pipe, the spare fd, the log), with room to spare: subtracted from
/// the fd limit before the connection cap is clamped to it.
pub const FIXED_FDS: usize = 32;

/// Log lines are batched: written at least this often...
pub const LOG_FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// ...or as soon as this many bytes are pending: logging costs no syscall per request.
pub const LOG_FLUSH_BYTES: usize = 32 * 1024;

/// `Access-Control-Max-Age` of a CORS preflight's answer: how long the browser may reuse it
/// instead of asking again before each request. Chromium caps the value at 7200 s (2 h) and
/// Firefox at 86400 s; the answer depends only on the command line, so the longest a browser
/// keeps is fine, and a restart with other flags is seen within two hours at most.
pub const CORS_MAX_AGE_SECS: u32 = 7200;
/// `--reuse-port` on SIGTERM: how long the old listener keeps accepting after new SYNs stop
/// reaching it (`sys::prepare_handover`), before it closes. Long enough for the handshakes and
/// the requests already under way to arrive (a round trip or two, and a client's moment to
/// send its head); shorter than the 1 s a client waits before retransmitting a dropped SYN
/// (RFC 6298's initial RTO), so the retransmission finds this listener gone and lands on the
/// new one: a client that hit the window waits about one second longer, and none fails.
pub const HANDOVER_GRACE: Duration = Duration::from_millis(500);
/// What a log sink holds while its writer is blocked (a pipe nobody reads, a stalled disk)
/// before further lines are dropped and counted: 32 batches, about 7,000 access lines, a
/// write stalled for ~150 ms at 50,000 requests/s. The event loops never wait for the log;
/// memory stays bounded at twice this per sink (the buffer and the batch being written).
pub const LOG_BUFFER_MAX: usize = 1024 * 1024;

/// In the Common and Combined Log Formats, the request line and the `Referer` and
/// `User-Agent` fields are cut (ending `...`) past these many bytes as escaped, so a line stays
/// under 4 KiB: GoAccess reads a log in 4,096-byte lines and counts each piece of a longer
/// one as a failed request, and other line-oriented tools have similar buffers. A real
/// request line is far shorter; the full one still shows in the rawserve and json formats.
pub const LOGGED_REQUEST_LINE_MAX: usize = 2048;
pub const LOGGED_FIELD_MAX: usize = 768;
// --- Live reload (`--live-reload`, `http::live`, `files::watch`) ---

/// Live-reload streams open at once, across all loops; past it, `503`. Each is a connection
/// (an fd, counted in `MAX_CONNECTIONS` like any other) that stays open while its page is, so
/// the cap is also at most half the connection cap: streams never crowd out requests.
/// 64 is a developer's browser with dozens of tabs, several browsers, a phone or two.
pub const LIVE_STREAMS: usize = 64;

/// A comment line on every stream this often when nothing else was sent: proxies and
/// browsers keep an idle stream open, and a dead peer is found by the failing write.
pub const LIVE_HEARTBEAT: Duration = Duration::from_secs(15);

/// Changes are one event once the tree has been quiet this long: an editor's save (a temp
/// file, fsync, rename, sometimes a chmod) takes a few ms, so it is one event.
pub const LIVE_DEBOUNCE: Duration = Duration::from_millis(100);

/// ...but a tree that never goes quiet (a build writing for seconds) still gets an event at
/// least this often.
pub const LIVE_DEBOUNCE_MAX: Duration = Duration::from_secs(1);

/// Without a kernel queue (macOS, FreeBSD, `--features portable`) the tree is walked and
/// compared this often: a change is seen within this, and its event sent after one more walk
/// finds the tree quiet. Each walk costs one `fstatat` per entry (about 1 µs), so every 200 ms
/// over 10,000 entries is 5 % of a core.
pub const LIVE_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The most entries the polling watch compares per walk; past it the rest of the tree is
/// not watched (warned once).
pub const LIVE_POLL_ENTRIES: usize = 50_000;

/// inotify watches (one per folder) the live-reload watch may hold; also never more than
/// half the user's `fs.inotify.max_user_watches`. Past it, further folders are not watched
/// (warned once).
pub const LIVE_WATCHES: usize = 8192;

/// How many paths one event names; a bigger change names `*` (reload everything).
pub const LIVE_EVENT_PATHS: usize = 64;

/// Events kept for streams that have not sent them yet; a stream further behind is sent
/// `*` (one reload) instead.
pub const LIVE_EVENTS_KEPT: usize = 16;

/// Bytes a stream may have waiting unsent (a client that stopped reading) before it is closed.
pub const LIVE_PENDING_BYTES: usize = 64 * 1024;

/// HTML pages bigger than this are sent as they are, without the live-reload script (it is
/// inserted in memory).
pub const LIVE_INJECT_MAX_BYTES: u64 = 16 * 1024 * 1024;
