//! What an app is, how it renders, and which cluster it targets.
//!
//! An [`App`] is either a directory (or file) of manifests — plain YAML or a kustomization —
//! or an Argo CD `Application` manifest ([`argo`]), so teams can point shipway at what they
//! already have. Rendering turns it into the desired objects ([`Rendered`]), keeping the
//! source position of every node so `shipway-check` findings and engine errors can name
//! `file:line`; a git source ([`source`]) is fetched into a cache and the tree at the
//! resolved commit is rendered, never a half-fetched one. Argo's `kustomize.images`
//! overrides are applied afterwards the way kustomize's `images` transformer does.
//! [`kubeconfig`] picks the cluster exactly as kubectl does.
//!
//! [`load_manifests`] is also what `shipway check` reads its inputs with, so both commands
//! see the same objects from the same paths.

pub mod argo;
pub mod kubeconfig;
pub mod source;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use shipway_model::yaml::{Limits, parse_stream};
use shipway_model::{Node, Pos, SourceMap, Value};
use shipway_render::LoadRestrictor;
use shipway_render::error::Location;

pub use argo::{
    Destination, IgnoreDifference, ImageOverride, Propagation, RetryPolicy, SyncOptions, SyncPolicy,
};
pub use kubeconfig::{Target, client, default_namespace};
pub use source::Source;

/// Why an app could not be read, fetched, rendered or targeted. Every variant names the
/// file (and line when there is one), the git URL, or the kubeconfig files involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest is not well-formed YAML.
    #[error("{location}: {message}")]
    Yaml {
        /// Where the parser stopped.
        location: Location,
        /// What it found.
        message: String,
    },
    /// A kustomization could not be rendered (the error names its file and line).
    #[error(transparent)]
    Render(#[from] shipway_render::RenderError),
    /// An Argo CD `Application` (or an app path) is well-formed YAML but not a valid or
    /// supported app.
    #[error("{location}: {message}")]
    Invalid {
        /// Where the offending field is.
        location: Location,
        /// What is wrong with it.
        message: String,
    },
    /// A git source could not be fetched, resolved or exported.
    #[error("git source `{url}`: {message}")]
    Git {
        /// The repository URL (or absolute path) as given to git.
        url: String,
        /// What failed, with git's own message.
        message: String,
    },
    /// No usable kubeconfig, context or cluster.
    #[error("kubeconfig: {message}")]
    Kubeconfig {
        /// What is missing or wrong, naming the files read.
        message: String,
    },
    /// A symbolic link in a walked directory resolves outside the directory given (the
    /// load restrictor kustomize applies, here for plain directories too): a link to a
    /// credentials file would otherwise be read, and quoted.
    #[error(
        "`{}`: security; file '{}' is not in or below '{}' (`{}` is a symbolic link; use --load-restrictor LoadRestrictionsNone to allow it)",
        link.display(), target.display(), root.display(), link.display()
    )]
    OutsideRoot {
        /// The link.
        link: PathBuf,
        /// What it resolves to.
        target: PathBuf,
        /// The directory given.
        root: PathBuf,
    },
    /// The app's Argo CD destination is not the cluster of the chosen kubeconfig context.
    #[error("{location}: {message}")]
    Destination {
        /// Where the destination is written.
        location: Location,
        /// Which cluster was asked for and which one the kubeconfig selects.
        message: String,
    },
}

impl From<source::FetchError> for AppError {
    fn from(error: source::FetchError) -> AppError {
        AppError::Git {
            url: error.url,
            message: error.message,
        }
    }
}

impl AppError {
    /// An [`AppError::Invalid`] at `pos` in `path`.
    pub(crate) fn invalid(path: &Path, pos: Pos, message: impl Into<String>) -> AppError {
        AppError::Invalid {
            location: location(path, pos),
            message: message.into(),
        }
    }

