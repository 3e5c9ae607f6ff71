//! socket() → bind() → listen(): the listening socket, with the options a server needs
//! that `std::net::TcpListener::bind` does not set.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::limits::{LISTEN_BACKLOG, NOTSENT_LOWAT};

/// Binds and listens on `addr`, non-blocking (the event loops wait on it with epoll). With
/// `defer_accept`, connections reach `accept` once they have data or have waited that long.
pub fn bind_listener(addr: SocketAddr, defer_accept: Option<Duration>) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking().cloexec(), Some(Protocol::TCP))?;
    // Restarting the server must not wait out TIME_WAIT connections of the last run: with
    // close-after-every-response the server holds thousands of them.
    socket.set_reuse_address(true)?;
    // Accepted sockets inherit TCP_NODELAY from the listener on Linux, saving a syscall per
    // connection: a response's last segment leaves at once instead of waiting on Nagle.
    socket.set_tcp_nodelay(true)?;
    // Also inherited: at most this much data may wait unsent in a socket. See the limit.
    set_tcp_option(&socket, libc::TCP_NOTSENT_LOWAT, NOTSENT_LOWAT)?;
    if let Some(defer) = defer_accept {
        // In whole seconds: the kernel turns them into SYN-ACK retransmissions.
        let seconds = libc::c_int::try_from(defer.as_secs()).unwrap_or(libc::c_int::MAX);
        set_tcp_option(&socket, libc::TCP_DEFER_ACCEPT, seconds)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// `setsockopt(IPPROTO_TCP, option, value)` for the Linux-only options socket2 has no setter
/// for (`TCP_DEFER_ACCEPT`, `TCP_NOTSENT_LOWAT`).
fn set_tcp_option(socket: &Socket, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the fd is open and the option value is a c_int of the size passed.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

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
        let listener = bind_listener("127.0.0.1:0".parse().expect("addr"), None).expect("bind");
        let _client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        listener.set_nonblocking(false).expect("blocking accept");
        let (accepted, _) = listener.accept().expect("accept");
        assert!(socket2::SockRef::from(&accepted).tcp_nodelay().expect("getsockopt"));
        assert_eq!(tcp_option(&accepted, libc::TCP_NOTSENT_LOWAT), NOTSENT_LOWAT);
    }

    #[test]
    fn defer_accept_holds_a_silent_connection_and_passes_one_with_data() {
        let listener = bind_listener("127.0.0.1:0".parse().expect("addr"), Some(Duration::from_secs(1))).expect("bind");
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
}
