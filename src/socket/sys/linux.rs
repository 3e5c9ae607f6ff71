//! Linux: `accept4`, `TCP_DEFER_ACCEPT`, `MSG_MORE`, `TCP_NOTSENT_LOWAT`, `sendfile(2)`, `dup3`,
//! and a socket filter for handing a port over (`prepare_handover`).

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::time::Duration;

use socket2::Socket;

use super::{set_int_option, Deferral, Handover};
use crate::limits::NOTSENT_LOWAT;

/// Options accepted sockets inherit from the listener. `TCP_NOTSENT_LOWAT`: see the limit.
pub fn listener_options(socket: &Socket) -> io::Result<()> {
    set_int_option(socket, libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, NOTSENT_LOWAT)
}

/// `TCP_DEFER_ACCEPT`, in whole seconds: the kernel turns them into SYN-ACK retransmissions,
/// and hands over a silent connection after them.
#[cfg_attr(feature = "portable", allow(dead_code))]
pub fn defer_until_data(socket: &Socket, defer: Duration) -> io::Result<Deferral> {
    let seconds = libc::c_int::try_from(defer.as_secs()).unwrap_or(libc::c_int::MAX).max(1);
    set_int_option(socket, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, seconds)?;
    Ok(Deferral::Held(Duration::from_secs(seconds as u64)))
}

/// Switches `TCP_DEFER_ACCEPT` on an existing listener: the kernel reads the option for each
/// handshake it completes, so the change applies to the next connection. `None` turns it off
/// (connections already held are handed over when their data or the SYN-ACK timer comes).
pub fn switch_hold(listener: &TcpListener, hold: Option<Duration>) -> io::Result<()> {
    let seconds = hold.map_or(0, |hold| libc::c_int::try_from(hold.as_secs()).unwrap_or(libc::c_int::MAX).max(1));
    set_int_option(listener, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, seconds)
}

/// `accept4` with `SOCK_NONBLOCK | SOCK_CLOEXEC`: the connection comes out ready in one syscall.
#[cfg_attr(feature = "portable", allow(dead_code))]
pub fn accept_nonblocking(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    super::accept_with(|addr, len| {
        // SAFETY: addr and len point at storage the caller keeps alive for the call.
        unsafe { libc::accept4(listener.as_raw_fd(), addr, len, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) }
    })
}

/// `send` with `MSG_NOSIGNAL` (a closed peer is an error, not SIGPIPE), and `MSG_MORE` when
/// what follows is more bytes or, at the end, `close()`/`shutdown()`: the FIN then rides on
/// the last data segment, one segment fewer per connection. Bytes followed by a `sendfile`
/// region (a large file's head) are pushed at once instead, as nginx does: corked in front
/// of the file's pages they made the kernel cut a 10 MiB response into 333 segments instead
/// of 265, and clients got 5–15 % fewer MiB/s (64 KiB and 10 MiB files, wrk and oha).
pub fn send_bytes(stream: &TcpStream, bytes: &[u8], more: bool) -> io::Result<usize> {
    super::send_with_flags(stream, bytes, libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 })
}

/// `sendfile(2)`: file bytes go from the page cache to the socket without a copy through
/// user space. Returns 0 only at the file's end.
#[cfg_attr(feature = "portable", allow(dead_code))]
pub fn send_region(stream: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<u64> {
    let mut off = libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // The kernel moves at most 0x7ffff000 bytes per call.
    let count = len.min(0x7fff_f000) as usize;
    // SAFETY: both fds are open for the call; `off` is a valid in/out offset.
    let n = unsafe { libc::sendfile(stream.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as u64)
}

/// `dup3(source, slot)`: `slot` now refers to what `source` does, atomically; on failure the
/// slot is returned as it was.
pub fn replace_fd(source: BorrowedFd<'_>, slot: OwnedFd) -> Result<OwnedFd, OwnedFd> {
    let raw = slot.into_raw_fd();
    // SAFETY: both fds are open; dup3 replaces `raw` atomically (closing what it was).
    if unsafe { libc::dup3(source.as_raw_fd(), raw, libc::O_CLOEXEC) } == raw {
        // SAFETY: `raw` now refers to `source`'s file and belongs to nothing else.
        Ok(unsafe { OwnedFd::from_raw_fd(raw) })
    } else {
        // SAFETY: dup3 failed, so `raw` is still the fd it was, owned here.
        Err(unsafe { OwnedFd::from_raw_fd(raw) })
    }
}

/// Before a listener that shares its port (`SO_REUSEPORT`) closes: closing a Linux listener
/// resets every connection still in its queues (the accept queue, and the handshakes not yet
/// done or, with `TCP_DEFER_ACCEPT`, done but waiting for data), since the kernel hashed them
/// to this listener and no other. Measured (README, Operations): 117 failed requests in five
/// restarts under `oha -c 50` when the old instance closes at once. Two ways out:
///
/// - `net.ipv4.tcp_migrate_req = 1` (Linux 5.14+): the kernel moves them to another listener
///   of the group when this one closes. Then there is nothing to do.
/// - Otherwise a socket filter on this listener drops new SYNs (a SYN without ACK; nothing
///   else: the handshakes and requests already under way still complete into this queue and
///   are served). A dropped SYN is retransmitted by the client after its initial RTO (1 s,
///   RFC 6298): by then this listener has closed, so the group's other listeners get it.
///   The filter runs on the listener the reuseport hash chose (`tcp_v4_rcv`, `tcp_filter`),
///   before the SYN makes a request.
pub fn prepare_handover(listener: &TcpListener) -> io::Result<Handover> {
    if std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req").is_ok_and(|v| v.trim() == "1") {
        return Ok(Handover::KernelMigrates);
    }
    // Classic BPF over the TCP header (the filter sees the segment from its TCP header on):
    // byte 13 holds the flags; SYN set and ACK clear → drop (return 0), else keep it all.
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter { code: code as u16, jt, jf, k };
    let program = [
        op(libc::BPF_LD | libc::BPF_B | libc::BPF_ABS, 0, 0, 13),
        op(libc::BPF_ALU | libc::BPF_AND | libc::BPF_K, 0, 0, 0x12),
        op(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, 0, 1, 0x02),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, u32::MAX),
    ];
    let fprog = libc::sock_fprog { len: program.len() as u16, filter: program.as_ptr().cast_mut() };
    // SAFETY: the fd is open; `fprog` points at `program`, which outlives the call (the
    // kernel copies the program).
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Handover::SynsDropped)
}