    /// An [`AppError::Io`] for `path`.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> AppError {
        AppError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `path:line` for a node position (the line is left out when unknown).
pub(crate) fn location(path: &Path, pos: Pos) -> Location {
    Location {
        path: path.to_path_buf(),
        line: pos.line,
    }
}

/// The desired objects of an app, with the files their positions point into.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The objects in render order (kustomize's order for a kustomization, file order and
    /// document order otherwise). `List` kinds are flattened and empty documents dropped.
    pub objects: Vec<Node>,
    /// The files behind the objects' positions.
    pub sources: SourceMap,
    /// The commit a git source was rendered from (full hex id); `None` for a local
    /// directory, which has no revision to record.
    pub revision: Option<String>,
    /// Deprecation warnings the renderer printed, for stderr.
    pub warnings: Vec<String>,
    /// Identities for decrypting SOPS-encrypted inputs (Flux's semantics, see
    /// [`shipway_render::decrypt`]); `None` reads every file as it is.
    pub decrypt: Option<Arc<shipway_secrets::Keyring>>,
}

impl Rendered {
    /// Adds the objects at `path`: a kustomization directory is rendered, any other
    /// directory is read recursively (`*.yaml`, `*.yml`, `*.json`, sorted by path), and a
    /// file is read as a YAML stream. Symbolic links that leave the directory are refused
    /// and loops skipped ([`Rendered::add_path_restricted`]).
    pub fn add_path(&mut self, path: &Path) -> Result<(), AppError> {
        self.add_path_with(path, true)
    }

    /// [`Rendered::add_path`], reading only the top level of a plain directory unless
    /// `recurse` (Argo CD's `directory.recurse`, off by default there).
    pub fn add_path_with(&mut self, path: &Path, recurse: bool) -> Result<(), AppError> {
        let warnings = self.add_path_restricted(path, recurse, LoadRestrictor::RootOnly)?;
        self.warnings.extend(warnings);
        Ok(())
    }

    /// Adds the objects at `path` under `restrictor`, and returns the walk's warnings (a
    /// symlink loop skipped). Under `LoadRestrictionsRootOnly` (the default, as for
    /// `shipway render`) a symbolic link in a walked directory that resolves outside `path`
    /// is an error naming the link; each real directory is walked once, so a link back to
    /// one being walked (a loop) or to one already walked is skipped with a warning. A file
    /// named as `path` itself is read, link or not: that is the user's explicit choice.
    pub fn add_path_restricted(
        &mut self,
        path: &Path,
        recurse: bool,
        restrictor: LoadRestrictor,
    ) -> Result<Vec<String>, AppError> {
        let meta = std::fs::metadata(path).map_err(|e| AppError::io(path, e))?;
        if !meta.is_dir() {
            self.add_file(path)?;
            return Ok(Vec::new());
        }
        if is_kustomization_dir(path) {
            self.add_kustomization_with(path, restrictor)?;
            return Ok(Vec::new());
        }
        let root = std::fs::canonicalize(path).map_err(|e| AppError::io(path, e))?;
        let mut walk = Walk {
            loaded: self,
            restrictor,
            recurse,
            root: root.clone(),
            walked: HashMap::new(),
            walking: Vec::new(),
            warnings: Vec::new(),
        };
        walk.dir(path, &root)?;
        Ok(walk.warnings)
    }

    /// Reads one YAML or JSON stream from the file `path`.
    pub fn add_file(&mut self, path: &Path) -> Result<(), AppError> {
        let mut text = std::fs::read_to_string(path).map_err(|e| AppError::io(path, e))?;
        if let Some(keyring) = &self.decrypt {
            text = shipway_render::decrypt::file_text(keyring, path, text)?;
        }
        let before = self.objects.len();
        self.add_stream(path, &text)?;
        if let Some(keyring) = &self.decrypt {
            for object in &mut self.objects[before..] {
                shipway_render::decrypt::secret_data(keyring, object, path)?;
            }
        }
        Ok(())
    }

    /// Adds the documents of one YAML (or JSON) stream read from `path` (which need not
    /// exist: `<stdin>` works). Errors name `path:line`.
    pub fn add_stream(&mut self, path: &Path, text: &str) -> Result<(), AppError> {
        let file = self.sources.add(path);
        let docs = parse_stream(text, file, &Limits::default()).map_err(|e| AppError::Yaml {
            location: Location {
                path: path.to_path_buf(),
                line: e.line,
            },
            message: e.message,
        })?;
        for doc in docs {
            self.add_object(doc);
        }
        Ok(())
    }

