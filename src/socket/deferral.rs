//! When the listener holds connections until their data (Linux's `TCP_DEFER_ACCEPT`): only
//! while that saves work. The counts behind it (`benches/results/single-connection-2026-12-02.md`):
//!
//! - At one connection at a time the request is there at accept with or without the hold
//!   (wrk -c1: 1.02 context switches per request either way), so the hold saves nothing. It
//!   costs latency: with it the kernel wakes the server when the request arrives, so the
//!   wake-up of an idle core lies on the client's path; without it the wake-up starts at the
//!   handshake's last ACK and overlaps the client sending its request.
//! - At 50 connections, without the hold 57 % of connections find no request at accept and wait
//!   on epoll (`recv` EAGAIN, `epoll_ctl`, a later wake-up): the hold saves all of that.
//!
//! So the hold is off while connections come one at a time, and switched on when, among
//! `DEFER_WINDOW` accepted connections, `DEFER_BUSY_PARKS` had to wait for their request while
//! the loop had other connections open. While on, it is switched off every `DEFER_PROBE` to
//! look again. The switch is one `setsockopt` on the shared listener, made by whichever loop
//! decides; the counters are shared by all loops.
//!
//! Silent clients still cost what they did: without the hold they are parked with a head
//! deadline counted from accept (as with `--head-timeout` under 2 s), and many of them at
//! once switch the hold on.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use log::debug;

use crate::limits::{DEFER_BUSY_PARKS, DEFER_PROBE, DEFER_WINDOW};
use crate::socket::sys::{self, Deferral};

pub struct AdaptiveDeferral {
    /// What the system offers; only `Held` is switched.
    offered: Deferral,
    /// The hold is on now.
    holding: AtomicBool,
    /// Since the hold went off (or the window last restarted): connections accepted, and of
    /// those, the ones that waited for their request beside others.
    accepted: AtomicU32,
    busy_parks: AtomicU32,
    /// While holding: when to switch it off for a look, in milliseconds since `epoch`.
    probe_at_ms: AtomicU64,
    epoch: Instant,
}

impl AdaptiveDeferral {
    /// Starts with the hold off: an idle server answers its first clients soonest.
    pub fn new(listener: &TcpListener, offered: Deferral) -> AdaptiveDeferral {
        let holding = match offered {
            Deferral::Held(_) => match sys::switch_hold(listener, None) {
                Ok(()) => {
                    debug!("TCP_DEFER_ACCEPT off until connections wait for their requests beside others");
                    false
                }
                Err(e) => {
                    debug!("cannot switch TCP_DEFER_ACCEPT off ({e}): it stays on");
                    true
                }
            },
            _ => false,
        };
        AdaptiveDeferral {
            offered,
            holding: AtomicBool::new(holding),
            accepted: AtomicU32::new(0),
            busy_parks: AtomicU32::new(0),
            probe_at_ms: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
        }
    }

    /// How long the kernel may have held a silent connection accepted now: its head deadline
    /// counts that time. A silent connection held just before the hold went off is handed
    /// over up to that long later without it being counted: its 408 comes at most
    /// `DEFER_ACCEPT` late, once.
    pub fn held(&self) -> Option<Duration> {
        match self.offered {
            Deferral::Held(held) if self.holding.load(Ordering::Relaxed) => Some(held),
            _ => None,
        }
    }

    /// After a connection's first step: `waited_beside_others` when it found no request and
    /// waits on the poller while its loop has other connections open.
    pub fn accepted(&self, listener: &TcpListener, now: Instant, waited_beside_others: bool) {
        let Deferral::Held(held) = self.offered else { return };
        let now_ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        if self.holding.load(Ordering::Relaxed) {
            if now_ms >= self.probe_at_ms.load(Ordering::Relaxed) && self.switch(listener, None) {
                debug!("TCP_DEFER_ACCEPT off: looking at the next {DEFER_WINDOW} connections");
            }
            return;
        }
        let busy = if waited_beside_others {
            self.busy_parks.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.busy_parks.load(Ordering::Relaxed)
        };
        let accepted = self.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        if busy >= DEFER_BUSY_PARKS {
            if self.switch(listener, Some(held)) {
                self.probe_at_ms.store(now_ms + DEFER_PROBE.as_millis() as u64, Ordering::Relaxed);
                debug!(
                    "TCP_DEFER_ACCEPT {}s on: {busy} of {accepted} connections waited for their request beside others",
                    held.as_secs()
                );
            }
        } else if accepted >= DEFER_WINDOW {
            self.restart_window();
        }
    }

