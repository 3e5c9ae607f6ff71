//! The socket-side system calls that differ between systems, behind one interface. The choice
//! is made here, at compile time; callers never see which one they got.
//!
//! | mechanism | Linux | FreeBSD | macOS | `--features portable` (Linux) |
//! |---|---|---|---|---|
//! | accept, non-blocking | `accept4` | `accept4` | `accept` + `fcntl` | `accept` + `fcntl` |
//! | defer until data | `TCP_DEFER_ACCEPT` | `SO_ACCEPTFILTER` "dataready" | — | — |
//! | FIN on the last segment | `MSG_MORE` | `TCP_NOPUSH` | `TCP_NOPUSH` | `MSG_MORE` |
//! | unsent-data cap | `TCP_NOTSENT_LOWAT` | — | `TCP_NOTSENT_LOWAT` | `TCP_NOTSENT_LOWAT` |
//! | a file region | `sendfile` | `sendfile` (BSD) | `sendfile` (Darwin) | `pread` + `send` |
//! | reuse an fd slot | `dup3` | `dup3` | `dup2` + `fcntl` | `dup3` |
//! | hand a shared port over | SYN-dropping socket filter, or the kernel's `tcp_migrate_req` | — | — | as Linux |
//!
//! What each promises:
//! - `accept_nonblocking`: a connection that is non-blocking and close-on-exec, with its
//!   peer's address (no `getpeername`), or the `accept` error as the kernel gave it.
//! - `listener_options`: options accepted sockets inherit (`TCP_NOTSENT_LOWAT`, `TCP_NOPUSH`).
//! - `defer_until_data`: asks the kernel to hand over connections once they have data; says
//!   what it got (`Deferral`).
//! - `switch_hold`: turns a `Deferral::Held` listener's hold on or off while it listens
//!   (Linux; `socket/deferral.rs` decides when).
//! - `send_bytes(more)`: one `send` that never raises SIGPIPE; `more` says that what follows
//!   is more data or the close, so the system may hold a partial segment until then.
//! - `send_region`: sends bytes `offset..offset + len` of a file, or a first part of them;
//!   `Ok(0)` only when the file ended before the region did (it shrank).
//! - `room_to_send`: whether the socket would take more now; after a short write, "no" means
//!   the poller will report its room (see the function), "yes" that the writer should call
//!   again.
//! - `prepare_handover`: before a listener sharing its port with `SO_REUSEPORT` closes,
//!   keeps new connections from queueing on it where the system can; says what it did.
//! - `replace_fd`: makes an fd's slot refer to another open file, atomically, so no other
//!   thread can take the slot in between.

use std::io;
use std::mem::MaybeUninit;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Duration;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as system;

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
mod bsd;
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
use bsd as system;

#[cfg(any(feature = "portable", target_os = "macos"))]
mod portable;

pub use system::{listener_options, prepare_handover, replace_fd, send_bytes, switch_hold};

#[cfg(feature = "portable")]
pub use portable::{accept_nonblocking, defer_until_data, send_region};
#[cfg(not(feature = "portable"))]
pub use system::{accept_nonblocking, defer_until_data, send_region};

/// What the kernel does with a connection that has sent nothing yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deferral {
    /// It reaches `accept` at once (macOS, the portable build, or a short head timeout).
    None,
    /// It reaches `accept` once data arrived or after this long (Linux `TCP_DEFER_ACCEPT`):
    /// a silent one has already been connected that long when it is accepted.
    Held(Duration),
    /// It reaches `accept` only once data arrived (FreeBSD's `accf_data`): silent connections
    /// stay in the kernel, cost no fd, and are dropped oldest first when its queue is full.
    UntilData,
}

/// What `prepare_handover` did for a listener about to close in a `SO_REUSEPORT` group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    /// Closing it moves its queued connections to another listener of the group (Linux
    /// with `net.ipv4.tcp_migrate_req = 1`): close at once.
    KernelMigrates,
    /// New SYNs to it are dropped (the clients retry them, by then at another listener);
    /// what is queued still arrives: accept for a moment, then close.
    SynsDropped,
    /// The system has no way (the BSDs): accept for a moment, then close.
    Nothing,
}

