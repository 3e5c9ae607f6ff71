//! The server as a whole: bind the listener, open the root, run the event loops, and stop
//! them gracefully. It puts together the state the socket side shares (`socket::Shared`);
//! nothing below imports this module.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use log::{info, warn};

use crate::config::Config;
use crate::files::site::{RootError, Site};
use crate::http::exchange::Service;
use crate::limits::{DEFER_ACCEPT, FIXED_FDS};
use crate::socket::acceptor::{Burst, SpareFd};
use crate::socket::listener::bind_listener;
use crate::socket::pool::run_event_loops;
use crate::socket::readiness::Waker;
use crate::socket::{ConnectionLimits, Shared};

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
    threads: usize,
}

impl Server {
    /// Opens the root and starts listening: from here on, connections queue in the backlog.
    pub fn bind(config: Config) -> Result<Server, StartError> {
        let mut site = Site::open(&config.root, config.listing, config.hidden, config.cache_control.clone())
            .map_err(StartError::Root)?;
        site.file_cache = config.file_cache;
        let addr = SocketAddr::new(config.bind, config.port);
        // A short head timeout (tests, tight set-ups) is kept exact: no deferral then.
        let defer_accept = (config.head_timeout >= 2 * DEFER_ACCEPT).then_some(DEFER_ACCEPT);
        let (listener, deferral) =
            bind_listener(addr, defer_accept).map_err(|error| StartError::Bind { addr, error })?;
        let threads = config.threads.max(1);
        let limits = ConnectionLimits {
            head_timeout: config.head_timeout,
            write_timeout: config.write_timeout,
            drain_timeout: config.drain_timeout,
            max_connections: clamp_to_fd_limit(config.max_connections, threads),
        };
        let waker = Waker::new().map_err(StartError::Setup)?;
        let spare_fd = SpareFd::new(waker.as_fd());
        let shared = Shared {
            service: match std::path::absolute(&config.root) {
                Ok(path) => Service::following(site, &path),
                Err(_) => Service::new(site),
            },
            listener,
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
        Ok(Server { shared: Arc::new(shared), threads })
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
        let threads = self.threads;
        info!("{threads} event loops, up to {} connections in flight", self.shared.limits.max_connections);
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
        let _ = socket2::SockRef::from(&self.shared.listener).shutdown(std::net::Shutdown::Both);
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
