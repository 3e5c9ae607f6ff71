//! The command line: parse options, bind, print the start-up line, run until a signal.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rawserve::{log_output, Config, Server};

const USAGE: &str = "\
rawserve — a small HTTP/1.1 static-file server on raw TCP sockets

Usage: rawserve [OPTIONS] [ROOT]

Arguments:
  ROOT                      folder to serve (default: ./www)

Options:
  -b, --bind ADDR           address to listen on (default 127.0.0.1; IPv6 such as ::1 works too)
  -p, --port PORT           port (default 8080; 0 picks a free port)
  -t, --threads N           event-loop threads (default: one per core)
      --no-listing          answer 404 for folders without index.html instead of listing them
      --hidden              serve dotfiles and dot-folders (off by default)
      --cache-control VAL   Cache-Control for files and listings (default: no-cache)
      --no-file-cache       read every file from disk; by default small files stay in memory
                            while they are unchanged (turn off for NFS or mmap writers)
      --max-connections N   connections in flight (default 4096); at the cap the slowest
                            head is answered 408 to make room, else a newcomer gets 503
      --head-timeout SECS   time for a client to send its request head (default 10)
      --write-timeout SECS  time a response may make no progress (default 20)
      --drain-timeout SECS  time to finish responses on SIGINT/SIGTERM (default 10)
  -h, --help                print this help
  -V, --version             print the version

Logging: RUST_LOG=info (default) logs one line per request; RUST_LOG=debug narrates every
connection at the socket layer; RUST_LOG=warn is quiet.
";

fn main() -> ExitCode {
    let config = match parse_args() {
        Ok(Some(config)) => config,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => return fail(&message),
    };
    log_output::init();
    let server = match Server::bind(config) {
        Ok(server) => server,
        Err(e) => return fail(&e.to_string()),
    };
    let addr = match server.local_addr() {
        Ok(addr) => addr,
        Err(e) => return fail(&format!("cannot read the bound address: {e}")),
    };
    let handle = server.shutdown_handle();
    let mut signals =
        match signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]) {
            Ok(signals) => signals,
            Err(e) => return fail(&format!("cannot install signal handlers: {e}")),
        };
    std::thread::spawn(move || {
        let mut received = signals.forever();
        if received.next().is_some() {
            handle.shutdown();
        }
        // A second signal means "now": skip the drain.
        if received.next().is_some() {
            log_output::flush_pending();
            std::process::exit(130);
        }
    });
    println!("rawserve {} serving {} at http://{addr}/", env!("CARGO_PKG_VERSION"), server.root().display());
    let result = server.run();
    log_output::flush_pending();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("the server failed: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rawserve: {message}");
    ExitCode::from(2)
}

/// Parses the command line; `Ok(None)` when help or the version was printed.
fn parse_args() -> Result<Option<Config>, String> {
    use lexopt::prelude::*;
    let mut config = Config::default();
    let mut root: Option<PathBuf> = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| format!("{e}; see --help"))? {
        match arg {
            Short('b') | Long("bind") => config.bind = parse_bind(&value(&mut parser, "--bind")?)?,
            Short('p') | Long("port") => {
                let text = value(&mut parser, "--port")?;
                config.port =
                    text.parse().map_err(|_| format!("--port takes a number from 0 to 65535, not {text:?}"))?;
            }
            Short('t') | Long("threads") => {
                let text = value(&mut parser, "--threads")?;
                config.threads = match text.parse::<usize>() {
                    Ok(n) if (1..=1024).contains(&n) => n,
                    _ => return Err(format!("--threads takes a number from 1 to 1024, not {text:?}")),
                };
            }
            Long("no-listing") => config.listing = false,
            Long("hidden") => config.hidden = true,
            Long("no-file-cache") => config.file_cache = false,
            Long("cache-control") => {
                let text = value(&mut parser, "--cache-control")?;
                if text.is_empty() || text.bytes().any(|b| b.is_ascii_control()) {
                    return Err("--cache-control takes a non-empty value without control characters".into());
                }
                config.cache_control = text;
            }
            Long("max-connections") => {
                let text = value(&mut parser, "--max-connections")?;
                config.max_connections = match text.parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("--max-connections takes a positive number, not {text:?}")),
                };
            }
            Long("head-timeout") => config.head_timeout = seconds(&mut parser, "--head-timeout")?,
            Long("write-timeout") => config.write_timeout = seconds(&mut parser, "--write-timeout")?,
            Long("drain-timeout") => config.drain_timeout = seconds(&mut parser, "--drain-timeout")?,
            Short('h') | Long("help") => {
                print!("{USAGE}");
                return Ok(None);
            }
            Short('V') | Long("version") => {
                println!("rawserve {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            Value(path) if root.is_none() => root = Some(PathBuf::from(path)),
            Value(extra) => {
                return Err(format!("unexpected argument {:?}: only one ROOT folder can be served; see --help", extra))
            }
            other => return Err(format!("{}; see --help", other.unexpected())),
        }
    }
    config.root = root.unwrap_or_else(|| PathBuf::from("www"));
    Ok(Some(config))
}

fn value(parser: &mut lexopt::Parser, option: &str) -> Result<String, String> {
    let value = parser.value().map_err(|_| format!("{option} needs a value; see --help"))?;
    value.into_string().map_err(|_| format!("{option} needs a UTF-8 value"))
}

fn seconds(parser: &mut lexopt::Parser, option: &str) -> Result<Duration, String> {
    let text = value(parser, option)?;
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("{option} takes seconds, more than 0 and at most 86400, not {text:?}")),
    }
}

/// An IP address (`127.0.0.1`, `::1`, `[::1]`) or a name this machine resolves (`localhost`).
fn parse_bind(text: &str) -> Result<IpAddr, String> {
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ip);
    }
    match (bare, 0u16).to_socket_addrs().map(|mut addrs| addrs.next()) {
        Ok(Some(addr)) => Ok(addr.ip()),
        _ => Err(format!("--bind takes an IP address such as 127.0.0.1 or ::1, not {text:?}")),
    }
}
