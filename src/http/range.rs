//! Range requests (RFC 9110 §14): parsing `Range`, and laying out
//! `multipart/byteranges` bodies.
//!
//! Parsing never panics and never overflows: positions too large for a `u64`
//! are compared digit-wise where order matters and saturate where only their
//! magnitude matters. Parsing allocates exactly once, for the returned
//! `Partial` vector.

use crate::http::response::append_decimal;
use crate::http::syntax::trim_ows;
use crate::limits::MAX_RANGES;
use std::cmp::Ordering;

/// An inclusive byte range within a representation of known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes covered. Ranges produced by [`parse_range`] always
    /// have `start <= end < size`, so the result is at least 1 and fits in a
    /// `u64`; a hand-built inverted range reports 0 and `0..=u64::MAX`
    /// saturates, so this cannot panic either way.
    // An inclusive range is never empty, so an `is_empty` would be noise.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        match self.end.checked_sub(self.start) {
            Some(d) => d.saturating_add(1),
            None => 0,
        }
    }
}

/// How to answer a request carrying a `Range` field.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// Serve the whole representation with 200 (header malformed, unknown
    /// unit, or not worth honouring).
    Full,
    /// 206: one or more satisfiable ranges, sorted and coalesced, never
    /// overlapping or adjacent.
    Partial(Vec<ByteRange>),
    /// 416 with `Content-Range: bytes */SIZE`.
    Unsatisfiable,
}

/// Interpret a Range field value against a representation of `size` bytes.
///
/// * [`RangeRequest::Full`] when the field is invalid (§14.2: "ignore"), the
///   unit is not `bytes`, or the amplification guard trips (more than
///   [`MAX_RANGES`] specs, requested lengths summing past `size`, or more than
///   `MAX_RANGES` ranges left after coalescing). A single well-formed range
///   is never refused by the guard.
/// * [`RangeRequest::Unsatisfiable`] when the field is valid but no spec is
///   satisfiable (§14.1.2).
/// * [`RangeRequest::Partial`] otherwise, with the unsatisfiable specs
///   dropped and the rest clamped, sorted and coalesced.
///
/// One deliberate corner: for a zero-length representation, §14.1.2 counts a
/// suffix-range with a non-zero length (`bytes=-5`) as *satisfiable*, so 416
/// would be wrong, yet no 206 can describe zero bytes; that case returns
/// `Full` (a 200 with an empty body).
pub fn parse_range(value: &str, size: u64) -> RangeRequest {
    // §14.2: `Range = ranges-specifier`, `ranges-specifier = range-unit "="
    // range-set`, with no whitespace allowed around "=".
    let Some((unit, set)) = trim_ows(value).split_once('=') else {
        return RangeRequest::Full;
    };
    // §14.1: range units are case-insensitive; §14.2: a server MUST ignore a
    // Range with a unit it does not understand, i.e. serve the whole thing.
    if !unit.eq_ignore_ascii_case("bytes") {
        return RangeRequest::Full;
    }

    let mut buf = [ByteRange { start: 0, end: 0 }; MAX_RANGES];
    let mut kept = 0usize;
    let mut specs = 0usize;
    let mut requested: u64 = 0;
    let mut empty_suffix_satisfiable = false;

    // §5.6.1.2: list recipients accept empty elements and OWS around commas.
    for element in set.split(',').map(trim_ows).filter(|e| !e.is_empty()) {
        specs += 1;
        // Amplification guard, part 1: stop reading long before an abusive
        // header costs anything. Returning Full is always a valid answer
        // (§14.2: a server MAY ignore Range).
        if specs > MAX_RANGES {
            return RangeRequest::Full;
        }
        // §14.1.1/§14.2: one invalid range-spec invalidates the whole field,
        // and an invalid Range MUST be ignored.
        let Some(spec) = Spec::parse(element) else {
            return RangeRequest::Full;
        };
        match spec.resolve(size) {
            Resolved::Range(r) => {
                // Amplification guard, part 2: asking for more bytes than the
                // file holds can only mean overlapping ranges (CVE-2011-3192);
                // one whole-file 200 is cheaper and equally correct. A single
                // range is clamped to the file and so can never trip this.
                requested = requested.saturating_add(r.len());
                if requested > size {
                    return RangeRequest::Full;
                }
                // `kept < specs <= MAX_RANGES`, so the slot exists; `get_mut`
                // keeps that reasoning out of the panic path.
                if let Some(slot) = buf.get_mut(kept) {
                    *slot = r;
                    kept += 1;
                }
            }
            Resolved::EmptySuffixSatisfiable => empty_suffix_satisfiable = true,
            Resolved::Unsatisfiable => {}
        }
    }

    // §14.1.1: `range-set = 1#range-spec` needs at least one real element.
    if specs == 0 {
        return RangeRequest::Full;
    }
    let ranges = &mut buf[..kept];
    if ranges.is_empty() {
        return if empty_suffix_satisfiable { RangeRequest::Full } else { RangeRequest::Unsatisfiable };
    }

    // §14.2 allows coalescing, and overlapping or adjacent parts would only
    // make the multipart body longer than the bytes it carries.
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged = 0usize;
    for i in 0..ranges.len() {
        let r = ranges[i];
        if merged > 0 {
            let last = &mut ranges[merged - 1];
            // `end < size <= u64::MAX`, so `end + 1` cannot actually
            // saturate; saturating keeps the arithmetic obviously safe.
            if r.start <= last.end.saturating_add(1) {
                last.end = last.end.max(r.end);
                continue;
            }
        }
        ranges[merged] = r;
        merged += 1;
    }
    // Amplification guard, part 3. Unreachable while the spec count is capped
    // at the same limit, but it is the property the multipart writer relies
    // on, so it is enforced where the ranges are produced.
    if merged > MAX_RANGES {
        return RangeRequest::Full;
    }
    RangeRequest::Partial(ranges[..merged].to_vec())
}

