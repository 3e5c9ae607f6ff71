//! From a parsed request head to a response: target → path in the root → file, folder
//! redirect, index page or listing — and, when the path names nothing, the routing rules
//! (README, Routing): `--clean-urls`, then `--spa`, then the root's `404.html`.

use std::fs::{File, Metadata};

use crate::files::body::{Body, Source};
use crate::files::file_cache::Named;
use crate::files::html::escape_html;
use crate::files::listing::folder_location;
use crate::files::media_type::HTML;
use crate::files::resolve::{open_beneath, open_reached, resolve_path, Reach, Resolved};
use crate::files::site::Site;
use crate::files::url_path::{encode_path, encode_query};
use crate::files::FileError;
use crate::http::accept::asks_for_html;
use crate::http::cors::{preflight, preflight_response};
use crate::http::exchange::{LoopState, Service};
use crate::http::file_response::{file_response, FileVariants};
use crate::http::listing_response::listing_response;
use crate::http::live::inject;
use crate::http::request::{Method, RequestHead};
use crate::http::response::{Response, Status};
use crate::http::target::{parse_target, UrlPath};
use crate::http::RequestError;
use crate::limits::{LIVE_INJECT_MAX_BYTES, SMALL_FILE_BYTES};

/// A folder's index pages, in the order they are looked for (nginx's and Apache's default
/// order; `.htm` is what old tools and some Windows exports write).
const INDEX_PAGES: [&str; 2] = ["index.html", "index.htm"];

/// The root's page for every 404, as GitHub Pages, Netlify and Cloudflare Pages serve it.
const NOT_FOUND_PAGE: &str = "404.html";

/// Answers one request. Never fails: every error becomes its status page here or below.
///
/// `site` is the tree this request is answered from (a deploy may have swapped
/// `service.site`'s folder: `files::deploy`); `service` says what every response carries.
pub fn respond(head: &RequestHead<'_, '_>, service: &Service, site: &Site, state: &mut LoopState) -> Response {
    #[cfg(feature = "panic-trigger")]
    if head.target == "/__panic" {
        panic!("test-only panic trigger");
    }
    if head.method == Method::Options {
        // The one place OPTIONS is answered, before the target is parsed (`OPTIONS *` is
        // valid): with `--cors` a preflight gets its 204 whatever the target, since it serves
        // nothing. Any other OPTIONS is a method this server knows and does not allow.
        return match preflight(head).filter(|_| service.added.cors()) {
            Some(Ok(asked)) => {
                state.note_resolved(|| match &asked.headers {
                    Some(headers) => format!("CORS preflight for {} with {headers}", asked.method),
                    None => format!("CORS preflight for {}", asked.method),
                });
                preflight_response(&asked)
            }
            Some(Err(e)) => Response::refused(&e),
            None => Response::refused(&RequestError::MethodNotAllowed),
        };
    }
    let response = match parse_target(head.target) {
        Ok(path) => serve_path(head, site, state, &path).unwrap_or_else(|e| not_servable(site, state, &e, "")),
        Err(e) => Response::refused(&e),
    };
    if head.method == Method::Head {
        response.without_body()
    } else {
        response
    }
}

/// Which rule chose the file a response carries, for the debug narration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The file the URL names, or its folder's index page.
    Named,
    /// `--clean-urls`: `/about` answered with `about.html`.
    CleanUrl,
    /// `--spa`: a navigation to a missing page answered with the root's index page.
    Spa,
}

/// A regular file found for a request, and how it was found.
struct Found<'p> {
    /// What the URL named: the file cache's key.
    named: Named<'p>,
    /// The file's path below the root.
    relative: &'p str,
    file: File,
    metadata: Metadata,
    reach: Reach,
    rule: Rule,
    /// May be kept in the file cache (see `serve_file`).
    cacheable: bool,
}

/// A folder's index page (`index_page`).
struct IndexPage {
    relative: String,
    file: File,
    metadata: Metadata,
    reach: Reach,
    /// The index pages looked for before it were plainly absent (or folders): nothing that a
    /// change outside the watched folders could make appear.
    cacheable: bool,
}

fn serve_path(
    head: &RequestHead<'_, '_>,
    site: &Site,
    state: &mut LoopState,
    path: &UrlPath<'_>,
) -> Result<Response, FileError> {
    let named = if path.trailing_slash { Named::FolderIndex(&path.relative) } else { Named::File(&path.relative) };
    // A cached entry is exact: its folder has not changed since it was read, so a clean URL
    // still names nothing (or `/x.html` was not redirected then, and `x` still exists).
    if let Some(cached) = state.files.cache.lookup(site, named) {
        let rule = match named {
            Named::File(key) if key != cached.relative => "clean URL, ",
            _ => "",
        };
        state.note_resolved(|| format!("{} ({rule}in memory)", cached.relative));
        return file_response(head, site, &mut state.dates, FileVariants::in_memory(&cached));
    }
    match resolve_path(site, path) {
        // `/file.txt/` names a folder that is not there (ENOTDIR), as nginx answers.
        Ok(Resolved::File { .. }) if path.trailing_slash => Err(FileError::NotFound("a file named as a folder")),
        Ok(Resolved::File { file, metadata, reach }) => {
            if site.clean_urls {
                if let Some(location) = clean_location(site, path)? {
                    state.note_resolved(|| format!("{}: clean URL, redirect to {location}", path.relative));
                    return Ok(redirect(&location));
                }
            }
            let relative = &path.relative;
            let found = Found { named, relative, file, metadata, reach, rule: Rule::Named, cacheable: true };
            serve_file(head, site, state, found)
        }
        Ok(Resolved::Directory) => folder_response(head, site, state, path),
        Err(FileError::Missing) => missing(head, site, state, path),
        Err(e) => Err(e),
    }
}

