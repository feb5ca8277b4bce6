//! Reading `shipway check`'s paths without leaving them: the directory walk, with render's
//! load restrictor applied to symbolic links and symlink loops skipped.
//!
//! Files are parsed and kustomizations rendered by [`Rendered`], the loader the sync
//! engine's apps use, so both commands see the same objects; only the walk is done here.
//! It visits what [`Rendered::add_path`] visits (`*.yaml`, `*.yml` and `*.json` sorted by
//! path, kustomization directories rendered instead of walked), with two differences:
//!
//! - Under `LoadRestrictionsRootOnly` (the default, as for `shipway render`), a symbolic
//!   link that resolves outside the directory named on the command line is refused, naming
//!   the link: a link to a credentials file would otherwise be parsed and quoted in an
//!   excerpt.
//! - Each real directory is walked once. A link back to a directory being walked (a loop)
//!   or to one already walked is skipped with a warning, instead of recursing until a
//!   depth limit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use shipway_cluster::app::Rendered;
use shipway_render::LoadRestrictor;

/// Adds the objects at `path` (a file, a kustomization directory or a directory of
/// manifests) to `loaded`, and returns the warnings for stderr.
pub(super) fn add_path(
    loaded: &mut Rendered,
    path: &Path,
    restrictor: LoadRestrictor,
) -> anyhow::Result<Vec<String>> {
    let meta = fs_err::metadata(path)?;
    if !meta.is_dir() {
        // A file named on the command line is the user's explicit choice, link or not.
        add_file(loaded, path)?;
        return Ok(Vec::new());
    }
    if is_kustomization_dir(path) {
        add_kustomization(loaded, path, restrictor)?;
        return Ok(Vec::new());
    }
    let root = fs_err::canonicalize(path)?;
    let mut walk = Walk {
        loaded,
        restrictor,
        root,
        walked: HashMap::new(),
        walking: Vec::new(),
        warnings: Vec::new(),
    };
    let root = walk.root.clone();
    walk.dir(path, &root)?;
    Ok(walk.warnings)
}

/// The state of one directory walk.
struct Walk<'a> {
    loaded: &'a mut Rendered,
    restrictor: LoadRestrictor,
    /// The canonical directory given on the command line.
    root: PathBuf,
    /// Real directories walked so far, with the path they were first reached by.
    walked: HashMap<PathBuf, PathBuf>,
    /// Real directories being walked, outermost first: a link to one of them is a loop.
    walking: Vec<PathBuf>,
    warnings: Vec<String>,
}

impl Walk<'_> {
    /// Walks `dir`, whose canonical form is `real`.
    fn dir(&mut self, dir: &Path, real: &Path) -> anyhow::Result<()> {
        self.walked.insert(real.to_path_buf(), dir.to_path_buf());
        self.walking.push(real.to_path_buf());
        let mut entries = Vec::new();
        for entry in fs_err::read_dir(dir)? {
            let entry = entry.with_context(|| format!("reading `{}`", dir.display()))?;
            entries.push((entry.path(), entry.file_name()));
        }
        entries.sort();
        for (path, name) in entries {
            let is_link = fs_err::symlink_metadata(&path)?.file_type().is_symlink();
            let Ok(meta) = std::fs::metadata(&path) else {
                // A dangling link: an error if it would have been read, else ignored.
                if has_manifest_extension(&path) {
                    fs_err::metadata(&path)?;
                }
                continue;
            };
            if !meta.is_dir() && !has_manifest_extension(&path) {
                continue;
            }
            let entry_real = if is_link {
                let target = fs_err::canonicalize(&path)?;
                self.restrict(&path, &target)?;
                target
            } else {
                real.join(&name)
            };
            if !meta.is_dir() {
                add_file(self.loaded, &path)?;
            } else if is_kustomization_dir(&path) {
                add_kustomization(self.loaded, &path, self.restrictor)?;
            } else if self.walking.contains(&entry_real) {
                self.warnings.push(format!(
                    "`{}` links back to `{}`, which contains it; skipping the loop",
                    path.display(),
                    entry_real.display()
                ));
            } else if let Some(first) = self.walked.get(&entry_real) {
                self.warnings.push(format!(
                    "`{}` leads to `{}`, already read as `{}`; skipping it",
                    path.display(),
                    entry_real.display(),
                    first.display()
                ));
            } else {
                self.dir(&path, &entry_real)?;
            }
        }
        self.walking.pop();
        Ok(())
    }

    /// Refuses the symbolic link `link`, which resolves to `target`, when the load
    /// restrictor keeps reads inside the root and `target` is not.
    fn restrict(&self, link: &Path, target: &Path) -> anyhow::Result<()> {
        if self.restrictor == LoadRestrictor::None || target.starts_with(&self.root) {
            return Ok(());
        }
        anyhow::bail!(
            "`{}`: security; file '{}' is not in or below '{}' (`{}` is a symbolic link; use --load-restrictor LoadRestrictionsNone to allow it)",
            link.display(),
            target.display(),
            self.root.display(),
            link.display()
        )
    }
}

/// Reads one YAML or JSON stream into `loaded`.
fn add_file(loaded: &mut Rendered, path: &Path) -> anyhow::Result<()> {
    let text = fs_err::read_to_string(path)?;
    loaded.add_stream(path, &text)?;
    Ok(())
}

/// Renders the kustomization in `dir` into `loaded`, as [`Rendered::add_kustomization`]
/// does, with the chosen load restrictor.
fn add_kustomization(
    loaded: &mut Rendered,
    dir: &Path,
    restrictor: LoadRestrictor,
) -> anyhow::Result<()> {
    let options = shipway_render::Options {
        load_restrictor: restrictor,
        ..shipway_render::Options::default()
    };
    let output = shipway_render::render(dir, &options)?;
    let table = loaded.sources.absorb(&output.sources);
    for mut object in output.objects {
        object.remap_files(&table);
        loaded.objects.push(object);
    }
    loaded.warnings.extend(output.warnings);
    Ok(())
}

/// Whether `dir` holds a kustomization file (kustomize's three spellings).
fn is_kustomization_dir(dir: &Path) -> bool {
    shipway_render::kustomization::KUSTOMIZATION_FILE_NAMES
        .iter()
        .any(|name| dir.join(name).is_file())
}

/// Whether a file in a plain directory is read as manifests.
fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}
