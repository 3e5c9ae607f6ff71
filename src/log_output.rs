//! Where log lines go. At `info` (one access line per request) lines are batched and
//! written to stderr at most every `FLUSH_INTERVAL` or `FLUSH_BYTES`, so logging adds no
//! syscall per request; at `debug` every line is written at once, for a learner watching.

use std::io::{self, Write};
use std::sync::Mutex;
use std::time::Duration;

const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
const FLUSH_BYTES: usize = 32 * 1024;

static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A `Write` that env_logger writes each formatted line into.
pub struct BatchedStderr;

impl Write for BatchedStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend_from_slice(buf);
        if pending.len() >= FLUSH_BYTES {
            io::stderr().write_all(&pending)?;
            pending.clear();
        }
        Ok(buf.len())
    }

    /// env_logger flushes after every line; the batch is flushed by `flush_pending` instead.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes out whatever is pending.
pub fn flush_pending() {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    if !pending.is_empty() {
        let _ = io::stderr().write_all(&pending);
        pending.clear();
    }
}

/// Sets up env_logger (`RUST_LOG`, default `info`) with batching below debug level.
pub fn init() {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    builder.format_timestamp_millis();
    // The filter decides before the logger exists: is anything of ours at debug level?
    let probe = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).build();
    let batched =
        !log::Log::enabled(&probe, &log::Metadata::builder().level(log::Level::Debug).target("rawserve").build());
    if batched {
        builder.target(env_logger::Target::Pipe(Box::new(BatchedStderr)));
        let _ = std::thread::Builder::new().name("rawserve-log".into()).spawn(|| loop {
            std::thread::sleep(FLUSH_INTERVAL);
            flush_pending();
        });
    }
    builder.init();
}
