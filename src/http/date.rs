//! The `Date` field (RFC 9110 §6.6.1) in IMF-fixdate, formatted at most once a second per
//! event loop: formatting a date costs more than everything else in a small response head.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::limits::LAST_HTTP_DATE_SECOND;

/// `strlen("Sun, 06 Nov 1994 08:49:37 GMT")`
pub const IMF_FIXDATE_LEN: usize = 29;

struct CachedDate {
    second: u64,
    text: [u8; IMF_FIXDATE_LEN],
}

/// One event loop's formatted dates (owned by the loop, passed to each response).
pub struct Dates {
    /// The current second, for `Date`.
    now: CachedDate,
    /// The last other time formatted: a file served again and again has the same
    /// `Last-Modified` every time.
    last: CachedDate,
}

impl Default for Dates {
    fn default() -> Dates {
        Dates { now: CachedDate::EMPTY, last: CachedDate::EMPTY }
    }
}

impl Dates {
    /// Appends the current time as an IMF-fixdate.
    pub fn append_now(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.now.text_for(SystemTime::now()));
    }

    /// A time as an IMF-fixdate (whole seconds; times before 1970 as the epoch, after 9999
    /// as its last second).
    pub fn imf_fixdate(&mut self, time: SystemTime) -> ImfFixdate {
        ImfFixdate(self.last.text_for(time))
    }
}

impl CachedDate {
    const EMPTY: CachedDate = CachedDate { second: u64::MAX, text: [b' '; IMF_FIXDATE_LEN] };

    fn text_for(&mut self, time: SystemTime) -> [u8; IMF_FIXDATE_LEN] {
        // httpdate panics outside 1970..=9999; a file's mtime can be anything.
        let second = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()).min(LAST_HTTP_DATE_SECOND);
        if self.second != second {
            let text = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(second));
            if text.len() == IMF_FIXDATE_LEN {
                self.text.copy_from_slice(text.as_bytes());
                self.second = second;
            }
        }
        self.text
    }
}

/// A formatted IMF-fixdate.
#[derive(Debug, Clone, Copy)]
pub struct ImfFixdate([u8; IMF_FIXDATE_LEN]);

impl ImfFixdate {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("Thu, 01 Jan 1970 00:00:00 GMT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_times_format_like_httpdate_and_are_remembered_per_second() {
        let mut dates = Dates::default();
        for secs in [0u64, 784_111_777, 1_795_681_479, 1_795_681_479, 4_102_444_799] {
            let time = UNIX_EPOCH + std::time::Duration::from_secs(secs);
            assert_eq!(dates.imf_fixdate(time).as_str(), httpdate::fmt_http_date(time));
        }
        let before_epoch = UNIX_EPOCH - std::time::Duration::from_secs(5);
        assert_eq!(dates.imf_fixdate(before_epoch).as_str(), "Thu, 01 Jan 1970 00:00:00 GMT");
        let far_future = UNIX_EPOCH + std::time::Duration::from_secs(300_000_000_000);
        assert_eq!(dates.imf_fixdate(far_future).as_str(), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn now_is_an_imf_fixdate_that_parses_back() {
        let mut out = Vec::new();
        Dates::default().append_now(&mut out);
        let text = String::from_utf8(out).expect("ascii");
        assert_eq!(text.len(), IMF_FIXDATE_LEN);
        assert!(text.ends_with(" GMT"), "{text}");
        let parsed = httpdate::parse_http_date(&text).expect("parses");
        let skew = SystemTime::now().duration_since(parsed).expect("not in the future");
        assert!(skew.as_secs() < 5);
    }
}
