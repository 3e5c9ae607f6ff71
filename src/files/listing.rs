//! The listing of a folder without index.html, as a small HTML page or as JSON: names
//! HTML-escaped (or JSON-escaped), links percent-encoded, folders first, sortable by name,
//! size or date, dotfiles hidden unless asked.
//!
//! Every name in the folder is either listed with a link that serves it, or left out for a
//! reason: a dotfile (unless `--hidden`), a symlink that could not be served (out of the root,
//! to a dotfile, to nothing), a FIFO, socket or device (never served: 403), and a name that is
//! not UTF-8. Paths on this server are UTF-8 from the request to the file system (a URL's
//! `%FF` is refused with 400), so such a name could be shown but no link could reach it; the
//! page says how many there are, so none is silently missing.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::os::unix::ffi::OsStrExt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::files::folder::{read_folder, Kind};
use crate::files::html::escape_html;
use crate::files::json::push_json_string;
use crate::files::resolve::open_beneath;
use crate::files::site::Site;
use crate::files::url_path::{encode_path, encode_query, encode_segment, UrlPath};
use crate::files::FileError;
use crate::limits::LAST_HTTP_DATE_SECOND;

/// What the listing is sorted by. Folders always come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    /// Byte order of the names, as `ls` sorts in the C locale.
    #[default]
    Name,
    Size,
    Date,
}

impl SortKey {
    pub const ALL: [SortKey; 3] = [SortKey::Name, SortKey::Size, SortKey::Date];

    /// The value of `sort=` in a query.
    pub fn token(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Date => "date",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    #[default]
    Ascending,
    Descending,
}

impl Order {
    /// The value of `order=` in a query.
    pub fn token(self) -> &'static str {
        match self {
            Order::Ascending => "asc",
            Order::Descending => "desc",
        }
    }
}

/// How the entries are arranged: the request's `?sort=…&order=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct View {
    pub sort: SortKey,
    pub order: Order,
}

/// The two representations of a listing (chosen by `Accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Html,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Entry {
    name: String,
    is_dir: bool,
    /// Bytes of a file (through a symlink, of its target); `None` for a folder.
    size: Option<u64>,
    /// Shown only within 1970..=9999 (what an HTTP date can say).
    modified: Option<SystemTime>,
}

/// A folder's entries as they will be listed, and what was left out.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The folder's URL path, `/` or `/a/b/`, decoded.
    path: String,
    entries: Vec<Entry>,
    view: View,
    /// Names that are not UTF-8: counted, never shown (see the module's comment).
    pub not_utf8: usize,
    /// FIFOs, sockets and devices: never served, so not listed.
    pub not_files: usize,
}

/// Reads the folder at `path` (already resolved inside the root) and sorts it by `view`.
pub fn read_listing(site: &Site, path: &UrlPath<'_>, view: View) -> Result<Listing, FileError> {
    // Read the folder through an fd opened with the same checks as any file, so a folder
    // swapped for a symlink after the request was resolved cannot list what is outside.
    let (folder, _) = open_beneath(site, &path.relative)?;
    let mut listing = Listing { path: display_path(path), entries: Vec::new(), view, not_utf8: 0, not_files: 0 };
    for entry in read_folder(folder)? {
        // Hidden first, on the bytes: a dotfile is not even counted.
        if entry.name.as_bytes().starts_with(b".") && !site.hidden {
            continue;
        }
        let Ok(name) = entry.name.into_string() else {
            listing.not_utf8 += 1;
            continue;
        };
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
            Kind::Other => {
                listing.not_files += 1;
                continue;
            }
        };
        let modified = modified.filter(|t| unix_seconds(*t).is_some());
        listing.entries.push(Entry { name, is_dir, size, modified });
    }
    listing.entries.sort_by(|a, b| {
        let key = match view.sort {
            SortKey::Name => std::cmp::Ordering::Equal,
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Date => a.modified.cmp(&b.modified),
        };
        let within = key.then_with(|| a.name.cmp(&b.name));
        let within = if view.order == Order::Descending { within.reverse() } else { within };
        b.is_dir.cmp(&a.is_dir).then(within)
    });
    Ok(listing)
}