/// The path names nothing at all (not a refusal: `FileError::Missing`). `--clean-urls` tries
/// `path.html`; then `--spa` answers a navigation with the root's index page; else 404.
fn missing(
    head: &RequestHead<'_, '_>,
    site: &Site,
    state: &mut LoopState,
    path: &UrlPath<'_>,
) -> Result<Response, FileError> {
    if site.clean_urls && !path.trailing_slash && !path.relative.is_empty() {
        let page = format!("{}.html", path.relative);
        match open_reached(site, &page) {
            Ok((file, metadata, reach)) if metadata.is_file() => {
                let named = Named::File(&path.relative);
                return serve_file(
                    head,
                    site,
                    state,
                    Found { named, relative: &page, file, metadata, reach, rule: Rule::CleanUrl, cacheable: true },
                );
            }
            Ok(_) | Err(FileError::Missing | FileError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if site.spa && spa_shaped(head, path) {
        if asks_for_html(head.field_list("accept").as_deref()) {
            if let Some(response) = spa_fallback(head, site, state)? {
                return Ok(response);
            }
        }
        // The answer to this URL depends on Accept: caches must know (RFC 9110 §12.5.5).
        let mut response = not_servable(site, state, &FileError::Missing, " (--spa: Accept does not name text/html)");
        response.field("Vary", "Accept");
        return Ok(response);
    }
    Err(FileError::Missing)
}

/// `--spa` applies to GET and HEAD of a path whose last segment has no extension: a route of
/// the app (`/users/42`), not a missing asset (`/app.js`, `/logo.png`), which keeps its 404.
fn spa_shaped(head: &RequestHead<'_, '_>, path: &UrlPath<'_>) -> bool {
    matches!(head.method, Method::Get | Method::Head) && path.segments().last().is_some_and(|last| !last.contains('.'))
}

/// The root's index page for a navigation to a missing page, with its own validators (so a
/// conditional request gets its 304) and `Vary: Accept`. `None` when the root has none.
fn spa_fallback(head: &RequestHead<'_, '_>, site: &Site, state: &mut LoopState) -> Result<Option<Response>, FileError> {
    if let Some(cached) = state.files.cache.lookup(site, Named::FolderIndex("")) {
        state.note_resolved(|| format!("{} (SPA fallback, in memory)", cached.relative));
        let variants = FileVariants::in_memory(&cached).varying_on_accept();
        return file_response(head, site, &mut state.dates, variants).map(Some);
    }
    let Some(IndexPage { relative, file, metadata, reach, cacheable }) = index_page(site, "")? else { return Ok(None) };
    let named = Named::FolderIndex("");
    let found = Found { named, relative: &relative, file, metadata, reach, rule: Rule::Spa, cacheable };
    serve_file(head, site, state, found).map(Some)
}

/// `--clean-urls`: where `/x.html` (a file that exists) redirects to, if anywhere: `/x` when
/// `x` names nothing (so `/x` serves this file), `/docs/` for `/docs/index.html`. The query
/// is kept; the `Location` is a path on this host (`encode_path` cannot start with `//`).
fn clean_location(site: &Site, path: &UrlPath<'_>) -> Result<Option<String>, FileError> {
    let (folder, name) = path.relative.rsplit_once('/').unwrap_or(("", &path.relative));
    let Some(stem) = name.strip_suffix(".html").filter(|stem| !stem.is_empty()) else { return Ok(None) };
    let mut location = if stem == "index" {
        // The folder serves index.html first (`INDEX_PAGES`): it is this file.
        let mut folder = encode_path(folder);
        if !folder.ends_with('/') {
            folder.push('/');
        }
        folder
    } else {
        let clean = if folder.is_empty() { stem.to_string() } else { format!("{folder}/{stem}") };
        match open_beneath(site, &clean) {
            Err(FileError::Missing) => encode_path(&clean),
            // `x` exists (or is refused): `/x` does not serve this file, so it stays here.
            Ok(_) | Err(FileError::NotFound(_) | FileError::Forbidden(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
    };
    if let Some(query) = path.query {
        location.push('?');
        location.push_str(&encode_query(query));
    }
    Ok(Some(location))
}

/// A regular file: small ones go through the loop's file cache, the rest are served from disk.
/// A file reached through a symlink is never cached: the cache's watch covers the paths it
/// opened without links, and a link's target (outside the root, with `--follow-symlinks`)
/// can change where nothing watches it. It is read from disk on every request instead.
fn serve_file(
    head: &RequestHead<'_, '_>,
    site: &Site,
    state: &mut LoopState,
    found: Found<'_>,
) -> Result<Response, FileError> {
    let Found { named, relative, file, metadata, reach, rule, cacheable } = found;
    let rule_text = match rule {
        Rule::Named => "",
        Rule::CleanUrl => "clean URL, ",
        Rule::Spa => "SPA fallback, ",
    };
    let via = match reach {
        Reach::Direct => "",
        Reach::LinkInside => ", through a symlink",
        Reach::LinkOutside => ", through a symlink out of the root",
    };
    if metadata.len() <= SMALL_FILE_BYTES && reach == Reach::Direct && cacheable {
        if let Some(cached) = state.files.cache.load(site, named, relative, metadata.len()) {
            state.note_resolved(|| format!("{relative} ({rule_text}read into the file cache)"));
            let mut variants = FileVariants::in_memory(&cached);
            if rule == Rule::Spa {
                variants = variants.varying_on_accept();
            }
            return file_response(head, site, &mut state.dates, variants);
        }
    }
    state.note_resolved(|| format!("{relative} ({rule_text}from disk{via})"));
    let mut variants = FileVariants::on_disk(site, &mut state.files.siblings, relative, file, &metadata);
    if rule == Rule::Spa {
        variants = variants.varying_on_accept();
    }
    file_response(head, site, &mut state.dates, variants)
}

/// `/dir` → 301 `/dir/`; `/dir/` → its index page, else a listing (or 404 without listings).
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
    match index_page(site, &path.relative)? {
        Some(IndexPage { relative, file, metadata, reach, cacheable }) => {
            let named = Named::FolderIndex(&path.relative);
            let found = Found { named, relative: &relative, file, metadata, reach, rule: Rule::Named, cacheable };
            serve_file(head, site, state, found)
        }
        None if site.listing => listing_response(head, site, state, path),
        None => Err(FileError::NotFound("a folder without index.html (--no-listing)")),
    }
}

/// The first of `INDEX_PAGES` in `folder` that is a regular file the wall allows. One that
/// is not there, not a file, or refused (a link out of the root, to a dotfile) is skipped,
/// as it always was; one that cannot be read is the folder's answer (403, 503).
fn index_page(site: &Site, folder: &str) -> Result<Option<IndexPage>, FileError> {
    let mut cacheable = true;
    for name in INDEX_PAGES {
        let relative = if folder.is_empty() { name.to_string() } else { format!("{folder}/{name}") };
        match open_reached(site, &relative) {
            Ok((file, metadata, reach)) if metadata.is_file() => {
                return Ok(Some(IndexPage { relative, file, metadata, reach, cacheable }));
            }
            Ok(_) | Err(FileError::Missing) => {}
            // A refused `index.html` (a dangling link, say) can start to resolve with no change
            // to this folder, where the file cache would not see it: the next page is then
            // read from disk every time.
            Err(FileError::NotFound(_)) => cacheable = false,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The error page for a path the file layer cannot serve. Every 404 — whatever its reason, so
/// a hidden or walled-off name looks exactly like a missing one — carries the root's
/// `404.html` when that is a regular file the wall allows; otherwise, and for every other
/// status, the server's own page. `context` adds to the narration.
fn not_servable(site: &Site, state: &mut LoopState, error: &FileError, context: &str) -> Response {
    let response = Response::file_error(error);
    let page = if response.status() == Status::NotFound { not_found_page(site) } else { None };
    match page {
        Some(page) => {
            state.note_resolved(|| format!("nothing servable: {error}{context}; the page {NOT_FOUND_PAGE}"));
            page.because(response.refusal().unwrap_or("not found"))
        }
        None => {
            state.note_resolved(|| format!("nothing servable: {error}{context}"));
            let mut response = response;
            if site.live_reload {
                // An error page reloads itself when the file appears.
                response.edit_page(inject);
            }
            response
        }
    }
}

/// The root's `404.html` as a 404 (`text/html; charset=utf-8`, its bytes, no validators: a
/// 404 is no representation of the target to revalidate, RFC 9110 §13.2.1). Read through
/// the same wall as any file: a `404.html` that is missing, a folder, or a link to a dotfile
/// or out of the root is not used.
fn not_found_page(site: &Site) -> Option<Response> {
    let (mut file, metadata) = open_beneath(site, NOT_FOUND_PAGE).ok().filter(|(_, metadata)| metadata.is_file())?;
    let body = if site.live_reload && metadata.len() <= LIVE_INJECT_MAX_BYTES {
        // --live-reload: the page reloads itself when the missing file appears.
        let mut page = Vec::with_capacity(metadata.len() as usize);
        std::io::Read::read_to_end(&mut file, &mut page).ok()?;
        Body::bytes(inject(&page))
    } else {
        Body::region(Source::File(file), 0, metadata.len())
    };
    let mut response = Response::new(Status::NotFound, body);
    response.field("Content-Type", HTML);
    Some(response)
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
