//! The transport layer: TCP sockets, readiness, threads. Knows nothing of HTTP: it receives
//! bytes into the HTTP side's `RequestReader`, and sends the `Transmission` it gets back.

pub mod acceptor;
pub mod activation;
pub mod connection;
pub mod deferral;
pub mod event_loop;
pub mod listener;
pub mod pool;
pub mod readiness;
pub mod sys;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::time::Duration;

use crate::http::exchange::Service;
use acceptor::{Burst, SpareFd};
use deferral::AdaptiveDeferral;
use readiness::Waker;

/// The deadlines and the cap that bound every connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub head_timeout: Duration,
    pub write_timeout: Duration,
    pub drain_timeout: Duration,
    pub max_connections: usize,
}

/// Where the listener came from; it decides how shutdown lets go of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerOrigin {
    /// Bound here, alone on its port: `shutdown(2)` refuses new connections at once.
    Bound,
    /// Bound here with `SO_REUSEPORT`: the port is handed over to the other listeners on it
    /// (`sys::prepare_handover`) before this one closes.
    SharedPort,
    /// Passed by systemd, which keeps its own copy: left listening, so connections that
    /// arrive while rawserve restarts wait in its backlog for the next instance.
    Inherited,
}

/// What every event loop shares: the listener, the service to ask, the limits, the counters.
pub struct Shared {
    pub service: Service,
    pub listener: TcpListener,
    pub origin: ListenerOrigin,
    /// Set when shutdown was asked for; `stopping` follows, at once or after a handover.
    pub shutdown_requested: AtomicBool,
    /// What the kernel does with connections that have sent nothing yet, switched on and off
    /// by what the loops see.
    pub deferral: AdaptiveDeferral,
    pub limits: ConnectionLimits,
    pub waker: Waker,
    /// Set on shutdown; the waker makes every loop look at it.
    pub stopping: AtomicBool,
    /// Connections accepted and not yet closed, across all loops (capped by
    /// `limits.max_connections`).
    pub in_flight: AtomicUsize,
    pub next_connection_id: AtomicU64,
    /// Connections refused over the cap: logged once per burst.
    pub overloaded: Burst,
    /// Slow heads evicted at the cap to make room: logged once per burst.
    pub evicted: Burst,
    /// Places at the cap borrowed by a loop with nothing to evict, owed by any loop that has
    /// (`limits::EVICTION_DEBT`).
    pub eviction_debt: AtomicUsize,
    /// Heads that could be evicted, summed over the loops at their last sweep.
    pub evictable: AtomicUsize,
    /// accept() failing with EMFILE/ENFILE: logged once per burst.
    pub fd_exhaustion: Burst,
    /// An fd held in reserve for answering 503 when the process is out of fds.
    pub spare_fd: SpareFd,
}