/// Renders the HTML listing page for the folder at `path`, sorted by name.
pub fn render_listing(site: &Site, path: &UrlPath<'_>) -> Result<Vec<u8>, FileError> {
    Ok(read_listing(site, path, View::default())?.html())
}

impl Listing {
    /// How many entries are listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A hash of everything the page in `format` is made from — the folder's path, each
    /// entry's name, kind, size and modification time in order, what was left out, the view,
    /// the format and this program's version — so equal hashes mean equal pages, without
    /// rendering one. `DefaultHasher::new()` has fixed keys: the same in every process of a
    /// build (a different build may give a different hash, which costs one 200).
    pub fn fingerprint(&self, format: Format) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        format.hash(&mut hasher);
        self.view.hash(&mut hasher);
        self.path.hash(&mut hasher);
        self.entries.hash(&mut hasher);
        (self.not_utf8, self.not_files).hash(&mut hasher);
        hasher.finish()
    }

    /// The HTML page: one small document with inline CSS and no script. A breadcrumb of the
    /// path, column heads that sort (`?sort=size&order=desc`), sizes a person reads (`1.4 KiB`,
    /// the exact bytes in a `title`), dates that do not wrap on a narrow screen (the time of
    /// day is dropped there), and a dark scheme when the system asks for one.
    pub fn html(&self) -> Vec<u8> {
        let title = escape_html(&self.path);
        let mut page = String::with_capacity(2048 + self.entries.len() * 200);
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"color-scheme\" content=\"light dark\">\
             <title>Index of {title}</title>\n<style>{STYLE}</style></head>\n<body><main>\n"
        );
        page.push_str("<h1>Index of ");
        self.push_breadcrumb(&mut page);
        page.push_str("</h1>\n<table>\n<thead><tr>");
        for key in SortKey::ALL {
            self.push_column_head(&mut page, key);
        }
        page.push_str("</tr></thead>\n<tbody>\n");
        if self.path != "/" {
            page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
        }
        for entry in &self.entries {
            push_row(&mut page, entry);
        }
        page.push_str("</tbody>\n</table>\n");
        if self.not_utf8 > 0 {
            let (names, are) = if self.not_utf8 == 1 { ("name is", "it is") } else { ("names are", "they are") };
            let _ = writeln!(
                page,
                "<p class=\"note\">{n} {names} not shown: {are} not UTF-8, and URLs on this server \
                 name files in UTF-8.</p>",
                n = self.not_utf8
            );
        }
        page.push_str("</main></body></html>\n");
        page.into_bytes()
    }

    /// `/` links to the root and each folder on the way to its own listing, as relative
    /// references (`../../`), so the page also works behind a proxy that mounts it elsewhere.
    /// The last one is this page: not a link.
    fn push_breadcrumb(&self, page: &mut String) {
        let names: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        let depth = names.len();
        let crumb = |page: &mut String, up: usize, text: &str| {
            if up == 0 {
                let _ = write!(page, "<span aria-current=\"page\">{text}</span>");
            } else {
                let _ = write!(page, "<a href=\"{}\">{text}</a>", "../".repeat(up));
            }
        };
        crumb(page, depth, "/");
        for (i, name) in names.iter().enumerate() {
            crumb(page, depth - 1 - i, &format!("{}/", escape_html(name)));
        }
    }

    /// A column head links to this listing sorted by its column: ascending, or the other way
    /// round when that column is the current sort. `aria-sort` marks the current one (CSS
    /// draws the arrow).
    fn push_column_head(&self, page: &mut String, key: SortKey) {
        let (label, class) = match key {
            SortKey::Name => ("Name", ""),
            SortKey::Size => ("Size", " class=\"size\""),
            SortKey::Date => ("Modified (UTC)", " class=\"date\""),
        };
        let current = self.view.sort == key;
        let order = match (current, self.view.order) {
            (true, Order::Ascending) => Order::Descending,
            _ => Order::Ascending,
        };
        let sorted = match (current, self.view.order) {
            (false, _) => "",
            (true, Order::Ascending) => " aria-sort=\"ascending\"",
            (true, Order::Descending) => " aria-sort=\"descending\"",
        };
        let _ = write!(
            page,
            "<th{class}{sorted}><a href=\"?sort={}&amp;order={}\">{label}</a></th>",
            key.token(),
            order.token()
        );
    }

    /// The JSON listing: an array, one object per entry in the listed order, each with
    /// `name` (folders without a trailing `/`), `type` (`"directory"` or `"file"`), `size`
    /// (bytes; `null` for a folder), `mtime` (RFC 3339 UTC, `null` when unknown or outside
    /// 1970..=9999) and `href` (the absolute path that serves it, percent-encoded).
    pub fn json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(16 + self.entries.len() * 160);
        out.push('[');
        let folder = self.path.trim_matches('/');
        for (i, entry) in self.entries.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str("{\"name\":");
            push_json_string(&mut out, &entry.name);
            out.push_str(if entry.is_dir { ",\"type\":\"directory\"" } else { ",\"type\":\"file\"" });
            match entry.size {
                Some(size) => {
                    let _ = write!(out, ",\"size\":{size}");
                }
                None => out.push_str(",\"size\":null"),
            }
            match entry.modified.and_then(unix_seconds) {
                Some(seconds) => {
                    let _ = write!(out, ",\"mtime\":\"{}\"", Rfc3339(seconds));
                }
                None => out.push_str(",\"mtime\":null"),
            }
            let relative = if folder.is_empty() { entry.name.clone() } else { format!("{folder}/{}", entry.name) };
            let mut href = encode_path(&relative);
            if entry.is_dir {
                href.push('/');
            }
            // Percent-encoded: ASCII without quotes or backslashes, nothing to escape.
            let _ = write!(out, ",\"href\":\"{href}\"}}");
        }
        out.push_str(if self.entries.is_empty() { "]\n" } else { "\n]\n" });
        out.into_bytes()
    }
}

