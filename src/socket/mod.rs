//! The transport layer: TCP sockets, readiness, threads. Knows nothing of HTTP beyond
//! handing a complete request head to `http` and sending back the bytes it gets.

pub mod acceptor;
pub mod connection;
pub mod epoll;
pub mod event_loop;
pub mod listener;
pub mod pool;
