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

/// A UTC time of day and civil date, for the log lines' stamps (the access log's
/// `[02/Dec/2026:16:51:14 +0000]`, the server log's `2026-12-02T16:51:14`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: u64,
    /// 1..=12
    pub month: u64,
    pub day: u64,
    pub hour: u64,
    pub minute: u64,
    pub second: u64,
}

impl Civil {
    /// Seconds since the epoch to a civil date in UTC (Howard Hinnant's `civil_from_days`);
    /// years past 9999 are clamped to 9999 so every stamp keeps its width.
    pub fn from_unix(secs: u64) -> Civil {
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
        Civil {
            year: year.clamp(0, 9999) as u64,
            month: month as u64,
            day: day as u64,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }

    /// `Jan` … `Dec`, as the Common Log Format's `%b`.
    pub fn month_abbreviation(&self) -> &'static str {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        MONTHS[(self.month.clamp(1, 12) - 1) as usize]
    }
}

/// Appends `value` in decimal, zero-padded to `width` digits (the stamps are all fixed-width).
pub fn push_padded(out: &mut Vec<u8>, value: u64, width: u32) {
    for i in (0..width).rev() {
        out.push(b'0' + (value / 10u64.pow(i) % 10) as u8);
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

    #[test]
    fn civil_dates_match_known_days() {
        let civil = |secs| {
            let c = Civil::from_unix(secs);
            (c.year, c.month, c.day, c.hour, c.minute, c.second, c.month_abbreviation())
        };
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0, "Jan"));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0, "Feb"));
        assert_eq!(civil(1_795_681_479), (2026, 11, 26, 8, 24, 39, "Nov"));
        assert_eq!(civil(4_102_444_799), (2099, 12, 31, 23, 59, 59, "Dec"));
        let mut out = Vec::new();
        push_padded(&mut out, 7, 3);
        push_padded(&mut out, 2026, 4);
        assert_eq!(out, b"0072026");
    }
}