/// `recv` into memory that may be uninitialised; returns how many bytes the kernel wrote at
/// the start of `buf`.
pub fn recv_uninit(stream: &TcpStream, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe writable memory owned by the caller; the
    // kernel writes at most `buf.len()` bytes.
    let n = unsafe { libc::recv(stream.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Whether the socket would take more bytes now (`poll` for `POLLOUT`, not waiting). Asked after
/// a short write, before waiting for the poller. A full socket is the usual reason for a short
/// count, and Linux's `tcp_poll`, finding no room, marks the socket (`SOCK_NOSPACE`) so the
/// room it makes later is reported as an edge. Other reasons leave room and no edge coming: a
/// signal between `sendfile`'s 64 KiB rounds, an I/O error or the end of a file part-way. The
/// sender then just calls again and meets them (`Ok(0)` at a file's end). 0.22 µs here, against
/// 1.6–1.8 µs for the `sendfile` that used to be made just to hear `EAGAIN`. A failed `poll`
/// says "room", so the next call reports the error.
pub fn room_to_send(stream: &TcpStream) -> bool {
    let mut fd = libc::pollfd { fd: stream.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
    // SAFETY: one valid pollfd, a zero timeout.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready != 0
}

/// One `send(2)` with these flags.
fn send_with_flags(stream: &TcpStream, bytes: &[u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: the pointer and length describe a live slice.
    let n = unsafe { libc::send(stream.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Calls an `accept`-like function with room for the peer's address and wraps its result.
fn accept_with(
    accept: impl FnOnce(*mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int,
) -> io::Result<(TcpStream, SocketAddr)> {
    // SAFETY: zeroed sockaddr_storage is a valid buffer for the kernel to fill.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let fd = accept((&mut storage as *mut libc::sockaddr_storage).cast(), &mut len);
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new fd from accept that nothing else owns.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    Ok((stream, peer_address(&storage)))
}

/// The peer's address from what `accept` filled in.
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

/// `setsockopt(level, option, value)` for an int option std and socket2 do not cover on every
/// system.
fn set_int_option(fd: &impl AsRawFd, level: libc::c_int, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the fd is open and the option value is a c_int of the size passed.
    let result = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
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
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        listener.set_nonblocking(true).expect("non-blocking");
        let started = std::time::Instant::now();
        loop {
            match accept_nonblocking(&listener) {
                Ok((server, peer)) => {
                    assert_eq!(peer, client.local_addr().expect("local"));
                    return (server, client);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && started.elapsed().as_secs() < 5 => {
                    std::thread::yield_now()
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    #[test]
    fn accepted_sockets_are_non_blocking() {
        let (server, _client) = pair();
        let mut buf = [MaybeUninit::uninit(); 8];
        assert_eq!(recv_uninit(&server, &mut buf).map_err(|e| e.kind()), Err(io::ErrorKind::WouldBlock));
    }

    #[test]
    fn a_file_region_arrives_byte_for_byte_and_a_short_file_says_so() {
        let (server, mut client) = pair();
        let path = std::env::temp_dir().join(format!("rawserve-sys-{}", std::process::id()));
        let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        std::fs::remove_file(&path).expect("remove");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            client.read_to_end(&mut got).expect("read");
            got
        });
        let (mut offset, mut left) = (1000u64, 60_000u64);
        while left > 0 {
            match send_region(&server, &file, offset, left) {
                Ok(0) => panic!("the file did not end"),
                Ok(n) => {
                    offset += n;
                    left -= n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("send_region: {e}"),
            }
        }
        assert_eq!(send_region(&server, &file, 100_000, 10).expect("at the end"), 0);
        let sent = send_bytes(&server, b"tail", true).expect("send");
        assert_eq!(sent, 4);
        drop(server);
        let got = reader.join().expect("reader");
        assert_eq!(&got[..60_000], &content[1000..61_000]);
        assert_eq!(&got[60_000..], b"tail");
        let _ = std::io::stdout().flush();
    }

    /// What the connection's sender rests on. Written to until `room_to_send` says no (a
    /// client that reads nothing fills the socket) and only then registered, as the event loop
    /// does, the socket is not reported ready; once the client reads, the poller reports it
    /// (the edge the sender waits for). A region past the file's end comes back short at the
    /// end with room left, then `Ok(0)`.
    #[test]
    fn no_room_after_a_write_means_the_poller_reports_the_room_later() {
        use crate::socket::readiness::{Events, Interest, Poller};
        use std::time::{Duration, Instant};
        // Sparse: far more than any loopback buffers take, without writing it.
        const LEN: u64 = 256 << 20;
        const TOKEN: u64 = 7;
        let path = std::env::temp_dir().join(format!("rawserve-sys-room-{}", std::process::id()));
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(LEN).expect("set_len");
        let file = std::fs::File::open(&path).expect("open");
        std::fs::remove_file(&path).expect("remove");

        let (server, mut client) = pair();
        #[cfg(target_os = "linux")]
        set_int_option(&server, libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, crate::limits::NOTSENT_LOWAT)
            .expect("TCP_NOTSENT_LOWAT");
        assert!(room_to_send(&server), "a fresh socket has no room");
        let mut sent = 0;
        while room_to_send(&server) {
            sent += send_region(&server, &file, sent, LEN - sent).expect("room, so no error");
            assert!(sent < LEN, "a client that reads nothing took all {LEN} bytes");
        }
        let poller = Poller::new().expect("poller");
        poller.add(&server, TOKEN, Interest::Connection).expect("add");
        let mut events = Events::with_capacity(4);
        poller.wait(&mut events, Some(Duration::ZERO)).expect("wait");
        assert_eq!(events.tokens().count(), 0, "reported ready with no room");

        client.set_nonblocking(true).expect("non-blocking");
        let mut sink = vec![0u8; 64 * 1024];
        let (mut drained, deadline) = (0u64, Instant::now() + Duration::from_secs(5));
        let reported = loop {
            match client.read(&mut sink) {
                Ok(n) => drained += n as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("client read: {e}"),
            }
            poller.wait(&mut events, Some(Duration::from_millis(10))).expect("wait");
            if events.tokens().any(|token| token == TOKEN) || Instant::now() > deadline {
                break events.tokens().any(|token| token == TOKEN);
            }
        };
        assert!(reported, "no edge after the client read {drained} of the {sent} bytes sent");
        assert!(room_to_send(&server), "reported, yet no room");

        let (server, _client) = pair();
        assert_eq!(send_region(&server, &file, LEN - 1000, 5000).expect("to the end"), 1000);
        assert!(room_to_send(&server), "a region cut by the file's end looks like a full socket");
        assert_eq!(send_region(&server, &file, LEN, 4000).expect("at the end"), 0);
    }
}
