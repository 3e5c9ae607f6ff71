//! The document root and the policies that apply to everything served from it.

use std::fs::File;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What is being served and how.
#[derive(Debug)]
pub struct Site {
    /// The root, canonical (absolute, no symlinks): the wall every path must stay behind.
    pub root: PathBuf,
    /// The root folder opened once; files are opened relative to it with `openat2`.
    pub root_dir: File,
    /// List folders that have no index.html (else 404).
    pub listing: bool,
    /// Serve dotfiles and dot-folders (else 404, and hidden from listings).
    pub hidden: bool,
    /// The `Cache-Control` value sent with files and listings.
    pub cache_control: String,
    /// Keep small files in memory while inotify reports no change (`files::file_cache`).
    pub file_cache: bool,
    /// Routing (README, Routing): `--spa` answers a navigation to a missing page with the
    /// root's index page; `--clean-urls` serves `about.html` for `/about`.
    pub spa: bool,
    pub clean_urls: bool,
    /// `--follow-symlinks`: the file system's root folder `/`, opened once, below which the
    /// real path of a link that leaves the document root is opened (`files::resolve`).
    /// `None`: links that leave the root are refused (the default).
    pub links_out: Option<File>,
    /// `--live-reload`: HTML pages get the live-reload script (`http::live`).
    pub live_reload: bool,
    /// Tells sites apart in per-thread memory (tests and benches open several per thread).
    pub id: u64,
    /// The opened root's (device, inode): a deploy that makes the path name another folder
    /// changes it (`files::deploy`).
    pub device_inode: (u64, u64),
}

/// Why the root cannot be served; `main` turns each into a one-line message.
#[derive(Debug)]
pub enum RootError {
    Missing(PathBuf),
    NotADirectory(PathBuf),
    Unreadable(PathBuf, io::Error),
}

impl std::fmt::Display for RootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootError::Missing(p) => {
                write!(f, "the folder {} does not exist; pass the folder to serve, e.g. `rawserve ./site`", p.display())
            }
            RootError::NotADirectory(p) => {
                write!(f, "{} is not a folder; pass the folder to serve, e.g. `rawserve ./site`", p.display())
            }
            RootError::Unreadable(p, e) => {
                write!(f, "cannot open the folder {}: {e}; check its permissions", p.display())
            }
        }
    }
}

impl Site {
    pub fn open(root: &Path, listing: bool, hidden: bool, cache_control: String) -> Result<Site, RootError> {
        let canonical = match root.canonicalize() {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(RootError::Missing(root.to_path_buf())),
            Err(e) => return Err(RootError::Unreadable(root.to_path_buf(), e)),
        };
        if !canonical.is_dir() {
            return Err(RootError::NotADirectory(root.to_path_buf()));
        }
        let root_dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&canonical)
            .map_err(|e| RootError::Unreadable(root.to_path_buf(), e))?;
        std::fs::read_dir(&canonical).map_err(|e| RootError::Unreadable(root.to_path_buf(), e))?;
        let opened = root_dir.metadata().map_err(|e| RootError::Unreadable(root.to_path_buf(), e))?;
        if !opened.is_dir() {
            return Err(RootError::NotADirectory(root.to_path_buf()));
        }
        let device_inode = (opened.dev(), opened.ino());
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Ok(Site {
            root: canonical,
            root_dir,
            listing,
            hidden,
            cache_control,
            file_cache: true,
            spa: false,
            clean_urls: false,
            links_out: None,
            live_reload: false,
            id,
            device_inode,
        })
    }

    /// `--follow-symlinks`: opens `/`, below which links that leave the root are opened.
    pub fn follow_symlinks_out(&mut self) -> io::Result<()> {
        let filesystem_root =
            std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC).open("/")?;
        self.links_out = Some(filesystem_root);
        Ok(())
    }

    /// What `path` names now, served with the same policies (a deploy swapped the folder).
    pub fn reopen(&self, path: &Path) -> Result<Site, RootError> {
        let site = Site::open(path, self.listing, self.hidden, self.cache_control.clone())?;
        let links_out = match &self.links_out {
            Some(filesystem_root) => {
                Some(filesystem_root.try_clone().map_err(|e| RootError::Unreadable(path.to_path_buf(), e))?)
            }
            None => None,
        };
        Ok(Site {
            file_cache: self.file_cache,
            spa: self.spa,
            clean_urls: self.clean_urls,
            live_reload: self.live_reload,
            links_out,
            ..site
        })
    }

    /// The same tree and policies, through a second fd (same `id`: per-loop memory stays valid).
    pub fn try_clone(&self) -> io::Result<Site> {
        Ok(Site {
            root: self.root.clone(),
            root_dir: self.root_dir.try_clone()?,
            cache_control: self.cache_control.clone(),
            links_out: self.links_out.as_ref().map(File::try_clone).transpose()?,
            ..*self
        })
    }
}
