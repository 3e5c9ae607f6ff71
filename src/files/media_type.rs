//! File name → `Content-Type`. A short table of the types browsers are strict about comes
//! first (ES modules need `text/javascript`, `instantiateStreaming` needs `application/wasm`
//! with no parameters), then `mime_guess` for the long tail. Text types say `charset=utf-8`.
//! A few names also say the file is stored content-coded (`.svgz`).

use std::borrow::Cow;

/// What a file's name says about serving it: the same for a file on disk and in the file
/// cache, so both answer alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileType {
    pub content_type: Cow<'static, str>,
    /// The content coding the file is stored in, sent as `Content-Encoding`: `.svgz` is
    /// `image/svg+xml` compressed with gzip (SVG 1.1 §1.2). It is the file's only
    /// representation, so no sibling replaces it and nothing varies with `Accept-Encoding`.
    pub encoding: Option<&'static str>,
}

impl FileType {
    pub fn of(file_name: &str) -> FileType {
        let encoding = extension_is(file_name, "svgz").then_some("gzip");
        FileType { content_type: media_type(file_name), encoding }
    }

    /// A `.br`/`.gz` sibling is looked for only for types worth compressing that are not
    /// already coded, so images and video cost no extra `openat2` per request.
    pub fn has_siblings(&self) -> bool {
        self.encoding.is_none() && compressible(&self.content_type)
    }
}

fn extension_is(file_name: &str, ext: &str) -> bool {
    file_name.rsplit_once('.').is_some_and(|(_, found)| found.eq_ignore_ascii_case(ext))
}

pub const OCTET_STREAM: &str = "application/octet-stream";
pub const HTML: &str = "text/html; charset=utf-8";
/// RFC 8259 §11: JSON is UTF-8 and the type defines no `charset` parameter.
pub const JSON: &str = "application/json";

/// The media type for a file name, by its extension (case-insensitive).
pub fn media_type(file_name: &str) -> Cow<'static, str> {
    let Some((_, ext)) = file_name.rsplit_once('.') else {
        return Cow::Borrowed(OCTET_STREAM);
    };
    let mut lower = [0u8; 11];
    if ext.len() <= lower.len() {
        for (slot, b) in lower.iter_mut().zip(ext.bytes()) {
            *slot = b.to_ascii_lowercase();
        }
        if let Some(known) = common(&lower[..ext.len()]) {
            return Cow::Borrowed(known);
        }
    }
    match mime_guess::from_ext(ext).first_raw() {
        Some(t) if t.starts_with("text/") => Cow::Owned(format!("{t}; charset=utf-8")),
        Some(t) => Cow::Borrowed(t),
        None => Cow::Borrowed(OCTET_STREAM),
    }
}

/// Types worth precompressing (text, JSON, SVG, WASM, XML).
fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || ["application/json", "application/manifest+json", "image/svg+xml", "application/wasm", "application/xml"]
            .iter()
            .any(|t| content_type.starts_with(t))
}

fn common(ext: &[u8]) -> Option<&'static str> {
    Some(match ext {
        b"html" | b"htm" => HTML,
        b"css" => "text/css; charset=utf-8",
        // RFC 9239: JavaScript is text/javascript, whatever the module system (.mjs, .cjs).
        b"js" | b"mjs" | b"cjs" => "text/javascript; charset=utf-8",
        b"json" | b"map" => "application/json",
        // W3C Web App Manifest §1.2 registers this type for `.webmanifest`.
        b"webmanifest" => "application/manifest+json",
        b"txt" => "text/plain; charset=utf-8",
        b"md" => "text/markdown; charset=utf-8",
        b"csv" => "text/csv; charset=utf-8",
        b"xml" => "text/xml; charset=utf-8",
        b"svg" | b"svgz" => "image/svg+xml",
        b"png" => "image/png",
        b"jpg" | b"jpeg" => "image/jpeg",
        b"gif" => "image/gif",
        b"webp" => "image/webp",
        b"avif" => "image/avif",
        b"ico" => "image/x-icon",
        b"wasm" => "application/wasm",
        b"mp4" | b"m4v" => "video/mp4",
        b"webm" => "video/webm",
        b"ogv" => "video/ogg",
        b"mp3" => "audio/mpeg",
        b"ogg" | b"oga" => "audio/ogg",
        b"wav" => "audio/wav",
        b"woff" => "font/woff",
        b"woff2" => "font/woff2",
        b"ttf" => "font/ttf",
        b"otf" => "font/otf",
        b"pdf" => "application/pdf",
        b"zip" => "application/zip",
        b"gz" => "application/gzip",
        b"br" => "application/x-brotli",
        b"tar" => "application/x-tar",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_critical_types() {
        assert_eq!(media_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(media_type("INDEX.HTM"), "text/html; charset=utf-8");
        assert_eq!(media_type("style.css"), "text/css; charset=utf-8");
        assert_eq!(media_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(media_type("mod.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(media_type("data.json"), "application/json");
        assert_eq!(media_type("logo.svg"), "image/svg+xml");
        assert_eq!(media_type("logo.png"), "image/png");
        assert_eq!(media_type("add.wasm"), "application/wasm");
        assert_eq!(media_type("clip.mp4"), "video/mp4");
        assert_eq!(media_type("index.html.gz"), "application/gzip");
    }

    #[test]
    fn module_manifest_and_coded_types() {
        assert_eq!(media_type("lib.cjs"), "text/javascript; charset=utf-8");
        assert_eq!(media_type("LIB.CJS"), "text/javascript; charset=utf-8");
        assert_eq!(media_type("app.webmanifest"), "application/manifest+json");
        assert_eq!(media_type("pic.avif"), "image/avif");
        assert_eq!(media_type("pic.webp"), "image/webp");
        assert_eq!(media_type("font.woff2"), "font/woff2");
        let svgz = FileType::of("logo.svgz");
        assert_eq!(svgz, FileType { content_type: "image/svg+xml".into(), encoding: Some("gzip") });
        assert!(!svgz.has_siblings(), "a coded file has no precompressed siblings");
        assert_eq!(FileType::of("LOGO.SVGZ").encoding, Some("gzip"));
        assert_eq!(FileType::of("logo.svg").encoding, None);
        assert!(FileType::of("logo.svg").has_siblings());
        assert!(FileType::of("app.webmanifest").has_siblings());
        assert!(!FileType::of("clip.mp4").has_siblings());
        // A `.gz` file asked for by name is an archive, not a coded representation.
        assert_eq!(FileType::of("a.html.gz"), FileType { content_type: "application/gzip".into(), encoding: None });
    }

    #[test]
    fn unknown_and_extensionless_are_octet_stream() {
        assert_eq!(media_type("README"), OCTET_STREAM);
        assert_eq!(media_type("x.unknownext"), OCTET_STREAM);
        assert_eq!(media_type("x.averyveryverylongext"), OCTET_STREAM);
    }

    #[test]
    fn long_tail_text_gets_a_charset() {
        assert_eq!(media_type("main.rs"), "text/x-rust; charset=utf-8");
    }
}
