//! One event loop: it waits for readiness of the listening socket, its own connections and
//! the shutdown waker, and drives each ready connection one step. Several loops run, one per
//! pool thread, all accepting from the same listener. Each owns its per-loop state (the HTTP
//! side's `LoopState`: dates, file cache) and passes it to every step.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use log::{debug, error};

use crate::http::exchange::LoopState;
use crate::limits::{
    ACCEPT_BATCH, ACCEPT_PAUSE, EVICTION_DEBT, EVICTION_MIN_AGE, SPARE_BUFFERS, SPARE_BUFFER_BYTES, TIMER_TICK,
};
use crate::socket::acceptor::{accept_one, note_eviction, refuse_over_cap, Accepted};
use crate::socket::connection::{Connection, Next};
use crate::socket::readiness::{Events, Interest, Poller};
use crate::socket::Shared;

const LISTENER_TOKEN: u64 = 0;
const WAKER_TOKEN: u64 = 1;
/// Connection tokens are `slot index + FIRST_CONNECTION_TOKEN` in the low 32 bits and the
/// slot's generation in the high 32, so a stale event for a reused slot is recognised.
const FIRST_CONNECTION_TOKEN: u64 = 2;

struct Slot {
    generation: u32,
    conn: Option<Connection>,
    /// Registered with the poller (only connections that had to wait are).
    parked: bool,
}

/// Buffers of closed connections, for the next ones (`SPARE_BUFFER_BYTES`).
#[derive(Default)]
struct SpareBuffers(Vec<Vec<u8>>);

impl SpareBuffers {
    fn take(&mut self) -> Vec<u8> {
        self.0.pop().unwrap_or_default()
    }

    fn give(&mut self, buffer: Vec<u8>) {
        if buffer.capacity() > 0 && buffer.capacity() <= SPARE_BUFFER_BYTES && self.0.len() < SPARE_BUFFERS {
            self.0.push(buffer);
        }
    }
}

pub struct EventLoop<'s> {
    shared: &'s Shared,
    poller: Poller,
    state: LoopState,
    slots: Vec<Slot>,
    free: Vec<usize>,
    buffers: SpareBuffers,
    live: usize,
    /// Accepting is paused until then (out of fds).
    paused_until: Option<Instant>,
    /// Set once shutdown began: no more accepting; finish what is in flight by then.
    drain_deadline: Option<Instant>,
    next_sweep: Instant,
    /// This loop's share of `Shared::evictable` as of its last sweep.
    evictable_published: usize,
}

