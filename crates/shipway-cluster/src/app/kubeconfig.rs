//! Which cluster shipway talks to: the kubeconfig and context, chosen exactly as kubectl
//! chooses them.
//!
//! Users switch between shipway and kubectl all day; if the two ever disagreed on the
//! cluster, a sync would land somewhere the user did not look. So the rules are client-go's:
//! `--kubeconfig` names the only file read (it must exist); otherwise every file of the
//! `KUBECONFIG` list is read (missing ones skipped) and merged with the first file winning
//! per cluster, user and context and the first `current-context` that is set winning;
//! otherwise `~/.kube/config`. `--context` overrides the current context. The merge itself
//! is kube-rs's [`Kubeconfig::merge`], which has those first-wins rules.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::AppError;

/// Where kubeconfig files are looked for: the inputs of kubectl's rules, so tests can
/// give them without touching the process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// `--kubeconfig`: the only file read, when given.
    pub explicit: Option<PathBuf>,
    /// The value of `KUBECONFIG`: a list separated like `PATH`.
    pub env: Option<OsString>,
    /// The home directory, for `~/.kube/config`.
    pub home: Option<PathBuf>,
}

impl Search {
    /// The search of this process: `explicit`, `$KUBECONFIG` and `$HOME`.
    pub fn from_env(explicit: Option<&Path>) -> Search {
        Search {
            explicit: explicit.map(Path::to_path_buf),
            env: std::env::var_os("KUBECONFIG"),
            home: std::env::home_dir(),
        }
    }

    /// The files to read, in precedence order, and whether a missing one is an error
    /// (only for `--kubeconfig` and the default file, as in kubectl where a missing
    /// default leaves nothing to connect to).
    fn files(&self) -> Result<Vec<PathBuf>, AppError> {
        if let Some(path) = &self.explicit {
            return Ok(vec![path.clone()]);
        }
        if let Some(list) = self.env.as_ref().filter(|l| !l.is_empty()) {
            let mut files: Vec<PathBuf> = Vec::new();
            for path in std::env::split_paths(list) {
                // client-go skips empty entries and reads each file once.
                if !path.as_os_str().is_empty() && !files.contains(&path) {
                    files.push(path);
                }
            }
            return Ok(files);
        }
        let home = self.home.as_ref().ok_or_else(|| AppError::Kubeconfig {
            message: "no --kubeconfig, KUBECONFIG or home directory to find one in".into(),
        })?;
        Ok(vec![home.join(".kube").join("config")])
    }
}

/// The cluster a kubeconfig context selects.
#[derive(Debug, Clone)]
pub struct Target {
    /// The merged kubeconfig.
    pub kubeconfig: Kubeconfig,
    /// The files it was read from, in precedence order.
    pub files: Vec<PathBuf>,
    /// The chosen context's name.
    pub context: String,
    /// The name of the context's cluster.
    pub cluster: String,
    /// The cluster's API server URL.
    pub server: String,
    /// The context's namespace, or `default`.
    pub namespace: String,
}

impl Target {
    /// The target kubectl would use with these `--kubeconfig` and `--context` flags in
    /// this process's environment.
    pub fn load(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Target, AppError> {
        Target::load_with(&Search::from_env(kubeconfig), context)
    }

    /// The target for an explicit [`Search`].
    pub fn load_with(search: &Search, context: Option<&str>) -> Result<Target, AppError> {
        let candidates = search.files()?;
        let strict = search.explicit.is_some() || search.env.as_ref().is_none_or(|l| l.is_empty());
        let mut merged: Option<Kubeconfig> = None;
        let mut files = Vec::new();
        for path in &candidates {
            if !strict && !path.exists() {
                continue;
            }
            if !path.is_file() {
                return Err(AppError::Kubeconfig {
                    message: format!("{}: no such file", path.display()),
                });
            }
            let mut config = Kubeconfig::read_from(path).map_err(|e| AppError::Kubeconfig {
                message: format!("{}: {e}", path.display()),
            })?;
            // An empty `current-context: ""` is unset for client-go; kube-rs would let it
            // shadow the next file's.
            if config.current_context.as_deref() == Some("") {
                config.current_context = None;
            }
            merged = Some(match merged {
                None => config,
                Some(base) => base.merge(config).map_err(|e| AppError::Kubeconfig {
                    message: format!("{}: {e}", path.display()),
                })?,
            });
            files.push(path.clone());
        }
        let Some(kubeconfig) = merged else {
            return Err(AppError::Kubeconfig {
                message: format!(
                    "none of the KUBECONFIG files exist ({})",
                    list_paths(&candidates)
                ),
            });
        };
        let name = match context {
            Some(name) => name.to_string(),
            None => kubeconfig
                .current_context
                .clone()
                .ok_or_else(|| AppError::Kubeconfig {
                    message: format!(
                        "no current-context is set in {}; pass --context",
                        list_paths(&files)
                    ),
                })?,
        };
        let Some(found) = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.context.as_ref())
        else {
            let known: Vec<&str> = kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(AppError::Kubeconfig {
                message: format!(
                    "context `{name}` not found in {} (contexts: {})",
                    list_paths(&files),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            });
        };
        let cluster = found.cluster.clone();
        let server = kubeconfig
            .clusters
            .iter()
            .find(|c| c.name == cluster)
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone())
            .ok_or_else(|| AppError::Kubeconfig {
                message: format!(
                    "context `{name}` names cluster `{cluster}`, which has no server in {}",
                    list_paths(&files)
                ),
            })?;
        let namespace = found
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string());
        Ok(Target {
            kubeconfig,
            files,
            context: name,
            cluster,
            server,
            namespace,
        })
    }

    /// A kube-rs client for this target.
    pub async fn client(&self) -> Result<kube::Client, AppError> {
        let config = self.config().await?;
        kube::Client::try_from(config).map_err(|e| AppError::Kubeconfig {
            message: format!("context `{}`: {e}", self.context),
        })
    }

    /// The client configuration of the context, for callers that add layers to the
    /// client (the controller counts API requests).
    pub async fn config(&self) -> Result<kube::Config, AppError> {
        let options = KubeConfigOptions {
            context: Some(self.context.clone()),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(self.kubeconfig.clone(), &options)
            .await
            .map_err(|e| AppError::Kubeconfig {
                message: format!("context `{}`: {e}", self.context),
            })?;
        // kube's own retry layer (15 tries of 429/503/504, backing off up to 1000 s) would
        // sit beneath the engine's one retry policy, which knows the sync's deadline; and a
        // pod's 503 through the proxy is a smoke check's answer, not a transient fault.
        config.default_retry = false;
        Ok(config)
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// A client for the cluster kubectl would talk to with these `--kubeconfig` and
/// `--context` flags.
pub async fn client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Client, AppError> {
    Target::load(kubeconfig, context)?.client().await
}

/// The namespace kubectl would use with these flags: the context's, or `default`.
pub fn default_namespace(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<String, AppError> {
    Target::load(kubeconfig, context).map(|t| t.namespace)
}