/// Inline CSS: system colours in a light and a dark scheme (`prefers-color-scheme`), names
/// that break anywhere rather than widen the page, sizes and dates that never wrap, and on a
/// narrow screen (under 40rem, a phone) tighter spacing and dates without the time of day.
const STYLE: &str = ":root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#5f5f5f;--link:#0645ad;\
--line:#e3e3e3}\
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#16181c;--muted:#a0a0a0;--link:#8ab4f8;--line:#2e3238}}\
body{font-family:system-ui,sans-serif;margin:2rem;color:var(--fg);background:var(--bg)}\
h1{font-size:1.4rem;font-weight:600;overflow-wrap:anywhere}\
table{border-collapse:collapse;width:100%;max-width:64rem}\
th,td{padding:.3rem 1rem .3rem 0;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}\
td:first-child{overflow-wrap:anywhere;width:100%}\
.size,.date{white-space:nowrap}.size{text-align:right}td.date{color:var(--muted)}\
a{color:var(--link)}th a{color:inherit}\
th[aria-sort=ascending]::after{content:\" \\25B2\"}th[aria-sort=descending]::after{content:\" \\25BC\"}\
.note{color:var(--muted)}\
@media (max-width:40rem){body{margin:1rem .75rem}h1{font-size:1.15rem}th,td{padding-right:.6rem}.time{display:none}}";

