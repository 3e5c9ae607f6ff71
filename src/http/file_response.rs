//! The response for a regular file: validators and conditional requests (RFC 9110 §13),
//! ranges (§14), and precompressed `.br`/`.gz` siblings chosen by Accept-Encoding (§12.5.3).
//!
//! Order of decisions, as RFC 9110 §13.2.2 lays them out:
//! 1. select the representation: the file, or its precompressed sibling;
//! 2. evaluate If-Match / If-Unmodified-Since / If-None-Match / If-Modified-Since on it
//!    (412 or 304);
//! 3. If-Range, then Range (206, multipart 206, or 416);
//! 4. otherwise 200 with the whole representation.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fs::{File, Metadata};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::files::body::{Body, Piece, Source};
use crate::files::file_cache::{CachedFile, Snapshot};
use crate::files::media_type::{FileType, HTML};
use crate::files::precompressed::SiblingMemory;
use crate::files::site::Site;
use crate::files::FileError;
use crate::http::accept_encoding::{choose_coding, Coding};
use crate::http::conditional::{evaluate, file_etag, if_range_allows, Precondition, Preconditions, Validators};
use crate::http::date::Dates;
use crate::http::live::{inject, SCRIPT};
use crate::http::range::{content_range, multipart_pieces, parse_range, ByteRange, MultipartPiece, RangeRequest};
use crate::http::request::{Method, RequestHead};
use crate::http::response::{Response, Status};
use crate::limits::{LIVE_INJECT_MAX_BYTES, SMALL_FILE_BYTES};

/// One representation of a file: the file itself or a precompressed sibling, on disk or in
/// memory.
pub struct Variant<'a> {
    source: Source,
    len: u64,
    /// Exact, from the file system; the ETag uses all of it, Last-Modified whole seconds.
    modified: SystemTime,
    /// Where a file in memory keeps its ETag once made: it is the same on every response.
    etag: Option<&'a OnceCell<String>>,
}

impl<'a> Variant<'a> {
    fn on_disk(file: File, metadata: &Metadata) -> Variant<'a> {
        let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
        Variant { source: Source::File(file), len: metadata.len(), modified, etag: None }
    }

    fn in_memory(snapshot: &'a Snapshot) -> Variant<'a> {
        Variant {
            source: Source::Memory(Arc::clone(&snapshot.bytes)),
            len: snapshot.bytes.len() as u64,
            modified: snapshot.modified,
            etag: Some(&snapshot.etag),
        }
    }
}

/// A regular file and the precompressed siblings beside it: everything the response depends
/// on, whether the bytes come from disk or from the loop's file cache.
pub struct FileVariants<'a> {
    relative: &'a str,
    file_type: FileType,
    plain: Variant<'a>,
    brotli: Option<Variant<'a>>,
    gzip: Option<Variant<'a>>,
    /// Which file this URL answers with depends on `Accept` (`--spa`): caches must know.
    varies_on_accept: bool,
}

impl<'a> FileVariants<'a> {
    /// The regular file `relative`, already opened as `file`, and the siblings on disk (looked
    /// for only when its type is worth compressing).
    pub fn on_disk(
        site: &Site,
        siblings: &mut SiblingMemory,
        relative: &'a str,
        file: File,
        metadata: &Metadata,
    ) -> FileVariants<'a> {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        let file_type = FileType::of(name);
        let (mut brotli, mut gzip) = (None, None);
        if file_type.has_siblings() {
            let [br, gz] = siblings.find(site, relative, [Coding::Brotli.file_suffix(), Coding::Gzip.file_suffix()]);
            brotli = br.map(|(file, metadata)| Variant::on_disk(file, &metadata));
            gzip = gz.map(|(file, metadata)| Variant::on_disk(file, &metadata));
        }
        FileVariants {
            relative,
            file_type,
            plain: Variant::on_disk(file, metadata),
            brotli,
            gzip,
            varies_on_accept: false,
        }
    }

    /// A file the loop holds in memory: the same decisions, no syscall.
    pub fn in_memory(cached: &'a CachedFile) -> FileVariants<'a> {
        FileVariants {
            relative: &cached.relative,
            file_type: cached.file_type.clone(),
            plain: Variant::in_memory(&cached.plain),
            brotli: cached.brotli.as_ref().map(Variant::in_memory),
            gzip: cached.gzip.as_ref().map(Variant::in_memory),
            varies_on_accept: false,
        }
    }

    /// The response names `Accept` in `Vary` (RFC 9110 §12.5.5), as its 304 does.
    pub fn varying_on_accept(mut self) -> FileVariants<'a> {
        self.varies_on_accept = true;
        self
    }

    /// The variant Accept-Encoding chooses among those that exist (RFC 9110 §12.5.3), and
    /// its coding.
    fn negotiate(self, head: &RequestHead<'_, '_>) -> (Variant<'a>, Option<Coding>) {
        let FileVariants { plain, brotli, gzip, .. } = self;
        match (choose_coding(head.field("accept-encoding"), brotli.is_some(), gzip.is_some()), brotli, gzip) {
            (Some(Coding::Brotli), Some(brotli), _) => (brotli, Some(Coding::Brotli)),
            (Some(Coding::Gzip), _, Some(gzip)) => (gzip, Some(Coding::Gzip)),
            _ => (plain, None),
        }
    }
}

