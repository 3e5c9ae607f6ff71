//! Knowing that a file kept in memory is still what is on disk: the seam under the file cache.
//! One implementation per system, chosen at compile time:
//!
//! - **inotify** (Linux): watches on the root, every folder down to a cached file, and the
//!   file's inode. The kernel queues an event inside the syscall that makes a change (write,
//!   truncate, rename, unlink, chmod, utimes, a new sibling or index page, a renamed folder),
//!   so one `ioctl(FIONREAD)` per lookup tells whether anything changed since; any event
//!   empties the cache. Costs one syscall per request.
//! - **stat** (macOS, FreeBSD, `--features portable`): each cached file remembers the identity
//!   (device, inode), size, modification and change times of itself and of every folder on
//!   its path; every use compares them with an `fstatat` each. Files and folders changed less
//!   than `SETTLE_TIME` ago are not cached at all, so a change cannot hide inside one tick of
//!   the file system's clock. Costs one `fstatat` per path component per request.
//!
//! What both promise (and `tests/file_cache.rs` checks for both builds): an entry is used only
//! when `anything_changed()` is false and `unchanged(stamps)` is true, and a change to the
//! file, its siblings or a folder on its path that completed before those calls makes one of
//! them say so. Neither sees writes through a shared `mmap` that do not update times, nor
//! changes made by another machine on a network file system: `--no-file-cache` is for those.

#[cfg(all(target_os = "linux", not(feature = "portable")))]
mod inotify;
#[cfg(all(target_os = "linux", not(feature = "portable")))]
pub use inotify::{ChangeWatch, Stamp};

#[cfg(any(feature = "portable", not(target_os = "linux")))]
mod stat;
#[cfg(any(feature = "portable", not(target_os = "linux")))]
pub use stat::{ChangeWatch, Stamp};

// Following the root's path across deploys (`files::deploy`): the same two flavours.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
mod root_inotify;
#[cfg(all(target_os = "linux", not(feature = "portable")))]
pub use root_inotify::RootWatch;
#[cfg(any(feature = "portable", not(target_os = "linux")))]
mod root_stat;
#[cfg(any(feature = "portable", not(target_os = "linux")))]
pub use root_stat::RootWatch;

/// Why a file could not be tracked (it is then served from disk).
pub type Untracked = &'static str;

// What changed, for live reload (`--live-reload`): `TreeWatch::changes(site, timeout)` names
// the paths below the root that changed (dot-names only with `--hidden`). inotify with a
// watch per folder on Linux; a walk compared every `LIVE_POLL_INTERVAL` elsewhere.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
mod tree_inotify;
#[cfg(all(target_os = "linux", not(feature = "portable")))]
pub use tree_inotify::TreeWatch;

#[cfg(any(feature = "portable", not(target_os = "linux")))]
mod tree_stat;
#[cfg(any(feature = "portable", not(target_os = "linux")))]
pub use tree_stat::TreeWatch;