/// A decimal position from the field: its saturated value plus its
/// significant digits, so that order is exact even beyond `u64::MAX`.
#[derive(Debug, Clone, Copy)]
struct Pos<'a> {
    value: u64,
    digits: &'a str,
}

impl<'a> Pos<'a> {
    /// §14.1.1: `1*DIGIT`, nothing else (no sign, no whitespace).
    fn parse(s: &'a str) -> Option<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value = s.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')));
        let digits = s.trim_start_matches('0');
        Some(Pos { value, digits })
    }

    /// Exact numeric order of two digit strings of any length.
    fn cmp_exact(&self, other: &Pos<'_>) -> Ordering {
        self.digits.len().cmp(&other.digits.len()).then_with(|| self.digits.cmp(other.digits))
    }
}

/// One syntactically valid `range-spec` for the bytes unit (§14.1.2).
#[derive(Debug, Clone, Copy)]
enum Spec {
    /// `first-pos "-" [ last-pos ]`; `last` is `None` for "to the end".
    Int { first: u64, last: Option<u64> },
    /// `"-" suffix-length`.
    Suffix(u64),
}

/// A spec measured against the representation.
enum Resolved {
    Range(ByteRange),
    /// §14.1.2: on a zero-length representation a non-zero suffix is the one
    /// satisfiable form, though it selects no bytes.
    EmptySuffixSatisfiable,
    Unsatisfiable,
}

impl Spec {
    fn parse(element: &str) -> Option<Spec> {
        if let Some(suffix) = element.strip_prefix('-') {
            return Some(Spec::Suffix(Pos::parse(suffix)?.value));
        }
        let (first, last) = element.split_once('-')?;
        let first = Pos::parse(first)?;
        if last.is_empty() {
            return Some(Spec::Int { first: first.value, last: None });
        }
        let last = Pos::parse(last)?;
        // §14.1.2: "A range-spec is invalid if ... last-pos ... is less than
        // first-pos". Compared exactly, so two huge values that both saturate
        // still keep their true order.
        if last.cmp_exact(&first) == Ordering::Less {
            return None;
        }
        Some(Spec::Int { first: first.value, last: Some(last.value) })
    }