fn push_row(page: &mut String, entry: &Entry) {
    let slash = if entry.is_dir { "/" } else { "" };
    // `./` keeps a name such as `a:b` from reading as a URL scheme.
    let _ = write!(
        page,
        "<tr><td><a href=\"./{href}{slash}\">{text}{slash}</a></td>",
        href = encode_segment(&entry.name),
        text = escape_html(&entry.name),
    );
    match entry.size {
        Some(size) => {
            let unit = if size == 1 { "byte" } else { "bytes" };
            let _ = write!(page, "<td class=\"size\" title=\"{size} {unit}\">{}</td>", HumanSize(size));
        }
        None => page.push_str("<td class=\"size\">-</td>"),
    }
    match entry.modified.and_then(unix_seconds) {
        Some(seconds) => {
            let (date, time) = (Rfc3339(seconds), civil(seconds));
            let _ = writeln!(
                page,
                "<td class=\"date\"><time datetime=\"{date}\">{:04}-{:02}-{:02}<span class=\"time\"> \
                 {:02}:{:02}</span></time></td></tr>",
                time.year, time.month, time.day, time.hour, time.minute
            );
        }
        None => page.push_str("<td class=\"date\"></td></tr>\n"),
    }
}

fn display_path(path: &UrlPath<'_>) -> String {
    if path.relative.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/", path.relative)
    }
}

/// Seconds since the epoch, when the time is within 1970..=9999 (what an HTTP date or an
/// RFC 3339 date with a four-digit year can say).
fn unix_seconds(time: SystemTime) -> Option<u64> {
    let seconds = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    (seconds <= LAST_HTTP_DATE_SECOND).then_some(seconds)
}

/// A size in binary units, as people read them: `512 B`, `1.4 KiB`, `12.0 MiB`, one decimal,
/// rounded half up; a value that would round to 1024 of one unit is written in the next one
/// (`1023.99 KiB` is `1.0 MiB`).
pub struct HumanSize(pub u64);

impl std::fmt::Display for HumanSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let bytes = u128::from(self.0);
        let mut unit = 0;
        loop {
            let divisor = 1u128 << (10 * (unit + 1));
            // Tenths of the unit, rounded half up, in integers (no float rounding surprises).
            let tenths = (bytes * 10 + divisor / 2) / divisor;
            if tenths < 10 * 1024 || unit == UNITS.len() - 1 {
                return write!(f, "{}.{} {}", tenths / 10, tenths % 10, UNITS[unit]);
            }
            unit += 1;
        }
    }
}

/// A UTC date and time of day.
struct Civil {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
}

/// Seconds since the epoch → the proleptic Gregorian calendar in UTC (Howard Hinnant's
/// `civil_from_days`, for days on or after 1970-01-01).
fn civil(seconds: u64) -> Civil {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    Civil { year, month, day, hour: rest / 3600, minute: rest % 3600 / 60, second: rest % 60 }
}

/// `2017-07-14T02:40:00Z` (RFC 3339, UTC).
struct Rfc3339(u64);

