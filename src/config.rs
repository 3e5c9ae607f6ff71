//! Everything the command line can set, with the defaults from `limits`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::http::access_log::{Cidr, LogFormat};
use crate::limits;

/// The default `Cache-Control` for files and listings: every use revalidates, which costs a
/// cheap 304 with ETag/Last-Modified, so a folder being edited never shows stale pages
/// (node http-server's one-hour default is its most-reported complaint).
pub const DEFAULT_CACHE_CONTROL: &str = "no-cache";

#[derive(Debug, Clone)]
pub struct Config {
    pub root: PathBuf,
    pub bind: IpAddr,
    pub port: u16,
    pub threads: usize,
    pub listing: bool,
    pub hidden: bool,
    pub cache_control: String,
    /// Keep small files in memory while inotify reports no change (`--no-file-cache`: off).
    pub file_cache: bool,
    pub head_timeout: Duration,
    pub write_timeout: Duration,
    pub drain_timeout: Duration,
    pub max_connections: usize,
    /// Routing (README, Routing): `--spa`, `--clean-urls`, `--follow-symlinks`; all off.
    pub spa: bool,
    pub clean_urls: bool,
    pub follow_symlinks: bool,
    /// `--header 'Name: value'`, as given: added to every response. Checked when the server
    /// starts (`http::added_fields`), which refuses the fields the server sets itself.
    pub headers: Vec<String>,
    /// `--cors`: `Access-Control-Allow-Origin: *` on every response, and CORS preflights
    /// answered (`http::cors`).
    pub cors: bool,
    /// `--cross-origin-isolation`: COOP `same-origin` and COEP `require-corp` on every
    /// response, so pages can use `SharedArrayBuffer`.
    pub cross_origin_isolation: bool,
    /// `--reuse-port`: share the port with listeners already on it (`SO_REUSEPORT`), and
    /// hand it over to them on SIGTERM, so a new instance can replace this one.
    pub reuse_port: bool,
    /// The access log: a file (`None`: stderr, as part of the server's log), its format, and
    /// the proxies whose `X-Forwarded-For`/`Forwarded` name the logged client.
    pub access_log: Option<PathBuf>,
    pub log_format: LogFormat,
    pub trusted_proxies: Vec<Cidr>,
    /// `--live-reload`: HTML pages get a script that reloads them when the root changes.
    pub live_reload: bool,
}

/// Threads by default: one event loop per core. Each loop serves many connections, so
/// more threads than cores only adds context switches (see README, Performance).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for Config {
    fn default() -> Config {
        Config {
            root: PathBuf::from("www"),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            threads: default_threads(),
            listing: true,
            hidden: false,
            cache_control: DEFAULT_CACHE_CONTROL.to_string(),
            file_cache: true,
            head_timeout: limits::HEAD_TIMEOUT,
            write_timeout: limits::WRITE_TIMEOUT,
            drain_timeout: limits::DRAIN_TIMEOUT,
            max_connections: limits::MAX_CONNECTIONS,
            spa: false,
            clean_urls: false,
            follow_symlinks: false,
            headers: Vec::new(),
            cors: false,
            cross_origin_isolation: false,
            reuse_port: false,
            access_log: None,
            log_format: LogFormat::default(),
            trusted_proxies: Vec::new(),
            live_reload: false,
        }
    }
}
