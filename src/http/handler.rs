//! From a parsed request head to a response: target → path in the root → file, folder
//! redirect, index page or listing.

use std::fs::{File, Metadata};
use std::hash::{Hash, Hasher};

use crate::files::body::Body;
use crate::files::file_cache::Named;
use crate::files::html::escape_html;
use crate::files::listing::{folder_location, render_listing};
use crate::files::media_type::HTML;
use crate::files::resolve::{open_beneath, resolve_path, Resolved};
use crate::files::site::Site;
use crate::files::FileError;
use crate::http::conditional::{Precondition, Validators};
use crate::http::exchange::LoopState;
use crate::http::file_response::{check_preconditions, file_response, FileVariants};
use crate::http::live::inject;
use crate::http::request::{Method, RequestHead};
use crate::http::response::{Response, Status};
use crate::http::target::{parse_target, UrlPath};
use crate::http::RequestError;
use crate::limits::SMALL_FILE_BYTES;

/// Answers one request. Never fails: every error becomes its status page here or below.
pub fn respond(head: &RequestHead<'_, '_>, site: &Site, state: &mut LoopState) -> Response {
    #[cfg(feature = "panic-trigger")]
    if head.target == "/__panic" {
        panic!("test-only panic trigger");
    }
    if head.method == Method::Options {
        // The one place OPTIONS is answered: a `--cors` option would answer preflights here
        // (before the target is parsed: `OPTIONS *` is valid). Without it, a method this
        // server knows and does not allow.
        return Response::refused(&RequestError::MethodNotAllowed);
    }
    let response = match parse_target(head.target) {
        Ok(path) => serve_path(head, site, state, &path).unwrap_or_else(|e| {
            state.note_resolved(|| format!("nothing servable: {e}"));
            let mut response = Response::file_error(&e);
            if site.live_reload {
                // A 404 page reloads itself when the file appears.
                response.edit_page(inject);
            }
            response
        }),
        Err(e) => Response::refused(&e),
    };
    if head.method == Method::Head {
        response.without_body()
    } else {
        response
    }
}

fn serve_path(
    head: &RequestHead<'_, '_>,
    site: &Site,
    state: &mut LoopState,
    path: &UrlPath<'_>,
) -> Result<Response, FileError> {
    let named = if path.trailing_slash { Named::FolderIndex(&path.relative) } else { Named::File(&path.relative) };
    if let Some(cached) = state.files.cache.lookup(site, named) {
        state.note_resolved(|| format!("{} (in memory)", cached.relative));
        return file_response(head, site, &mut state.dates, FileVariants::in_memory(&cached));
    }
    match resolve_path(site, path)? {
        // `/file.txt/` names a folder that is not there (ENOTDIR), as nginx answers.
        Resolved::File { .. } if path.trailing_slash => Err(FileError::NotFound("a file named as a folder")),
        Resolved::File { file, metadata } => serve_file(head, site, state, named, &path.relative, file, &metadata),
        Resolved::Directory => folder_response(head, site, state, path),
    }
}

/// A regular file: small ones go through the loop's file cache, the rest are served from disk.
fn serve_file(
    head: &RequestHead<'_, '_>,
    site: &Site,
    state: &mut LoopState,
    named: Named<'_>,
    relative: &str,
    file: File,
    metadata: &Metadata,
) -> Result<Response, FileError> {
    if metadata.len() <= SMALL_FILE_BYTES {
        if let Some(cached) = state.files.cache.load(site, named, relative, metadata.len()) {
            state.note_resolved(|| format!("{relative} (read into the file cache)"));
            return file_response(head, site, &mut state.dates, FileVariants::in_memory(&cached));
        }
    }
    state.note_resolved(|| format!("{relative} (from disk)"));
    let variants = FileVariants::on_disk(site, &mut state.files.siblings, relative, file, metadata);
    file_response(head, site, &mut state.dates, variants)
}

/// `/dir` → 301 `/dir/`; `/dir/` → its index.html, else a listing (or 404 without listings).
fn folder_response(
    head: &RequestHead<'_, '_>,
    site: &Site,
    state: &mut LoopState,
    path: &UrlPath<'_>,
) -> Result<Response, FileError> {
    if !path.trailing_slash {
        let location = folder_location(path);
        state.note_resolved(|| format!("a folder: redirect to {location}"));
        return Ok(redirect(&location));
    }
    let index =
        if path.relative.is_empty() { "index.html".to_string() } else { format!("{}/index.html", path.relative) };
    match open_beneath(site, &index) {
        Ok((file, metadata)) if metadata.is_file() => {
            serve_file(head, site, state, Named::FolderIndex(&path.relative), &index, file, &metadata)
        }
        Ok(_) | Err(FileError::NotFound(_)) if site.listing => {
            state.note_resolved(|| format!("listing of /{}", path.relative));
            let page = render_listing(site, path)?;
            // With --live-reload the script is part of the page, and so of its ETag.
            let page = if site.live_reload { inject(&page) } else { page };
            Ok(listing_response(head, site, page))
        }
        Ok(_) | Err(FileError::NotFound(_)) => Err(FileError::NotFound("a folder without index.html (--no-listing)")),
        Err(e) => Err(e),
    }
}

/// A listing with a strong ETag made from its bytes, so `Cache-Control: no-cache` has a
/// validator to revalidate with (a cheap 304 while the folder is unchanged). It has no
/// Last-Modified: a listing shows its entries' sizes and times, which change without the
/// folder's own mtime changing, so date conditions are ignored (RFC 9110 §13.1.3).
fn listing_response(head: &RequestHead<'_, '_>, site: &Site, page: Vec<u8>) -> Response {
    let etag = listing_etag(&page);
    let mut response = match check_preconditions(head, &Validators { etag: &etag, last_modified: None }) {
        Precondition::Failed => return Response::error(Status::PreconditionFailed),
        Precondition::NotModified => Response::not_modified(),
        Precondition::Proceed => {
            let mut response = Response::new(Status::Ok, Body::bytes(page));
            response.field("Content-Type", HTML);
            response
        }
    };
    response.field("ETag", &etag).field("Cache-Control", &site.cache_control);
    response
}

/// `"<length hex>-<SipHash of the page, hex>"`: the page is the same bytes whenever the tag
/// is (strong, RFC 9110 §8.8.3). The hash need not be stable across builds: a changed tag
/// after an upgrade only costs one 200.
fn listing_etag(page: &[u8]) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    page.hash(&mut hasher);
    format!("\"{:x}-{:016x}\"", page.len(), hasher.finish())
}

/// `location` is percent-encoded already (`folder_location`), but may hold `&` and `'` from
/// the query: HTML-escaped in the page like every byte from a request.
fn redirect(location: &str) -> Response {
    let shown = escape_html(location);
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>301 Moved Permanently</title></head>\
         <body><h1>301 Moved Permanently</h1><p><a href=\"{shown}\">{shown}</a></p></body></html>\n"
    );
    let mut response = Response::new(Status::MovedPermanently, Body::bytes(page.into_bytes()));
    response.field("Location", location).field("Content-Type", HTML);
    response
}
