//! Errors of the renderer. Every variant names the file (and line where there is one).

use std::fmt;
use std::path::{Path, PathBuf};

use shipway_model::Pos;

/// A place in a file, printed as `path:line` (or just `path` when the line is unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.path.display(), self.line)
        } else {
            write!(f, "{}", self.path.display())
        }
    }
}

/// Why a kustomization could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A SOPS-encrypted input could not be decrypted (the message names the file and key
    /// type, never a value).
    #[error(transparent)]
    Decrypt(Box<shipway_secrets::Error>),
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A YAML file is malformed.
    #[error("{}:{}: {}", path.display(), source.line, source.message)]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: shipway_model::yaml::YamlError,
    },
    /// The input is well-formed YAML but not valid for kustomize.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A directory has no kustomization file.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
        dir.display()
    )]
    NoKustomization {
        /// The directory.
        dir: PathBuf,
    },
    /// A path leaves the kustomization root under `LoadRestrictionsRootOnly`.
    #[error("{location}: security; file '{}' is not in or below '{}' (use --load-restrictor LoadRestrictionsNone to allow it)", target.display(), root.display())]
    OutsideRoot {
        /// Where the path was named.
        location: Location,
        /// The path.
        target: PathBuf,
        /// The root it must stay under.
        root: PathBuf,
    },
    /// Kustomizations include each other.
    #[error("{location}: cycle detected: '{}' includes itself", dir.display())]
    Cycle {
        /// Where the repeated inclusion is written.
        location: Location,
        /// The directory that closes the cycle.
        dir: PathBuf,
    },
    /// A feature kustomize has and this renderer refuses or does not support.
    #[error("{location}: {message}")]
    Unsupported {
        /// Where it was asked for.
        location: Location,
        /// What, and what to do instead.
        message: String,
    },
    /// Two resources end up with the same identity.
    #[error("{location}: may not add resource with an already registered id: {id}")]
    DuplicateId {
        /// Where the second one comes from.
        location: Location,
        /// The identity.
        id: String,
    },
    /// A resource cannot be printed.
    #[error("{location}: {source}")]
    Emit {
        /// The resource's source.
        location: Location,
        /// The problem.
        #[source]
        source: shipway_model::yaml::EmitError,
    },
}

impl RenderError {
    /// An [`RenderError::Invalid`] at a node position in `path`.
    pub fn invalid(path: &Path, pos: Pos, message: impl Into<String>) -> RenderError {
        RenderError::Invalid {
            location: Location {
                path: path.to_path_buf(),
                line: pos.line,
            },
            message: message.into(),
        }
    }

    /// An [`RenderError::Unsupported`] at a node position in `path`.
    pub fn unsupported(path: &Path, pos: Pos, message: impl Into<String>) -> RenderError {
        RenderError::Unsupported {
            location: Location {
                path: path.to_path_buf(),
                line: pos.line,
            },
            message: message.into(),
        }
    }

    /// An [`RenderError::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> RenderError {
        RenderError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A location from a path and a position.
pub fn location(path: &Path, pos: Pos) -> Location {
    Location {
        path: path.to_path_buf(),
        line: pos.line,
    }
}
