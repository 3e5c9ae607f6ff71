//! Where log lines go: sinks that an event loop never waits for.
//!
//! A line (an access line, a warning, at `debug` the narration) is formatted straight into
//! its sink's buffer under a short lock, and the sink's own writer thread writes the buffer
//! out at most every `LOG_FLUSH_INTERVAL` or `LOG_FLUSH_BYTES`, so logging adds no syscall
//! per request. (At `debug` every line is written at once by the thread that logs it.) Only the writer thread ever blocks in `write`: when
//! stderr is a pipe nobody reads (a stuck supervisor) or the log's disk stalls, the buffer
//! fills to `LOG_BUFFER_MAX`, further lines are dropped and counted, and once the writer gets
//! through again the count is logged. Serving never stops for the log.
//!
//! Why a writer thread and not `O_NONBLOCK` on the log's fd: stderr is an open file
//! description shared with whoever started us (a shell's terminal, a supervisor's pipe), and
//! `O_NONBLOCK` is a property of that description, so setting it would make *their* writes
//! fail with `EAGAIN`; and a regular file ignores `O_NONBLOCK` altogether (a write to a
//! stalled disk or NFS blocks anyway). A thread that owns the blocking write works for every
//! kind of sink and touches nothing shared.
//!
//! Server lines use env_logger's `RUST_LOG` filter and print the same line as env_logger:
//! `[2026-11-26T08:34:39.023Z WARN  rawserve] message`. The access log
//! (`http::access_log`) formats its own lines into a sink: stderr's, or a file's
//! (`--access-log PATH`), which SIGHUP reopens.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{info, warn};

use crate::http::access_log::LineSink;
use crate::http::date::{push_padded, Civil};
use crate::limits::{LOG_BUFFER_MAX, LOG_FLUSH_BYTES, LOG_FLUSH_INTERVAL};

/// A destination for log lines, with its buffer and (once started) its writer thread.
pub struct Sink {
    /// `None`: stderr.
    path: Option<PathBuf>,
    state: Mutex<Buffered>,
    /// Wakes the writer: a batch is full, a reopen or a flush is asked for.
    wake: Condvar,
    /// The writer finished a batch (for `finish`).
    written: Condvar,
}

struct Buffered {
    bytes: Vec<u8>,
    /// Lines refused since the writer last got through.
    dropped: u64,
    /// Bytes taken in, and bytes the writer is done with, since the start.
    accepted: u64,
    handled: u64,
    reopen: bool,
    /// Write each line at once, from the caller (the debug narration, read as it happens).
    immediate: bool,
    flush_asked: bool,
}

/// The server's stderr.
pub static STDERR: Sink = Sink::new(None);

/// The `--access-log` file, once opened.
static ACCESS_FILE: OnceLock<&'static Sink> = OnceLock::new();