    /// Switches the hold; true if this call did (another loop may have been first).
    fn switch(&self, listener: &TcpListener, hold: Option<Duration>) -> bool {
        let on = hold.is_some();
        if self.holding.compare_exchange(!on, on, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return false;
        }
        if let Err(e) = sys::switch_hold(listener, hold) {
            debug!("cannot switch TCP_DEFER_ACCEPT {}: {e}", if on { "on" } else { "off" });
            self.holding.store(!on, Ordering::Relaxed);
            // Try again after a probe interval, not on every accept.
            self.probe_at_ms.fetch_add(DEFER_PROBE.as_millis() as u64, Ordering::Relaxed);
            return false;
        }
        self.restart_window();
        true
    }

    fn restart_window(&self) {
        self.accepted.store(0, Ordering::Relaxed);
        self.busy_parks.store(0, Ordering::Relaxed);
    }
}

#[cfg(all(test, target_os = "linux", not(feature = "portable")))]
mod tests {
    use super::*;
    use crate::limits::DEFER_ACCEPT;
    use crate::socket::listener::bind_listener;
    use std::os::fd::AsRawFd;

    fn defer_accept_option(listener: &TcpListener) -> libc::c_int {
        let mut value: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: valid fd and out-pointers sized for a c_int.
        let rc = unsafe {
            libc::getsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_DEFER_ACCEPT,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "getsockopt: {}", std::io::Error::last_os_error());
        value
    }

    #[test]
    fn the_hold_starts_off_goes_on_when_connections_wait_beside_others_and_off_again_to_look() {
        let (listener, offered) =
            bind_listener("127.0.0.1:0".parse().expect("addr"), Some(DEFER_ACCEPT), false).expect("bind");
        assert_eq!(offered, Deferral::Held(DEFER_ACCEPT));
        let deferral = AdaptiveDeferral::new(&listener, offered);
        assert_eq!(defer_accept_option(&listener), 0, "an idle server starts without the hold");
        assert_eq!(deferral.held(), None);

        // One connection at a time, each with its request there: never.
        let start = Instant::now();
        for _ in 0..3 * DEFER_WINDOW {
            deferral.accepted(&listener, start, false);
        }
        assert_eq!(defer_accept_option(&listener), 0);

        // Waiting beside others, but fewer than DEFER_BUSY_PARKS per window: not yet.
        for i in 0..2 * DEFER_WINDOW {
            deferral.accepted(&listener, start, i % DEFER_WINDOW < DEFER_BUSY_PARKS - 1);
        }
        assert_eq!(defer_accept_option(&listener), 0);

        // DEFER_BUSY_PARKS within one window: on, and counted for what arrives from now on.
        for _ in 0..DEFER_BUSY_PARKS {
            deferral.accepted(&listener, start, true);
        }
        assert!(defer_accept_option(&listener) >= 1, "the hold is on");
        assert_eq!(deferral.held(), Some(DEFER_ACCEPT));

        // Before the probe time it stays on; after it, off to look again.
        deferral.accepted(&listener, start + DEFER_PROBE / 2, false);
        assert!(defer_accept_option(&listener) >= 1);
        deferral.accepted(&listener, start + DEFER_PROBE, false);
        assert_eq!(defer_accept_option(&listener), 0, "off for a look after DEFER_PROBE");
        assert_eq!(deferral.held(), None);
    }

    #[test]
    fn a_listener_without_a_hold_is_never_switched() {
        let (listener, offered) = bind_listener("127.0.0.1:0".parse().expect("addr"), None, false).expect("bind");
        let deferral = AdaptiveDeferral::new(&listener, offered);
        for _ in 0..DEFER_WINDOW {
            deferral.accepted(&listener, Instant::now(), true);
        }
        assert_eq!(defer_accept_option(&listener), 0);
        assert_eq!(deferral.held(), None);
    }
}
