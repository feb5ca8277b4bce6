//! Where an app's manifests come from. Fetching a git source is `shipway-git`'s
//! ([`shipway_git::fetch`]): one git layer for releases and for sync.

use std::path::PathBuf;

pub use shipway_git::fetch::{Checkout, FetchError, checkout, is_repository_top};

/// Where an app's manifests come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A directory or file on disk, rendered in place (no revision).
    Local {
        /// The directory or file.
        path: PathBuf,
        /// Whether a plain directory's subdirectories are read too.
        recurse: bool,
    },
    /// A git repository: a remote URL, a `file://` URL, or the absolute path of a local
    /// repository.
    Git {
        /// What `git clone` is given.
        url: String,
        /// Branch, tag, commit or `HEAD`.
        revision: String,
        /// The directory inside the repository to render.
        path: PathBuf,
        /// Whether a plain directory's subdirectories are read too.
        recurse: bool,
    },
}
