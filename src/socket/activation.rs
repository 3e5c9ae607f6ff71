//! systemd socket activation (`sd_listen_fds(3)`): a listener opened by the service manager
//! and passed down as fd 3, so the port is open before rawserve starts (and while it restarts).
//!
//! The protocol: `LISTEN_PID` is the pid the fds are meant for (a child that inherited the
//! environment must not take them), `LISTEN_FDS` how many fds follow from 3, and
//! `LISTEN_FDNAMES` their colon-separated names (`FileDescriptorName=`, default the socket
//! unit's name). rawserve serves one listener, so it takes exactly one, and checks that it is
//! what `ListenStream=` makes: a TCP socket in the listening state. Anything else is a
//! mistake in the unit, answered with one clear line (exit 2), not an `accept` that fails
//! forever.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::os::fd::{FromRawFd, RawFd};

use log::debug;
use socket2::{Socket, Type};

/// `SD_LISTEN_FDS_START`: the first passed fd.
const FIRST_FD: RawFd = 3;

/// What the environment says about passed listeners.
#[derive(Debug, PartialEq, Eq)]
pub enum Passed {
    /// No `LISTEN_FDS` (or 0), or they are meant for another process (`LISTEN_PID` is not
    /// ours): bind as usual.
    Nothing,
    /// One fd, 3, with its name.
    One { name: String },
}

/// Why the passed fds cannot be served.
#[derive(Debug)]
pub enum ActivationError {
    /// `LISTEN_FDS` or `LISTEN_PID` is not a number.
    Malformed { variable: &'static str, value: String },
    /// More than one fd.
    Count { count: usize, names: String },
    /// fd 3 is not open, not a socket, not TCP, or not listening.
    NotAListener { name: String, what: String },
}

impl fmt::Display for ActivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActivationError::Malformed { variable, value } => {
                write!(f, "socket activation: {variable} is {value:?}, not a number")
            }
            ActivationError::Count { count, names } => write!(
                f,
                "socket activation passed {count} sockets ({names}); rawserve serves one: give its .socket unit one ListenStream="
            ),
            ActivationError::NotAListener { name, what } => write!(
                f,
                "socket activation: fd 3 ({name}) must be a listening TCP socket (ListenStream= in the .socket unit), but {what}"
            ),
        }
    }
}

impl std::error::Error for ActivationError {}

/// Reads `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` (as given, for testing).
pub fn passed(pid: Option<&str>, fds: Option<&str>, names: Option<&str>) -> Result<Passed, ActivationError> {
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(Passed::Nothing);
    };
    let listen_pid: u32 =
        pid.parse().map_err(|_| ActivationError::Malformed { variable: "LISTEN_PID", value: pid.to_string() })?;
    if listen_pid != std::process::id() {
        // Meant for the process that inherited them first (a shell wrapper, say).
        debug!("LISTEN_PID={listen_pid} is not this process ({}): the passed fds are not ours", std::process::id());
        return Ok(Passed::Nothing);
    }
    let count: usize =
        fds.parse().map_err(|_| ActivationError::Malformed { variable: "LISTEN_FDS", value: fds.to_string() })?;
    let names = names.unwrap_or("");
    if count == 0 {
        // sd_listen_fds() returns 0: nothing passed (a socket unit with no listener left).
        return Ok(Passed::Nothing);
    }
    if count != 1 {
        return Err(ActivationError::Count {
            count,
            names: if names.is_empty() { "unnamed".to_string() } else { names.replace(':', ", ") },
        });
    }
    let name = names.split(':').next().filter(|n| !n.is_empty()).unwrap_or("unnamed").to_string();
    Ok(Passed::One { name })
}

