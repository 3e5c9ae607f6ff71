//! Validators and conditional requests (RFC 9110 §8.8 and §13).
//!
//! Everything here is pure: the caller hands in the raw field values and
//! what it knows about the file, and gets back a decision. Nothing here
//! allocates except [`file_etag`], which has to produce an owned string.

use crate::http::syntax::trim_ows;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the server knows about the selected representation.
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// Strong entity tag including its quotes, e.g. `"5f3a-1a2b3c"`.
    pub etag: &'a str,
    /// Modification time, already truncated to whole seconds; `None` when the representation
    /// has none (a listing), and then the date conditions are ignored (§13.1.3, §13.1.4).
    pub last_modified: Option<SystemTime>,
}

/// The request's conditional fields (raw field values; when a field appears
/// several times the caller joins the lines with ", ").
#[derive(Debug, Clone, Copy, Default)]
pub struct Preconditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub if_unmodified_since: Option<&'a str>,
}

/// Outcome of evaluating the preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Every present condition held (or was ignored): carry on with the method.
    Proceed,
    /// Respond 304 (Not Modified); only ever returned for GET or HEAD.
    NotModified,
    /// Respond 412 (Precondition Failed).
    Failed,
}

/// RFC 9110 §13.2.2 evaluation order, exactly. `is_get_or_head` is whether
/// the method is GET or HEAD.
///
/// Steps 5 (If-Range) and 6 (perform the method) are the caller's: see
/// [`if_range_allows`] for step 5.
pub fn evaluate(pre: &Preconditions<'_>, v: &Validators<'_>, is_get_or_head: bool) -> Precondition {
    // Step 1 (§13.2.2): If-Match is the strongest statement a client can make
    // ("only if it is still exactly this"), so it is checked first. A file
    // server never performs a state change that "already succeeded", so the
    // §13.1.1 2xx escape hatch does not apply: a false condition is a 412.
    if let Some(if_match) = pre.if_match {
        if !if_match_holds(if_match, v) {
            return Precondition::Failed;
        }
    } else if let (Some(date), Some(last_modified)) = (pre.if_unmodified_since.and_then(parse_date), v.last_modified) {
        // Step 2: If-Unmodified-Since is only a fallback for clients that lack
        // an entity tag, hence "when If-Match is absent". §13.1.4: an invalid
        // date (including a list of dates) MUST be ignored, which `parse_date`
        // returning `None` achieves. The condition is false when the
        // representation changed after the given date.
        if last_modified > date {
            return Precondition::Failed;
        }
    }

    // Step 3: If-None-Match. A match means the client already has (some
    // version equivalent to) the representation. §13.1.2: for GET/HEAD that is
    // a 304 (a cache revalidation); for any other method it is a 412, which
    // is what makes `If-None-Match: *` a "create only if absent" guard.
    if let Some(if_none_match) = pre.if_none_match {
        if if_none_match_matches(if_none_match, v) {
            return if is_get_or_head { Precondition::NotModified } else { Precondition::Failed };
        }
    } else if is_get_or_head {
        // Step 4: If-Modified-Since only when If-None-Match is absent, because
        // entity tags are the more accurate validator (§13.1.3: a recipient
        // MUST ignore IMS when INM is present), and only for GET/HEAD
        // (§13.1.3: MUST ignore it for other methods). Invalid dates and lists
        // of dates are ignored. The condition is false — so 304 — when the
        // representation was not modified after the given date.
        if let (Some(date), Some(last_modified)) = (pre.if_modified_since.and_then(parse_date), v.last_modified) {
            if last_modified <= date {
                return Precondition::NotModified;
            }
        }
    }

    Precondition::Proceed
}

