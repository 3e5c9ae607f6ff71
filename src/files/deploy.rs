//! Deploys: the ROOT argument means the path, not the folder it named at start.
//!
//! A deploy replaces what the path names — `mv site site.old && mv new site`, `rm -rf site &&
//! mkdir site`, or a release symlink `ln -sfn releases/v2 current`. Each request first asks
//! the watch seam (`files::watch::RootWatch`: inotify on the root's parent on Linux, one
//! `stat` of the path elsewhere) whether the path may name another folder now; only then is
//! the path looked at and, if it names another folder, that folder opened and served from
//! then on. Every request is answered from the one `Site` (one root fd) it started with, so
//! no answer mixes trees; a response in flight keeps sending from the files it opened.
//! While the path names nothing (between the two `mv`s, after `rm -rf`), the folder opened
//! before is served.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use log::{debug, info};

use crate::files::site::Site;
use crate::files::watch::RootWatch;

/// The root's path and the folder it names now, shared by every event loop.
pub struct FollowedRoot {
    /// Absolute, as given (symlinks not resolved: `current` is followed anew each time).
    path: PathBuf,
    watch: RootWatch,
    current: Mutex<Current>,
    /// Bumped each time `current` is replaced: a loop holding an older one takes the new one.
    generation: AtomicU64,
    /// A loop is reading the watch and looking at the path: another loop that finds the
    /// queue empty (just read) must wait for the outcome rather than serve the old tree.
    refreshing: AtomicBool,
}

struct Current {
    site: Arc<Site>,
    /// The path named nothing (or no folder) at the last look; logged once.
    lost: bool,
}

/// What one event loop holds: the tree its requests are answered from.
pub struct HeldSite {
    pub site: Arc<Site>,
    generation: u64,
}

impl FollowedRoot {
    /// Follows `path` (absolute; its last component a name), starting with `site`, which is
    /// what it names now.
    pub fn new(path: &Path, site: Site) -> io::Result<FollowedRoot> {
        if path.file_name().is_none() {
            return Err(io::Error::other("the path has no last name to follow"));
        }
        let watch = RootWatch::new(path)?;
        Ok(FollowedRoot {
            path: path.to_path_buf(),
            watch,
            current: Mutex::new(Current { site: Arc::new(site), lost: false }),
            generation: AtomicU64::new(0),
            refreshing: AtomicBool::new(false),
        })
    }

    pub fn hold(&self) -> HeldSite {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        HeldSite { site: Arc::clone(&current.site), generation: self.generation.load(Ordering::SeqCst) }
    }

    /// Called as each request begins: afterwards `held` is what the path names now (or the
    /// last folder it named). Costs one syscall and two atomic loads when nothing moved.
    pub fn refresh(&self, held: &mut HeldSite) {
        if self.watch.may_have_moved(&held.site) || self.refreshing.load(Ordering::SeqCst) {
            self.look(held);
        } else if held.generation != self.generation.load(Ordering::SeqCst) {
            *held = self.hold();
        }
    }

    /// Reads the watch, then looks at the path: the order means a change after the read is
    /// still queued for the next request.
    fn look(&self, held: &mut HeldSite) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        self.refreshing.store(true, Ordering::SeqCst);
        self.watch.settle();
        match std::fs::metadata(&self.path) {
            Ok(now) if (now.dev(), now.ino()) == current.site.device_inode => {
                debug!("root: {} still names {}", self.path.display(), current.site.root.display());
                current.lost = false;
            }
            Ok(_) => match current.site.reopen(&self.path) {
                Ok(site) => {
                    info!(
                        "root: {} now names {} (was {}); new requests are served from it",
                        self.path.display(),
                        site.root.display(),
                        current.site.root.display()
                    );
                    *current = Current { site: Arc::new(site), lost: false };
                    self.generation.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => self.lost(&mut current, &e.to_string()),
            },
            Err(e) => self.lost(&mut current, &e.to_string()),
        }
        *held = HeldSite { site: Arc::clone(&current.site), generation: self.generation.load(Ordering::SeqCst) };
        self.refreshing.store(false, Ordering::SeqCst);
    }

    /// Between the two renames of a deploy this is normal, hence info; a path that stays
    /// lost is the admin's to see.
    fn lost(&self, current: &mut Current, why: &str) {
        if !current.lost {
            info!(
                "root: {} cannot be served now ({why}); still serving {} until it can",
                self.path.display(),
                current.site.root.display()
            );
            current.lost = true;
        }
    }
}
