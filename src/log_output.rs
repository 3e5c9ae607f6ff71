//! Where log lines go. At `info` (one access line per request) lines are formatted straight
//! into a batch that is written to stderr at most every `LOG_FLUSH_INTERVAL` or `LOG_FLUSH_BYTES`,
//! so logging adds no syscall per request and little formatting; at `debug` env_logger
//! writes every line at once (coloured on a terminal), for a learner watching.
//!
//! Both use env_logger's `RUST_LOG` filter and print the same line:
//! `[2026-11-26T08:34:39.023Z INFO  rawserve::access] message`.

use std::io::{self, Write};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::limits::{LOG_FLUSH_BYTES, LOG_FLUSH_INTERVAL};

struct Pending {
    bytes: Vec<u8>,
    /// The UTC second `stamp` spells (`2026-11-26T08:34:39`): formatted once per second.
    second: u64,
    stamp: [u8; 19],
}

static PENDING: Mutex<Pending> = Mutex::new(Pending { bytes: Vec::new(), second: u64::MAX, stamp: [0; 19] });

/// Writes out whatever is pending.
pub fn flush_pending() {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    if !pending.bytes.is_empty() {
        let _ = io::stderr().write_all(&pending.bytes);
        pending.bytes.clear();
    }
}

/// Sets up logging from `RUST_LOG` (default `info`): batched below debug level.
pub fn init() {
    let env = || env_logger::Env::default().default_filter_or("info");
    let filter = env_logger::Builder::from_env(env()).build();
    let debug =
        log::Log::enabled(&filter, &log::Metadata::builder().level(log::Level::Debug).target("rawserve").build());
    if debug {
        env_logger::Builder::from_env(env()).format_timestamp_millis().init();
        return;
    }
    let max_level = filter.filter();
    if log::set_boxed_logger(Box::new(BatchedLogger { filter })).is_ok() {
        log::set_max_level(max_level);
    }
    let _ = std::thread::Builder::new().name("rawserve-log".into()).spawn(|| loop {
        std::thread::sleep(LOG_FLUSH_INTERVAL);
        flush_pending();
    });
}

/// env_logger decides which records pass; this formats them into the batch.
struct BatchedLogger {
    filter: env_logger::Logger,
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
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let pending = &mut *pending;
        if pending.second != now.as_secs() {
            pending.second = now.as_secs();
            pending.stamp = utc_stamp(now.as_secs());
        }
        let out = &mut pending.bytes;
        out.push(b'[');
        out.extend_from_slice(&pending.stamp);
        let millis = now.subsec_millis();
        out.extend_from_slice(&[
            b'.',
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
        ]);
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
        if out.len() >= LOG_FLUSH_BYTES {
            let _ = io::stderr().write_all(out);
            out.clear();
        }
    }

    fn flush(&self) {
        flush_pending();
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC for seconds since the epoch (days to a civil date by
/// Howard Hinnant's `civil_from_days`).
fn utc_stamp(secs: u64) -> [u8; 19] {
    let days = (secs / 86_400) as i64;
    let of_day = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut stamp = [0u8; 19];
    let mut put = |at: usize, value: u64, width: usize| {
        for i in 0..width {
            stamp[at + width - 1 - i] = b'0' + (value / 10u64.pow(i as u32) % 10) as u8;
        }
    };
    put(0, year.clamp(0, 9999) as u64, 4);
    put(5, month as u64, 2);
    put(8, day as u64, 2);
    put(11, of_day / 3600, 2);
    put(14, of_day / 60 % 60, 2);
    put(17, of_day % 60, 2);
    for (at, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        stamp[at] = separator;
    }
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
        let logger = BatchedLogger { filter: env_logger::Builder::new().parse_filters("info").build() };
        flush_pending();
        log::Log::log(
            &logger,
            &log::Record::builder()
                .level(log::Level::Info)
                .target("rawserve::access")
                .args(format_args!("{} \"{}\" {}", "127.0.0.1:5", "GET / HTTP/1.1", 200))
                .build(),
        );
        log::Log::log(
            &logger,
            &log::Record::builder().level(log::Level::Debug).target("rawserve").args(format_args!("hidden")).build(),
        );
        let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let line = String::from_utf8_lossy(&pending.bytes).to_string();
        drop(pending);
        flush_pending();
        let (stamp, rest) = line.split_once(' ').expect("a stamp");
        assert_eq!(stamp.len(), "[2026-11-26T08:34:39.023Z".len(), "{line}");
        assert!(stamp.starts_with("[20") && stamp.ends_with('Z'), "{line}");
        assert_eq!(rest, "INFO  rawserve::access] 127.0.0.1:5 \"GET / HTTP/1.1\" 200\n");
    }
}