/// RFC 9110 §13.1.5: true when ranges may be honoured: no If-Range, or
/// If-Range is a strong ETag equal (strong comparison) to `v.etag`, or an
/// HTTP-date exactly equal to `v.last_modified`. A weak tag or unparsable
/// value → false.
///
/// "False" means: ignore the Range field and send the whole representation
/// with 200, which is always a safe answer.
pub fn if_range_allows(if_range: Option<&str>, v: &Validators<'_>) -> bool {
    let Some(raw) = if_range else {
        return true;
    };
    let value = trim_ows(raw);
    // §13.1.5 distinguishes the two forms by their first character: an
    // entity-tag always starts with DQUOTE or the weak prefix, an HTTP-date
    // never does.
    if value.starts_with('"') || value.starts_with("W/") {
        match parse_entity_tag(value, 0) {
            // The whole value must be one entity-tag; If-Range is not a list.
            // §13.1.5 requires the strong comparison, so a weak tag (which a
            // client MUST NOT send here) can never allow a range.
            Some((tag, end)) if end == value.len() => strong_match(tag, v),
            _ => false,
        }
    } else {
        // §13.1.5: the date must match *exactly*; an "earlier or equal" test
        // would splice bytes from two different versions of the file.
        // Without a Last-Modified there is no date to match: the whole representation.
        v.last_modified.is_some() && parse_date(value) == v.last_modified
    }
}

/// Strong ETag from file metadata: `"<len hex>-<mtime nanoseconds since epoch
/// hex>"` (quotes included); different when size or mtime changes.
///
/// A modification time before the epoch is written as the two's-complement
/// hex of the negative nanosecond count, so it still cannot collide with any
/// time after the epoch.
pub fn file_etag(len: u64, modified: SystemTime) -> String {
    let nanos: i128 = match modified.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    };
    // Both pieces are hex digits, which are all `etagc` (§8.8.3), and the
    // size is part of the tag because a same-second rewrite usually changes
    // the length even when the mtime granularity hides the change. Written by
    // hand: `format!` of an i128 costs more than the rest of a response head.
    let mut tag = String::with_capacity(64);
    tag.push('"');
    push_hex(&mut tag, u128::from(len));
    tag.push('-');
    push_hex(&mut tag, nanos as u128);
    tag.push('"');
    tag
}

/// Lowercase hex without leading zeros, as `{:x}` writes it (negative numbers as their
/// two's complement, which the `as u128` above keeps). Sizes and modification times fit in
/// 64 bits, where the digits cost a shift each; pushed as one `str`, not char by char
/// (callgrind, both numbers of an ETag: 611 → 335 instructions).
fn push_hex(out: &mut String, n: u128) {
    let mut digits = [0u8; 32];
    let mut at = digits.len();
    let mut push_digits = |mut n: u64, stop_at_zero: bool| loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 && (stop_at_zero || at == 16) {
            break;
        }
    };
    match u64::try_from(n) {
        Ok(small) => push_digits(small, true),
        Err(_) => {
            push_digits(n as u64, false);
            push_digits((n >> 64) as u64, true);
        }
    }
    // Hex digits are ASCII.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// One syntactically valid `entity-tag` (§8.8.3), borrowed from its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    /// The `opaque-tag`, including both quotes.
    opaque: &'a str,
}

/// Parses one `entity-tag` starting at byte `at` of `s`; returns it and the
/// index just past its closing quote.
fn parse_entity_tag(s: &str, at: usize) -> Option<(EntityTag<'_>, usize)> {
    let bytes = s.as_bytes();
    // §8.8.3: `weak = %s"W/"` — the `%s` makes the prefix case-sensitive, so
    // `w/"x"` is malformed rather than weak.
    let weak = bytes.get(at..at.checked_add(2)?) == Some(b"W/".as_slice());
    let open = if weak { at + 2 } else { at };
    if bytes.get(open) != Some(&b'"') {
        return None;
    }
    let mut close = open + 1;
    while bytes.get(close).is_some_and(|&b| is_etagc(b)) {
        close += 1;
    }
    if bytes.get(close) != Some(&b'"') {
        return None;
    }
    // `open` and `close` index ASCII quotes, so they are char boundaries.
    let opaque = s.get(open..=close)?;
    Some((EntityTag { weak, opaque }, close + 1))
}

/// §8.8.3: `etagc = %x21 / %x23-7E / obs-text`. Notably this admits the
/// comma, which is why lists cannot simply be split on ','.
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7E).contains(&b) || b >= 0x80
}