impl<'s> EventLoop<'s> {
    pub fn new(shared: &'s Shared) -> io::Result<EventLoop<'s>> {
        let poller = Poller::new()?;
        poller.add(&shared.listener, LISTENER_TOKEN, Interest::Listener)?;
        poller.add(&shared.waker, WAKER_TOKEN, Interest::Wake)?;
        Ok(EventLoop {
            shared,
            poller,
            state: LoopState::new(&shared.service),
            slots: Vec::new(),
            free: Vec::new(),
            buffers: SpareBuffers::default(),
            live: 0,
            paused_until: None,
            drain_deadline: None,
            next_sweep: Instant::now(),
            evictable_published: 0,
        })
    }

    /// Runs until shutdown has drained this loop's connections (or the drain time is up).
    pub fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            if self.shared.stopping.load(Ordering::Relaxed) && self.drain_deadline.is_none() {
                self.begin_drain();
            }
            let now = Instant::now();
            if let Some(deadline) = self.drain_deadline {
                if self.live == 0 || now >= deadline {
                    if self.live > 0 {
                        error!("drain time over: closing {} connections still in flight", self.live);
                    }
                    return;
                }
            }
            match self.poller.wait(&mut events, self.wait_timeout(now)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    error!("waiting for readiness: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
            for token in events.tokens() {
                match token {
                    LISTENER_TOKEN => self.accept(),
                    WAKER_TOKEN => self.begin_drain(),
                    token => self.on_event(token),
                }
            }
            let now = Instant::now();
            self.pay_eviction_debt(now);
            if self.paused_until.is_some_and(|until| now >= until) {
                self.resume_accepting();
            }
            if now >= self.next_sweep {
                self.expire_deadlines(now);
                self.publish_evictable(now);
                self.next_sweep = now + TIMER_TICK;
            }
        }
    }

    fn wait_timeout(&self, now: Instant) -> Option<Duration> {
        let mut timeout = None;
        if self.live > 0 {
            timeout = Some(self.next_sweep.saturating_duration_since(now).max(Duration::from_millis(1)));
        }
        if let Some(until) = self.paused_until {
            let pause = until.saturating_duration_since(now);
            timeout = Some(timeout.map_or(pause, |t: Duration| t.min(pause)));
        }
        timeout
    }

    fn accept(&mut self) {
        if self.drain_deadline.is_some() || self.paused_until.is_some() {
            return;
        }
        // Up to ACCEPT_BATCH per readiness, so the connections already open get their turn.
        for _ in 0..ACCEPT_BATCH {
            // Read before accepting: a connection accepted now was held if the hold was on.
            let held = self.shared.deferral.held();
            match accept_one(self.shared, &mut self.state) {
                Accepted::Connection { stream, peer, at, over_cap } => self.admit(stream, peer, at, over_cap, held),
                Accepted::Skipped => {}
                Accepted::Idle => return,
                Accepted::Pause => return self.pause_accepting(),
            }
        }
    }

    /// Serves a connection just accepted, as far as its socket allows.
    fn admit(&mut self, stream: TcpStream, peer: SocketAddr, now: Instant, over_cap: bool, held: Option<Duration>) {
        // At the cap: the evicted connection's place (and its count) passes to this one.
        if over_cap && !self.evict_slowest_head(now) && !self.borrow_place() {
            refuse_over_cap(self.shared, &stream, &mut self.state);
            return;
        }
        let id = self.shared.next_connection_id.fetch_add(1, Ordering::Relaxed);
        let conn = Connection::new(id, stream, peer, self.shared, now, self.buffers.take());
        let index = self.insert(conn);
        // Serve it now: with TCP_DEFER_ACCEPT (or on loopback) the request is already there.
        self.drive(index, |conn, shared, state| conn.start(shared, state, held));
        // Had to wait for its request while this loop has others open: the hold would have
        // saved that (socket/deferral.rs).
        let waited_beside_others = self.slots[index].parked && self.live > 1;
        self.shared.deferral.accepted(&self.shared.listener, now, waited_beside_others);
    }

    fn pause_accepting(&mut self) {
        if self.poller.delete(&self.shared.listener).is_ok() {
            self.paused_until = Some(Instant::now() + ACCEPT_PAUSE);
        }
    }

    fn resume_accepting(&mut self) {
        self.paused_until = None;
        if self.drain_deadline.is_none() {
            if let Err(e) = self.poller.add(&self.shared.listener, LISTENER_TOKEN, Interest::Listener) {
                error!("cannot resume accepting: {e}");
            }
        }
    }

    fn begin_drain(&mut self) {
        if self.drain_deadline.is_some() {
            return;
        }
        debug!("event loop stops accepting; {} connections in flight", self.live);
        self.drain_deadline = Some(Instant::now() + self.shared.limits.drain_timeout);
        if self.paused_until.take().is_none() {
            let _ = self.poller.delete(&self.shared.listener);
        }
        let _ = self.poller.delete(&self.shared.waker);
        // Connections that have sent nothing (a browser's preconnect, say) have no response
        // in flight to wait for: close them now rather than hold the exit for the drain time.
        // Live-reload streams never finish: they end now too (the page reconnects later).
        for index in 0..self.slots.len() {
            if self.slots[index].conn.as_ref().is_some_and(|conn| conn.is_idle() || conn.is_stream()) {
                self.remove(index);
            }
        }
    }

    fn on_event(&mut self, token: u64) {
        let index = (token & 0xffff_ffff) as usize - FIRST_CONNECTION_TOKEN as usize;
        let generation = (token >> 32) as u32;
        if self.slots.get(index).is_some_and(|slot| slot.generation == generation && slot.conn.is_some()) {
            self.drive(index, |conn, shared, state| conn.on_ready(shared, state));
        }
    }

    /// Tells the other loops how many heads this one could evict (for `borrow_place`).
    fn publish_evictable(&mut self, now: Instant) {
        let count = self
            .slots
            .iter()
            .filter_map(|slot| slot.conn.as_ref().and_then(Connection::head_progress))
            .filter(|(_, accepted_at)| now.saturating_duration_since(*accepted_at) >= EVICTION_MIN_AGE)
            .count();
        if count != self.evictable_published {
            self.shared.evictable.fetch_add(count, Ordering::Relaxed);
            self.shared.evictable.fetch_sub(self.evictable_published, Ordering::Relaxed);
            self.evictable_published = count;
        }
    }

    fn expire_deadlines(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            if self.slots[index].conn.as_ref().is_some_and(|conn| conn.deadline() <= now) {
                self.drive(index, |conn, shared, state| conn.on_deadline(shared, state, now));
            }
        }
    }

    /// Runs one step of a connection. A panic in it closes that connection and nothing else.
    fn drive(&mut self, index: usize, step: impl FnOnce(&mut Connection, &Shared, &mut LoopState) -> Next) {
        let shared = self.shared;
        let state = &mut self.state;
        let slot = &mut self.slots[index];
        let Some(conn) = slot.conn.as_mut() else { return };
        let next = catch_unwind(AssertUnwindSafe(|| step(conn, shared, state))).unwrap_or_else(|_| {
            error!("a connection step panicked; closing that connection");
            Next::Close
        });
        match next {
            Next::Wait if !slot.parked => {
                let token = (u64::from(slot.generation) << 32) | (index as u64 + FIRST_CONNECTION_TOKEN);
                match self.poller.add(conn.stream(), token, Interest::Connection) {
                    Ok(()) => slot.parked = true,
                    Err(e) => {
                        error!("cannot park a connection: {e}; closing it");
                        self.remove(index);
                    }
                }
            }
            Next::Wait => {}
            Next::Close => self.remove(index),
        }
    }