    fn resolve(self, size: u64) -> Resolved {
        match self {
            Spec::Int { first, last } => {
                // §14.1.2: satisfiable iff first-pos < length. A saturated
                // `first` stood for something >= u64::MAX >= size, so the
                // answer is still right.
                if first >= size {
                    return Resolved::Unsatisfiable;
                }
                let max_end = size - 1; // size > first >= 0
                                        // §14.1.2: a last-pos at or past the end (or absent) means
                                        // "the remainder of the representation".
                let end = last.map_or(max_end, |l| l.min(max_end));
                Resolved::Range(ByteRange { start: first, end })
            }
            // §14.1.2: a zero suffix-length is never satisfiable.
            Spec::Suffix(0) => Resolved::Unsatisfiable,
            Spec::Suffix(_) if size == 0 => Resolved::EmptySuffixSatisfiable,
            Spec::Suffix(n) => {
                // §14.1.2: a suffix longer than the representation selects
                // the entire representation.
                let start = size - n.min(size);
                Resolved::Range(ByteRange { start, end: size - 1 })
            }
        }
    }
}

/// Text pieces and file regions of a multipart/byteranges body (RFC 9110
/// §14.6), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartPiece {
    /// Boundary lines and part headers, sent as-is.
    Text(Vec<u8>),
    /// Bytes to copy from the file (e.g. with `sendfile`).
    FileRange(ByteRange),
}

/// Build the body: for each range `--BOUNDARY\r\nContent-Type: CT\r\n
/// Content-Range: bytes a-b/SIZE\r\n\r\n` + bytes + `\r\n`, closed by
/// `--BOUNDARY--\r\n`. Returns the pieces and the exact total length.
///
/// The CRLF ending one part is merged into the next text piece, so there are
/// exactly `2 * ranges.len() + 1` pieces. An empty `content_type` omits the
/// Content-Type line (§14.6 only asks for it when the representation has
/// one). The caller picks a `boundary` that cannot occur in the file
/// (RFC 2046 §5.1.1: 1–70 characters from its `bchars` set) and, per
/// §15.3.7.2, must not use multipart at all when only one range is sent.
pub fn multipart_pieces(
    ranges: &[ByteRange],
    size: u64,
    content_type: &str,
    boundary: &str,
) -> (Vec<MultipartPiece>, u64) {
    let mut pieces = Vec::with_capacity(ranges.len().saturating_mul(2).saturating_add(1));
    let mut total: u64 = 0;
    let mut text = Vec::new();
    for r in ranges {
        text.extend_from_slice(b"--");
        text.extend_from_slice(boundary.as_bytes());
        text.extend_from_slice(b"\r\n");
        if !content_type.is_empty() {
            text.extend_from_slice(b"Content-Type: ");
            text.extend_from_slice(content_type.as_bytes());
            text.extend_from_slice(b"\r\n");
        }
        text.extend_from_slice(b"Content-Range: ");
        push_content_range(&mut text, *r, size);
        text.extend_from_slice(b"\r\n\r\n");
        total = total.saturating_add(len_u64(&text));
        pieces.push(MultipartPiece::Text(std::mem::take(&mut text)));
        total = total.saturating_add(r.len());
        pieces.push(MultipartPiece::FileRange(*r));
        // RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the
        // delimiter, not to the part's bytes.
        text.extend_from_slice(b"\r\n");
    }
    text.extend_from_slice(b"--");
    text.extend_from_slice(boundary.as_bytes());
    text.extend_from_slice(b"--\r\n");
    total = total.saturating_add(len_u64(&text));
    pieces.push(MultipartPiece::Text(text));
    (pieces, total)
}