/// The well-formed entity-tags of a `#entity-tag` list (§5.6.1), in order.
///
/// Malformed elements are skipped: they can never match anything, and
/// §5.6.1.2 tells recipients to be liberal with list syntax. After a
/// malformed element, scanning resumes after the first comma at or after the
/// element's start, so a garbled line joined with ", " to a good line (the
/// caller's convention for repeated fields) does not hide the good one.
struct EntityTags<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> EntityTags<'a> {
    fn new(s: &'a str) -> Self {
        EntityTags { s, pos: 0 }
    }
}

impl<'a> Iterator for EntityTags<'a> {
    type Item = EntityTag<'a>;

    fn next(&mut self) -> Option<EntityTag<'a>> {
        let bytes = self.s.as_bytes();
        loop {
            // §5.6.1.2: empty elements and OWS around commas are allowed.
            while bytes.get(self.pos).is_some_and(|&b| matches!(b, b' ' | b'\t' | b',')) {
                self.pos += 1;
            }
            let start = self.pos;
            if start >= bytes.len() {
                return None;
            }
            if let Some((tag, end)) = parse_entity_tag(self.s, start) {
                let after = skip_ows(bytes, end);
                if after == bytes.len() || bytes.get(after) == Some(&b',') {
                    self.pos = after;
                    return Some(tag);
                }
            }
            // Malformed element: resume after the next comma (progress is
            // guaranteed because that comma is at or after `start`).
            self.pos = match bytes.get(start..).and_then(|rest| rest.iter().position(|&b| b == b',')) {
                Some(i) => start + i + 1,
                None => bytes.len(),
            };
        }
    }
}

/// §13.1.1: `*` matches any current representation — and the caller has one,
/// since it built `v` — otherwise some listed tag must match by the *strong*
/// comparison, because If-Match guards against lost updates and weakly equal
/// representations may differ byte for byte.
fn if_match_holds(value: &str, v: &Validators<'_>) -> bool {
    trim_ows(value) == "*" || EntityTags::new(value).any(|tag| strong_match(tag, v))
}

/// §13.1.2: `*` or any listed tag by the *weak* comparison, because a client
/// holding a semantically equivalent copy has no need for a new one.
fn if_none_match_matches(value: &str, v: &Validators<'_>) -> bool {
    trim_ows(value) == "*" || EntityTags::new(value).any(|tag| weak_match(tag, v))
}

/// The server's own tag, parsed once. A malformed `v.etag` (a caller bug)
/// yields `None`, so that no request tag can ever match it.
fn current_tag<'a>(v: &Validators<'a>) -> Option<EntityTag<'a>> {
    match parse_entity_tag(v.etag, 0) {
        Some((tag, end)) if end == v.etag.len() => Some(tag),
        _ => None,
    }
}

/// §8.8.3.2 strong comparison: neither tag weak, opaque-tags identical.
fn strong_match(tag: EntityTag<'_>, v: &Validators<'_>) -> bool {
    current_tag(v).is_some_and(|cur| !tag.weak && !cur.weak && tag.opaque == cur.opaque)
}

/// §8.8.3.2 weak comparison: opaque-tags identical, weakness ignored.
fn weak_match(tag: EntityTag<'_>, v: &Validators<'_>) -> bool {
    current_tag(v).is_some_and(|cur| tag.opaque == cur.opaque)
}

/// §5.6.7: all three HTTP-date forms are accepted by recipients. A field
/// holding anything else — including two dates joined by a comma — is
/// invalid and yields `None`, which the callers treat as "ignore the field".
fn parse_date(value: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(trim_ows(value)).ok()
}

