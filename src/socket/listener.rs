//! socket() → bind() → listen(): the listening socket, with the options a server needs that
//! `std::net::TcpListener::bind` does not set.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use log::debug;
use socket2::{Domain, Protocol, Socket, Type};

use crate::limits::{LISTEN_BACKLOG, NOTSENT_LOWAT};
use crate::socket::sys::{self, Deferral};

/// Binds and listens on `addr`, non-blocking (the event loops wait on it for readiness).
/// With `defer_accept`, asks the kernel to hand over connections once they have data (see
/// `sys::defer_until_data`); returns what it got. With `reuse_port`, joins the listeners
/// already on `addr` (`SO_REUSEPORT`) instead of failing with `EADDRINUSE`: the way a new
/// instance takes over a port from the one it replaces (see `sys::prepare_handover`).
pub fn bind_listener(
    addr: SocketAddr,
    defer_accept: Option<Duration>,
    reuse_port: bool,
) -> io::Result<(TcpListener, Deferral)> {
    // socket2 sets close-on-exec at creation on every system (and SO_NOSIGPIPE on macOS).
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    debug!("socket({}, SOCK_STREAM): a TCP socket", if addr.is_ipv6() { "AF_INET6" } else { "AF_INET" });
    socket.set_nonblocking(true)?;
    // Restarting the server must not wait out TIME_WAIT connections of the last run: with
    // close-after-every-response the server holds thousands of them.
    socket.set_reuse_address(true)?;
    if reuse_port {
        // Linux: every listener of the same user on this address gets a share of new
        // connections (hashed over the 4-tuple); the BSDs: see README, Operations.
        socket.set_reuse_port(true)?;
        debug!("setsockopt(SO_REUSEPORT): sharing {addr} with the listeners already there");
    }
    inherited_options(&socket)?;
    socket.bind(&addr.into())?;
    debug!("bind({addr})");
    socket.listen(LISTEN_BACKLOG)?;
    debug!("listen(backlog {LISTEN_BACKLOG})");
    let deferral = defer(&socket, defer_accept)?;
    Ok((socket.into(), deferral))
}

/// A listener someone else bound and listens on (systemd's, see `activation`): the same
/// options accepted sockets inherit, and the same deferral, set on it now.
pub fn adopt_listener(listener: TcpListener, defer_accept: Option<Duration>) -> io::Result<(TcpListener, Deferral)> {
    let socket = Socket::from(listener);
    socket.set_nonblocking(true)?;
    inherited_options(&socket)?;
    let deferral = defer(&socket, defer_accept)?;
    Ok((socket.into(), deferral))
}

/// Options accepted sockets inherit from the listener.
fn inherited_options(socket: &Socket) -> io::Result<()> {
    // Accepted sockets inherit TCP_NODELAY from the listener (Linux and the BSDs), saving a
    // syscall per connection: a response's last segment leaves at once instead of waiting on
    // Nagle.
    socket.set_tcp_nodelay(true)?;
    sys::listener_options(socket)?;
    debug!("setsockopt(): SO_REUSEADDR, TCP_NODELAY, and where the system has them TCP_NOTSENT_LOWAT {NOTSENT_LOWAT} / TCP_NOPUSH");
    Ok(())
}

