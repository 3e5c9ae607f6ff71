//! Content negotiation on `Accept-Encoding` (RFC 9110 §12.5.3) for
//! precompressed sibling files (`index.html.br`, `index.html.gz`).
//!
//! Parsing borrows from the field value and never allocates.

use crate::http::syntax::{is_token, trim_ows};
/// A content coding we may have a precompressed file for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    /// The `content-coding` token for `Content-Encoding` (§8.4.1).
    pub fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// Suffix of the precompressed sibling file.
    pub fn file_suffix(self) -> &'static str {
        match self {
            Coding::Brotli => ".br",
            Coding::Gzip => ".gz",
        }
    }
}

/// Choose a precompressed sibling to serve: highest q wins among the
/// available codings; ties prefer br. `q=0` excludes; `*` covers codings not
/// listed explicitly; `x-gzip` is an alias of gzip; identity is not our
/// concern here (the uncompressed file is the fallback, None). Absent header
/// → None (RFC: any coding is acceptable, but we only send compressed when
/// asked). Malformed q values make that element ignored.
///
/// If a coding is listed more than once, its lowest weight counts: sending a
/// coding the client may be unable to decode breaks the response, whereas
/// not compressing only costs bandwidth.
pub fn choose_coding(accept_encoding: Option<&str>, have_br: bool, have_gzip: bool) -> Option<Coding> {
    let field = accept_encoding?;
    if !have_br && !have_gzip {
        return None;
    }
    // Weights in thousandths (§12.4.2 allows at most three decimals), so
    // comparisons are exact integer ones.
    let mut br: Option<u16> = None;
    let mut gzip: Option<u16> = None;
    let mut star: Option<u16> = None;

    // §5.6.1.2: tolerate empty list elements and OWS around commas. §12.5.3:
    // an empty field value means "no coding wanted", which falls out
    // naturally: nothing is listed, so nothing is chosen.
    for element in field.split(',').map(trim_ows).filter(|e| !e.is_empty()) {
        let Some((coding, q)) = parse_element(element) else {
            continue;
        };
        // §8.4.1: content-coding tokens are case-insensitive, and §8.4.1.3
        // says x-gzip SHOULD be treated as gzip.
        let slot = if coding.eq_ignore_ascii_case("br") {
            &mut br
        } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding == "*" {
            &mut star
        } else {
            // identity and codings we have no file for.
            continue;
        };
        *slot = Some(slot.map_or(q, |old| old.min(q)));
    }

    // §12.5.3: "*" matches any coding not explicitly listed, so an explicit
    // entry (even q=0) always overrides it; unlisted without "*" means not
    // acceptable.
    let weight = |have: bool, explicit: Option<u16>| {
        if have {
            explicit.or(star).unwrap_or(0)
        } else {
            0
        }
    };
    let q_br = weight(have_br, br);
    let q_gzip = weight(have_gzip, gzip);
    // §12.4.2: q=0 means "not acceptable".
    if q_br == 0 && q_gzip == 0 {
        None
    } else if q_br >= q_gzip {
        // Ties go to br: it is smaller for the same content.
        Some(Coding::Brotli)
    } else {
        Some(Coding::Gzip)
    }
}

/// `codings [ weight ]` (§12.5.3), `weight = OWS ";" OWS "q=" qvalue`
/// (§12.4.2). Returns the coding and its weight in thousandths, or `None` if
/// the element is malformed and must be skipped.
fn parse_element(element: &str) -> Option<(&str, u16)> {
    let mut parts = element.split(';');
    let coding = trim_ows(parts.next()?);
    if !is_token(coding) {
        return None;
    }
    let mut q: Option<u16> = None;
    for param in parts {
        // A parameter with no `=` (including a bare trailing `;`) does not
        // fit the grammar at all.
        let (name, value) = trim_ows(param).split_once('=')?;
        // §5.6.6: `parameter-name = token`, with no whitespace before "=".
        if !is_token(name) {
            return None;
        }
        // §12.4.2: the "q" parameter name is case-insensitive. Other
        // parameters are not defined for Accept-Encoding; skipping them is
        // the liberal reading §5.6.1.2 encourages.
        if name.eq_ignore_ascii_case("q") {
            // Two weights would be ambiguous; treat as malformed.
            if q.is_some() {
                return None;
            }
            q = Some(parse_qvalue(value)?);
        }
    }
    // §12.4.2: no weight means q=1.
    Some((coding, q.unwrap_or(1000)))
}

