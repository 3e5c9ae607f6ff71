//! socket() → bind() → listen(): the listening socket, with the options a server needs
//! that `std::net::TcpListener::bind` does not set.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

use crate::limits::LISTEN_BACKLOG;

/// Binds and listens on `addr`, non-blocking (the event loops wait on it with epoll).
pub fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking().cloexec(), Some(Protocol::TCP))?;
    // Restarting the server must not wait out TIME_WAIT connections of the last run: with
    // close-after-every-response the server holds thousands of them.
    socket.set_reuse_address(true)?;
    // Accepted sockets inherit TCP_NODELAY from the listener on Linux, saving a syscall per
    // connection: a response's last segment leaves at once instead of waiting on Nagle.
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn accepted_sockets_inherit_tcp_nodelay() {
        let listener = bind_listener("127.0.0.1:0".parse().expect("addr")).expect("bind");
        let _client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        listener.set_nonblocking(false).expect("blocking accept");
        let (accepted, _) = listener.accept().expect("accept");
        assert!(socket2::SockRef::from(&accepted).tcp_nodelay().expect("getsockopt"));
    }
}
