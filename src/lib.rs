//! rawserve: a small HTTP/1.1 static-file server on raw TCP sockets.
//!
//! The modules follow a request's path: `socket` (transport: listen, accept, recv, send,
//! close) → `http` (the head parsed, the response built) → `files` (the document root).

pub mod config;
pub mod files;
pub mod http;
pub mod limits;
pub mod log_output;
pub mod server;
pub mod socket;

pub use config::Config;
pub use server::{Server, ShutdownHandle, StartError};