    /// Adds one document: nothing for an empty one, the items of a `*List`, else itself.
    fn add_object(&mut self, doc: Node) {
        if doc.value.is_null() {
            return;
        }
        let is_list = doc
            .get("kind")
            .and_then(Node::as_str)
            .is_some_and(|k| k.ends_with("List"))
            && doc.get("items").and_then(Node::as_seq).is_some();
        if !is_list {
            self.objects.push(doc);
            return;
        }
        if let Value::Map(mut map) = doc.value
            && let Some(Node {
                value: Value::Seq(items),
                ..
            }) = map.remove("items")
        {
            self.objects.extend(items);
        }
    }

    /// Renders the kustomization in `dir` and adds its objects, moving their file ids into
    /// this map.
    pub fn add_kustomization(&mut self, dir: &Path) -> Result<(), AppError> {
        self.add_kustomization_with(dir, LoadRestrictor::RootOnly)
    }

    /// [`Rendered::add_kustomization`] with the chosen load restrictor.
    pub fn add_kustomization_with(
        &mut self,
        dir: &Path,
        restrictor: LoadRestrictor,
    ) -> Result<(), AppError> {
        let options = shipway_render::Options {
            load_restrictor: restrictor,
            decrypt: self.decrypt.clone(),
            ..shipway_render::Options::default()
        };
        let output = shipway_render::render(dir, &options)?;
        let table = self.sources.absorb(&output.sources);
        for mut object in output.objects {
            object.remap_files(&table);
            self.objects.push(object);
        }
        self.warnings.extend(output.warnings);
        Ok(())
    }
}

