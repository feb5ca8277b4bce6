//! Where the controller's apps come from: `--apps` files and directories (Argo CD
//! `Application`s, Flux `Kustomization` + `GitRepository`), and the same objects in the
//! cluster. Each source is read whole each time it changes; a bad file is reported with
//! its name and skipped, never taking the other apps down with it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use shipway_cluster::app::App;
use shipway_cluster::cluster::{Cluster, Key};

use crate::flux::{FluxApp, FluxObjects};

/// Where an app's definition was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An `Application` file under `--apps`.
    File(PathBuf),
    /// An `Application` object in the cluster.
    Cluster {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// An `Application` rendered by another app (app of apps) when the cluster has no
    /// Application CRD to apply it to.
    Child {
        /// The parent app's name.
        parent: String,
    },
    /// A Flux `Kustomization` in a file under `--apps`.
    FluxFile(PathBuf),
    /// A Flux `Kustomization` object in the cluster.
    FluxCluster {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl Origin {
    /// `file`, `cluster`, `child` or `flux`, for the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::File(_) => "file",
            Origin::Cluster { .. } => "cluster",
            Origin::Child { .. } => "child",
            Origin::FluxFile(_) | Origin::FluxCluster { .. } => "flux",
        }
    }
}

/// One app as the controller runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    /// The app.
    pub app: App,
    /// Where it was defined.
    pub origin: Origin,
    /// How often its source is polled.
    pub interval: Duration,
    /// Flux's own settings for a Flux app.
    pub flux: Option<FluxApp>,
}

/// Reads every app under `paths`; errors name their file.
pub fn load_paths(paths: &[PathBuf], poll: Duration) -> (Vec<AppSpec>, Vec<String>) {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let mut flux = FluxObjects::default();
    for file in files(paths) {
        let text = match fs_err::read_to_string(&file) {
            Ok(text) => text,
            Err(error) => {
                errors.push(error.to_string());
                continue;
            }
        };
        match App::from_application_text(&file, &text) {
            Ok(Some(app)) => {
                specs.push(AppSpec {
                    app,
                    origin: Origin::File(file.clone()),
                    interval: poll,
                    flux: None,
                });
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                errors.push(error.to_string());
                continue;
            }
        }
        // Not an Application file: it may hold Flux objects (often several in one file).
        match shipway_model::yaml::parse_stream(
            &text,
            shipway_model::FileId(0),
            &shipway_model::yaml::Limits::default(),
        ) {
            Ok(docs) => {
                for doc in docs {
                    flux.take(&doc.to_json(), &file);
                }
            }
            Err(error) => errors.push(format!(
                "{}:{}: {}",
                file.display(),
                error.line,
                error.message
            )),
        }
    }
    for app in flux.apps() {
        match app {
            Ok(app) => specs.push(AppSpec {
                interval: app.interval,
                origin: Origin::FluxFile(app.app.defined_in.clone()),
                app: app.app.clone(),
                flux: Some(app),
            }),
            Err(error) => errors.push(error),
        }
    }
    (specs, errors)
}