/// Locks a sink's state; a panic elsewhere while it was held leaves nothing half-done that
/// matters here (at worst a partial line).
fn lock(mutex: &Mutex<Buffered>) -> MutexGuard<'_, Buffered> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sink {
    const fn new(path: Option<PathBuf>) -> Sink {
        Sink {
            path,
            state: Mutex::new(Buffered {
                bytes: Vec::new(),
                dropped: 0,
                accepted: 0,
                handled: 0,
                reopen: false,
                immediate: false,
                flush_asked: false,
            }),
            wake: Condvar::new(),
            written: Condvar::new(),
        }
    }

    /// Appends one line, written by `line` straight into the buffer. A line that does not
    /// fit under `LOG_BUFFER_MAX` is taken back out and counted: whole lines are dropped,
    /// never parts of one.
    pub fn push(&self, line: impl FnOnce(&mut Vec<u8>)) {
        let mut state = lock(&self.state);
        let before = state.bytes.len();
        line(&mut state.bytes);
        let after = state.bytes.len();
        if after > LOG_BUFFER_MAX {
            state.bytes.truncate(before);
            state.dropped += 1;
            return;
        }
        if state.immediate {
            // The debug narration: written at once by the thread that logs it, in order, as
            // env_logger would (it blocks when stderr does: debug is for watching, not for
            // a supervisor).
            let _ = io::stderr().write_all(&state.bytes[before..]);
            state.bytes.truncate(before);
            return;
        }
        state.accepted += (after - before) as u64;
        // Wake the writer once when the batch fills (a notify is a syscall: not per line).
        if before < LOG_FLUSH_BYTES && after >= LOG_FLUSH_BYTES {
            self.wake.notify_one();
        }
    }

    /// Asks the writer to reopen the file (SIGHUP, after logrotate renamed it): what was
    /// accepted before goes to the old file, what comes after to the new one.
    pub fn reopen(&self) {
        if self.path.is_some() {
            lock(&self.state).reopen = true;
            self.wake.notify_one();
        }
    }

    /// Waits (at most `limit`) until everything accepted so far has been written.
    fn finish(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut state = lock(&self.state);
        let target = state.accepted;
        state.flush_asked = true;
        self.wake.notify_one();
        while state.handled < target {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            state = self.written.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn name(&self) -> String {
        match &self.path {
            Some(path) => format!("the access log {}", path.display()),
            None => "stderr".to_string(),
        }
    }

    fn open(path: &Path) -> io::Result<File> {
        // 0640: access lines carry query strings, which can hold tokens.
        OpenOptions::new().append(true).create(true).mode(0o640).custom_flags(libc::O_CLOEXEC).open(path)
    }

    /// The writer thread's loop: take the batch, write it without holding the lock.
    fn write_out(&'static self, mut out: Box<dyn Write + Send>) {
        let mut batch = Vec::new();
        loop {
            let (dropped, reopen) = {
                let mut state = lock(&self.state);
                let deadline = Instant::now() + LOG_FLUSH_INTERVAL;
                loop {
                    let ready = state.bytes.len() >= LOG_FLUSH_BYTES || (state.flush_asked && !state.bytes.is_empty());
                    let now = Instant::now();
                    if ready || state.reopen || state.flush_asked || now >= deadline {
                        break;
                    }
                    state = self.wake.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
                }
                state.flush_asked = false;
                std::mem::swap(&mut state.bytes, &mut batch);
                (std::mem::take(&mut state.dropped), std::mem::take(&mut state.reopen))
            };
            // A failed write (EPIPE: nobody will ever read) cannot be reported anywhere
            // better than the sink that failed; the lines are gone either way.
            let _ = out.write_all(&batch);
            let handled = batch.len() as u64;
            batch.clear();
            if reopen {
                if let Some(path) = &self.path {
                    match Sink::open(path) {
                        Ok(file) => {
                            out = Box::new(file);
                            info!("reopened the access log {}", path.display());
                        }
                        Err(e) => {
                            warn!("cannot reopen the access log {}: {e}; still writing the old file", path.display())
                        }
                    }
                }
            }
            if dropped > 0 {
                // Goes to stderr (for stderr itself, into the buffer just emptied).
                warn!("{dropped} log lines dropped: {} could not take more; serving went on", self.name());
            }
            let mut state = lock(&self.state);
            state.handled += handled;
            self.written.notify_all();
        }
    }

    fn start_writer(&'static self, out: Box<dyn Write + Send>) -> io::Result<()> {
        std::thread::Builder::new().name("rawserve-log".into()).spawn(move || self.write_out(out)).map(drop)
    }
}

impl LineSink for Sink {
    fn push_line(&self, line: &mut dyn FnMut(&mut Vec<u8>)) {
        self.push(line);
    }
}

/// Opens (creating, appending) the `--access-log` file and starts its writer.
pub fn open_access_file(path: &Path) -> io::Result<&'static Sink> {
    let file = Sink::open(path)?;
    let sink: &'static Sink = Box::leak(Box::new(Sink::new(Some(path.to_path_buf()))));
    sink.start_writer(Box::new(file))?;
    let _ = ACCESS_FILE.set(sink);
    Ok(sink)
}

/// SIGHUP: reopen the access-log file, if there is one.
pub fn reopen() {
    if let Some(sink) = ACCESS_FILE.get() {
        sink.reopen();
    }
}

/// At exit: write out what is pending, waiting at most `limit` for each sink (a sink that
/// is blocked must not hold the exit forever).
pub fn finish(limit: Duration) {
    if let Some(sink) = ACCESS_FILE.get() {
        sink.finish(limit);
    }
    STDERR.finish(limit);
}

/// Sets up logging from `RUST_LOG` (default `info`) into the stderr sink and starts its
/// writer. At `debug`, env_logger formats (coloured on a terminal) and every line is written
/// at once, for a learner watching; below, lines are batched.
pub fn init() {
    let env = || env_logger::Env::default().default_filter_or("info");
    let filter = env_logger::Builder::from_env(env()).build();
    let debug =
        log::Log::enabled(&filter, &log::Metadata::builder().level(log::Level::Debug).target("rawserve").build());
    if STDERR.start_writer(Box::new(io::stderr())).is_err() {
        // No thread: write directly, as env_logger alone would.
        env_logger::Builder::from_env(env()).format_timestamp_millis().init();
        return;
    }
    if debug {
        lock(&STDERR.state).immediate = true;
        let style =
            if io::stderr().is_terminal() { env_logger::WriteStyle::Always } else { env_logger::WriteStyle::Never };
        env_logger::Builder::from_env(env())
            .format_timestamp_millis()
            .write_style(style)
            .target(env_logger::Target::Pipe(Box::new(StderrSinkWriter)))
            .init();
        return;
    }
    let max_level = filter.filter();
    if log::set_boxed_logger(Box::new(BatchedLogger { filter, stamp: Mutex::new((u64::MAX, [0; 19])) })).is_ok() {
        log::set_max_level(max_level);
    }
}

