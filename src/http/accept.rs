//! `Accept` (RFC 9110 §12.5.1): the two questions rawserve asks of it, on one parser that
//! borrows from the field value and never allocates.
//!
//! - Does a client ask for HTML (`--spa`)? A browser's navigation — a typed URL, a link, a
//!   reload — names `text/html` in `Accept` (Chromium, Firefox and Safari all send
//!   `text/html,application/xhtml+xml,…,*/*;q=0.8`), while `fetch()`, `XMLHttpRequest`, curl
//!   and wget send `*/*` or nothing. So only an explicit `text/html` counts: `*/*` alone,
//!   `text/*`, or no `Accept` at all do not. A script's request for a missing `/api/users`
//!   then gets its 404, not the app's HTML with a 200 (the "Unexpected token <" of a JSON
//!   parser fed an index page).
//! - Does it prefer JSON to HTML (a listing's two representations)?

use crate::http::accept_encoding::parse_qvalue;
use crate::http::syntax::{is_token, trim_ows};

/// True when `accept` lists `text/html` (type and subtype are case-insensitive, §8.3.1)
/// with a weight above 0 and never with weight 0. Malformed elements are skipped (§5.6.1.2).
pub fn asks_for_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let mut wanted = false;
    for element in accept.split(',').map(trim_ows).filter(|e| !e.is_empty()) {
        let Some((kind, subtype, q)) = parse_range(element) else { continue };
        if kind.eq_ignore_ascii_case("text") && subtype.eq_ignore_ascii_case("html") {
            if q == 0 {
                return false;
            }
            wanted = true;
        }
    }
    wanted
}

/// True when the client prefers `application/json` to `text/html`: its weight is higher.
/// Each type takes the weight of the most specific range that matches it (`type/subtype`
/// over `type/*` over `*/*`, §12.5.1); an unmatched type weighs 0. A tie, no `Accept`, or
/// neither acceptable gives HTML, the default: a server may send it anyway (§12.5.1 allows
/// ignoring the field rather than answering 406), and a browser sends `text/html` first.
/// So `Accept: application/json` gets JSON, and a browser's `text/html,…,*/*;q=0.8` and
/// curl's `*/*` get the page. Malformed elements are skipped.
pub fn prefers_json(accept: Option<&str>) -> bool {
    let Some(field) = accept else {
        return false;
    };
    let (mut html, mut json) = (Match::NONE, Match::NONE);
    for element in field.split(',').map(trim_ows).filter(|e| !e.is_empty()) {
        let Some((kind, subtype, q)) = parse_range(element) else {
            continue;
        };
        html = html.better(Match::of(kind, subtype, "text", "html", q));
        json = json.better(Match::of(kind, subtype, "application", "json", q));
    }
    json.q > html.q
}

/// How specifically a media range matched (0 = not at all, 1 = `*/*`, 2 = `type/*`,
/// 3 = `type/subtype`) and its weight in thousandths.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Match {
    specificity: u8,
    q: u16,
}

impl Match {
    const NONE: Match = Match { specificity: 0, q: 0 };

    fn of(kind: &str, subtype: &str, want_kind: &str, want_subtype: &str, q: u16) -> Match {
        let specificity = match (kind, subtype) {
            ("*", "*") => 1,
            (k, "*") if k.eq_ignore_ascii_case(want_kind) => 2,
            (k, s) if k.eq_ignore_ascii_case(want_kind) && s.eq_ignore_ascii_case(want_subtype) => 3,
            _ => return Match::NONE,
        };
        Match { specificity, q }
    }

    /// The more specific match wins; of two equally specific ones (a type listed twice),
    /// the lower weight, as `accept_encoding` does: sending what a client may not handle
    /// breaks it, the other choice only costs it a format it likes less.
    fn better(self, other: Match) -> Match {
        let wins = other.specificity > self.specificity
            || (other.specificity == self.specificity && other.specificity > 0 && other.q < self.q);
        if wins {
            other
        } else {
            self
        }
    }
}

/// `media-range [ weight ]` (§12.5.1): `type "/" subtype *( OWS ";" OWS parameter )`. Media
/// type parameters other than `q` (`charset=utf-8`, `level=1`) are accepted and not used.
fn parse_range(element: &str) -> Option<(&str, &str, u16)> {
    let mut parts = element.split(';');
    let (kind, subtype) = trim_ows(parts.next()?).split_once('/')?;
    if !is_token(kind) || !is_token(subtype) || (kind == "*" && subtype != "*") {
        return None;
    }
    let mut q = None;
    for parameter in parts {
        let (name, value) = trim_ows(parameter).split_once('=')?;
        if !is_token(name) {
            return None;
        }
        if name.eq_ignore_ascii_case("q") {
            if q.is_some() {
                return None;
            }
            q = Some(parse_qvalue(value)?);
        }
    }
    Some((kind, subtype, q.unwrap_or(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_only_when_preferred() {
        for accept in [
            "application/json",
            "Application/JSON",
            "application/json, text/html;q=0.9",
            "application/*",
            "application/json;charset=utf-8",
            "text/html;q=0, */*",
            "text/*;q=0.5, application/json;q=0.6",
            "  application/json  ;  q=1 ",
            ",,application/json,",
        ] {
            assert!(prefers_json(Some(accept)), "{accept:?}");
        }
        for accept in [
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
            "*/*",
            "",
            "text/html",
            "application/json, text/html",
            "application/json;q=0.5, text/*",
            "application/json;q=0",
            "image/png",
            "application/json;q=2",
            "application/json;q=0.5;q=1",
            "application/json;q",
            "*/json",
            "application/json, application/json;q=0",
            "text/plain, application/json;q=0.1, */*;q=0.9",
        ] {
            assert!(!prefers_json(Some(accept)), "{accept:?}");
        }
        assert!(!prefers_json(None));
        // The more specific range decides, wherever it is listed.
        assert!(prefers_json(Some("*/*;q=0.1, application/json")));
        assert!(!prefers_json(Some("application/*;q=0.9, application/json;q=0.1, text/html;q=0.2")));
    }

    #[test]
    fn navigations_ask_for_html() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
                        image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        for accept in [chromium, firefox, "TEXT/HTML", "text/html;level=1", " text/html ; q=0.5", "a/b, text/html"] {
            assert!(asks_for_html(Some(accept)), "{accept}");
        }
    }

    #[test]
    fn scripts_and_tools_do_not() {
        for accept in
            ["*/*", "", "application/json", "text/*", "text/plain", "text/htmlx", "text/html;q=0", "text/html;q=0.000"]
        {
            assert!(!asks_for_html(Some(accept)), "{accept}");
        }
        assert!(!asks_for_html(None), "no Accept: any type, as */*");
        assert!(!asks_for_html(Some("text/html, text/html;q=0")), "refused once is refused");
        assert!(!asks_for_html(Some("text/html;q=2")), "malformed weight: skipped");
        assert!(!asks_for_html(Some("text/html;q")), "malformed parameter: skipped");
        assert!(asks_for_html(Some("text/html;q=oops, text/html;q=0.1")));
    }
}
