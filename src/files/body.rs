//! What a response sends after its head: nothing, bytes made in memory, or regions of a
//! source: an open file (sent with `sendfile` straight from the page cache) or a small file's
//! bytes already in memory (`files::file_cache`).

use std::fs::File;
use std::sync::Arc;

/// One stretch of a response body.
#[derive(Debug)]
pub enum Piece {
    /// Bytes made in memory: an error page, a listing, a small file, a multipart boundary.
    Bytes(Vec<u8>),
    /// `len` bytes of the body's source starting at `offset`.
    Region { offset: u64, len: u64 },
}

impl Piece {
    #[allow(clippy::len_without_is_empty)] // a piece is never empty where it matters
    pub fn len(&self) -> u64 {
        match self {
            Piece::Bytes(bytes) => bytes.len() as u64,
            Piece::Region { len, .. } => *len,
        }
    }
}

/// Where `Region` pieces come from.
#[derive(Debug)]
pub enum Source {
    File(File),
    Memory(Arc<[u8]>),
}

impl Source {
    /// The in-memory bytes of a region, `None` for a file or a region past the end.
    pub fn memory_region(&self, offset: u64, len: u64) -> Option<&[u8]> {
        match self {
            Source::Memory(bytes) => {
                bytes.get(usize::try_from(offset).ok()?..usize::try_from(offset.checked_add(len)?).ok()?)
            }
            Source::File(_) => None,
        }
    }
}

/// A response body: pieces in order, and the source that `Region` pieces read from.
#[derive(Debug, Default)]
pub struct Body {
    pub pieces: Vec<Piece>,
    pub source: Option<Source>,
}

impl Body {
    pub fn empty() -> Body {
        Body::default()
    }

    pub fn bytes(bytes: Vec<u8>) -> Body {
        Body { pieces: vec![Piece::Bytes(bytes)], source: None }
    }

    pub fn region(source: Source, offset: u64, len: u64) -> Body {
        Body { pieces: vec![Piece::Region { offset, len }], source: Some(source) }
    }

    /// The exact number of bytes the pieces add up to: the `Content-Length`.
    pub fn len(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_regions_stay_inside_the_bytes() {
        let source = Source::Memory(Arc::from(&b"0123456789"[..]));
        assert_eq!(source.memory_region(2, 3), Some(&b"234"[..]));
        assert_eq!(source.memory_region(0, 10), Some(&b"0123456789"[..]));
        assert_eq!(source.memory_region(10, 0), Some(&b""[..]));
        assert_eq!(source.memory_region(8, 3), None);
        assert_eq!(source.memory_region(u64::MAX, 2), None);
        let file = Source::File(File::open("/dev/null").expect("open /dev/null"));
        assert_eq!(file.memory_region(0, 0), None);
    }
}