/// env_logger's output at debug: each record (written whole) into the stderr sink.
struct StderrSinkWriter;

impl Write for StderrSinkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        STDERR.push(|out| out.extend_from_slice(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// env_logger decides which records pass; this formats them into the stderr sink.
struct BatchedLogger {
    filter: env_logger::Logger,
    /// The UTC second the stamp spells (`2026-11-26T08:34:39`): formatted once per second.
    stamp: Mutex<(u64, [u8; 19])>,
}

impl BatchedLogger {
    fn stamp(&self, secs: u64) -> [u8; 19] {
        let mut cached = self.stamp.lock().unwrap_or_else(|e| e.into_inner());
        if cached.0 != secs {
            *cached = (secs, utc_stamp(secs));
        }
        cached.1
    }
}

impl log::Log for BatchedLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.filter.matches(record) {
            return;
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let stamp = self.stamp(now.as_secs());
        STDERR.push(|out| {
            out.push(b'[');
            out.extend_from_slice(&stamp);
            out.push(b'.');
            push_padded(out, u64::from(now.subsec_millis()), 3);
            out.extend_from_slice(b"Z ");
            let level = record.level().as_str();
            out.extend_from_slice(level.as_bytes());
            out.extend_from_slice(&b"     "[level.len()..]);
            out.push(b' ');
            out.extend_from_slice(record.target().as_bytes());
            out.extend_from_slice(b"] ");
            match record.args().as_str() {
                Some(text) => out.extend_from_slice(text.as_bytes()),
                // Writing into a Vec cannot fail.
                None => drop(write!(out, "{}", record.args())),
            }
            out.push(b'\n');
        });
    }

    fn flush(&self) {}
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC for seconds since the epoch.
fn utc_stamp(secs: u64) -> [u8; 19] {
    let civil = Civil::from_unix(secs);
    let mut out = Vec::with_capacity(19);
    for (value, width, separator) in [
        (civil.year, 4, b'-'),
        (civil.month, 2, b'-'),
        (civil.day, 2, b'T'),
        (civil.hour, 2, b':'),
        (civil.minute, 2, b':'),
        (civil.second, 2, b' '),
    ] {
        push_padded(&mut out, value, width);
        out.push(separator);
    }
    let mut stamp = [0u8; 19];
    stamp.copy_from_slice(&out[..19]);
    stamp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_match_known_dates() {
        assert_eq!(&utc_stamp(0), b"1970-01-01T00:00:00");
        assert_eq!(&utc_stamp(951_782_400), b"2000-02-29T00:00:00");
        assert_eq!(&utc_stamp(1_795_681_479), b"2026-11-26T08:24:39");
        assert_eq!(&utc_stamp(4_102_444_799), b"2099-12-31T23:59:59");
    }

    #[test]
    fn lines_look_like_env_loggers() {
        let logger = BatchedLogger {
            filter: env_logger::Builder::new().parse_filters("info").build(),
            stamp: Mutex::new((u64::MAX, [0; 19])),
        };
        let start = lock(&STDERR.state).bytes.len();
        log::Log::log(
            &logger,
            &log::Record::builder()
                .level(log::Level::Warn)
                .target("rawserve")
                .args(format_args!("{} {}", "the cap", 4096))
                .build(),
        );
        log::Log::log(
            &logger,
            &log::Record::builder().level(log::Level::Debug).target("rawserve").args(format_args!("hidden")).build(),
        );
        let line = String::from_utf8_lossy(&lock(&STDERR.state).bytes[start..]).to_string();
        let (stamp, rest) = line.split_once(' ').expect("a stamp");
        assert_eq!(stamp.len(), "[2026-11-26T08:34:39.023Z".len(), "{line}");
        assert!(stamp.starts_with("[20") && stamp.ends_with('Z'), "{line}");
        assert_eq!(rest, "WARN  rawserve] the cap 4096\n");
    }

    #[test]
    fn a_full_sink_drops_whole_lines_and_counts_them() {
        let sink = Sink::new(None);
        let line = vec![b'x'; 1000];
        let fits = LOG_BUFFER_MAX / (line.len() + 1);
        for _ in 0..fits + 5 {
            sink.push(|out| {
                out.extend_from_slice(&line);
                out.push(b'\n');
            });
        }
        let state = lock(&sink.state);
        assert_eq!(state.bytes.len(), fits * (line.len() + 1));
        assert_eq!(state.dropped, 5);
        assert!(state.bytes.ends_with(b"x\n"));
    }
}
