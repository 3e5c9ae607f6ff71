//! The command line: parse options, bind, print the start-up line, run until a signal.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rawserve::http::access_log::{Cidr, LogFormat};
use rawserve::{log_output, Config, Server};

/// How long the exit waits for the log to be written out (a blocked sink must not hold it).
const LOG_FINISH_LIMIT: Duration = Duration::from_secs(2);

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
      --spa                 single-page app: a browser's request for a missing page without
                            an extension gets the root's index.html (200), not 404
      --clean-urls          /about serves about.html when there is no about; /about.html
                            then redirects (301) to /about
      --follow-symlinks     follow symlinks that lead out of the root (never to dotfiles)
      --header 'NAME: VALUE'
                            add this field to every response (repeatable), e.g.
                            --header 'X-Frame-Options: DENY'; not the fields rawserve sets
                            itself (Content-Type, Cache-Control, ETag, Vary, ...)
      --cors                let pages of any origin read every response
                            (Access-Control-Allow-Origin: *) and answer CORS preflights
      --cross-origin-isolation
                            send COOP same-origin and COEP require-corp, so pages are
                            crossOriginIsolated and can use SharedArrayBuffer
      --reuse-port          share the port with rawserves already on it (SO_REUSEPORT) and
                            hand it over to them on SIGTERM: restarts without a failed request
      --access-log PATH     append access lines to PATH, reopened on SIGHUP (logrotate);
                            default: stderr, among the server's log lines
      --log-format FORMAT   access lines as rawserve (default: duration and refusal reason),
                            combined (Combined Log Format, for GoAccess & co.), common or json
      --trusted-proxy ADDR  for peers at ADDR (an address or CIDR block, repeatable), log the
                            client their X-Forwarded-For/Forwarded names; others: ignored
      --live-reload         reload open pages when a file under ROOT changes (HTML pages get
                            a script; stylesheets are swapped in place); off by default
  -h, --help                print this help
  -V, --version             print the version

Socket activation: started by systemd with LISTEN_FDS/LISTEN_PID (a .socket unit with one
ListenStream=), rawserve serves the listener it was passed and ignores --bind and --port.

Logging: RUST_LOG=info (default) logs one line per request; RUST_LOG=debug narrates every
connection at the socket layer; RUST_LOG=warn is quiet (an --access-log file still gets
every request).
";

fn main() -> ExitCode {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // Held from before the listener exists until the handlers are in: a supervisor or test
    // that sees the port accept and sends SIGTERM at once must get the graceful stop. With
    // the handlers installed after `bind` and nothing held, 104 of 200 such signals (each
    // sent as soon as a connect succeeded) met the default action and killed the process.
    // Held rather than handled early because the handlers' socketpair would take fd 3, which
    // `Server::bind` must find as systemd passed it. Threads started meanwhile (the log's)
    // keep them held, so the signals reach this thread once it lets them through.
    let stop_signals = SignalSet::of(&[SIGINT, SIGTERM, SIGHUP]);
    stop_signals.hold();
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
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => return fail(&format!("cannot install signal handlers: {e}")),
    };
    std::thread::spawn(move || {
        let mut stops = 0;
        for signal in signals.forever() {
            if signal == SIGHUP {
                // logrotate's postrotate: the access log was renamed; write a new one.
                log_output::reopen();
                continue;
            }
            stops += 1;
            if stops == 1 {
                handle.shutdown();
            } else {
                // A second signal means "now": skip the drain.
                log_output::finish(LOG_FINISH_LIMIT);
                std::process::exit(130);
            }
        }
    });
    // One held while `bind` ran is delivered now, to the handlers.
    stop_signals.let_through();
    println!("rawserve {} serving {} at http://{addr}/", env!("CARGO_PKG_VERSION"), server.root().display());
    let result = server.run();
    log_output::finish(LOG_FINISH_LIMIT);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("the server failed: {e}")),
    }
}

/// Signals this thread holds back (blocks) while the server starts: one sent meanwhile stays
/// pending instead of taking its default action.
struct SignalSet(libc::sigset_t);

impl SignalSet {
    fn of(signals: &[libc::c_int]) -> SignalSet {
        // SAFETY: sigemptyset initialises the zeroed set; sigaddset only adds valid numbers.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in signals {
                libc::sigaddset(&mut set, signal);
            }
            SignalSet(set)
        }
    }

    fn hold(&self) {
        self.mask(libc::SIG_BLOCK);
    }

    fn let_through(&self) {
        self.mask(libc::SIG_UNBLOCK);
    }

    fn mask(&self, how: libc::c_int) {
        // SAFETY: a valid, initialised set; the old mask is not asked for. It fails only for
        // an invalid `how`, which these two callers never pass.
        unsafe { libc::pthread_sigmask(how, &self.0, std::ptr::null_mut()) };
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
            Long("spa") => config.spa = true,
            Long("clean-urls") => config.clean_urls = true,
            Long("follow-symlinks") => config.follow_symlinks = true,
            // Checked with the flags below when the server starts (`http::added_fields`).
            Long("header") => config.headers.push(value(&mut parser, "--header")?),
            Long("cors") => config.cors = true,
            Long("cross-origin-isolation") => config.cross_origin_isolation = true,
            Long("reuse-port") => config.reuse_port = true,
            Long("access-log") => {
                let text = value(&mut parser, "--access-log")?;
                if text.is_empty() {
                    return Err("--access-log takes a file path".into());
                }
                config.access_log = Some(PathBuf::from(text));
            }
            Long("log-format") => {
                let text = value(&mut parser, "--log-format")?;
                config.log_format = LogFormat::parse(&text)
                    .ok_or_else(|| format!("--log-format takes {}, not {text:?}", LogFormat::NAMES))?;
            }
            Long("trusted-proxy") => {
                let text = value(&mut parser, "--trusted-proxy")?;
                let cidr = Cidr::parse(&text).ok_or_else(|| {
                    format!("--trusted-proxy takes an IP address or CIDR block such as 10.0.0.0/8 or ::1, not {text:?}")
                })?;
                config.trusted_proxies.push(cidr);
            }
            Long("live-reload") => config.live_reload = true,
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
    config.root = match root {
        Some(root) => root,
        None => default_root()?,
    };
    Ok(Some(config))
}

/// `./www`, the folder `cargo run --release` serves. Run elsewhere without a ROOT, the
/// message says how to serve the folder the user is in.
fn default_root() -> Result<PathBuf, String> {
    let www = PathBuf::from("www");
    if std::fs::symlink_metadata(&www).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        let here = std::env::current_dir().map_or_else(|_| ".".to_string(), |dir| dir.display().to_string());
        return Err(format!(
            "no folder to serve: no ROOT was given and there is no ./www in {here}; \
             to serve this folder run `rawserve .`, or name one: `rawserve ./site`"
        ));
    }
    Ok(www)
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