/// The YAML files under `paths`, sorted (symbolic links to directories are not followed,
/// so a link cannot make the walk loop).
fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    walk(&path, out);
                }
            } else if is_yaml(&path) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out);
        } else {
            out.push(path.clone());
        }
    }
    out
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// A fingerprint of the files under `paths` (names, sizes, modification times): when it
/// changes the apps are read again.
pub fn fingerprint(paths: &[PathBuf]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for file in files(paths) {
        file.hash(&mut hasher);
        if let Ok(meta) = std::fs::metadata(&file) {
            meta.len().hash(&mut hasher);
            meta.modified().ok().hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// The Application resource's key (argoproj.io/v1alpha1) in `namespace`.
pub fn application_key(namespace: &str, name: &str) -> Key {
    Key {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        kind: "Application".into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn flux_key(group: &str, kind: &str, namespace: &str) -> Key {
    Key {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: String::new(),
    }
}

/// The apps defined by objects in the cluster: `Application`s in `namespace` and Flux
/// `Kustomization`s with their `GitRepository`s in every namespace, each only when its CRD
/// is installed. `Err` when the cluster could not be asked (the previous set is kept).
pub async fn load_cluster(
    cluster: &Cluster,
    namespace: &str,
    poll: Duration,
) -> Result<(Vec<AppSpec>, Vec<String>), String> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let key = application_key(namespace, "");
    if cluster.resource(&key).await.is_ok() {
        let items = cluster.list(&key, "").await.map_err(|e| e.to_string())?;
        for item in items {
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let shown = PathBuf::from(format!("applications.argoproj.io/{namespace}/{name}"));
            let text = serde_json::to_string_pretty(&strip_server_fields(item)).unwrap_or_default();
            match App::from_application_text(&shown, &text) {
                Ok(Some(app)) => specs.push(AppSpec {
                    app,
                    origin: Origin::Cluster {
                        namespace: namespace.to_string(),
                        name,
                    },
                    interval: poll,
                    flux: None,
                }),
                Ok(None) => {}
                Err(error) => errors.push(error.to_string()),
            }
        }
    }
    let kustomizations = flux_key("kustomize.toolkit.fluxcd.io", "Kustomization", "");
    let repositories = flux_key("source.toolkit.fluxcd.io", "GitRepository", "");
    if cluster.resource(&kustomizations).await.is_ok()
        && cluster.resource(&repositories).await.is_ok()
    {
        let mut flux = FluxObjects::default();
        for key in [&repositories, &kustomizations] {
            for item in cluster.list(key, "").await.map_err(|e| e.to_string())? {
                let name = format!(
                    "{}.{}/{}/{}",
                    key.kind.to_lowercase(),
                    key.group,
                    item.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    item.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                );
                flux.take(&item, Path::new(&name));
            }
        }
        for app in flux.apps() {
            match app {
                Ok(app) => specs.push(AppSpec {
                    interval: app.interval,
                    origin: Origin::FluxCluster {
                        namespace: app.namespace.clone(),
                        name: app.app.name.clone(),
                    },
                    app: app.app.clone(),
                    flux: Some(app),
                }),
                Err(error) => errors.push(error),
            }
        }
    }
    Ok((specs, errors))
}

/// An object read from the cluster without what the API server adds to `metadata`, so
/// the Application reader sees only what a user wrote.
fn strip_server_fields(mut object: Value) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|k, _| k == "name" || k == "namespace");
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_and_flux_objects_load_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs_err::write(
            root.join("web.yaml"),
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\n\
             spec:\n  project: default\n  source: {repoURL: 'https://example.invalid/r.git', path: web}\n\
             \x20 destination: {server: 'https://kubernetes.default.svc', namespace: shop}\n",
        )
        .unwrap();
        fs_err::create_dir_all(root.join("flux")).unwrap();
        fs_err::write(
            root.join("flux/app.yaml"),
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: r, namespace: flux-system}\n\
             spec: {url: 'https://example.invalid/r.git', interval: 1m}\n---\n\
             apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: api, namespace: flux-system}\n\
             spec: {interval: 2m, path: ./api, sourceRef: {kind: GitRepository, name: r}}\n",
        )
        .unwrap();
        fs_err::write(
            root.join("broken.yaml"),
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {bogus: 1}\n",
        )
        .unwrap();
        let (specs, errors) = load_paths(&[root.to_path_buf()], Duration::from_secs(60));
        let names: Vec<_> = specs
            .iter()
            .map(|s| (s.app.name.as_str(), s.origin.as_str()))
            .collect();
        assert_eq!(names, [("web", "file"), ("api", "flux")]);
        assert_eq!(specs[1].interval, Duration::from_secs(120));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("broken.yaml") && errors[0].contains("spec.bogus"),
            "{errors:?}"
        );
        let before = fingerprint(&[root.to_path_buf()]);
        fs_err::write(root.join("flux/more.yaml"), "kind: ConfigMap\n").unwrap();
        assert_ne!(before, fingerprint(&[root.to_path_buf()]));
    }
}
