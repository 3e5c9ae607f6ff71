//! CORS preflights (Fetch standard §3.2, "CORS protocol"), answered with `--cors`.
//!
//! Before a cross-origin `fetch()` that is not "simple" (a header beyond the CORS-safelisted
//! ones, a method other than GET, HEAD or POST), the browser asks with
//! `OPTIONS` + `Origin` + `Access-Control-Request-Method` (+ `Access-Control-Request-Headers`)
//! whether it may. The answer is the same whatever the target is (`OPTIONS *` included): it
//! says what this server allows and serves nothing, so it reveals nothing about the root.

use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::http::syntax::{is_token, trim_ows};
use crate::http::RequestError;
use crate::limits::CORS_MAX_AGE_SECS;

/// The methods this server serves. A preflight for any other (`PUT`) gets the same 204:
/// the Fetch standard's CORS-preflight fetch has the browser compare the requested method with
/// this list and refuse the request itself, so the page sees a network error and the console
/// says why ("Method PUT is not allowed by Access-Control-Allow-Methods"). A 405 would end the
/// same way, but say less.
pub const ALLOW_METHODS: &str = "GET, HEAD";

/// What a preflight request asked for.
#[derive(Debug, PartialEq, Eq)]
pub struct Preflight<'b> {
    pub method: &'b str,
    /// The requested header names when every one is a token, joined with ", "; `None` when
    /// none were asked for or one is not a token (then none are allowed, and the browser
    /// refuses the request that needed them).
    pub headers: Option<String>,
}

/// `Some` for a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`
/// (Fetch §3.2.2); `None` for any other `OPTIONS`, which keeps its 405. A requested method that
/// is not a token cannot be asked for by a browser: 400.
pub fn preflight<'b>(head: &RequestHead<'_, 'b>) -> Option<Result<Preflight<'b>, RequestError>> {
    head.field_lines("origin").next()?;
    let method = head.field_lines("access-control-request-method").next()?;
    let method = std::str::from_utf8(method).ok().map(trim_ows).filter(|m| is_token(m));
    let Some(method) = method else {
        return Some(Err(RequestError::Malformed("invalid Access-Control-Request-Method")));
    };
    let headers = head.field_list("access-control-request-headers").and_then(|list| allowed_headers(&list));
    Some(Ok(Preflight { method, headers }))
}

/// `a, b,,c` → `a, b, c`: the elements of a list field (RFC 9110 §5.6.1, empty ones ignored),
/// echoed only when each is a token, so nothing but field names reaches the response head.
fn allowed_headers(list: &str) -> Option<String> {
    let names: Vec<&str> = list.split(',').map(trim_ows).filter(|n| !n.is_empty()).collect();
    (!names.is_empty() && names.iter().all(|n| is_token(n))).then(|| names.join(", "))
}

/// The 204 for a preflight: the methods, the headers asked for (when valid) and how long the
/// browser may remember the answer. `Access-Control-Allow-Origin` is one of the fields every
/// response carries with `--cors` (`added_fields`), so it is not repeated here.
pub fn preflight_response(preflight: &Preflight<'_>) -> Response {
    let mut response = Response::no_content();
    response.field("Access-Control-Allow-Methods", ALLOW_METHODS);
    if let Some(headers) = &preflight.headers {
        response.field("Access-Control-Allow-Headers", headers);
    }
    response.field_fmt("Access-Control-Max-Age", format_args!("{CORS_MAX_AGE_SECS}"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_headers_are_echoed_only_as_tokens() {
        let echo = allowed_headers;
        assert_eq!(echo("x-probe"), Some("x-probe".into()));
        assert_eq!(echo(" content-type ,x-a,, \tx-b "), Some("content-type, x-a, x-b".into()));
        assert_eq!(echo(""), None);
        assert_eq!(echo(" , "), None);
        assert_eq!(echo("x-a, x b"), None);
        assert_eq!(echo("x-a, (x)"), None);
        assert_eq!(echo("x-a, \"x\""), None);
    }
}
