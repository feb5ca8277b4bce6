//! The environments of a repository, from `shipway.yaml` at its root, and the resolution of a
//! `PATH|ENV` argument to the kustomization file that releases edit.
//!
//! ```yaml
//! environments:        # in promotion order: dev → staging → prod
//!   - name: dev
//!     path: overlays/dev
//!   - name: staging
//!     path: overlays/staging
//! ```
//!
//! Other top-level keys are left to the commands that own them.

use std::path::{Path, PathBuf};

use shipway_model::Node;

use crate::Error;

/// The name of the repository configuration file, at the repository root.
pub const CONFIG_FILE: &str = "shipway.yaml";

/// One environment: a name and the overlay directory it deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The name used on the command line and in commit trailers.
    pub name: String,
    /// The overlay directory, relative to the repository root, with `/` separators.
    pub path: String,
}

/// The environments of a repository, in promotion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Environments in promotion order (the first is promoted to the second, and so on).
    pub environments: Vec<Environment>,
}

impl Config {
    /// Reads `shipway.yaml` from the repository root; no file means no environments.
    pub fn load(root: &Path) -> Result<Config, Error> {
        let path = root.join(CONFIG_FILE);
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => return Err(Error::Io { source }),
        };
        Config::parse(&text).map_err(|message| Error::Config { path, message })
    }

    /// Parses the text of `shipway.yaml`.
    pub fn parse(text: &str) -> Result<Config, String> {
        let doc = shipway_model::yaml::parse_one(text).map_err(|e| e.to_string())?;
        let mut config = Config::default();
        let Some(list) = doc.get("environments") else {
            return Ok(config);
        };
        let items = list
            .as_seq()
            .ok_or_else(|| format!("line {}: `environments` is not a list", list.pos.line))?;
        for item in items {
            let field = |key: &str| {
                item.get(key).and_then(Node::as_str).ok_or_else(|| {
                    format!(
                        "line {}: an environment needs a string `{key}`",
                        item.pos.line
                    )
                })
            };
            let name = field("name")?;
            let path = field("path")?;
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return Err(format!(
                    "line {}: environment name `{name}` must be letters, digits, `-`, `_` or `.`",
                    item.pos.line
                ));
            }
            if config.environments.iter().any(|e| e.name == name) {
                return Err(format!(
                    "line {}: environment `{name}` is defined twice",
                    item.pos.line
                ));
            }
            config.environments.push(Environment {
                name: name.to_owned(),
                path: path.trim_end_matches('/').to_owned(),
            });
        }
        Ok(config)
    }

    /// The environment named `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The position of `name` in the promotion order.
    pub fn order(&self, name: &str) -> Option<usize> {
        self.environments.iter().position(|e| e.name == name)
    }
}

/// What a `PATH|ENV` argument resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The environment name, when the argument named one.
    pub environment: Option<String>,
    /// The overlay directory relative to the repository root, `/`-separated (`.` for the
    /// root).
    pub dir: String,
    /// The kustomization file relative to the repository root, `/`-separated: what trailers
    /// record and history filters on.
    pub file: String,
}

impl Target {
    /// The environment name, else the overlay directory: how messages name the target.
    pub fn label(&self) -> &str {
        self.environment.as_deref().unwrap_or(&self.dir)
    }

    /// The kustomization file's path on disk.
    pub fn file_path(&self, root: &Path) -> PathBuf {
        root.join(&self.file)
    }
}

/// Resolves `PATH|ENV`: an environment of `config`, else a directory (relative to `cwd`)
/// inside the repository at `root` holding a kustomization file.
pub fn resolve(root: &Path, cwd: &Path, config: &Config, arg: &str) -> Result<Target, Error> {
    let (environment, dir) = if let Some(env) = config.environment(arg) {
        (Some(env.name.clone()), root.join(&env.path))
    } else {
        let dir = cwd.join(arg);
        if !dir.is_dir() {
            return Err(Error::UnknownTarget {
                name: arg.to_owned(),
                known: config.environments.iter().map(|e| e.name.clone()).collect(),
            });
        }
        (None, dir)
    };
    let file = shipway_model::KUSTOMIZATION_FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::NoKustomization { dir: dir.clone() })?;
    let canonical_root = fs_err::canonicalize(root).map_err(|source| Error::Io { source })?;
    let canonical = fs_err::canonicalize(&file).map_err(|source| Error::Io { source })?;
    let relative = canonical
        .strip_prefix(&canonical_root)
        .map_err(|_| Error::OutsideRepository { path: file.clone() })?;
    let file = slash_path(relative);
    let dir = match file.rsplit_once('/') {
        Some((dir, _)) => dir.to_owned(),
        None => ".".to_owned(),
    };
    Ok(Target {
        environment,
        dir,
        file,
    })
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_environments_in_order() {
        let c = Config::parse(
            "environments:\n- {name: dev, path: overlays/dev/}\n- name: prod\n  path: overlays/prod\nother: 1\n",
        )
        .unwrap();
        assert_eq!(c.order("prod"), Some(1));
        assert_eq!(c.environment("dev").unwrap().path, "overlays/dev");
    }

    #[test]
    fn rejects_bad_configs() {
        for (text, expected) in [
            ("environments: x\n", "is not a list"),
            ("environments:\n- name: dev\n", "needs a string `path`"),
            ("environments:\n- {name: a b, path: x}\n", "must be letters"),
            (
                "environments:\n- {name: a, path: x}\n- {name: a, path: y}\n",
                "defined twice",
            ),
        ] {
            let e = Config::parse(text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