/// The response for a regular file: the one path for files on disk and in memory.
pub fn file_response(
    head: &RequestHead<'_, '_>,
    site: &Site,
    dates: &mut Dates,
    variants: FileVariants<'_>,
) -> Result<Response, FileError> {
    let (relative, file_type) = (variants.relative, variants.file_type.clone());
    let content_type = &*file_type.content_type;
    // --live-reload: an HTML page is its own representation, with the script in it.
    let live = site.live_reload && content_type == HTML && variants.plain.len <= LIVE_INJECT_MAX_BYTES;
    let has_variants = !live && (variants.brotli.is_some() || variants.gzip.is_some());
    let vary = match (has_variants, variants.varies_on_accept) {
        (true, true) => Some("Accept-Encoding, Accept"),
        (true, false) => Some("Accept-Encoding"),
        (false, true) => Some("Accept"),
        (false, false) => None,
    };
    let (Variant { source, len, modified, etag: kept_etag }, coding) =
        if live { (variants.plain, None) } else { variants.negotiate(head) };
    log::trace!(
        "{} {relative}{} ({len} bytes)",
        if matches!(source, Source::Memory(_)) { "in memory:" } else { "opened" },
        coding.map_or("", |c| c.file_suffix())
    );
    // A variant in memory keeps the tag of its bytes, made once (callgrind: ~530 of ~9,000
    // instructions a response); a coding or a live page adds its suffix on each response.
    let made;
    let file_tag: &str = match kept_etag {
        Some(kept) => kept.get_or_init(|| file_etag(len, modified)),
        None => {
            made = file_etag(len, modified);
            &made
        }
    };
    let mut etag = Cow::Borrowed(file_tag);
    if let Some(coding) = coding {
        // Each coding is its own representation with its own strong tag (RFC 9110 §8.8.3).
        etag = Cow::Owned(with_suffix(&etag, coding.token()));
    }
    if live {
        // Not the file's bytes: a tag of its own, so no cache mixes the two (§8.8.3).
        etag = Cow::Owned(with_suffix(&etag, "live"));
    }
    let etag = &*etag;
    let modified = whole_seconds(modified);
    let validators = Validators { etag, last_modified: Some(modified) };
    let mut response = match check_preconditions(head, &validators) {
        Precondition::Failed => return Ok(Response::error(Status::PreconditionFailed)),
        Precondition::NotModified => Response::not_modified(),
        Precondition::Proceed if live => live_page(head, source, len)?,
        Precondition::Proceed => {
            let range =
                head.single_field("range").filter(|_| if_range_allows(head.single_field("if-range"), &validators));
            let mut response = match range.map(|value| parse_range(value, len)) {
                Some(RangeRequest::Unsatisfiable) => {
                    let mut response = Response::error(Status::RangeNotSatisfiable);
                    response.field_fmt("Content-Range", format_args!("bytes */{len}"));
                    return Ok(response);
                }
                Some(RangeRequest::Partial(ranges)) => partial(source, len, content_type, &ranges),
                Some(RangeRequest::Full) | None => whole(head, source, len, content_type)?,
            };
            // Representation metadata: only with content (a 304 carries none, §15.4.5).
            if let Some(encoding) = coding.map(Coding::token).or(file_type.encoding) {
                response.field("Content-Encoding", encoding);
            }
            response
        }
    };
    if let Some(vary) = vary {
        // §15.4.5: a 304 sends the Vary a 200 would.
        response.field("Vary", vary);
    }
    response.field("ETag", etag).field("Last-Modified", dates.imf_fixdate(modified).as_str());
    if response.status() != Status::NotModified && !live {
        response.field("Accept-Ranges", "bytes");
    }
    response.field("Cache-Control", &site.cache_control);
    Ok(response)
}

