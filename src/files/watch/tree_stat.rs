//! What changed below the root, without a kernel queue (macOS, FreeBSD, `--features
//! portable`): the tree is walked every `LIVE_POLL_INTERVAL`, each entry `fstatat`ed through
//! its folder's fd (symlinks not followed), and compared with the last walk. A change is seen
//! within one interval; one that leaves kind, size and modification time as they were (a
//! same-size rewrite within one tick of the file system's clock) is not.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::time::{Duration, Instant, SystemTime};

use log::{debug, warn};

use crate::files::confined_open::open_no_symlinks;
use crate::files::folder::{read_folder, Kind};
use crate::files::site::Site;
use crate::limits::{LIVE_POLL_ENTRIES, LIVE_POLL_INTERVAL};

type Seen = HashMap<String, (Kind, u64, Option<SystemTime>)>;

/// The tree as the last walk saw it.
pub struct TreeWatch {
    seen: Seen,
    next_walk: Instant,
    /// The entry limit was reached (warned once).
    full: bool,
}

impl TreeWatch {
    /// A burst of changes is over once a walk found nothing new: an editor's save that
    /// straddles one walk is still one event.
    pub const QUIET: Duration = LIVE_POLL_INTERVAL;

    /// Walks the tree once (dot-files and dot-folders only with `--hidden`).
    pub fn new(site: &Site) -> io::Result<TreeWatch> {
        let mut watch = TreeWatch { seen: HashMap::new(), next_walk: Instant::now(), full: false };
        watch.seen = watch.walk(site);
        watch.next_walk = Instant::now() + LIVE_POLL_INTERVAL;
        debug!("live reload: watching {} entries, walked every {LIVE_POLL_INTERVAL:?}", watch.seen.len());
        Ok(watch)
    }

    /// Waits at most `timeout` (sleeping until the next walk is due), and names the paths
    /// (below the root) that changed since the last walk: none when nothing did.
    pub fn changes(&mut self, site: &Site, timeout: Duration) -> BTreeSet<String> {
        let now = Instant::now();
        if now < self.next_walk {
            std::thread::sleep(timeout.min(self.next_walk - now));
            if Instant::now() < self.next_walk {
                return BTreeSet::new();
            }
        }
        let now_seen = self.walk(site);
        self.next_walk = Instant::now() + LIVE_POLL_INTERVAL;
        let mut changed: BTreeSet<String> = now_seen
            .iter()
            .filter(|(path, state)| self.seen.get(*path) != Some(state))
            .map(|(p, _)| p.clone())
            .collect();
        changed.extend(self.seen.keys().filter(|path| !now_seen.contains_key(*path)).cloned());
        self.seen = now_seen;
        changed
    }

    fn walk(&mut self, site: &Site) -> Seen {
        let mut seen = Seen::new();
        let mut pending = vec![String::new()];
        while let Some(folder) = pending.pop() {
            let Ok(dir) = open_no_symlinks(&site.root_dir, &folder) else { continue };
            let Ok(entries) = read_folder(dir) else { continue };
            for entry in entries {
                let Ok(name) = entry.name.into_string() else { continue };
                if !site.hidden && name.starts_with('.') {
                    continue;
                }
                if seen.len() >= LIVE_POLL_ENTRIES {
                    if !std::mem::replace(&mut self.full, true) {
                        warn!("live reload: {LIVE_POLL_ENTRIES} entries watched, the limit: changes to further ones are not seen");
                    }
                    return seen;
                }
                let path = if folder.is_empty() { name } else { format!("{folder}/{name}") };
                if entry.kind == Kind::Folder {
                    pending.push(path.clone());
                    // A folder's own time changes with its names, which are compared one by one.
                    seen.insert(path, (Kind::Folder, 0, None));
                } else {
                    seen.insert(path, (entry.kind, entry.len, entry.modified));
                }
            }
        }
        seen
    }
}
