//! accept(): takes connections off the listening socket. It never dies: every error is
//! either expected and survived, or logged and survived.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::Ordering;
use std::time::Instant;

use log::{debug, error, info, warn};

use crate::http::response::{write_response_head, Response, Status};
use crate::limits::ACCEPT_BATCH;
use crate::server::Shared;

/// Why an accept batch stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum AcceptStop {
    /// The backlog is empty (EAGAIN), or the batch is done: wait for the next readiness.
    Idle,
    /// Out of fds or memory: stop accepting for `ACCEPT_PAUSE`, leaving the kernel's
    /// backlog to hold the clients.
    Pause,
}

/// Accepts up to `ACCEPT_BATCH` connections, handing each admitted one to `admit`.
/// Over the in-flight cap a connection is answered `503` at once and closed.
pub fn accept_batch(shared: &Shared, mut admit: impl FnMut(TcpStream, SocketAddr, Instant)) -> AcceptStop {
    for _ in 0..ACCEPT_BATCH {
        match accept_nonblocking(&shared.listener) {
            Ok((stream, peer)) => {
                if shared.fd_exhaustion.swap(0, Ordering::Relaxed) > 0 {
                    info!("file descriptors available again: accepting");
                }
                let in_flight = shared.in_flight.fetch_add(1, Ordering::Relaxed);
                if in_flight >= shared.config.max_connections {
                    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                    if shared.overloaded.fetch_add(1, Ordering::Relaxed) == 0 {
                        warn!(
                            "{in_flight} connections in flight, the cap: answering 503 until some finish (--max-connections)"
                        );
                    }
                    refuse(stream);
                    continue;
                }
                if shared.overloaded.load(Ordering::Relaxed) > 0 {
                    let refused = shared.overloaded.swap(0, Ordering::Relaxed);
                    if refused > 0 {
                        info!("below the connection cap again after refusing {refused} connections");
                    }
                }
                admit(stream, peer, Instant::now());
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) => return AcceptStop::Idle,
                // The client gave up between SYN and accept, a signal, a firewall verdict,
                // a protocol error on one connection: nothing to do with the next one.
                Some(
                    libc::ECONNABORTED
                    | libc::EINTR
                    | libc::EPROTO
                    | libc::EPERM
                    | libc::ENETDOWN
                    | libc::ENOPROTOOPT
                    | libc::EHOSTDOWN
                    | libc::ENONET
                    | libc::EHOSTUNREACH
                    | libc::EOPNOTSUPP
                    | libc::ENETUNREACH,
                ) => {
                    debug!("accept: {e} (one connection lost, going on)");
                }
                Some(libc::EMFILE | libc::ENFILE) => {
                    if shared.fd_exhaustion.fetch_add(1, Ordering::Relaxed) == 0 {
                        warn!("accept: {e}: out of file descriptors; answering 503 with a spare fd until some close");
                    }
                    if !refuse_with_spare_fd(shared) {
                        return AcceptStop::Pause;
                    }
                }
                Some(libc::ENOBUFS | libc::ENOMEM) => {
                    warn!("accept: {e}: pausing");
                    return AcceptStop::Pause;
                }
                // Shutdown has closed the listener.
                Some(libc::EINVAL) if shared.stopping.load(Ordering::Relaxed) => return AcceptStop::Idle,
                _ => {
                    error!("accept: unexpected error {e}; pausing and going on");
                    return AcceptStop::Pause;
                }
            },
        }
    }
    AcceptStop::Idle
}

/// `accept4` with SOCK_NONBLOCK: the connection comes out non-blocking in one syscall.
fn accept_nonblocking(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    // SAFETY: zeroed sockaddr_storage is a valid buffer for accept4 to fill.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: storage and len are valid for the kernel to write.
    let fd = unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new fd from accept4 that nothing else owns.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    Ok((stream, peer_address(&storage)))
}

/// The peer's address from what accept4 filled in (no getpeername syscall).
fn peer_address(storage: &libc::sockaddr_storage) -> SocketAddr {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let v4 = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            SocketAddr::from((u32::from_be(v4.sin_addr.s_addr).to_be_bytes(), u16::from_be(v4.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let v6 = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            SocketAddr::from((v6.sin6_addr.s6_addr, u16::from_be(v6.sin6_port)))
        }
        _ => SocketAddr::from(([0, 0, 0, 0], 0)),
    }
}

/// nginx's trick for EMFILE: close a spare fd kept for this moment, accept the waiting
/// connection with it, answer 503, and take the spare back. The client gets an answer
/// instead of hanging in the backlog. Returns false when no spare was available.
fn refuse_with_spare_fd(shared: &Shared) -> bool {
    let Ok(mut spare) = shared.spare_fd.lock() else { return false };
    if spare.take().is_none() {
        return false;
    }
    let accepted = accept_nonblocking(&shared.listener);
    if let Ok((stream, _)) = accepted {
        refuse(stream);
    }
    *spare = std::fs::File::open("/dev/null").ok();
    spare.is_some()
}

/// Answers `503 Service Unavailable` with `Retry-After` and closes, without waiting on the
/// client: what it already sent is read so the close does not turn into a reset.
fn refuse(mut stream: TcpStream) {
    let mut sink = [0u8; 4096];
    let _ = io::Read::read(&mut stream, &mut sink);
    let mut out = Vec::with_capacity(512);
    let response = Response::error(Status::ServiceUnavailable);
    write_response_head(&mut out, &response);
    for piece in &response.body.pieces {
        if let crate::files::body::Piece::Bytes(bytes) = piece {
            out.extend_from_slice(bytes);
        }
    }
    let _ = io::Write::write(&mut stream, &out);
    let _ = stream.shutdown(Shutdown::Write);
}
