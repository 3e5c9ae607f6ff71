//! The server as a whole: bind the listener, open the root, run the event loops, and stop
//! them gracefully. It puts together the state the socket side shares (`socket::Shared`);
//! nothing below imports this module.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use log::{debug, info, log_enabled, warn, Level};

use crate::config::Config;
use crate::files::site::{RootError, Site};
use crate::files::watch::TreeWatch;
use crate::http::access_log::{AccessLog, LineSink};
use crate::http::added_fields::{AddedFields, HeaderError};
use crate::http::exchange::Service;
use crate::http::live::watch_and_publish;
use crate::limits::{DEFER_ACCEPT, FIXED_FDS, HANDOVER_GRACE, LIVE_STREAMS};
use crate::socket::acceptor::{Burst, SpareFd};
use crate::socket::activation::{inherited_listener, ActivationError};
use crate::socket::deferral::AdaptiveDeferral;
use crate::socket::listener::{adopt_listener, bind_listener};
use crate::socket::pool::run_event_loops;
use crate::socket::readiness::Waker;
use crate::socket::sys::{prepare_handover, Handover};
use crate::socket::{ConnectionLimits, ListenerOrigin, Shared};

/// Why the server could not start; `main` prints it as one line and exits with status 2.
#[derive(Debug)]
pub enum StartError {
    Header(HeaderError),
    Root(RootError),
    Bind {
        addr: SocketAddr,
        error: io::Error,
    },
    /// The listener systemd passed (`LISTEN_FDS`) is not one rawserve can serve.
    Activation(ActivationError),
    Setup(io::Error),
    AccessLog {
        path: PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Header(e) => e.fmt(f),
            StartError::Root(e) => e.fmt(f),
            StartError::Bind { addr, error } => match error.raw_os_error() {
                Some(libc::EADDRINUSE) => write!(
                    f,
                    "{addr} is already in use; stop the other server or pick another port with --port (0 picks a free one)"
                ),
                Some(libc::EADDRNOTAVAIL) => write!(
                    f,
                    "{} is not an address of this machine; use --bind 127.0.0.1, ::1 or 0.0.0.0",
                    addr.ip()
                ),
                Some(libc::EACCES) => write!(
                    f,
                    "not allowed to listen on {addr}; ports below 1024 need privileges, pick --port 8080"
                ),
                _ => write!(f, "cannot listen on {addr}: {error}"),
            },
            StartError::Activation(e) => e.fmt(f),
            StartError::Setup(e) => write!(f, "cannot start: {e}"),
            StartError::AccessLog { path, error } => {
                write!(f, "cannot open the access log {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for StartError {}

pub struct Server {
    shared: Arc<Shared>,
    threads: usize,
    /// With `--live-reload`: the watch its thread turns into events.
    live_watch: Option<TreeWatch>,
}

impl Server {
    /// Opens the root and starts listening: from here on, connections queue in the backlog.
    pub fn bind(config: Config) -> Result<Server, StartError> {
        // First, before any other fd is opened: a passed fd 3 is claimed, and a missing one is
        // seen as missing (the root folder's fd would otherwise take the number).
        let inherited = inherited_listener().map_err(StartError::Activation)?;
        let added = AddedFields::new(&config.headers, config.cors, config.cross_origin_isolation)
            .map_err(StartError::Header)?;
        if !added.as_bytes().is_empty() {
            let lines = String::from_utf8_lossy(added.as_bytes());
            let preflights = if added.cors() { "; CORS preflights get 204" } else { "" };
            debug!("every response carries {}{preflights}", lines.trim_end().replace("\r\n", " | "));
        }
        let mut site = Site::open(&config.root, config.listing, config.hidden, config.cache_control.clone())
            .map_err(StartError::Root)?;
        site.file_cache = config.file_cache;
        site.spa = config.spa;
        site.clean_urls = config.clean_urls;
        if config.follow_symlinks {
            site.follow_symlinks_out().map_err(StartError::Setup)?;
        }
        // An access-log file gets every line; on stderr, access lines are part of the server's
        // log, which RUST_LOG filters (`RUST_LOG=warn` turns them off, as the load script does).
        let sink: Option<&'static dyn LineSink> = match &config.access_log {
            Some(path) => Some(
                crate::log_output::open_access_file(path)
                    .map_err(|error| StartError::AccessLog { path: path.clone(), error })?,
            ),
            None => log_enabled!(target: "rawserve::access", Level::Info).then_some(&crate::log_output::STDERR as _),
        };
        if sink.is_some() {
            let to = config.access_log.as_ref().map_or("stderr".to_string(), |path| path.display().to_string());
            let proxies = config.trusted_proxies.len();
            debug!("access log: {} lines to {to}; {proxies} trusted proxy blocks", config.log_format.name());
        }
        let access_log = AccessLog::new(config.log_format, config.trusted_proxies.clone(), sink);
        site.live_reload = config.live_reload;
        // Watching starts before the start-up line: a change made once it is printed is seen.
        let live_watch = if config.live_reload {
            let watch = TreeWatch::new(&site).map_err(|e| {
                StartError::Setup(io::Error::new(e.kind(), format!("--live-reload cannot watch the root: {e}")))
            })?;
            Some(watch)
        } else {
            None
        };
        let addr = SocketAddr::new(config.bind, config.port);
        // A short head timeout (tests, tight set-ups) is kept exact: no deferral then.
        let defer_accept = (config.head_timeout >= 2 * DEFER_ACCEPT).then_some(DEFER_ACCEPT);
        // A listener passed by systemd wins over --bind/--port: the socket unit says where.
        let (listener, deferral, origin) = match inherited {
            Some(passed) => {
                let (listener, deferral) = adopt_listener(passed, defer_accept).map_err(StartError::Setup)?;
                info!("socket activation: serving the listener systemd passed; --bind and --port are not used");
                if config.reuse_port {
                    // systemd keeps the socket across restarts: nothing to hand over.
                    info!("--reuse-port is not used either: the passed socket stays open between restarts");
                }
                (listener, deferral, ListenerOrigin::Inherited)
            }
            None => {
                let (listener, deferral) = bind_listener(addr, defer_accept, config.reuse_port)
                    .map_err(|error| StartError::Bind { addr, error })?;
                let origin = if config.reuse_port { ListenerOrigin::SharedPort } else { ListenerOrigin::Bound };
                (listener, deferral, origin)
            }
        };
        let threads = config.threads.max(1);
        let limits = ConnectionLimits {
            head_timeout: config.head_timeout,
            write_timeout: config.write_timeout,
            drain_timeout: config.drain_timeout,
            max_connections: clamp_to_fd_limit(config.max_connections, threads),
        };
        let waker = Waker::new().map_err(StartError::Setup)?;
        let spare_fd = SpareFd::new(waker.as_fd());
        // Streams are connections too: at most half the cap, so they never crowd out requests.
        let streams = LIVE_STREAMS.min(limits.max_connections / 2).max(1);
        // Linux's hold starts off and is switched on only while it saves work (socket/deferral.rs).
        let deferral = AdaptiveDeferral::new(&listener, deferral);
        let shared = Shared {
            service: {
                let service = Service { added, access_log, ..Service::with_stream_cap(site, streams) };
                match std::path::absolute(&config.root) {
                    Ok(path) => service.following(&path),
                    Err(_) => service,
                }
            },
            listener,
            origin,
            shutdown_requested: AtomicBool::new(false),
            deferral,
            limits,
            waker,
            stopping: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            next_connection_id: AtomicU64::new(1),
            overloaded: Burst::default(),
            evicted: Burst::default(),
            eviction_debt: AtomicUsize::new(0),
            evictable: AtomicUsize::new(0),
            fd_exhaustion: Burst::default(),
            spare_fd,
        };
        Ok(Server { shared: Arc::new(shared), threads, live_watch })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.listener.local_addr()
    }

    /// The canonical document root.
    pub fn root(&self) -> &Path {
        &self.shared.service.site.root
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle { shared: Arc::clone(&self.shared) }
    }

    /// Serves until `ShutdownHandle::shutdown`, then lets responses in flight finish (at most
    /// the drain timeout) and returns.
    pub fn run(self) -> io::Result<()> {
        let Server { shared, threads, live_watch } = self;
        info!("{threads} event loops, up to {} connections in flight", shared.limits.max_connections);
        let publisher = match (live_watch, shared.service.live.clone()) {
            (Some(tree), Some(live)) => {
                info!("live reload: up to {} streams at /.rawserve/live", live.cap());
                let shared = Arc::clone(&shared);
                let thread = std::thread::Builder::new()
                    .name("rawserve-live".into())
                    .spawn(move || watch_and_publish(&live, &shared.service.site, tree, &shared.stopping))?;
                Some(thread)
            }
            _ => None,
        };
        let result = run_event_loops(&shared, threads);
        // On a failed start the loops never set `stopping`; the watch thread must end anyway.
        shared.stopping.store(true, Ordering::SeqCst);
        if let Some(thread) = publisher {
            let _ = thread.join();
        }
        result?;
        info!("stopped");
        Ok(())
    }
}

/// Stops a running server from another thread (a signal handler thread, a test).
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Starts the shutdown: how the listener is let go depends on where it came from
    /// (`ListenerOrigin`); then the loops stop accepting and finish what is in flight.
    pub fn shutdown(&self) {
        if self.shared.shutdown_requested.swap(true, Ordering::SeqCst) {
            return;
        }
        match self.shared.origin {
            ListenerOrigin::Bound => {
                info!("shutting down: refusing new connections, finishing the ones in flight");
                self.close_listener();
                self.stop_accepting();
            }
            ListenerOrigin::Inherited => {
                info!("shutting down: the listener stays open in systemd's hands (connections wait in its backlog for the next start); finishing the ones in flight");
                self.stop_accepting();
            }
            ListenerOrigin::SharedPort => self.hand_over(),
        }
    }

    /// `--reuse-port`: let the other listeners on the port take the new connections, serve
    /// what already queued here, then close (see `sys::prepare_handover`).
    fn hand_over(&self) {
        match prepare_handover(&self.shared.listener) {
            Ok(Handover::KernelMigrates) => {
                info!("shutting down: handing the port over; the kernel moves queued connections to the other listeners (net.ipv4.tcp_migrate_req)");
                self.close_listener();
                self.stop_accepting();
                return;
            }
            Ok(Handover::SynsDropped) => info!(
                "shutting down: handing the port over; new connections go to the other listeners on it, the ones queued here are served for {} ms",
                HANDOVER_GRACE.as_millis()
            ),
            Ok(Handover::Nothing) => info!(
                "shutting down: serving the connections queued on the shared port for {} ms, then closing it",
                HANDOVER_GRACE.as_millis()
            ),
            Err(e) => warn!(
                "shutting down: cannot keep new connections off the shared port ({e}); serving the queued ones for {} ms",
                HANDOVER_GRACE.as_millis()
            ),
        }
        let handle = self.clone();
        // The signal thread stays free for a second signal ("now") meanwhile.
        std::thread::spawn(move || {
            std::thread::sleep(HANDOVER_GRACE);
            debug!("handover grace over: closing the listener");
            handle.close_listener();
            handle.stop_accepting();
        });
    }

    /// shutdown(2) on a listening socket moves it out of LISTEN at once (Linux): new
    /// connections are refused (RST) even before the loops have noticed, and queued ones are
    /// reset (or, in a reuseport group with `tcp_migrate_req`, moved to another listener).
    fn close_listener(&self) {
        // `stopping` first: a loop woken by the shutdown gets EINVAL from accept, which is
        // only quiet once it knows the server is stopping (else it logs an error per loop).
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = socket2::SockRef::from(&self.shared.listener).shutdown(std::net::Shutdown::Both);
    }

    fn stop_accepting(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.waker.wake();
    }
}

/// Each connection needs a socket fd and up to one file fd; keep the cap within the
/// process's fd limit so that the cap, not EMFILE, is what sheds load.
fn clamp_to_fd_limit(max_connections: usize, threads: usize) -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into a valid struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return max_connections;
    }
    // Raise the soft limit to the hard one, as nginx's worker_rlimit_nofile would.
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads a valid struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    // Reserved: stdio, the listener, the waker, the spare fd and the log, plus a poller fd
    // and an inotify fd (the file cache) per event loop.
    let reserved = FIXED_FDS + 2 * threads;
    let usable = (limit.rlim_cur as usize).saturating_sub(reserved) / 2;
    if usable < max_connections {
        warn!("the fd limit ({}) allows {usable} connections in flight, not {max_connections}", limit.rlim_cur);
        usable.max(1)
    } else {
        max_connections
    }
}