/// §12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`,
/// as thousandths. Anything else (`1.5`, `.5`, `0.1234`, ` 0.5`) is invalid.
pub(crate) fn parse_qvalue(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    let (&int, rest) = b.split_first()?;
    let frac = match rest.split_first() {
        None => &[][..],
        Some((&b'.', frac)) if frac.len() <= 3 => frac,
        Some(_) => return None,
    };
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match int {
        b'1' if frac.iter().all(|&d| d == b'0') => Some(1000),
        b'0' => {
            let mut thousandths = 0u16;
            for i in 0..3 {
                let digit = frac.get(i).map_or(0, |&d| u16::from(d - b'0'));
                thousandths = thousandths * 10 + digit;
            }
            Some(thousandths)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::{Brotli, Gzip};

    fn both(h: &str) -> Option<Coding> {
        choose_coding(Some(h), true, true)
    }

    #[test]
    fn tokens_and_suffixes() {
        assert_eq!(Brotli.token(), "br");
        assert_eq!(Gzip.token(), "gzip");
        assert_eq!(Brotli.file_suffix(), ".br");
        assert_eq!(Gzip.file_suffix(), ".gz");
    }

    #[test]
    fn absent_header_means_uncompressed() {
        assert_eq!(choose_coding(None, true, true), None);
    }

    #[test]
    fn empty_header_means_no_coding() {
        assert_eq!(both(""), None);
        assert_eq!(both(" , ,"), None);
    }

    #[test]
    fn nothing_available() {
        assert_eq!(choose_coding(Some("br, gzip, *"), false, false), None);
    }

    #[test]
    fn browser_style_header_prefers_br() {
        assert_eq!(both("gzip, deflate, br"), Some(Brotli));
        assert_eq!(both("gzip, deflate, br, zstd"), Some(Brotli));
        assert_eq!(choose_coding(Some("gzip, deflate, br"), false, true), Some(Gzip));
        assert_eq!(choose_coding(Some("gzip, deflate, br"), true, false), Some(Brotli));
    }

    #[test]
    fn only_listed_codings() {
        assert_eq!(both("gzip"), Some(Gzip));
        assert_eq!(both("br"), Some(Brotli));
        assert_eq!(both("deflate"), None);
        assert_eq!(choose_coding(Some("br"), false, true), None);
        assert_eq!(choose_coding(Some("gzip"), true, false), None);
    }

    #[test]
    fn highest_q_wins() {
        assert_eq!(both("br;q=0.5, gzip;q=0.8"), Some(Gzip));
        assert_eq!(both("br;q=0.9, gzip;q=0.8"), Some(Brotli));
        assert_eq!(both("br;q=0.001, gzip;q=0.002"), Some(Gzip));
    }

    #[test]
    fn ties_prefer_br() {
        assert_eq!(both("gzip;q=0.5, br;q=0.5"), Some(Brotli));
        assert_eq!(both("gzip;q=1, br;q=1.000"), Some(Brotli));
        assert_eq!(both("gzip;q=0.50, br;q=0.5"), Some(Brotli));
    }

    #[test]
    fn q_zero_excludes() {
        assert_eq!(both("br;q=0, gzip"), Some(Gzip));
        assert_eq!(both("br;q=0.000, gzip;q=0."), None);
        assert_eq!(both("gzip;q=0"), None);
        assert_eq!(choose_coding(Some("br;q=0, gzip"), true, false), None);
    }

    #[test]
    fn star_covers_unlisted_codings() {
        assert_eq!(both("*"), Some(Brotli));
        assert_eq!(choose_coding(Some("*"), false, true), Some(Gzip));
        assert_eq!(both("br;q=0, *"), Some(Gzip));
        assert_eq!(both("gzip, *;q=0.5"), Some(Gzip));
        assert_eq!(both("gzip;q=0.4, *;q=0.5"), Some(Brotli));
        assert_eq!(both("*;q=0"), None);
        assert_eq!(both("*;q=0, gzip"), Some(Gzip));
        // An explicit q=0 is not overridden by a positive "*".
        assert_eq!(both("gzip;q=0, br;q=0, *"), None);
        assert_eq!(choose_coding(Some("gzip;q=0, *"), false, true), None);
    }

    #[test]
    fn x_gzip_is_gzip() {
        assert_eq!(both("x-gzip"), Some(Gzip));
        assert_eq!(both("X-GZIP;q=0.9, br;q=0.5"), Some(Gzip));
        assert_eq!(both("x-gzip;q=0, *"), Some(Brotli));
        assert_eq!(choose_coding(Some("x-gzip;q=0, *"), false, true), None);
    }

    #[test]
    fn codings_are_case_insensitive() {
        assert_eq!(both("GZIP"), Some(Gzip));
        assert_eq!(both("Br"), Some(Brotli));
        assert_eq!(both("gzip;Q=0.5, br;q=0.4"), Some(Gzip));
    }

    #[test]
    fn identity_is_ignored() {
        assert_eq!(both("identity"), None);
        assert_eq!(both("identity;q=0"), None);
        assert_eq!(both("identity;q=0, gzip"), Some(Gzip));
        assert_eq!(both("identity, *;q=0"), None);
    }

    #[test]
    fn ows_is_tolerated() {
        assert_eq!(both("  gzip ;\tq=0.9 ,br ; q=0.1 "), Some(Gzip));
        assert_eq!(both("gzip,,br;q=0.1,"), Some(Gzip));
    }

    #[test]
    fn malformed_q_ignores_the_element() {
        for h in [
            "br;q=1.5, gzip;q=0.1",
            "br;q=.5, gzip;q=0.1",
            "br;q=0.1234, gzip;q=0.1",
            "br;q=2, gzip;q=0.1",
            "br;q=-1, gzip;q=0.1",
            "br;q=, gzip;q=0.1",
            "br;q=1.01, gzip;q=0.1",
            "br;q=0.5x, gzip;q=0.1",
            "br;q = 0.5, gzip;q=0.1",
            "br;q=0.5;q=0.9, gzip;q=0.1",
            "br;q, gzip;q=0.1",
            "br;, gzip;q=0.1",
            "br;q=1e0, gzip;q=0.1",
        ] {
            assert_eq!(both(h), Some(Gzip), "{h:?}");
        }
        // A malformed q=0 must not exclude anything either.
        assert_eq!(both("br;q=0.0000"), None);
        assert_eq!(both("gzip;q=0.0000, *"), Some(Brotli));
        assert_eq!(choose_coding(Some("gzip;q=0.0000, *"), false, true), Some(Gzip));
    }

    #[test]
    fn malformed_tokens_are_ignored() {
        assert_eq!(both("g zip, br;q=0.1"), Some(Brotli));
        assert_eq!(both("\"gzip\""), None);
        assert_eq!(both(";q=1"), None);
        assert_eq!(both("gzip/1, br"), Some(Brotli));
    }

    #[test]
    fn other_parameters_are_skipped() {
        assert_eq!(both("gzip;level=9;q=0.9, br;q=0.5"), Some(Gzip));
    }

    #[test]
    fn duplicate_listing_takes_the_lowest_weight() {
        assert_eq!(both("gzip, gzip;q=0"), None);
        assert_eq!(both("gzip;q=0, x-gzip"), None);
        assert_eq!(both("br;q=0.9, br;q=0.1, gzip;q=0.5"), Some(Gzip));
        assert_eq!(both("*;q=0.9, *;q=0"), None);
    }

    #[test]
    fn qvalue_grammar() {
        assert_eq!(parse_qvalue("0"), Some(0));
        assert_eq!(parse_qvalue("0."), Some(0));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0.123"), Some(123));
        assert_eq!(parse_qvalue("0.999"), Some(999));
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1."), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        for bad in ["", ".", "1.001", "1.0000", "0.1234", "00.5", "01", "0,5", "０.5", "1 "] {
            assert_eq!(parse_qvalue(bad), None, "{bad:?}");
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn choose_coding_never_panics(
                h in proptest::option::of("\\PC{0,64}"),
                have_br in any::<bool>(),
                have_gzip in any::<bool>(),
            ) {
                let c = choose_coding(h.as_deref(), have_br, have_gzip);
                prop_assert!(c != Some(Coding::Brotli) || have_br);
                prop_assert!(c != Some(Coding::Gzip) || have_gzip);
            }

            #[test]
            fn choose_coding_structured(
                h in "((br|gzip|x-gzip|\\*|identity|deflate)(;q=[01](\\.[0-9]{0,4})?)?[ ,\t]{1,3}){0,6}",
                have_br in any::<bool>(),
                have_gzip in any::<bool>(),
            ) {
                let c = choose_coding(Some(&h), have_br, have_gzip);
                prop_assert!(c != Some(Coding::Brotli) || have_br);
                prop_assert!(c != Some(Coding::Gzip) || have_gzip);
            }

            #[test]
            fn qvalue_is_at_most_one(s in "[01]\\.?[0-9]{0,4}") {
                if let Some(q) = parse_qvalue(&s) {
                    prop_assert!(q <= 1000);
                }
            }
        }
    }
}