    /// At the connection cap, makes room by evicting this loop's connection with the least
    /// progress on its head: of those still reading a head and connected at least
    /// `EVICTION_MIN_AGE`, the one with the fewest head bytes received per second since
    /// accept, the earlier accepted on a tie. Connections with a response in flight (sending,
    /// or lingering after it) are never evicted. It gets `408` and is closed, keeping its
    /// count in `in_flight` for the connection that takes its place. False when there is none.
    fn evict_slowest_head(&mut self, now: Instant) -> bool {
        let Some(index) = self.slowest_head(now) else { return false };
        self.evict(index, false);
        true
    }

    /// This loop has nothing to evict, but another loop may (the kernel does not spread a
    /// flood evenly): the newcomer is admitted over the cap, and the debt is paid by the next
    /// loop that finds a head to evict (`pay_eviction_debt`, at most a timer tick later).
    /// At most `EVICTION_DEBT` places are owed at once, so the overshoot stays bounded.
    fn borrow_place(&mut self) -> bool {
        // Only when another loop said, at its last sweep, that it has heads to evict.
        let elsewhere = self.shared.evictable.load(Ordering::Relaxed).saturating_sub(self.evictable_published);
        if elsewhere == 0 {
            return false;
        }
        let debt = &self.shared.eviction_debt;
        if debt.fetch_add(1, Ordering::SeqCst) >= EVICTION_DEBT {
            debt.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        self.shared.in_flight.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Evicts this loop's slowest heads while places are owed (see `borrow_place`).
    fn pay_eviction_debt(&mut self, now: Instant) {
        let debt = &self.shared.eviction_debt;
        while debt.load(Ordering::SeqCst) > 0 {
            // Back under the cap (connections finished on their own): nothing is owed.
            if self.shared.in_flight.load(Ordering::Relaxed) <= self.shared.limits.max_connections {
                debt.store(0, Ordering::SeqCst);
                return;
            }
            let Some(index) = self.slowest_head(now) else { return };
            if debt.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1)).is_err() {
                return;
            }
            self.evict(index, true);
        }
    }

    fn evict(&mut self, index: usize, uncount: bool) {
        note_eviction(self.shared);
        let (shared, state) = (self.shared, &mut self.state);
        if let Some(conn) = self.slots[index].conn.as_mut() {
            conn.evict(shared, state);
        }
        self.close_slot(index, uncount);
    }

    /// The connection `evict_slowest_head` would evict, if any.
    fn slowest_head(&self, now: Instant) -> Option<usize> {
        // (index, bytes, age in µs); a/ta < b/tb is compared as a·tb < b·ta, without division.
        let mut slowest: Option<(usize, u128, u128)> = None;
        for (index, slot) in self.slots.iter().enumerate() {
            let Some((bytes, accepted_at)) = slot.conn.as_ref().and_then(Connection::head_progress) else { continue };
            let age = now.saturating_duration_since(accepted_at);
            if age < EVICTION_MIN_AGE {
                continue;
            }
            let (bytes, age) = (bytes as u128, age.as_micros());
            let slower = slowest.is_none_or(|(_, b, a)| {
                let (this, that) = (bytes * a, b * age);
                this < that || (this == that && age > a)
            });
            if slower {
                slowest = Some((index, bytes, age));
            }
        }
        slowest.map(|(index, _, _)| index)
    }

    fn insert(&mut self, conn: Connection) -> usize {
        self.live += 1;
        match self.free.pop() {
            Some(index) => {
                self.slots[index].conn = Some(conn);
                index
            }
            None => {
                self.slots.push(Slot { generation: 0, conn: Some(conn), parked: false });
                self.slots.len() - 1
            }
        }
    }

    /// Closes the connection (its socket too, which also takes it off the poller).
    fn remove(&mut self, index: usize) {
        self.close_slot(index, true);
    }

    /// Closes the connection in `index`; `uncount` takes it out of `in_flight` (an evicted
    /// one's count goes to the connection taking its place instead).
    fn close_slot(&mut self, index: usize, uncount: bool) {
        let slot = &mut self.slots[index];
        if let Some(conn) = slot.conn.take() {
            slot.generation = slot.generation.wrapping_add(1);
            slot.parked = false;
            self.free.push(index);
            self.live -= 1;
            self.buffers.give(conn.close(self.shared));
            if uncount {
                self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
            }
            self.shared.spare_fd.restore_if_missing(self.shared.waker.as_fd());
        }
    }
}

impl Drop for EventLoop<'_> {
    fn drop(&mut self) {
        self.shared.evictable.fetch_sub(self.evictable_published, Ordering::Relaxed);
        for index in 0..self.slots.len() {
            self.remove(index);
        }
    }
}