/// The state of one directory walk.
pub(crate) struct Walk<'a> {
    loaded: &'a mut Rendered,
    restrictor: LoadRestrictor,
    /// Whether subdirectories are walked (Argo CD's `directory.recurse`).
    recurse: bool,
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
    fn dir(&mut self, dir: &Path, real: &Path) -> Result<(), AppError> {
        self.walked.insert(real.to_path_buf(), dir.to_path_buf());
        self.walking.push(real.to_path_buf());
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| AppError::io(dir, e))? {
            let entry = entry.map_err(|e| AppError::io(dir, e))?;
            entries.push((entry.path(), entry.file_name()));
        }
        entries.sort();
        for (path, name) in entries {
            let is_link = std::fs::symlink_metadata(&path)
                .map_err(|e| AppError::io(&path, e))?
                .file_type()
                .is_symlink();
            let meta = match std::fs::metadata(&path) {
                Ok(meta) => meta,
                // A dangling link: an error if it would have been read, else ignored.
                Err(e) if has_manifest_extension(&path) => return Err(AppError::io(&path, e)),
                Err(_) => continue,
            };
            if !meta.is_dir() && !has_manifest_extension(&path) {
                continue;
            }
            if meta.is_dir() && !self.recurse {
                continue;
            }
            let entry_real = if is_link {
                let target = std::fs::canonicalize(&path).map_err(|e| AppError::io(&path, e))?;
                self.restrict(&path, &target)?;
                target
            } else {
                real.join(&name)
            };
            if !meta.is_dir() {
                self.loaded.add_file(&path)?;
            } else if is_kustomization_dir(&path) {
                self.loaded.add_kustomization_with(&path, self.restrictor)?;
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
    fn restrict(&self, link: &Path, target: &Path) -> Result<(), AppError> {
        if self.restrictor == LoadRestrictor::None || target.starts_with(&self.root) {
            return Ok(());
        }
        Err(AppError::OutsideRoot {
            link: link.to_path_buf(),
            target: target.to_path_buf(),
            root: self.root.clone(),
        })
    }
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

/// Loads the manifests at `path`: a directory with a kustomization is rendered with
/// `shipway-render`; any other directory is read recursively (`*.yaml`, `*.yml`,
/// `*.json`, sorted by path) and a file is read as a YAML stream, with `List` kinds
/// flattened and empty documents skipped.
pub fn load_manifests(path: &Path) -> Result<Rendered, AppError> {
    let mut rendered = Rendered::default();
    rendered.add_path(path)?;
    Ok(rendered)
}

/// An app: where its manifests come from and how it is synced.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// The app's name, a DNS label, as every message shows it.
    pub name: String,
    /// What identifies the app apart from its destination: `application:<namespace>/<name>`
    /// for an Argo CD `Application`, `dir:<path relative to its git repository>` for a
    /// directory ([`crate::identity::directory_id`]). See [`App::identity`].
    pub id_source: String,
    /// Where the manifests come from.
    pub source: Source,
    /// The namespace for namespaced objects that name none (Argo CD's
    /// `destination.namespace`, or `--namespace`); `None` leaves that to the cluster
    /// default of the kubeconfig context.
    pub namespace: Option<String>,
    /// Automation, sync options and retry.
    pub sync: SyncPolicy,
    /// Differences the diff ignores (Argo CD's `spec.ignoreDifferences`).
    pub ignore_differences: Vec<IgnoreDifference>,
    /// Image overrides applied after rendering (Argo CD's `kustomize.images`).
    pub images: Vec<ImageOverride>,
    /// The cluster the `Application` asked for; checked with [`App::check_destination`].
    pub destination: Destination,
    /// The file the app was defined in (the `Application` manifest, or the path given).
    pub defined_in: PathBuf,
    /// Identities for decrypting the app's SOPS-encrypted files while rendering; `None`
    /// renders them as they are (and a Secret still carrying `sops` metadata is refused
    /// before it is applied).
    pub decrypt: Option<Arc<shipway_secrets::Keyring>>,
    /// The Secret (namespace, name) whose `*.agekey` entries hold the app's age
    /// identities: Flux's `spec.decryption.secretRef`, or the `shipway.dev/decryption-secret`
    /// annotation of an Argo CD `Application` (a Secret in the Application's namespace).
    /// The controller reads it when it renders the app and keeps the keys in memory only.
    pub decryption_secret: Option<(String, String)>,
}

/// The annotation naming an Argo CD `Application`'s decryption Secret.
pub const DECRYPTION_SECRET_ANNOTATION: &str = "shipway.dev/decryption-secret";

impl App {
    /// `(repoURL, path, targetRevision)` as an Argo CD Application's `source` names them
    /// (a local directory has an empty URL and revision): what the API, status and
    /// notifications show.
    pub fn source_fields(&self) -> (String, String, String) {
        match &self.source {
            Source::Git {
                url,
                revision,
                path,
                ..
            } => (url.clone(), path.display().to_string(), revision.clone()),
            Source::Local { path, .. } => {
                (String::new(), path.display().to_string(), String::new())
            }
        }
    }

    /// The app at `path`. A YAML file holding an Argo CD `Application`
    /// (`argoproj.io/v1alpha1`) is parsed as one; any other file or directory is an app
    /// of its manifests, named after the directory (or the file's stem) as a DNS label,
    /// with `namespace` as its default namespace.
    ///
    /// For an `Application`, `namespace` must agree with `destination.namespace` when both
    /// are given: a silent winner would deploy somewhere neither place says.
    pub fn from_path(path: &Path, namespace: Option<&str>) -> Result<App, AppError> {
        let meta = std::fs::metadata(path).map_err(|e| AppError::io(path, e))?;
        if meta.is_file() && has_manifest_extension(path) {
            let text = std::fs::read_to_string(path).map_err(|e| AppError::io(path, e))?;
            if let Some(mut app) = argo::parse_application_file(path, &text)? {
                if let Some(flag) = namespace {
                    match &app.namespace {
                        Some(ns) if ns != flag => {
                            return Err(AppError::invalid(
                                path,
                                Pos::NONE,
                                format!(
                                    "the Application's destination.namespace is `{ns}` but \
                                     --namespace `{flag}` was given"
                                ),
                            ));
                        }
                        _ => app.namespace = Some(flag.to_string()),
                    }
                }
                return Ok(app);
            }
        }
        let absolute = std::path::absolute(path).map_err(|e| AppError::io(path, e))?;
        // `.` and `..` have no name of their own: take it from the resolved directory.
        let resolved = std::fs::canonicalize(&absolute).unwrap_or(absolute);
        let base = if meta.is_dir() {
            resolved.file_name()
        } else {
            resolved.file_stem()
        };
        let name = sanitize_name(&base.unwrap_or_default().to_string_lossy());
        Ok(App {
            id_source: crate::identity::directory_id(path),
            name,
            source: Source::Local {
                path: path.to_path_buf(),
                recurse: true,
            },
            namespace: namespace.map(str::to_string),
            sync: SyncPolicy::default(),
            ignore_differences: Vec::new(),
            images: Vec::new(),
            destination: Destination::default(),
            defined_in: path.to_path_buf(),
            decrypt: None,
            decryption_secret: None,
        })
    }

    /// The app an Argo CD `Application` document defines, `text` being what `path` holds
    /// (a file, or an object read from the cluster and named by `path` in messages); `None`
    /// when `text` holds no Application.
    pub fn from_application_text(path: &Path, text: &str) -> Result<Option<App>, AppError> {
        argo::parse_application_file(path, text)
    }

    /// Renders the app: a local source in place, a git source from the tree at its
    /// resolved revision (fetched into `work_dir`, see [`source::checkout`]), then applies
    /// the image overrides. Nothing is returned unless every step succeeded.
    pub fn render(&self, work_dir: &Path) -> Result<Rendered, AppError> {
        self.render_with(|url, revision| source::checkout(url, revision, work_dir))
    }

    /// Renders the app as [`App::render`] does, taking a git source's tree from `fetch`
    /// (the controller's shared [`shipway_git::fetch::Fetcher`]).
    pub fn render_with(
        &self,
        fetch: impl FnOnce(&str, &str) -> Result<source::Checkout, source::FetchError>,
    ) -> Result<Rendered, AppError> {
        let mut rendered = Rendered {
            decrypt: self.decrypt.clone(),
            ..Rendered::default()
        };
        match &self.source {
            Source::Local { path, recurse } => rendered.add_path_with(path, *recurse)?,
            Source::Git {
                url,
                revision,
                path,
                recurse,
            } => {
                let checkout = fetch(url, revision)?;
                let dir = checkout.dir.join(path);
                if !dir.exists() {
                    return Err(AppError::Git {
                        url: url.clone(),
                        message: format!(
                            "path `{}` does not exist at revision `{revision}` ({})",
                            path.display(),
                            checkout.commit
                        ),
                    });
                }
                rendered.add_path_with(&dir, *recurse)?;
                rendered.revision = Some(checkout.commit);
            }
        }
        apply_images(&mut rendered.objects, &self.images);
        Ok(rendered)
    }

    /// The app's identity once its destination namespace is known: everything it applies
    /// is stamped with it, and its inventory is keyed by it.
    pub fn identity(&self, namespace: &str) -> crate::identity::AppId {
        crate::identity::AppId::new(&self.name, format!("{}@{namespace}", self.id_source))
    }

    /// Checks that the `Application`'s destination is the cluster `target` selects: only
    /// the kubeconfig's cluster is supported, and `https://kubernetes.default.svc` (Argo
    /// CD's "the cluster I run in", also named `in-cluster`) means that one.
    pub fn check_destination(&self, target: &Target) -> Result<(), AppError> {
        self.destination.check(target, &self.defined_in)
    }
}

/// `text` as a DNS label (RFC 1123): lowercase letters, digits and `-`, at most 63
/// characters, starting and ending alphanumeric; `app` when nothing is left.
pub fn sanitize_name(text: &str) -> String {
    let mut name = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    name.truncate(63);
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "app".to_string()
    } else {
        name.to_string()
    }
}

/// Applies image overrides to every `containers[].image` and `initContainers[].image` in
/// `objects`, as kustomize's `images` transformer does: an override matches an image
/// whose name (without tag and digest) equals its `name`; it replaces the name with
/// `new_name`, and a new tag or digest replaces both the old tag and digest.
pub fn apply_images(objects: &mut [Node], images: &[ImageOverride]) {
    if images.is_empty() {
        return;
    }
    for object in objects {
        walk_containers(object, images);
    }
}

/// Applies every override in turn to one image (a later entry sees what an earlier one
/// wrote, as kustomize runs one filter per `images` entry).
fn walk_containers(node: &mut Node, images: &[ImageOverride]) {
    shipway_render::image::walk_containers(node, &|current| {
        let mut value = current.to_string();
        for image_override in images {
            if let Some(new) = image_override.apply(&value) {
                value = new;
            }
        }
        (value != current).then_some(value)
    });
}

#[cfg(test)]
mod tests;