/// `Content-Range` value for one range: `bytes a-b/SIZE` (§14.4).
pub fn content_range(r: ByteRange, size: u64) -> String {
    format!("bytes {}-{}/{}", r.start, r.end, size)
}

fn push_content_range(buf: &mut Vec<u8>, r: ByteRange, size: u64) {
    buf.extend_from_slice(b"bytes ");
    append_decimal(buf, r.start);
    buf.push(b'-');
    append_decimal(buf, r.end);
    buf.push(b'/');
    append_decimal(buf, size);
}

fn len_u64(v: &[u8]) -> u64 {
    u64::try_from(v.len()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn br(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    fn partial(v: &[(u64, u64)]) -> RangeRequest {
        RangeRequest::Partial(v.iter().map(|&(s, e)| br(s, e)).collect())
    }

    use RangeRequest::{Full, Unsatisfiable};

    // ---- ByteRange ---------------------------------------------------------

    #[test]
    fn byte_range_len() {
        assert_eq!(br(0, 0).len(), 1);
        assert_eq!(br(0, 99).len(), 100);
        assert_eq!(br(5, 4).len(), 0);
        assert_eq!(br(0, u64::MAX).len(), u64::MAX);
        assert_eq!(br(u64::MAX, u64::MAX).len(), 1);
    }

    // ---- basic forms -------------------------------------------------------

    #[test]
    fn first_last() {
        assert_eq!(parse_range("bytes=0-99", 1000), partial(&[(0, 99)]));
        assert_eq!(parse_range("bytes=5-5", 1000), partial(&[(5, 5)]));
        assert_eq!(parse_range("bytes=0-0", 1), partial(&[(0, 0)]));
    }

    #[test]
    fn suffix() {
        assert_eq!(parse_range("bytes=-500", 1000), partial(&[(500, 999)]));
        assert_eq!(parse_range("bytes=-1", 1000), partial(&[(999, 999)]));
    }

    #[test]
    fn suffix_longer_than_file_is_whole_file() {
        assert_eq!(parse_range("bytes=-500", 100), partial(&[(0, 99)]));
        assert_eq!(parse_range("bytes=-100", 100), partial(&[(0, 99)]));
    }

    #[test]
    fn open_ended() {
        assert_eq!(parse_range("bytes=100-", 1000), partial(&[(100, 999)]));
        assert_eq!(parse_range("bytes=0-", 1000), partial(&[(0, 999)]));
        assert_eq!(parse_range("bytes=999-", 1000), partial(&[(999, 999)]));
    }

    #[test]
    fn end_past_eof_is_clamped() {
        assert_eq!(parse_range("bytes=0-5000", 1000), partial(&[(0, 999)]));
        assert_eq!(parse_range("bytes=990-1000", 1000), partial(&[(990, 999)]));
    }

    #[test]
    fn leading_zeros_are_fine() {
        assert_eq!(parse_range("bytes=007-0010", 100), partial(&[(7, 10)]));
        assert_eq!(parse_range("bytes=-0005", 100), partial(&[(95, 99)]));
    }

    // ---- unsatisfiable -----------------------------------------------------

    #[test]
    fn zero_suffix_is_unsatisfiable() {
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-000", 1000), Unsatisfiable);
    }

    #[test]
    fn first_at_or_past_eof_is_unsatisfiable() {
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=1000-2000", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=5000-5000", 1000), Unsatisfiable);
    }

    #[test]
    fn unsatisfiable_specs_are_dropped_when_others_are_satisfiable() {
        assert_eq!(parse_range("bytes=2000-3000,0-9,-0", 1000), partial(&[(0, 9)]));
        assert_eq!(parse_range("bytes=-0,5000-,-0", 1000), Unsatisfiable);
    }

    #[test]
    fn size_zero() {
        assert_eq!(parse_range("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-10,0-", 0), Unsatisfiable);
        // Malformed is still malformed.
        assert_eq!(parse_range("bytes=abc", 0), Full);
        assert_eq!(parse_range("bytes=5-4", 0), Full);
    }

    #[test]
    fn size_zero_nonzero_suffix_is_satisfiable_so_not_416() {
        // §14.1.2: the only satisfiable form on an empty representation; it
        // selects nothing, so the answer is a plain 200.
        assert_eq!(parse_range("bytes=-5", 0), Full);
        assert_eq!(parse_range("bytes=0-,-1", 0), Full);
    }

    // ---- malformed → Full --------------------------------------------------

    #[test]
    fn malformed_specs_make_the_field_ignored() {
        for v in [
            "bytes=5-4",
            "bytes=abc",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=0-1,5-4",
            "bytes=0-1,abc",
            "bytes= 0 - 1",
            "bytes=0 -1",
            "bytes=+1-2",
            "bytes=1--2",
            "bytes=--1",
            "bytes=-1-",
            "bytes=0x10-20",
            "bytes=1.5-2",
            "bytes=\u{661}-2",
            "bytes=1-\u{662}",
            "bytes=*",
        ] {
            assert_eq!(parse_range(v, 1000), Full, "{v:?}");
        }
    }

    #[test]
    fn empty_or_missing_set_is_full() {
        for v in ["", "bytes", "bytes=", "bytes=,", "bytes= , ,\t", "="] {
            assert_eq!(parse_range(v, 1000), Full, "{v:?}");
        }
    }

    #[test]
    fn other_units_are_ignored() {
        assert_eq!(parse_range("items=0-1", 1000), Full);
        assert_eq!(parse_range("byte=0-1", 1000), Full);
        assert_eq!(parse_range("bytes =0-1", 1000), Full);
        assert_eq!(parse_range("none", 1000), Full);
    }

    #[test]
    fn unit_is_case_insensitive() {
        assert_eq!(parse_range("BYTES=0-1", 1000), partial(&[(0, 1)]));
        assert_eq!(parse_range("Bytes=0-1", 1000), partial(&[(0, 1)]));
    }

    // ---- list syntax -------------------------------------------------------

    #[test]
    fn empty_elements_and_ows_are_tolerated() {
        assert_eq!(parse_range("bytes=0-1,", 1000), partial(&[(0, 1)]));
        assert_eq!(parse_range("bytes=,0-1", 1000), partial(&[(0, 1)]));
        assert_eq!(parse_range("bytes=0-1 ,\t, 10-11 ", 1000), partial(&[(0, 1), (10, 11)]));
        assert_eq!(parse_range("  bytes=0-1\t", 1000), partial(&[(0, 1)]));
    }

    // ---- sorting and coalescing --------------------------------------------

    #[test]
    fn ranges_are_sorted() {
        assert_eq!(parse_range("bytes=500-599,0-99", 1000), partial(&[(0, 99), (500, 599)]));
        assert_eq!(parse_range("bytes=-100,0-9", 1000), partial(&[(0, 9), (900, 999)]));
    }

    #[test]
    fn overlapping_ranges_coalesce() {
        assert_eq!(parse_range("bytes=0-49,40-99", 1000), partial(&[(0, 99)]));
        assert_eq!(parse_range("bytes=10-20,0-5,18-30", 1000), partial(&[(0, 5), (10, 30)]));
    }

    #[test]
    fn adjacent_ranges_coalesce() {
        assert_eq!(parse_range("bytes=0-9,10-19", 1000), partial(&[(0, 19)]));
        assert_eq!(parse_range("bytes=0-9,11-19", 1000), partial(&[(0, 9), (11, 19)]));
    }

    #[test]
    fn contained_range_coalesces() {
        assert_eq!(parse_range("bytes=0-99,10-20", 1000), partial(&[(0, 99)]));
    }

    #[test]
    fn coalesce_at_end_of_file() {
        assert_eq!(parse_range("bytes=-10,980-989", 1000), partial(&[(980, 999)]));
    }

    // ---- amplification guard -----------------------------------------------

    #[test]
    fn two_hundred_overlapping_ranges_are_refused() {
        // The CVE-2011-3192 shape: "0-,5-0,5-1,5-2,...".
        let mut v = String::from("bytes=0-");
        for i in 0..199 {
            v.push_str(&format!(",5-{}", i + 5));
        }
        assert_eq!(parse_range(&v, 1 << 40), Full);
        let mut v = String::from("bytes=0-");
        for i in 0..199 {
            v.push_str(&format!(",5-{i}"));
        }
        assert_eq!(parse_range(&v, 1 << 40), Full);
    }

    #[test]
    fn spec_count_limit_is_exact() {
        let ranges = |n: usize| {
            let specs: Vec<String> = (0..n).map(|i| format!("{}-{}", i * 10, i * 10)).collect();
            format!("bytes={}", specs.join(","))
        };
        match parse_range(&ranges(MAX_RANGES), 1_000_000) {
            RangeRequest::Partial(v) => assert_eq!(v.len(), MAX_RANGES),
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_range(&ranges(MAX_RANGES + 1), 1_000_000), Full);
    }

    #[test]
    fn empty_elements_do_not_count_towards_the_limit() {
        let v = format!("bytes={}0-0", ",".repeat(1000));
        assert_eq!(parse_range(&v, 10), partial(&[(0, 0)]));
    }

    #[test]
    fn unsatisfiable_specs_count_towards_the_limit() {
        let mut v = String::from("bytes=0-0");
        for _ in 0..MAX_RANGES {
            v.push_str(",-0");
        }
        assert_eq!(parse_range(&v, 10), Full);
    }

    #[test]
    fn requested_bytes_beyond_size_are_refused() {
        // Each range alone is fine; together they ask for 2x the file.
        assert_eq!(parse_range("bytes=0-,0-", 1000), Full);
        assert_eq!(parse_range("bytes=0-599,400-999", 1000), Full);
        assert_eq!(parse_range("bytes=-600,-600", 1000), Full);
        // Exactly the size is still fine.
        assert_eq!(parse_range("bytes=0-499,500-999", 1000), partial(&[(0, 999)]));
    }

    #[test]
    fn many_tiny_ranges_summing_past_size_are_refused() {
        // 20 one-byte ranges on a 10-byte file.
        let specs: Vec<String> = (0..20).map(|i| format!("{0}-{0}", i % 10)).collect();
        let v = format!("bytes={}", specs.join(","));
        assert_eq!(parse_range(&v, 10), Full);
        // 10 distinct one-byte ranges on the same file: exactly the size.
        let specs: Vec<String> = (0..10).map(|i| format!("{i}-{i}")).collect();
        let v = format!("bytes={}", specs.join(","));
        assert_eq!(parse_range(&v, 10), partial(&[(0, 9)]));
    }

    #[test]
    fn single_range_is_never_refused_by_the_guard() {
        assert_eq!(parse_range("bytes=0-", 1), partial(&[(0, 0)]));
        assert_eq!(parse_range("bytes=-99999", 7), partial(&[(0, 6)]));
        assert_eq!(parse_range("bytes=0-18446744073709551615", u64::MAX), partial(&[(0, u64::MAX - 1)]));
        assert_eq!(parse_range("bytes=-18446744073709551615", u64::MAX), partial(&[(0, u64::MAX - 1)]));
    }

    // ---- overflow ----------------------------------------------------------

    #[test]
    fn huge_numbers_do_not_overflow() {
        assert_eq!(
            parse_range("bytes=-17208,-9223372036854758792", 1000),
            Full // both are whole-file suffixes: 2000 bytes requested
        );
        assert_eq!(parse_range("bytes=-17208,-9223372036854758792", 100_000), Full);
        assert_eq!(parse_range("bytes=-9223372036854758792", 1000), partial(&[(0, 999)]));
        assert_eq!(parse_range("bytes=18446744073709551615-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=18446744073709551615-", u64::MAX), Unsatisfiable);
        assert_eq!(parse_range("bytes=99999999999999999999-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=99999999999999999999-", u64::MAX), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-99999999999999999999999999", 1000), partial(&[(0, 999)]));
        assert_eq!(parse_range("bytes=-99999999999999999999999999", 1000), partial(&[(0, 999)]));
        assert_eq!(
            parse_range("bytes=18446744073709551614-18446744073709551615", u64::MAX),
            partial(&[(u64::MAX - 1, u64::MAX - 1)])
        );
    }

    #[test]
    fn huge_numbers_keep_their_exact_order() {
        // Both saturate to u64::MAX, but last < first: malformed.
        assert_eq!(parse_range("bytes=99999999999999999999-99999999999999999998", 1000), Full);
        assert_eq!(parse_range("bytes=100000000000000000000-99999999999999999999", 1000), Full);
        assert_eq!(parse_range("bytes=99999999999999999998-99999999999999999999", 1000), Unsatisfiable);
        // Leading zeros do not make a number bigger.
        assert_eq!(parse_range("bytes=10-0009", 1000), Full);
        assert_eq!(parse_range("bytes=0010-10", 1000), partial(&[(10, 10)]));
    }

    // ---- Content-Range and multipart --------------------------------------

    #[test]
    fn content_range_format() {
        assert_eq!(content_range(br(0, 99), 1000), "bytes 0-99/1000");
        assert_eq!(content_range(br(0, u64::MAX - 1), u64::MAX), "bytes 0-18446744073709551614/18446744073709551615");
    }

    fn flatten(pieces: &[MultipartPiece], file: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            match p {
                MultipartPiece::Text(t) => out.extend_from_slice(t),
                MultipartPiece::FileRange(r) => {
                    let (s, e) = (r.start as usize, r.end as usize);
                    out.extend_from_slice(&file[s..=e]);
                }
            }
        }
        out
    }

    fn piece_len(pieces: &[MultipartPiece]) -> u64 {
        pieces
            .iter()
            .map(|p| match p {
                MultipartPiece::Text(t) => t.len() as u64,
                MultipartPiece::FileRange(r) => r.len(),
            })
            .sum()
    }

    #[test]
    fn multipart_layout_is_exact() {
        let file = b"0123456789abcdefghij";
        let ranges = [br(0, 2), br(10, 11)];
        let (pieces, total) = multipart_pieces(&ranges, 20, "text/plain", "XYZ");
        assert_eq!(pieces.len(), 5);
        let body = flatten(&pieces, file);
        let expected = "--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/20\r\n\r\n012\r\n\
                        --XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-11/20\r\n\r\nab\r\n\
                        --XYZ--\r\n";
        assert_eq!(String::from_utf8(body.clone()).ok().as_deref(), Some(expected));
        assert_eq!(total, body.len() as u64);
        assert_eq!(total, piece_len(&pieces));
    }

    #[test]
    fn multipart_pieces_alternate_text_and_file() {
        let ranges = [br(0, 0), br(2, 3), br(5, 9)];
        let (pieces, _) = multipart_pieces(&ranges, 10, "a/b", "b");
        for (i, p) in pieces.iter().enumerate() {
            match p {
                MultipartPiece::Text(_) => assert_eq!(i % 2, 0),
                MultipartPiece::FileRange(r) => {
                    assert_eq!(i % 2, 1);
                    assert_eq!(*r, ranges[i / 2]);
                }
            }
        }
        assert_eq!(pieces.len(), 7);
    }

    #[test]
    fn multipart_without_content_type() {
        let (pieces, total) = multipart_pieces(&[br(1, 1), br(3, 3)], 5, "", "B");
        let body = flatten(&pieces, b"abcde");
        assert_eq!(
            body,
            b"--B\r\nContent-Range: bytes 1-1/5\r\n\r\nb\r\n--B\r\nContent-Range: bytes 3-3/5\r\n\r\nd\r\n--B--\r\n"
        );
        assert_eq!(total, body.len() as u64);
    }

    #[test]
    fn multipart_with_huge_ranges_does_not_overflow() {
        let ranges = [br(0, u64::MAX - 2), br(u64::MAX - 1, u64::MAX - 1)];
        let (pieces, total) = multipart_pieces(&ranges, u64::MAX, "x/y", "b");
        assert_eq!(pieces.len(), 5);
        assert_eq!(total, u64::MAX); // saturated
    }

    #[test]
    fn multipart_with_no_ranges_is_just_the_close_delimiter() {
        let (pieces, total) = multipart_pieces(&[], 10, "x/y", "b");
        assert_eq!(pieces, vec![MultipartPiece::Text(b"--b--\r\n".to_vec())]);
        assert_eq!(total, 7);
    }

    // ---- property tests ----------------------------------------------------

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn check_invariants(req: &RangeRequest, size: u64) -> Result<(), TestCaseError> {
            if let RangeRequest::Partial(v) = req {
                prop_assert!(!v.is_empty());
                prop_assert!(v.len() <= MAX_RANGES);
                for r in v {
                    prop_assert!(r.start <= r.end);
                    prop_assert!(r.end < size);
                }
                for w in v.windows(2) {
                    // Sorted, and neither overlapping nor adjacent.
                    prop_assert!(w[0].end.saturating_add(1) < w[1].start);
                }
                let total: u64 = v.iter().map(ByteRange::len).sum();
                prop_assert!(total <= size);
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn parse_range_never_panics_on_anything(s in "\\PC{0,64}", size in any::<u64>()) {
                let req = parse_range(&s, size);
                check_invariants(&req, size)?;
            }

            #[test]
            fn parse_range_respects_bounds(
                s in "(?i:bytes)=[0-9, \t-]{0,48}",
                size in prop_oneof![0u64..64, any::<u64>()],
            ) {
                let req = parse_range(&s, size);
                check_invariants(&req, size)?;
            }

            #[test]
            fn parse_range_with_big_numbers(
                specs in proptest::collection::vec(
                    prop_oneof![
                        (any::<u64>(), proptest::option::of(any::<u64>()))
                            .prop_map(|(a, b)| match b { Some(b) => format!("{a}-{b}"), None => format!("{a}-") }),
                        any::<u64>().prop_map(|n| format!("-{n}")),
                        "[0-9]{18,30}-[0-9]{0,30}",
                    ],
                    1..8,
                ),
                size in any::<u64>(),
            ) {
                let req = parse_range(&format!("bytes={}", specs.join(",")), size);
                check_invariants(&req, size)?;
            }

            #[test]
            fn single_valid_range_is_never_full(size in 1u64..10_000, a in 0u64..20_000, len in 0u64..20_000) {
                let req = parse_range(&format!("bytes={}-{}", a, a + len), size);
                if a < size {
                    let expected = ByteRange { start: a, end: (a + len).min(size - 1) };
                    prop_assert_eq!(req, RangeRequest::Partial(vec![expected]));
                } else {
                    prop_assert_eq!(req, RangeRequest::Unsatisfiable);
                }
            }

            #[test]
            fn multipart_total_is_sum_of_pieces(
                size in 1u64..1_000_000,
                cuts in proptest::collection::vec(any::<u64>(), 0..10),
                ct in "[a-z/+.-]{0,20}",
                boundary in "[A-Za-z0-9]{1,70}",
            ) {
                let mut points: Vec<u64> = cuts.iter().map(|c| c % size).collect();
                points.sort_unstable();
                points.dedup();
                let ranges: Vec<ByteRange> = points
                    .chunks(2)
                    .map(|c| ByteRange { start: c[0], end: *c.last().unwrap_or(&c[0]) })
                    .collect();
                let (pieces, total) = multipart_pieces(&ranges, size, &ct, &boundary);
                prop_assert_eq!(pieces.len(), 2 * ranges.len() + 1);
                prop_assert_eq!(total, piece_len(&pieces));
            }
        }
    }
}