fn defer(socket: &Socket, defer_accept: Option<Duration>) -> io::Result<Deferral> {
    let deferral = match defer_accept {
        Some(defer) => sys::defer_until_data(socket, defer)?,
        None => Deferral::None,
    };
    match deferral {
        Deferral::Held(held) => debug!("setsockopt(TCP_DEFER_ACCEPT {}s)", held.as_secs()),
        Deferral::UntilData => debug!("setsockopt(SO_ACCEPTFILTER dataready)"),
        Deferral::None => debug!("no accept deferral: connections reach accept() at once"),
    }
    Ok(deferral)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::TcpStream;
    use std::os::fd::AsRawFd;

    fn tcp_option(fd: &impl AsRawFd, option: libc::c_int) -> libc::c_int {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: valid fd and out-pointers sized for a c_int.
        let rc = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_TCP,
                option,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "getsockopt: {}", io::Error::last_os_error());
        value
    }

    #[test]
    fn accepted_sockets_inherit_tcp_nodelay_and_notsent_lowat() {
        let (listener, _) = bind_listener("127.0.0.1:0".parse().expect("addr"), None, false).expect("bind");
        let _client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        listener.set_nonblocking(false).expect("blocking accept");
        let (accepted, _) = listener.accept().expect("accept");
        assert!(socket2::SockRef::from(&accepted).tcp_nodelay().expect("getsockopt"));
        assert_eq!(tcp_option(&accepted, libc::TCP_NOTSENT_LOWAT), NOTSENT_LOWAT);
    }

    #[cfg(not(feature = "portable"))]
    #[test]
    fn defer_accept_holds_a_silent_connection_and_passes_one_with_data() {
        let (listener, deferral) =
            bind_listener("127.0.0.1:0".parse().expect("addr"), Some(Duration::from_secs(1)), false).expect("bind");
        assert_eq!(deferral, Deferral::Held(Duration::from_secs(1)));
        let value = tcp_option(&listener, libc::TCP_DEFER_ACCEPT);
        assert!(value >= 1, "TCP_DEFER_ACCEPT is {value}");
        let addr = listener.local_addr().expect("addr");
        let _silent = TcpStream::connect(addr).expect("connect");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(listener.accept().map_err(|e| e.kind()).err(), Some(io::ErrorKind::WouldBlock));
        let mut talking = TcpStream::connect(addr).expect("connect");
        std::io::Write::write_all(&mut talking, b"GET / HTTP/1.1\r\n").expect("send");
        let started = std::time::Instant::now();
        let accepted = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && started.elapsed() < Duration::from_secs(5) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        assert_eq!(accepted.peer_addr().expect("peer"), talking.local_addr().expect("local"));
    }

    /// The handover filter: a connection begun before it (with deferral, still a handshake
    /// waiting for its request) completes and is accepted with its bytes; a new one is not
    /// let in (its SYN is dropped: the connect stays pending).
    #[test]
    fn the_handover_filter_drops_new_syns_and_lets_begun_connections_finish() {
        if std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req").is_ok_and(|v| v.trim() == "1") {
            // The kernel migrates instead; no filter is attached then.
            assert_eq!(
                sys::prepare_handover(
                    &bind_listener("127.0.0.1:0".parse().expect("addr"), None, true).expect("bind").0
                )
                .expect("handover"),
                sys::Handover::KernelMigrates
            );
            return;
        }
        let (listener, _) =
            bind_listener("127.0.0.1:0".parse().expect("addr"), Some(Duration::from_secs(1)), true).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut begun = TcpStream::connect(addr).expect("connect before the filter");
        assert_eq!(sys::prepare_handover(&listener).expect("filter"), sys::Handover::SynsDropped);
        std::io::Write::write_all(&mut begun, b"GET / HTTP/1.1\r\n\r\n").expect("send");
        let started = std::time::Instant::now();
        let mut accepted = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && started.elapsed() < Duration::from_secs(5) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        accepted.set_nonblocking(false).expect("blocking");
        let mut got = [0u8; 18];
        std::io::Read::read_exact(&mut accepted, &mut got).expect("the request arrives");
        assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n");
        // A new connection's SYN is dropped: it is not connected after 300 ms (on loopback a
        // connect takes microseconds), and nothing reaches the queue.
        let new = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
        new.set_nonblocking(true).expect("non-blocking");
        let _ = new.connect(&addr.into());
        std::thread::sleep(Duration::from_millis(300));
        assert!(new.peer_addr().is_err(), "a SYN passed the handover filter");
        assert_eq!(listener.accept().map_err(|e| e.kind()).err(), Some(io::ErrorKind::WouldBlock));
    }

    #[cfg(feature = "portable")]
    #[test]
    fn the_portable_build_defers_nothing() {
        let (_listener, deferral) =
            bind_listener("127.0.0.1:0".parse().expect("addr"), Some(Duration::from_secs(1)), false).expect("bind");
        assert_eq!(deferral, Deferral::None);
    }
}
