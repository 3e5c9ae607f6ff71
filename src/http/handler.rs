//! From a parsed request head to a response: target → path in the root → file, folder
//! redirect, index page or listing.

use std::fs::{File, Metadata};

use crate::files::body::Body;
use crate::files::file_cache::{self, Named};
use crate::files::listing::{folder_location, render_listing};
use crate::files::media_type::HTML;
use crate::files::resolve::{open_beneath, resolve_path, Resolved};
use crate::files::site::Site;
use crate::files::FileError;
use crate::http::file_response::{cached_file_response, file_response};
use crate::http::request::{Method, RequestHead};
use crate::http::response::{Response, Status};
use crate::http::target::{parse_target, UrlPath};
use crate::limits::SMALL_FILE_BYTES;

/// Answers one request. Never fails: every error becomes its status page here or below.
pub fn respond(head: &RequestHead<'_, '_>, site: &Site) -> Response {
    #[cfg(feature = "panic-trigger")]
    if head.target == "/__panic" {
        panic!("test-only panic trigger");
    }
    let response = match parse_target(head.target) {
        Ok(path) => serve_path(head, site, &path).unwrap_or_else(|e| Response::error(Status::from(&e))),
        Err(e) => Response::refused(&e),
    };
    if head.method == Method::Head {
        response.without_body()
    } else {
        response
    }
}

fn serve_path(head: &RequestHead<'_, '_>, site: &Site, path: &UrlPath<'_>) -> Result<Response, FileError> {
    let named = if path.trailing_slash { Named::FolderIndex(&path.relative) } else { Named::File(&path.relative) };
    if let Some(cached) = file_cache::lookup(site, named) {
        return cached_file_response(head, site, &cached);
    }
    match resolve_path(site, path)? {
        // `/file.txt/` names a folder that is not there (ENOTDIR), as nginx answers.
        Resolved::File { .. } if path.trailing_slash => Err(FileError::NotFound),
        Resolved::File { file, metadata } => serve_file(head, site, named, &path.relative, file, &metadata),
        Resolved::Directory => folder_response(head, site, path),
    }
}

/// A regular file: small ones go through the loop's file cache, the rest are served from disk.
fn serve_file(
    head: &RequestHead<'_, '_>,
    site: &Site,
    named: Named<'_>,
    relative: &str,
    file: File,
    metadata: &Metadata,
) -> Result<Response, FileError> {
    if metadata.len() <= SMALL_FILE_BYTES {
        if let Some(cached) = file_cache::load(site, named, relative, metadata.len()) {
            return cached_file_response(head, site, &cached);
        }
    }
    file_response(head, site, relative, file, metadata)
}

/// `/dir` → 301 `/dir/`; `/dir/` → its index.html, else a listing (or 404 without listings).
fn folder_response(head: &RequestHead<'_, '_>, site: &Site, path: &UrlPath<'_>) -> Result<Response, FileError> {
    if !path.trailing_slash {
        return Ok(redirect(&folder_location(path)));
    }
    let index =
        if path.relative.is_empty() { "index.html".to_string() } else { format!("{}/index.html", path.relative) };
    match open_beneath(site, &index) {
        Ok((file, metadata)) if metadata.is_file() => {
            serve_file(head, site, Named::FolderIndex(&path.relative), &index, file, &metadata)
        }
        Ok(_) | Err(FileError::NotFound) if site.listing => {
            let mut response = Response::new(Status::Ok, Body::bytes(render_listing(site, path)?));
            response.field("Content-Type", HTML).field("Cache-Control", &site.cache_control);
            Ok(response)
        }
        Ok(_) => Err(FileError::NotFound),
        Err(e) => Err(e),
    }
}

fn redirect(location: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>301 Moved Permanently</title></head>\
         <body><h1>301 Moved Permanently</h1><p><a href=\"{location}\">{location}</a></p></body></html>\n"
    );
    let mut response = Response::new(Status::MovedPermanently, Body::bytes(page.into_bytes()));
    response.field("Location", location).field("Content-Type", HTML);
    response
}