impl std::fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = civil(self.0);
        write!(f, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
    }
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
        Entry { name: name.to_string(), is_dir, size: (!is_dir).then_some(3), modified: None }
    }

    fn listing(path: &str, entries: Vec<Entry>) -> Listing {
        Listing { path: path.to_string(), entries, view: View::default(), not_utf8: 0, not_files: 0 }
    }

    fn page(listing: &Listing) -> String {
        String::from_utf8(listing.html()).expect("UTF-8")
    }

    #[test]
    fn hostile_names_are_escaped_in_text_and_href() {
        let page =
            page(&listing("/", vec![entry("<img src=x onerror=alert(1)>.txt", false), entry("\"'&%# a:b", true)]));
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
        assert!(!page(&listing("/", vec![])).contains("href=\"../\""));
        assert!(page(&listing("/a/", vec![])).contains("href=\"../\""));
    }

    #[test]
    fn breadcrumb_links_each_folder_on_the_way() {
        let page = page(&listing("/a/<b>/c/", vec![]));
        assert!(
            page.contains(
                "<h1>Index of <a href=\"../../../\">/</a><a href=\"../../\">a/</a><a href=\"../\">&lt;b&gt;/</a>\
                 <span aria-current=\"page\">c/</span></h1>"
            ),
            "{page}"
        );
        let root = self::page(&listing("/", vec![]));
        assert!(root.contains("<h1>Index of <span aria-current=\"page\">/</span></h1>"), "{root}");
    }

    #[test]
    fn human_sizes() {
        let cases = [
            (0, "0 B"),
            (1, "1 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1434, "1.4 KiB"),
            (1484, "1.4 KiB"),
            (1485, "1.5 KiB"),
            (56_789, "55.5 KiB"),
            (1_048_575, "1.0 MiB"),
            (1_048_576, "1.0 MiB"),
            (10 * 1024 * 1024 + 1, "10.0 MiB"),
            (5 << 30, "5.0 GiB"),
            (u64::MAX, "16.0 EiB"),
        ];
        for (bytes, shown) in cases {
            assert_eq!(HumanSize(bytes).to_string(), shown, "{bytes}");
        }
    }

    #[test]
    fn dates_in_utc() {
        assert_eq!(Rfc3339(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Rfc3339(1_500_000_000).to_string(), "2017-07-14T02:40:00Z");
        assert_eq!(Rfc3339(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(Rfc3339(LAST_HTTP_DATE_SECOND).to_string(), "9999-12-31T23:59:59Z");
        // Every day for 30 years agrees with httpdate's own calendar.
        for day in (0..30 * 366).map(|d| d * 86_400 + 45_296) {
            let http = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(day));
            let c = civil(day);
            const MONTHS: [&str; 12] =
                ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let expected = format!("{:02} {} {} 12:34:56 GMT", c.day, MONTHS[c.month as usize - 1], c.year);
            assert!(http.ends_with(&expected), "{http} vs {expected}");
        }
    }

    #[test]
    fn json_escapes_names_and_encodes_hrefs() {
        let mut entries = vec![entry("a\"b\\c\u{1}.txt", false), entry("sub dir", true)];
        entries[0].modified = Some(UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000));
        let json = String::from_utf8(listing("/d/", entries).json()).expect("UTF-8");
        assert_eq!(
            json,
            "[\n{\"name\":\"a\\\"b\\\\c\\u0001.txt\",\"type\":\"file\",\"size\":3,\"mtime\":\"2017-07-14T02:40:00Z\",\
             \"href\":\"/d/a%22b%5Cc%01.txt\"},\n\
             {\"name\":\"sub dir\",\"type\":\"directory\",\"size\":null,\"mtime\":null,\"href\":\"/d/sub%20dir/\"}\n]\n"
        );
        assert_eq!(listing("/", vec![]).json(), b"[]\n");
    }

    #[test]
    fn fingerprints_differ_by_format_view_and_content() {
        let a = listing("/", vec![entry("a", false), entry("b", false)]);
        let mut by_size = a.clone();
        by_size.view = View { sort: SortKey::Size, order: Order::Ascending };
        let mut descending = a.clone();
        descending.view.order = Order::Descending;
        let mut bigger = a.clone();
        bigger.entries[1].size = Some(4);
        let mut elsewhere = a.clone();
        elsewhere.path = "/x/".into();
        let prints = [
            a.fingerprint(Format::Html),
            a.fingerprint(Format::Json),
            by_size.fingerprint(Format::Html),
            descending.fingerprint(Format::Html),
            bigger.fingerprint(Format::Html),
            elsewhere.fingerprint(Format::Html),
        ];
        for (i, x) in prints.iter().enumerate() {
            for y in &prints[i + 1..] {
                assert_ne!(x, y, "{prints:?}");
            }
        }
        assert_eq!(a.fingerprint(Format::Html), a.clone().fingerprint(Format::Html));
    }
}
