//! macOS and FreeBSD. Compiled and linted for those targets by CI (`cargo clippy --target …`);
//! it cannot run on Linux, so it stays thin.
//!
//! Both have `TCP_NOPUSH` where Linux has `MSG_MORE`: set on the listener and inherited by
//! every accepted socket (FreeBSD's syncache and XNU copy `TF_NOPUSH` with `TF_NODELAY`), it
//! holds a partial segment until more data fills it or the socket is shut down or closed,
//! which then sends it with the FIN: the same one segment fewer per connection.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
#[cfg(target_os = "freebsd")]
use std::time::Duration;

use socket2::Socket;

use super::set_int_option;
#[cfg(target_os = "freebsd")]
use super::Deferral;
#[cfg(target_os = "macos")]
use crate::limits::NOTSENT_LOWAT;

/// `TCP_NOTSENT_LOWAT` from macOS's `<netinet/tcp.h>` (10.11+); the libc crate lacks it.
#[cfg(target_os = "macos")]
const TCP_NOTSENT_LOWAT: libc::c_int = 0x201;

pub fn listener_options(socket: &Socket) -> io::Result<()> {
    set_int_option(socket, libc::IPPROTO_TCP, libc::TCP_NOPUSH, 1)?;
    // FreeBSD has no such option; its send buffer autotuning is less eager than Linux's.
    #[cfg(target_os = "macos")]
    set_int_option(socket, libc::IPPROTO_TCP, TCP_NOTSENT_LOWAT, NOTSENT_LOWAT)?;
    Ok(())
}

/// FreeBSD's `accf_data(9)` accept filter: connections reach `accept` once data arrived. It
/// needs the `accf_data` kernel module (`kldload accf_data`); without it, nothing is deferred.
#[cfg(target_os = "freebsd")]
#[cfg_attr(feature = "portable", allow(dead_code))]
pub fn defer_until_data(socket: &Socket, _defer: Duration) -> io::Result<Deferral> {
    // SAFETY: accept_filter_arg is plain data; zeroed is "no name, no argument".
    let mut filter: libc::accept_filter_arg = unsafe { std::mem::zeroed() };
    for (slot, byte) in filter.af_name.iter_mut().zip(b"dataready") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: the fd is open; the struct is valid for its size.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ACCEPTFILTER,
            (&filter as *const libc::accept_filter_arg).cast(),
            std::mem::size_of::<libc::accept_filter_arg>() as libc::socklen_t,
        )
    };
    if result != 0 {
        log::info!("no accept filter (kldload accf_data to defer accept until data): {}", io::Error::last_os_error());
        return Ok(Deferral::None);
    }
    Ok(Deferral::UntilData)
}

/// Only Linux's hold (`Deferral::Held`) is switched: FreeBSD's accept filter never hands a
/// silent connection over and costs a client nothing once its data is there (no hold time),
/// and macOS has no deferral. Never called here.
pub fn switch_hold(_listener: &TcpListener, _hold: Option<std::time::Duration>) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// macOS has no way to defer accept; the head deadline still holds for silent connections.
#[cfg(all(target_os = "macos", not(feature = "portable")))]
pub use super::portable::defer_until_data;

/// FreeBSD has `accept4`.
#[cfg(target_os = "freebsd")]
#[cfg_attr(feature = "portable", allow(dead_code))]
pub fn accept_nonblocking(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    super::accept_with(|addr, len| {
        // SAFETY: addr and len point at storage the caller keeps alive for the call.
        unsafe { libc::accept4(listener.as_raw_fd(), addr, len, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) }
    })
}

/// macOS: `accept` + `fcntl`, and `SO_NOSIGPIPE` because its `send` has no `MSG_NOSIGNAL`
/// (Rust's runtime ignores SIGPIPE in binaries, but a library cannot count on that).
#[cfg(target_os = "macos")]
#[cfg_attr(feature = "portable", allow(dead_code))]
pub fn accept_nonblocking(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    let (stream, peer) = super::portable::accept_nonblocking(listener)?;
    // Belt and braces only (SIGPIPE is ignored in the binary): a connection already reset
    // may refuse the option, and that must not count as an accept failure.
    let _ = set_int_option(&stream, libc::SOL_SOCKET, libc::SO_NOSIGPIPE, 1);
    Ok((stream, peer))
}

/// `more` is carried by the inherited `TCP_NOPUSH`.
pub fn send_bytes(stream: &TcpStream, bytes: &[u8], _more: bool) -> io::Result<usize> {
    #[cfg(target_os = "freebsd")]
    let flags = libc::MSG_NOSIGNAL;
    #[cfg(target_os = "macos")]
    let flags = 0;
    super::send_with_flags(stream, bytes, flags)
}

/// The BSD `sendfile(2)` (file first, socket second, the count returned through a pointer).
/// A count of 0 means "to the end of the file" to both, so it is never passed. On `EAGAIN`
/// the bytes already sent are reported, and counted as progress.
#[cfg_attr(feature = "portable", allow(dead_code))]
pub fn send_region(stream: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    let off = libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let count = len.min(0x7fff_f000);
    #[cfg(target_os = "freebsd")]
    let (result, sent) = {
        let mut sent: libc::off_t = 0;
        // SAFETY: both fds are open; no header/trailer vectors; `sent` is writable.
        let result = unsafe {
            libc::sendfile(
                file.as_raw_fd(),
                stream.as_raw_fd(),
                off,
                count as libc::size_t,
                std::ptr::null_mut(),
                &mut sent,
                0,
            )
        };
        (result, sent)
    };
    #[cfg(target_os = "macos")]
    let (result, sent) = {
        let mut sent = count as libc::off_t;
        // SAFETY: both fds are open; no header/trailer vectors; `sent` is the in/out length.
        let result =
            unsafe { libc::sendfile(file.as_raw_fd(), stream.as_raw_fd(), off, &mut sent, std::ptr::null_mut(), 0) };
        (result, sent)
    };
    if result < 0 {
        let error = io::Error::last_os_error();
        if sent > 0 && matches!(error.raw_os_error(), Some(libc::EAGAIN | libc::EINTR)) {
            return Ok(sent as u64);
        }
        return Err(error);
    }
    Ok(sent as u64)
}

/// `slot` now refers to what `source` does; on failure the slot is returned as it was.
pub fn replace_fd(source: BorrowedFd<'_>, slot: OwnedFd) -> Result<OwnedFd, OwnedFd> {
    let raw = slot.into_raw_fd();
    // FreeBSD has dup3; macOS only dup2, and close-on-exec set after (this process never
    // execs, so the gap between the two calls cannot leak the fd).
    #[cfg(target_os = "freebsd")]
    // SAFETY: both fds are open; dup3 replaces `raw` atomically.
    let replaced = unsafe { libc::dup3(source.as_raw_fd(), raw, libc::O_CLOEXEC) } == raw;
    #[cfg(target_os = "macos")]
    // SAFETY: both fds are open; dup2 replaces `raw` atomically, then fcntl flags it.
    let replaced =
        unsafe { libc::dup2(source.as_raw_fd(), raw) == raw && libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) == 0 };
    // SAFETY: either way `raw` is open and owned here (the socket, or now the source's file).
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if replaced {
        Ok(fd)
    } else {
        Err(fd)
    }
}

/// The BSDs have no socket filters on a TCP listener and no migration of queued connections:
/// what reaches this listener's queue before it closes is served during the grace, and the
/// rest depends on which listener the system picks (README, Operations).
pub fn prepare_handover(_listener: &TcpListener) -> io::Result<super::Handover> {
    Ok(super::Handover::Nothing)
}