fn skip_ows(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|&b| b == b' ' || b == b'\t') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ETAG: &str = "\"abc-123\"";
    /// Sun, 06 Nov 1994 08:49:37 GMT
    const T: u64 = 784_111_777;
    const T_FIXDATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const T_RFC850: &str = "Sunday, 06-Nov-94 08:49:37 GMT";
    const T_ASCTIME: &str = "Sun Nov  6 08:49:37 1994";
    const BEFORE_T: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const AFTER_T: &str = "Sun, 06 Nov 1994 08:49:38 GMT";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn v() -> Validators<'static> {
        Validators { etag: ETAG, last_modified: Some(at(T)) }
    }

    #[test]
    fn without_a_last_modified_the_date_conditions_are_ignored() {
        // §13.1.3 and §13.1.4: MUST ignore the date when the resource has no modification date.
        let undated = Validators { etag: ETAG, last_modified: None };
        let ims = Preconditions { if_modified_since: Some(AFTER_T), ..Default::default() };
        assert_eq!(evaluate(&ims, &undated, true), Precondition::Proceed);
        let ius = Preconditions { if_unmodified_since: Some(BEFORE_T), ..Default::default() };
        assert_eq!(evaluate(&ius, &undated, true), Precondition::Proceed);
        // The tag still decides.
        assert_eq!(evaluate(&inm(ETAG), &undated, true), Precondition::NotModified);
        assert_eq!(evaluate(&im("\"other\""), &undated, true), Precondition::Failed);
        assert!(!if_range_allows(Some(T_FIXDATE), &undated));
        assert!(if_range_allows(Some(ETAG), &undated));
    }

    fn eval(pre: Preconditions<'_>, get: bool) -> Precondition {
        evaluate(&pre, &v(), get)
    }

    fn im(s: &str) -> Preconditions<'_> {
        Preconditions { if_match: Some(s), ..Default::default() }
    }

    fn inm(s: &str) -> Preconditions<'_> {
        Preconditions { if_none_match: Some(s), ..Default::default() }
    }

    fn ims(s: &str) -> Preconditions<'_> {
        Preconditions { if_modified_since: Some(s), ..Default::default() }
    }

    fn ius(s: &str) -> Preconditions<'_> {
        Preconditions { if_unmodified_since: Some(s), ..Default::default() }
    }

    fn tags(s: &str) -> Vec<(bool, &str)> {
        EntityTags::new(s).map(|t| (t.weak, t.opaque)).collect()
    }

    use Precondition::{Failed, NotModified, Proceed};

    // ---- no conditions -------------------------------------------------

    #[test]
    fn no_conditions_proceed() {
        assert_eq!(eval(Preconditions::default(), true), Proceed);
        assert_eq!(eval(Preconditions::default(), false), Proceed);
    }

    // ---- step 1: If-Match ----------------------------------------------

    #[test]
    fn if_match_exact_tag_proceeds() {
        assert_eq!(eval(im(ETAG), true), Proceed);
        assert_eq!(eval(im(ETAG), false), Proceed);
    }

    #[test]
    fn if_match_other_tag_fails() {
        assert_eq!(eval(im("\"other\""), true), Failed);
        assert_eq!(eval(im("\"other\""), false), Failed);
    }

    #[test]
    fn if_match_star_matches_any_representation() {
        assert_eq!(eval(im("*"), true), Proceed);
        assert_eq!(eval(im("  *\t"), false), Proceed);
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        // W/"abc-123" weakly equals the current tag but not strongly.
        assert_eq!(eval(im("W/\"abc-123\""), true), Failed);
    }

    #[test]
    fn if_match_list_with_spaces() {
        assert_eq!(eval(im("\"a\", \"b\" ,\t\"abc-123\""), true), Proceed);
        assert_eq!(eval(im("\"a\",\"b\""), true), Failed);
        assert_eq!(eval(im(" , ,\"abc-123\", ,"), true), Proceed);
    }

    #[test]
    fn if_match_star_inside_list_is_malformed() {
        assert_eq!(eval(im("\"x\", *"), true), Failed);
    }

    #[test]
    fn if_match_unquoted_or_garbage_never_matches() {
        assert_eq!(eval(im("abc-123"), true), Failed);
        assert_eq!(eval(im(""), true), Failed);
        assert_eq!(eval(im("\"abc-123"), true), Failed);
        assert_eq!(eval(im("\"abc-123\"x"), true), Failed);
        assert_eq!(eval(im("w/\"abc-123\""), true), Failed);
    }

    #[test]
    fn if_match_malformed_entry_does_not_hide_a_later_good_one() {
        assert_eq!(eval(im("garbage, \"abc-123\""), true), Proceed);
        assert_eq!(eval(im("\"bad tag\", \"abc-123\""), true), Proceed);
        // A lone unterminated quote from one field line, joined to the next.
        assert_eq!(eval(im("\"oops, \"abc-123\""), true), Proceed);
    }

    #[test]
    fn if_match_failure_wins_over_everything_else() {
        let pre = Preconditions {
            if_match: Some("\"nope\""),
            if_none_match: Some("\"abc-123\""),
            if_modified_since: Some(AFTER_T),
            if_unmodified_since: Some(AFTER_T),
        };
        assert_eq!(eval(pre, true), Failed);
    }

    // ---- step 2: If-Unmodified-Since -----------------------------------

    #[test]
    fn ius_not_modified_since_proceeds() {
        assert_eq!(eval(ius(T_FIXDATE), false), Proceed);
        assert_eq!(eval(ius(AFTER_T), false), Proceed);
        assert_eq!(eval(ius(AFTER_T), true), Proceed);
    }

    #[test]
    fn ius_modified_since_fails() {
        assert_eq!(eval(ius(BEFORE_T), false), Failed);
        assert_eq!(eval(ius(BEFORE_T), true), Failed);
    }

    #[test]
    fn ius_accepts_all_three_date_forms() {
        for d in [T_FIXDATE, T_RFC850, T_ASCTIME] {
            assert_eq!(eval(ius(d), false), Proceed, "{d}");
        }
        let earlier = Validators { etag: ETAG, last_modified: Some(at(T + 1)) };
        for d in [T_FIXDATE, T_RFC850, T_ASCTIME] {
            assert_eq!(evaluate(&ius(d), &earlier, false), Failed, "{d}");
        }
    }

    #[test]
    fn ius_invalid_date_is_ignored() {
        for d in [
            "yesterday",
            "",
            "Sun, 06 Nov 1994 08:49:36",
            "Sun, 06 Nov 1994 08:49:36 GMT, Sun, 06 Nov 1994 08:49:36 GMT",
            "Sun, 32 Nov 1994 08:49:36 GMT",
        ] {
            assert_eq!(eval(ius(d), false), Proceed, "{d:?}");
        }
    }

    #[test]
    fn ius_is_skipped_when_if_match_present() {
        let pre = Preconditions { if_match: Some(ETAG), if_unmodified_since: Some(BEFORE_T), ..Default::default() };
        assert_eq!(eval(pre, false), Proceed);
    }

    #[test]
    fn ius_tolerates_surrounding_ows() {
        assert_eq!(eval(ius(" \tSun, 06 Nov 1994 08:49:36 GMT "), true), Failed);
    }

    // ---- step 3: If-None-Match -----------------------------------------

    #[test]
    fn inm_match_is_not_modified_for_get_head() {
        assert_eq!(eval(inm(ETAG), true), NotModified);
    }

    #[test]
    fn inm_match_fails_for_other_methods() {
        assert_eq!(eval(inm(ETAG), false), Failed);
    }

    #[test]
    fn inm_no_match_proceeds() {
        assert_eq!(eval(inm("\"other\""), true), Proceed);
        assert_eq!(eval(inm("\"other\""), false), Proceed);
    }

    #[test]
    fn inm_uses_weak_comparison() {
        assert_eq!(eval(inm("W/\"abc-123\""), true), NotModified);
        assert_eq!(eval(inm("W/\"abc-123\""), false), Failed);
        assert_eq!(eval(inm("W/\"abc-12\""), true), Proceed);
    }

    #[test]
    fn inm_star() {
        assert_eq!(eval(inm("*"), true), NotModified);
        assert_eq!(eval(inm(" * "), false), Failed);
    }

    #[test]
    fn inm_list_with_spaces_and_tabs() {
        assert_eq!(eval(inm("\"x\",\t W/\"y\" ,  \"abc-123\""), true), NotModified);
        assert_eq!(eval(inm("\"x\",\t W/\"y\" ,  \"z\""), true), Proceed);
    }

    #[test]
    fn inm_malformed_entries_never_match() {
        assert_eq!(eval(inm("abc-123"), true), Proceed);
        assert_eq!(eval(inm("\"abc-123"), true), Proceed);
        assert_eq!(eval(inm("w/\"abc-123\""), true), Proceed);
        assert_eq!(eval(inm("\"abc-123\" \"abc-123\""), true), Proceed);
        assert_eq!(eval(inm(""), true), Proceed);
    }

    #[test]
    fn inm_comma_inside_quotes_does_not_split() {
        let odd = Validators { etag: "\"a,b\"", last_modified: Some(at(T)) };
        assert_eq!(evaluate(&inm("\"a,b\""), &odd, true), NotModified);
        assert_eq!(evaluate(&inm("\"x\", \"a,b\""), &odd, true), NotModified);
        // Split naively, this would yield `"a` and `b"`: neither may match "a".
        let a = Validators { etag: "\"a\"", last_modified: Some(at(T)) };
        assert_eq!(evaluate(&inm("\"a,b\""), &a, true), Proceed);
    }

    #[test]
    fn inm_checked_even_when_if_match_passed() {
        let pre = Preconditions { if_match: Some("*"), if_none_match: Some(ETAG), ..Default::default() };
        assert_eq!(eval(pre, true), NotModified);
    }

    #[test]
    fn inm_checked_after_ius_passed() {
        let pre = Preconditions { if_unmodified_since: Some(AFTER_T), if_none_match: Some("*"), ..Default::default() };
        assert_eq!(eval(pre, false), Failed);
        assert_eq!(eval(pre, true), NotModified);
    }

    #[test]
    fn ius_failure_precedes_inm() {
        let pre =
            Preconditions { if_unmodified_since: Some(BEFORE_T), if_none_match: Some(ETAG), ..Default::default() };
        assert_eq!(eval(pre, true), Failed);
    }

    // ---- step 4: If-Modified-Since -------------------------------------

    #[test]
    fn ims_not_modified_when_equal_or_later() {
        assert_eq!(eval(ims(T_FIXDATE), true), NotModified);
        assert_eq!(eval(ims(AFTER_T), true), NotModified);
        assert_eq!(eval(ims(T_RFC850), true), NotModified);
        assert_eq!(eval(ims(T_ASCTIME), true), NotModified);
    }

    #[test]
    fn ims_modified_proceeds() {
        assert_eq!(eval(ims(BEFORE_T), true), Proceed);
    }

    #[test]
    fn ims_ignored_on_non_get() {
        assert_eq!(eval(ims(AFTER_T), false), Proceed);
    }

    #[test]
    fn ims_ignored_when_inm_present() {
        // INM does not match, IMS would say 304: INM wins, so 200.
        let pre =
            Preconditions { if_none_match: Some("\"other\""), if_modified_since: Some(AFTER_T), ..Default::default() };
        assert_eq!(eval(pre, true), Proceed);
        // INM matches, IMS would say "modified": still 304.
        let pre = Preconditions { if_none_match: Some(ETAG), if_modified_since: Some(BEFORE_T), ..Default::default() };
        assert_eq!(eval(pre, true), NotModified);
    }

    #[test]
    fn ims_ignored_when_inm_present_but_malformed() {
        // Presence, not validity, is what §13.2.2 step 4 keys on.
        let pre =
            Preconditions { if_none_match: Some("garbage"), if_modified_since: Some(AFTER_T), ..Default::default() };
        assert_eq!(eval(pre, true), Proceed);
    }

    #[test]
    fn ims_invalid_date_is_ignored() {
        for d in
            ["not a date", "", "Sun, 06 Nov 1994 08:49:38 GMT, Sun, 06 Nov 1994 08:49:38 GMT", "2024-01-01T00:00:00Z"]
        {
            assert_eq!(eval(ims(d), true), Proceed, "{d:?}");
        }
    }

    #[test]
    fn ims_after_if_match_passed() {
        let pre = Preconditions { if_match: Some(ETAG), if_modified_since: Some(AFTER_T), ..Default::default() };
        assert_eq!(eval(pre, true), NotModified);
    }

    #[test]
    fn ius_failure_precedes_ims() {
        let pre = Preconditions {
            if_unmodified_since: Some(BEFORE_T),
            if_modified_since: Some(AFTER_T),
            ..Default::default()
        };
        assert_eq!(eval(pre, true), Failed);
    }

    #[test]
    fn malformed_server_etag_matches_nothing_but_star() {
        let bad = Validators { etag: "no-quotes", last_modified: Some(at(T)) };
        assert_eq!(evaluate(&im("no-quotes"), &bad, true), Failed);
        assert_eq!(evaluate(&im("\"no-quotes\""), &bad, true), Failed);
        assert_eq!(evaluate(&im("*"), &bad, true), Proceed);
        assert_eq!(evaluate(&inm("no-quotes"), &bad, true), Proceed);
        assert_eq!(evaluate(&inm("*"), &bad, true), NotModified);
    }

    #[test]
    fn weak_server_etag_never_matches_strongly() {
        let weak = Validators { etag: "W/\"abc\"", last_modified: Some(at(T)) };
        assert_eq!(evaluate(&im("\"abc\""), &weak, true), Failed);
        assert_eq!(evaluate(&inm("\"abc\""), &weak, true), NotModified);
        assert!(!if_range_allows(Some("\"abc\""), &weak));
    }

    // ---- If-Range -------------------------------------------------------

    #[test]
    fn if_range_absent_allows() {
        assert!(if_range_allows(None, &v()));
    }

    #[test]
    fn if_range_strong_etag() {
        assert!(if_range_allows(Some(ETAG), &v()));
        assert!(if_range_allows(Some("  \"abc-123\"\t"), &v()));
        assert!(!if_range_allows(Some("\"abc-124\""), &v()));
    }

    #[test]
    fn if_range_weak_etag_is_refused() {
        assert!(!if_range_allows(Some("W/\"abc-123\""), &v()));
    }

    #[test]
    fn if_range_is_not_a_list() {
        assert!(!if_range_allows(Some("\"abc-123\", \"x\""), &v()));
        assert!(!if_range_allows(Some("\"x\", \"abc-123\""), &v()));
    }

    #[test]
    fn if_range_date_must_match_exactly() {
        assert!(if_range_allows(Some(T_FIXDATE), &v()));
        assert!(if_range_allows(Some(T_RFC850), &v()));
        assert!(if_range_allows(Some(T_ASCTIME), &v()));
        assert!(!if_range_allows(Some(AFTER_T), &v()));
        assert!(!if_range_allows(Some(BEFORE_T), &v()));
    }

    #[test]
    fn if_range_garbage_is_refused() {
        for s in ["", "*", "abc-123", "\"abc-123", "W/", "tomorrow", "\"abc-123\"x"] {
            assert!(!if_range_allows(Some(s), &v()), "{s:?}");
        }
    }

    // ---- entity-tag list parsing ---------------------------------------

    #[test]
    fn list_parsing() {
        assert_eq!(
            tags("\"a\", W/\"b\",\"c,d\" ,, W/\"\""),
            vec![(false, "\"a\""), (true, "\"b\""), (false, "\"c,d\""), (true, "\"\"")]
        );
        assert_eq!(tags(""), vec![]);
        assert_eq!(tags(" , ,\t"), vec![]);
        assert_eq!(tags("\"a\" \"b\""), vec![]);
        assert_eq!(tags("\"a\" \"b\", \"c\""), vec![(false, "\"c\"")]);
        assert_eq!(tags("\"é\""), vec![(false, "\"é\"")]);
        assert_eq!(tags("\"\u{7f}\", \"ok\""), vec![(false, "\"ok\"")]);
        assert_eq!(tags("W/ \"a\""), vec![]);
        assert_eq!(tags("W/"), vec![]);
        assert_eq!(tags("W"), vec![]);
        assert_eq!(tags("\""), vec![]);
    }

    // ---- file_etag -------------------------------------------------------

    #[test]
    fn file_etag_format() {
        let t = UNIX_EPOCH + Duration::new(1, 5);
        assert_eq!(file_etag(255, t), "\"ff-3b9aca05\"");
        assert_eq!(file_etag(0, UNIX_EPOCH), "\"0-0\"");
    }

    #[test]
    fn file_etag_writes_hex_as_format_does() {
        for (len, nanos) in [(0u64, 0i128), (u64::MAX, 1), (1024, 1_795_681_479_123_456_789), (7, -86_400_000_000_000)]
        {
            let t = if nanos >= 0 {
                UNIX_EPOCH + Duration::from_nanos(nanos as u64)
            } else {
                UNIX_EPOCH - Duration::from_nanos(nanos.unsigned_abs() as u64)
            };
            assert_eq!(file_etag(len, t), format!("\"{len:x}-{nanos:x}\""));
        }
    }

    #[test]
    fn file_etag_changes_with_size_and_mtime() {
        let t = at(T);
        let base = file_etag(10, t);
        assert_ne!(base, file_etag(11, t));
        assert_ne!(base, file_etag(10, at(T + 1)));
        assert_ne!(base, file_etag(10, t + Duration::from_nanos(1)));
        assert_eq!(base, file_etag(10, t));
    }

    #[test]
    fn file_etag_is_a_valid_strong_tag_that_matches_itself() {
        for (len, t) in [(0, UNIX_EPOCH), (u64::MAX, at(T)), (7, UNIX_EPOCH - Duration::from_secs(3))] {
            let tag = file_etag(len, t);
            let val = Validators { etag: &tag, last_modified: Some(t) };
            assert!(current_tag(&val).is_some_and(|c| !c.weak), "{tag}");
            assert_eq!(evaluate(&im(&tag), &val, true), Proceed);
            assert_eq!(evaluate(&inm(&tag), &val, true), NotModified);
            assert!(if_range_allows(Some(&tag), &val));
        }
    }

    #[test]
    fn file_etag_before_epoch_differs_from_after() {
        let d = Duration::from_secs(3);
        assert_ne!(file_etag(1, UNIX_EPOCH - d), file_etag(1, UNIX_EPOCH + d));
    }

    // ---- property tests --------------------------------------------------

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn evaluate_never_panics(
                a in proptest::option::of("\\PC{0,40}"),
                b in proptest::option::of("[W/\" ,*a-c\t]{0,30}"),
                c in proptest::option::of("\\PC{0,40}"),
                d in proptest::option::of("\\PC{0,40}"),
                get in any::<bool>(),
            ) {
                let pre = Preconditions {
                    if_match: a.as_deref(),
                    if_none_match: b.as_deref(),
                    if_modified_since: c.as_deref(),
                    if_unmodified_since: d.as_deref(),
                };
                let r = evaluate(&pre, &v(), get);
                // 304 is only ever produced for GET/HEAD.
                prop_assert!(get || r != Precondition::NotModified);
            }

            #[test]
            fn if_range_never_panics(s in "\\PC{0,40}") {
                let _ = if_range_allows(Some(&s), &v());
            }

            #[test]
            fn entity_tag_lists_never_panic(s in "[W/\" ,a\t\u{e9}]{0,40}") {
                for tag in EntityTags::new(&s) {
                    prop_assert!(tag.opaque.starts_with('"') && tag.opaque.ends_with('"'));
                    prop_assert!(tag.opaque.len() >= 2);
                }
            }

            #[test]
            fn file_etag_round_trips(len in any::<u64>(), secs in any::<u32>(), nanos in 0u32..1_000_000_000) {
                let t = UNIX_EPOCH + Duration::new(u64::from(secs), nanos);
                let tag = file_etag(len, t);
                let val = Validators { etag: &tag, last_modified: Some(t) };
                prop_assert!(if_range_allows(Some(&tag), &val));
            }
        }
    }
}