/// RFC 9110 §13.2.2 on this request's conditional fields (steps 1–4), for a file or a listing.
pub fn check_preconditions(head: &RequestHead<'_, '_>, validators: &Validators<'_>) -> Precondition {
    let (if_match, if_none_match) = (head.field_list("if-match"), head.field_list("if-none-match"));
    let preconditions = Preconditions {
        if_match: if_match.as_deref(),
        if_none_match: if_none_match.as_deref(),
        if_modified_since: head.single_field("if-modified-since"),
        if_unmodified_since: head.single_field("if-unmodified-since"),
    };
    evaluate(&preconditions, validators, true)
}

/// 200 with the whole representation: bytes in memory and small files go out with the head
/// in one `send`, large files with `sendfile`. HEAD reads nothing.
fn whole(head: &RequestHead<'_, '_>, source: Source, len: u64, content_type: &str) -> Result<Response, FileError> {
    let body = match source {
        Source::File(file) if len <= SMALL_FILE_BYTES && head.method == Method::Get => {
            Body::bytes(read_small_file(file, len)?)
        }
        source => Body::region(source, 0, len),
    };
    let mut response = Response::new(Status::Ok, body);
    response.field("Content-Type", content_type);
    Ok(response)
}

/// 200 with an HTML page and the live-reload script in it, whole: a `Range` is ignored (RFC
/// 9110 §14.2 allows it; the page says no `Accept-Ranges`). `HEAD` reads nothing: the length is
/// the file's and the script's.
fn live_page(head: &RequestHead<'_, '_>, source: Source, len: u64) -> Result<Response, FileError> {
    let body = if head.method == Method::Get {
        let page = match source {
            Source::File(file) => read_small_file(file, len)?,
            Source::Memory(bytes) => bytes.to_vec(),
        };
        Body::bytes(inject(&page))
    } else {
        let pieces = vec![Piece::Region { offset: 0, len }, Piece::Bytes(SCRIPT.as_bytes().to_vec())];
        Body { pieces, source: Some(source) }
    };
    let mut response = Response::new(Status::Ok, body);
    response.field("Content-Type", HTML);
    Ok(response)
}

/// 206 with one range, or `multipart/byteranges` for several (RFC 9110 §14.6). The body is
/// only source regions and boundaries, so HEAD (whose body `respond` drops) costs no reading.
fn partial(source: Source, len: u64, content_type: &str, ranges: &[ByteRange]) -> Response {
    let source = Some(source);
    match ranges {
        [range] => {
            let pieces = vec![Piece::Region { offset: range.start, len: range.len() }];
            let mut response = Response::new(Status::PartialContent, Body { pieces, source });
            response.field("Content-Range", &content_range(*range, len)).field("Content-Type", content_type);
            response
        }
        _ => {
            let boundary = new_boundary();
            let (pieces, total) = multipart_pieces(ranges, len, content_type, &boundary);
            let pieces = pieces
                .into_iter()
                .map(|piece| match piece {
                    MultipartPiece::Text(bytes) => Piece::Bytes(bytes),
                    MultipartPiece::FileRange(r) => Piece::Region { offset: r.start, len: r.len() },
                })
                .collect();
            let mut response = Response::new(Status::PartialContent, Body { pieces, source });
            debug_assert_eq!(response.content_length(), Some(total));
            response.field("Content-Type", &format!("multipart/byteranges; boundary={boundary}"));
            response
        }
    }
}

/// A boundary unlikely to occur in any file: 24 hex digits from the clock and a counter,
/// mixed so consecutive boundaries share no long prefix.
fn new_boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    format!("rawserve-{x:016x}{:08x}", (nanos as u32) ^ (x >> 32) as u32)
}

/// Reads a small file whole. At most `len` bytes are read: if the file grew since `fstat`,
/// the response still matches the length it announces.
fn read_small_file(file: File, len: u64) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < len {
        // It shrank: announce what is really there rather than pad.
        bytes.shrink_to_fit();
    }
    Ok(bytes)
}

/// `"tag"` with `-suffix` inside the quotes.
fn with_suffix(tag: &str, suffix: &str) -> String {
    let (open, _) = tag.split_at(tag.len() - 1);
    format!("{open}-{suffix}\"")
}

/// HTTP dates have whole seconds (RFC 9110 §5.6.7); comparisons must use the same precision.
pub fn whole_seconds(time: SystemTime) -> SystemTime {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + std::time::Duration::from_secs(secs)
}