/// The listener passed as fd 3, checked, non-blocking and close-on-exec; `None` when the
/// environment passes nothing to this process.
pub fn inherited_listener() -> Result<Option<TcpListener>, ActivationError> {
    let var = |name| std::env::var(name).ok();
    let Passed::One { name } =
        passed(var("LISTEN_PID").as_deref(), var("LISTEN_FDS").as_deref(), var("LISTEN_FDNAMES").as_deref())?
    else {
        return Ok(None);
    };
    let not_a_listener = |what: String| ActivationError::NotAListener { name: name.clone(), what };
    // SAFETY: fcntl on any fd number is harmless; it tells whether fd 3 is open.
    if unsafe { libc::fcntl(FIRST_FD, libc::F_GETFD) } < 0 {
        return Err(not_a_listener("it is not open".into()));
    }
    // SAFETY: an fstat into a zeroed struct the kernel fills.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd 3 is open (checked above); `stat` is valid for writing.
    if unsafe { libc::fstat(FIRST_FD, &mut stat) } != 0 {
        return Err(not_a_listener(format!("fstat fails ({})", io::Error::last_os_error())));
    }
    if stat.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(not_a_listener("it is not a socket".into()));
    }
    // SAFETY: fd 3 is an open socket passed to this process (LISTEN_PID is ours), owned by
    // nothing else here; from now on `socket` closes it.
    let socket = unsafe { Socket::from_raw_fd(FIRST_FD) };
    let kind = socket.r#type().map_err(|e| not_a_listener(format!("its socket type is unknown ({e})")))?;
    if kind != Type::STREAM {
        return Err(not_a_listener("it is a datagram (not a stream) socket".into()));
    }
    let local = socket.local_addr().map_err(|e| not_a_listener(format!("it has no address ({e})")))?;
    let Some(addr) = local.as_socket() else {
        return Err(not_a_listener("it is a Unix-domain socket".into()));
    };
    if !is_listening(&socket) {
        return Err(not_a_listener(format!("it is a TCP socket on {addr} that is not listening")));
    }
    // systemd passes fds without close-on-exec (they are meant to be inherited once).
    socket.set_cloexec(true).map_err(|e| not_a_listener(format!("it refuses FD_CLOEXEC ({e})")))?;
    socket.set_nonblocking(true).map_err(|e| not_a_listener(format!("it refuses O_NONBLOCK ({e})")))?;
    debug!("socket activation: serving fd 3 ({name}), listening on {addr}");
    Ok(Some(socket.into()))
}

/// `SO_ACCEPTCONN`: whether `listen()` was called on the socket.
fn is_listening(socket: &Socket) -> bool {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a valid fd and out-pointers sized for a c_int.
    let rc = unsafe {
        libc::getsockopt(
            std::os::fd::AsRawFd::as_raw_fd(socket),
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    rc == 0 && value != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> String {
        std::process::id().to_string()
    }

    #[test]
    fn nothing_passed_none_passed_or_meant_for_another_process_is_nothing() {
        assert_eq!(passed(None, None, None).expect("ok"), Passed::Nothing);
        assert_eq!(passed(None, Some("1"), None).expect("ok"), Passed::Nothing);
        let other = (std::process::id() + 1).to_string();
        assert_eq!(passed(Some(&other), Some("1"), Some("http")).expect("ok"), Passed::Nothing);
        assert_eq!(passed(Some(&ours()), Some("0"), None).expect("ok"), Passed::Nothing);
    }

    #[test]
    fn one_fd_for_us_is_taken_with_its_name() {
        assert_eq!(passed(Some(&ours()), Some("1"), Some("web")).expect("ok"), Passed::One { name: "web".into() });
        assert_eq!(passed(Some(&ours()), Some("1"), None).expect("ok"), Passed::One { name: "unnamed".into() });
    }

    #[test]
    fn malformed_values_and_other_counts_are_errors() {
        let message = |r: Result<Passed, ActivationError>| r.expect_err("error").to_string();
        assert_eq!(
            message(passed(Some("x1"), Some("1"), None)),
            "socket activation: LISTEN_PID is \"x1\", not a number"
        );
        assert_eq!(
            message(passed(Some(&ours()), Some("one"), None)),
            "socket activation: LISTEN_FDS is \"one\", not a number"
        );
        assert_eq!(
            message(passed(Some(&ours()), Some("2"), Some("http:admin"))),
            "socket activation passed 2 sockets (http, admin); rawserve serves one: give its .socket unit one ListenStream="
        );
    }
}
