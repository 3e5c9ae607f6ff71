//! A folder's listing as an HTTP response: which view (`?sort=…&order=…`) and which format
//! (`Accept`), its validator, conditionals, and the fields every listing carries.

use crate::files::body::Body;
use crate::files::listing::{read_listing, Format, Listing, Order, SortKey, View};
use crate::files::media_type::{HTML, JSON};
use crate::files::site::Site;
use crate::files::FileError;
use crate::http::accept::prefers_json;
use crate::http::conditional::{Precondition, Validators};
use crate::http::exchange::LoopState;
use crate::http::file_response::check_preconditions;
use crate::http::live::inject;
use crate::http::request::RequestHead;
use crate::http::response::{Response, Status};
use crate::http::target::UrlPath;
use crate::http::RequestError;

/// The listing of the folder `path` (resolved, with its trailing slash), or a 400 for a
/// query that asks for a sort this server does not have.
pub fn listing_response(
    head: &RequestHead<'_, '_>,
    site: &Site,
    state: &mut LoopState,
    path: &UrlPath<'_>,
) -> Result<Response, FileError> {
    let view = match parse_view(path.query) {
        Ok(view) => view,
        Err(e) => {
            state.note_resolved(|| format!("listing of /{}: {e}", path.relative));
            return Ok(Response::refused(&e));
        }
    };
    let format = if prefers_json(head.field_list("accept").as_deref()) { Format::Json } else { Format::Html };
    let listing = read_listing(site, path, view)?;
    state.note_resolved(|| describe(path, &listing, view, format));
    // With --live-reload the HTML page carries the script, so it is another representation.
    let live = site.live_reload && format == Format::Html;
    let etag = listing_etag(&listing, format, live);
    let mut response = match check_preconditions(head, &Validators { etag: &etag, last_modified: None }) {
        Precondition::Failed => return Ok(Response::error(Status::PreconditionFailed)),
        // The page is not rendered for a 304: the tag is made from what it would show.
        Precondition::NotModified => Response::not_modified(),
        Precondition::Proceed => {
            let (body, content_type) = match format {
                Format::Html if live => (inject(&listing.html()), HTML),
                Format::Html => (listing.html(), HTML),
                Format::Json => (listing.json(), JSON),
            };
            let mut response = Response::new(Status::Ok, Body::bytes(body));
            response.field("Content-Type", content_type);
            response
        }
    };
    // Every listing, HTML or JSON, 200 or 304, varies with Accept (RFC 9110 §12.5.5), so a
    // cache keeps the two apart.
    response.field("ETag", &etag).field("Cache-Control", &site.cache_control).field("Vary", "Accept");
    Ok(response)
}

/// `sort=name|size|date` and `order=asc|desc`, exactly (they are what the column heads link
/// to); any other parameter is ignored, as the query is for files (`?v=3` cache-busting).
/// A value outside those, or either given twice, is a 400 rather than a silent name order:
/// a mistyped link should say it is wrong, not look as if it worked.
fn parse_view(query: Option<&str>) -> Result<View, RequestError> {
    let mut view = View::default();
    let (mut sort_seen, mut order_seen) = (false, false);
    for parameter in query.unwrap_or("").split('&') {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        match name {
            "sort" => {
                if std::mem::replace(&mut sort_seen, true) {
                    return Err(RequestError::Malformed("listing: `sort` given twice"));
                }
                view.sort = SortKey::ALL
                    .into_iter()
                    .find(|key| key.token() == value)
                    .ok_or(RequestError::Malformed("listing: `sort` is not name, size or date"))?;
            }
            "order" => {
                if std::mem::replace(&mut order_seen, true) {
                    return Err(RequestError::Malformed("listing: `order` given twice"));
                }
                view.order = [Order::Ascending, Order::Descending]
                    .into_iter()
                    .find(|order| order.token() == value)
                    .ok_or(RequestError::Malformed("listing: `order` is not asc or desc"))?;
            }
            _ => {}
        }
    }
    Ok(view)
}

/// A weak entity-tag (RFC 9110 §8.8.3) from the folder's state as this listing shows it —
/// names, kinds, sizes, times, the sort and the format — not from the page's bytes, so a 304
/// costs reading the folder but not rendering it. Weak, because it promises the same listing,
/// not the same bytes: it is what `If-None-Match` compares (weakly) and what `If-Match`, which
/// needs a strong tag, never matches. HTML and JSON, and each sort, have tags of their own.
fn listing_etag(listing: &Listing, format: Format, live: bool) -> String {
    let live = if live { "-live" } else { "" };
    format!("W/\"{:x}-{:016x}{live}\"", listing.len(), listing.fingerprint(format))
}

fn describe(path: &UrlPath<'_>, listing: &Listing, view: View, format: Format) -> String {
    let mut line = format!(
        "listing of /{} ({}, {} entries, by {} {})",
        path.relative,
        if format == Format::Json { "JSON" } else { "HTML" },
        listing.len(),
        view.sort.token(),
        view.order.token()
    );
    let mut left_out = Vec::new();
    if listing.not_utf8 > 0 {
        left_out.push(format!("{} not UTF-8", listing.not_utf8));
    }
    if listing.not_files > 0 {
        left_out.push(format!("{} FIFO, socket or device (never served)", listing.not_files));
    }
    if !left_out.is_empty() {
        line.push_str("; left out: ");
        line.push_str(&left_out.join(", "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(query: &str) -> Result<View, RequestError> {
        parse_view(Some(query))
    }

    #[test]
    fn sort_and_order_from_the_query() {
        let by = |sort, order| Ok(View { sort, order });
        assert_eq!(parse_view(None), by(SortKey::Name, Order::Ascending));
        assert_eq!(view(""), by(SortKey::Name, Order::Ascending));
        assert_eq!(view("sort=size&order=desc"), by(SortKey::Size, Order::Descending));
        assert_eq!(view("order=desc"), by(SortKey::Name, Order::Descending));
        assert_eq!(view("sort=date"), by(SortKey::Date, Order::Ascending));
        assert_eq!(view("v=3&sort=name&x&&order=asc"), by(SortKey::Name, Order::Ascending));
        for bad in
            ["sort=Size", "sort=", "sort", "sort=size%20", "order=up", "sort=size&sort=size", "order=asc&order=desc"]
        {
            assert!(matches!(view(bad), Err(RequestError::Malformed(_))), "{bad:?}");
        }
    }
}
