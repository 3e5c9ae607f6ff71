//! The thread pool: a `rayon` pool whose threads each run one event loop.
//!
//! Why not "one acceptor thread hands each connection to the pool"? Measured on this
//! project's 2-core machine (see README, Performance), a hand-off per connection costs a
//! wake-up and a cache miss that are worth more than parsing and answering a request; a
//! thread that accepts and serves inline spends the least CPU per connection. And a pool of
//! threads blocked on slow clients cannot be sized for a thousand of them. So each pool
//! thread accepts and serves its own connections with readiness (epoll, kqueue): slow clients cost
//! a parked entry, not a thread.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

use log::error;

use crate::socket::event_loop::EventLoop;
use crate::socket::Shared;

/// Starts `threads` event loops on a rayon pool and returns when all have finished
/// (after shutdown has drained them).
pub fn run_event_loops(shared: &Shared, threads: usize) -> io::Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rawserve-loop-{i}"))
        // Without a handler a panic escaping a rayon job aborts the whole process.
        .panic_handler(|_| error!("a pool thread panicked outside any connection"))
        .build()
        .map_err(io::Error::other)?;
    pool.broadcast(|_| loop {
        let outcome = catch_unwind(AssertUnwindSafe(|| match EventLoop::new(shared) {
            Ok(mut event_loop) => {
                event_loop.run();
                Ok(())
            }
            Err(e) => Err(e),
        }));
        match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => {
                error!("cannot start an event loop: {e}");
                return;
            }
            // A bug outside any one connection: the loop's connections are closed, and a
            // fresh loop takes its place so the server keeps its capacity.
            Err(_) => error!("an event loop panicked; starting a new one"),
        }
    });
    Ok(())
}
