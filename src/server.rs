//! The server as a whole: bind the listener, open the root, run the event loops, and stop
//! them gracefully. The state every thread shares lives here.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use log::{info, warn};

use crate::config::Config;
use crate::files::site::{RootError, Site};
use crate::limits::DEFER_ACCEPT;
use crate::socket::acceptor::{Burst, SpareFd};
use crate::socket::epoll::Waker;
use crate::socket::listener::bind_listener;
use crate::socket::pool::run_event_loops;

/// What every event loop reads and counts.
pub struct Shared {
    pub config: Config,
    pub site: Site,
    pub listener: TcpListener,
    /// How long the kernel may hold a silent connection before `accept` sees it
    /// (`TCP_DEFER_ACCEPT`), when the listener asks for that.
    pub defer_accept: Option<Duration>,
    pub waker: Waker,
    /// Set on shutdown; the waker makes every loop look at it.
    pub stopping: AtomicBool,
    /// Connections accepted and not yet closed, across all loops (capped by
    /// `config.max_connections`).
    pub in_flight: AtomicUsize,
    pub next_connection_id: AtomicU64,
    /// Connections refused over the cap: logged once per burst.
    pub overloaded: Burst,
    /// accept() failing with EMFILE/ENFILE: logged once per burst.
    pub fd_exhaustion: Burst,
    /// An fd held in reserve for answering 503 when the process is out of fds.
    pub spare_fd: SpareFd,
}

/// Why the server could not start; `main` prints it as one line and exits with status 2.
#[derive(Debug)]
pub enum StartError {
    Root(RootError),
    Bind { addr: SocketAddr, error: io::Error },
    Setup(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
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
            StartError::Setup(e) => write!(f, "cannot start: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

pub struct Server {
    shared: Arc<Shared>,
}

impl Server {
    /// Opens the root and starts listening: from here on, connections queue in the backlog.
    pub fn bind(mut config: Config) -> Result<Server, StartError> {
        let mut site = Site::open(&config.root, config.listing, config.hidden, config.cache_control.clone())
            .map_err(StartError::Root)?;
        site.file_cache = config.file_cache;
        let addr = SocketAddr::new(config.bind, config.port);
        // A short head timeout (tests, tight set-ups) is kept exact: no deferral then.
        let defer_accept = (config.head_timeout >= 2 * DEFER_ACCEPT).then_some(DEFER_ACCEPT);
        let listener = bind_listener(addr, defer_accept).map_err(|error| StartError::Bind { addr, error })?;
        config.threads = config.threads.max(1);
        config.max_connections = clamp_to_fd_limit(config.max_connections, config.threads);
        let spare_fd = SpareFd::new(site.root_dir.as_fd());
        let shared = Shared {
            config,
            site,
            listener,
            defer_accept,
            waker: Waker::new().map_err(StartError::Setup)?,
            stopping: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            next_connection_id: AtomicU64::new(1),
            overloaded: Burst::default(),
            fd_exhaustion: Burst::default(),
            spare_fd,
        };
        Ok(Server { shared: Arc::new(shared) })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.listener.local_addr()
    }

    /// The canonical document root.
    pub fn root(&self) -> &Path {
        &self.shared.site.root
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle { shared: Arc::clone(&self.shared) }
    }

    /// Serves until `ShutdownHandle::shutdown`, then lets responses in flight finish (at most
    /// the drain timeout) and returns.
    pub fn run(self) -> io::Result<()> {
        let threads = self.shared.config.threads;
        info!("{threads} event loops, up to {} connections in flight", self.shared.config.max_connections);
        run_event_loops(&self.shared, threads)?;
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
    pub fn shutdown(&self) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        info!("shutting down: refusing new connections, finishing the ones in flight");
        // shutdown(2) on a listening socket moves it out of LISTEN at once: new connections
        // are refused (RST) even before the loops have noticed, and queued ones are reset.
        // SAFETY: the listener's fd stays open (Shared owns it) for this call.
        unsafe { libc::shutdown(self.shared.listener.as_raw_fd(), libc::SHUT_RDWR) };
        self.shared.waker.wake();
    }
}

/// fds the process holds besides connections and per-thread epoll fds, with room to spare.
const FIXED_FDS: usize = 32;

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
    // Reserved: stdio, the listener, the waker, the spare fd and the log, plus an epoll fd
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
