//! The `Date` field (RFC 9110 §6.6.1) in IMF-fixdate, formatted at most once a second per
//! thread: formatting a date costs more than everything else in a small response head.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// `strlen("Sun, 06 Nov 1994 08:49:37 GMT")`
pub const IMF_FIXDATE_LEN: usize = 29;

struct CachedDate {
    second: u64,
    text: [u8; IMF_FIXDATE_LEN],
}

thread_local! {
    static CACHE: RefCell<CachedDate> = const {
        RefCell::new(CachedDate { second: u64::MAX, text: [b' '; IMF_FIXDATE_LEN] })
    };
}

/// Appends the current time as an IMF-fixdate.
pub fn append_now(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.second != second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == IMF_FIXDATE_LEN {
                cache.text.copy_from_slice(text.as_bytes());
                cache.second = second;
            }
        }
        out.extend_from_slice(&cache.text);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_an_imf_fixdate_that_parses_back() {
        let mut out = Vec::new();
        append_now(&mut out);
        let text = String::from_utf8(out).expect("ascii");
        assert_eq!(text.len(), IMF_FIXDATE_LEN);
        assert!(text.ends_with(" GMT"), "{text}");
        let parsed = httpdate::parse_http_date(&text).expect("parses");
        let skew = SystemTime::now().duration_since(parsed).expect("not in the future");
        assert!(skew.as_secs() < 5);
    }
}
