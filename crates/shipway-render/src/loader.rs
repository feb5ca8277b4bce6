//! File access for the renderer: the load restrictor, symlink checks, and reading files
//! with errors that name them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use shipway_model::Pos;

use crate::error::{RenderError, location};

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// Files must be in or below the kustomization's directory (kustomize's default).
    #[default]
    RootOnly,
    /// Any file may be read.
    None,
}

/// Reads files on behalf of kustomizations.
#[derive(Debug, Clone, Default)]
pub struct Loader {
    /// The restriction in force.
    pub restrictor: LoadRestrictor,
    /// Canonical forms of directories already resolved. `realpath` reads every component
    /// of a path again on each call; a large repository checks tens of thousands of files
    /// in a few hundred directories, and resolving each from scratch took a third of the
    /// render's time in system calls.
    directories: RefCell<HashMap<PathBuf, PathBuf>>,
    /// Identities for decrypting SOPS files as they are read; `None` reads them as they are.
    decrypt: Option<std::sync::Arc<shipway_secrets::Keyring>>,
}

impl Loader {
    /// Reads a file named in `from` (a kustomization file) for a kustomization rooted at the
    /// directory of `from`.
    pub fn read_file(&self, path: &Path, from: &Path, pos: Pos) -> Result<Vec<u8>, RenderError> {
        let root = from.parent().unwrap_or(Path::new("."));
        self.check(path, root, from, pos)?;
        let bytes = fs_err::read(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                RenderError::Invalid {
                    location: location(from, pos),
                    message: format!("file '{}' does not exist", path.display()),
                }
            } else {
                RenderError::io(path, e)
            }
        })?;
        match &self.decrypt {
            Some(keyring) => crate::decrypt::file(keyring, path, bytes),
            None => Ok(bytes),
        }
    }

    /// Checks the restrictor for `path`, resolving symlinks so that a link cannot lead out
    /// of the root.
    pub fn check(
        &self,
        path: &Path,
        root: &Path,
        from: &Path,
        pos: Pos,
    ) -> Result<(), RenderError> {
        if self.restrictor == LoadRestrictor::None {
            return Ok(());
        }
        let real_root = self.canonical_dir(root);
        let real = self.canonical_file(path);
        if !real.starts_with(&real_root) {
            return Err(RenderError::OutsideRoot {
                location: location(from, pos),
                target: real,
                root: real_root,
            });
        }
        Ok(())
    }
}

impl Loader {
    /// A loader with the given restriction.
    pub fn new(restrictor: LoadRestrictor) -> Loader {
        Loader {
            restrictor,
            directories: RefCell::default(),
            decrypt: None,
        }
    }

    /// The loader, decrypting SOPS files it reads with `keyring`.
    #[must_use]
    pub fn with_decrypt(
        mut self,
        keyring: Option<std::sync::Arc<shipway_secrets::Keyring>>,
    ) -> Loader {
        self.decrypt = keyring;
        self
    }

    /// [`canonical`] of a directory, remembered. A directory is resolved from its parent's
    /// remembered form plus one `lstat` of its own name, instead of `realpath` reading
    /// every component again (the overlays of a large repository spell the same
    /// directories through many `../..` paths).
    pub fn canonical_dir(&self, dir: &Path) -> PathBuf {
        if let Some(real) = self.directories.borrow().get(dir) {
            return real.clone();
        }
        let real = match (dir.parent(), dir.components().next_back()) {
            (Some(parent), Some(last)) if !parent.as_os_str().is_empty() => match last {
                Component::ParentDir => {
                    let mut up = self.canonical_dir(parent);
                    up.pop();
                    up
                }
                Component::CurDir => self.canonical_dir(parent),
                Component::Normal(name) => {
                    let joined = self.canonical_dir(parent).join(name);
                    match std::fs::symlink_metadata(&joined) {
                        Ok(meta) if !meta.file_type().is_symlink() => joined,
                        _ => canonical(&joined),
                    }
                }
                _ => canonical(dir),
            },
            _ => canonical(dir),
        };
        self.directories
            .borrow_mut()
            .insert(dir.to_path_buf(), real.clone());
        real
    }

    /// [`canonical`] of a file: its directory's remembered canonical form plus its name,
    /// unless the file itself is a symbolic link (then resolved in full).
    pub fn canonical_file(&self, path: &Path) -> PathBuf {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return canonical(path);
        };
        if name == ".." || name == "." {
            return canonical(path);
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_symlink() => {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                self.canonical_dir(parent).join(name)
            }
            _ => canonical(path),
        }
    }
}

/// The canonical form of a path: symlinks resolved where the path exists, `..` folded
/// lexically where it does not.
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}
