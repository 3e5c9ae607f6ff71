//! What a response sends after its head: nothing, bytes made in memory, or regions of an
//! open file that go out with `sendfile` straight from the page cache.

use std::fs::File;

/// One stretch of a response body.
#[derive(Debug)]
pub enum Piece {
    /// Bytes made in memory: an error page, a listing, a small file, a multipart boundary.
    Bytes(Vec<u8>),
    /// `len` bytes of the response's file starting at `offset`.
    FileRegion { offset: u64, len: u64 },
}

impl Piece {
    #[allow(clippy::len_without_is_empty)] // a piece is never empty where it matters
    pub fn len(&self) -> u64 {
        match self {
            Piece::Bytes(bytes) => bytes.len() as u64,
            Piece::FileRegion { len, .. } => *len,
        }
    }
}

/// A response body: pieces in order, and the file that `FileRegion` pieces read from.
#[derive(Debug, Default)]
pub struct Body {
    pub pieces: Vec<Piece>,
    pub file: Option<File>,
}

impl Body {
    pub fn empty() -> Body {
        Body::default()
    }

    pub fn bytes(bytes: Vec<u8>) -> Body {
        Body { pieces: vec![Piece::Bytes(bytes)], file: None }
    }

    pub fn file_region(file: File, offset: u64, len: u64) -> Body {
        Body { pieces: vec![Piece::FileRegion { offset, len }], file: Some(file) }
    }

    /// The exact number of bytes the pieces add up to: the `Content-Length`.
    pub fn len(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
