//! `Accept` (RFC 9110 §12.5.1), as far as `--spa` needs it: does the client ask for HTML?
//!
//! A browser's navigation — a typed URL, a link, a reload — names `text/html` in `Accept`
//! (Chromium, Firefox and Safari all send `text/html,application/xhtml+xml,…,*/*;q=0.8`),
//! while `fetch()`, `XMLHttpRequest`, curl and wget send `*/*` or nothing. So only an
//! explicit `text/html` counts: `*/*` alone, `text/*`, or no `Accept` at all do not. A
//! script's request for a missing `/api/users` then gets its 404, not the app's HTML with a
//! 200 (the "Unexpected token <" of a JSON parser fed an index page).

use crate::http::accept_encoding::parse_qvalue;
use crate::http::syntax::{is_token, trim_ows};

/// True when `accept` lists `text/html` (type and subtype are case-insensitive, §8.3.1)
/// with a weight above 0 and never with weight 0. Malformed elements are skipped (§5.6.1.2).
pub fn asks_for_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let mut wanted = false;
    for element in accept.split(',').map(trim_ows).filter(|e| !e.is_empty()) {
        let mut parts = element.split(';');
        let range = trim_ows(parts.next().unwrap_or_default());
        let Some((kind, subtype)) = range.split_once('/') else { continue };
        if !is_token(kind) || !is_token(subtype) {
            continue;
        }
        if !kind.eq_ignore_ascii_case("text") || !subtype.eq_ignore_ascii_case("html") {
            continue;
        }
        match weight(parts) {
            Some(0) => return false,
            Some(_) => wanted = true,
            None => {}
        }
    }
    wanted
}

/// The `q` of a media range's parameters in thousandths (1000 without one), `None` when a
/// parameter is malformed. Parameters before `q` belong to the media type (`level=1`).
fn weight<'a>(parameters: impl Iterator<Item = &'a str>) -> Option<u16> {
    for parameter in parameters {
        let (name, value) = trim_ows(parameter).split_once('=')?;
        if !is_token(name) {
            return None;
        }
        if name.eq_ignore_ascii_case("q") {
            return parse_qvalue(value);
        }
    }
    Some(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

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
