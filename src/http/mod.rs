//! The application layer: bytes of a request head in, a response out. Knows nothing of
//! sockets; asks `files` for what to send.

pub mod accept;
pub mod accept_encoding;
pub mod access_log;
pub mod added_fields;
pub mod conditional;
pub mod cors;
pub mod date;
pub mod exchange;
pub mod file_response;
pub mod handler;
pub mod head;
pub mod listing_response;
pub mod live;
pub mod range;
pub mod request;
pub mod response;
pub mod syntax;
pub mod target;

pub use request::RequestError;
