//! The HTML listing of a folder without index.html: names HTML-escaped, links
//! percent-encoded relative references, folders first, dotfiles hidden unless asked.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::files::folder::{read_folder, Kind};
use crate::files::html::escape_html;
use crate::files::resolve::open_beneath;
use crate::files::site::Site;
use crate::files::url_path::{encode_path, encode_query, encode_segment, UrlPath};
use crate::files::FileError;
use crate::limits::LAST_HTTP_DATE_SECOND;

struct Entry {
    name: String,
    is_dir: bool,
    size: Option<u64>,
    modified: Option<SystemTime>,
}

/// Renders the listing page for the folder at `path` (already resolved inside the root).
pub fn render_listing(site: &Site, path: &UrlPath<'_>) -> Result<Vec<u8>, FileError> {
    // Read the folder through an fd opened with the same checks as any file, so a folder
    // swapped for a symlink after the request was resolved cannot list what is outside.
    let (folder, _) = open_beneath(site, &path.relative)?;
    let mut entries = Vec::new();
    for entry in read_folder(folder)? {
        let Ok(name) = entry.name.into_string() else {
            // A name that is not UTF-8 could not be requested either (paths decode as UTF-8).
            continue;
        };
        if name.starts_with('.') && !site.hidden {
            continue;
        }
        let (is_dir, size, modified) = match entry.kind {
            // A symlink is listed only if it could be served: followed through `open_beneath`,
            // so a link out of the root (or to a dotfile) is neither listed nor described.
            Kind::Symlink => {
                let target = if path.relative.is_empty() { name.clone() } else { format!("{}/{name}", path.relative) };
                match open_beneath(site, &target) {
                    Ok((_, metadata)) => {
                        (metadata.is_dir(), metadata.is_file().then_some(metadata.len()), metadata.modified().ok())
                    }
                    Err(_) => continue,
                }
            }
            Kind::File => (false, Some(entry.len), entry.modified),
            Kind::Folder => (true, None, entry.modified),
            Kind::Other => (false, None, entry.modified),
        };
        entries.push(Entry { name, is_dir, size, modified });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(render(&display_path(path), !path.relative.is_empty(), &entries).into_bytes())
}

fn display_path(path: &UrlPath<'_>) -> String {
    if path.relative.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/", path.relative)
    }
}

fn render(title: &str, has_parent: bool, entries: &[Entry]) -> String {
    let title = escape_html(title);
    let mut page = String::with_capacity(1024 + entries.len() * 160);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Index of {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#111}}\
         table{{border-collapse:collapse}}td,th{{padding:.2rem 1rem .2rem 0;text-align:left}}\
         td.size{{text-align:right}}a{{color:#0645ad}}</style></head>\n\
         <body><main><h1>Index of {title}</h1>\n<table>\n\
         <thead><tr><th>Name</th><th>Size</th><th>Last modified</th></tr></thead>\n<tbody>\n"
    );
    if has_parent {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let size = entry.size.map(|s| s.to_string()).unwrap_or_else(|| "-".to_string());
        // httpdate panics outside 1970..=9999; such a time is left blank.
        let modified = entry
            .modified
            .filter(|t| t.duration_since(UNIX_EPOCH).is_ok_and(|d| d.as_secs() <= LAST_HTTP_DATE_SECOND))
            .map(httpdate::fmt_http_date)
            .unwrap_or_default();
        // `./` keeps a name such as `a:b` from reading as a URL scheme.
        let _ = writeln!(
            page,
            "<tr><td><a href=\"./{href}{slash}\">{text}{slash}</a></td><td class=\"size\">{size}</td><td>{modified}</td></tr>",
            href = encode_segment(&entry.name),
            text = escape_html(&entry.name),
        );
    }
    page.push_str("</tbody>\n</table>\n</main></body></html>\n");
    page
}

/// The canonical URL of a folder, for redirects to it (`/dir` → `/dir/`).
pub fn folder_location(path: &UrlPath<'_>) -> String {
    let mut location = encode_path(&path.relative);
    if !location.ends_with('/') {
        location.push('/');
    }
    if let Some(query) = path.query {
        location.push('?');
        location.push_str(&encode_query(query));
    }
    location
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, is_dir: bool) -> Entry {
        Entry { name: name.to_string(), is_dir, size: Some(3), modified: None }
    }

    #[test]
    fn hostile_names_are_escaped_in_text_and_href() {
        let page = render("/", false, &[entry("<img src=x onerror=alert(1)>.txt", false), entry("\"'&%# a:b", true)]);
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.txt"));
        assert!(page.contains("href=\"./%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\""));
        assert!(page.contains("href=\"./%22%27%26%25%23%20a%3Ab/\""));
        assert!(page.contains("&quot;&#39;&amp;%# a:b/</a>"));
    }

    #[test]
    fn folder_location_is_encoded_and_keeps_a_valid_query() {
        let path = |relative: &'static str, query| UrlPath { relative: relative.into(), trailing_slash: false, query };
        assert_eq!(folder_location(&path("a b", None)), "/a%20b/");
        assert_eq!(folder_location(&path("d", Some("a=1&b='x'"))), "/d/?a=1&b='x'");
        assert_eq!(folder_location(&path("d", Some("x={y}|[z]^"))), "/d/?x=%7By%7D%7C%5Bz%5D%5E");
        assert_eq!(folder_location(&path("d", Some("a=%2F&b=%zz&c=%4"))), "/d/?a=%2F&b=%25zz&c=%254");
    }

    #[test]
    fn parent_link_only_below_the_root() {
        assert!(!render("/", false, &[]).contains("href=\"../\""));
        assert!(render("/a/", true, &[]).contains("href=\"../\""));
    }
}
