//! What works on every Unix: plain `accept` + `fcntl`, no accept deferral, `pread` + `send`
//! for file regions. macOS uses parts of it; `--features portable` builds all of it on Linux
//! so that the code other systems run is tested here.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use socket2::Socket;

use super::Deferral;

/// No deferral: connections reach `accept` at once, and the head deadline alone holds silent ones.
pub fn defer_until_data(_socket: &Socket, _defer: Duration) -> io::Result<Deferral> {
    Ok(Deferral::None)
}

/// `accept`, then `O_NONBLOCK` and `FD_CLOEXEC` set with `fcntl` (two more syscalls).
pub fn accept_nonblocking(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    let (stream, peer) = super::accept_with(|addr, len| {
        // SAFETY: addr and len point at storage the caller keeps alive for the call.
        unsafe { libc::accept(listener.as_raw_fd(), addr, len) }
    })?;
    stream.set_nonblocking(true)?;
    // SAFETY: plain fcntl on an fd owned by `stream`.
    if unsafe { libc::fcntl(stream.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((stream, peer))
}

/// How much one call reads and offers to the socket: about what a socket with
/// `TCP_NOTSENT_LOWAT` takes at once. Bytes read but not taken are read again next time.
const CHUNK: usize = 64 * 1024;

/// `pread` + `send`: a copy through user space per chunk, where `sendfile` is missing.
#[cfg_attr(not(feature = "portable"), allow(dead_code))]
pub fn send_region(stream: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<u64> {
    let mut chunk = vec![0u8; len.min(CHUNK as u64) as usize];
    let read = loop {
        match file.read_at(&mut chunk, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    if read == 0 {
        return Ok(0);
    }
    // What follows a chunk is more of the file, the response's next piece or the close:
    // `more` holds for all three (see `send_bytes`).
    Ok(super::send_bytes(stream, &chunk[..read], true)? as u64)
}
