//! Argo CD `Application` manifests, read into an [`App`].
//!
//! Teams that deploy with Argo CD already describe their apps this way; reading the same
//! file lets them sync with shipway without rewriting anything. Only what shipway can
//! honour is accepted: fields Argo CD knows but shipway does not implement (Helm, plugins,
//! multiple sources, most `kustomize` options) are errors rather than silently ignored,
//! because a sync that quietly drops a `namePrefix` deploys something else than the file
//! says. Every error names the file and line of the offending field.
//!
//! The types here ([`SyncPolicy`], [`SyncOptions`], [`RetryPolicy`], [`IgnoreDifference`],
//! [`ImageOverride`], [`Destination`]) are also what the sync engine reads, whether the app
//! came from an `Application` or from a plain directory (which gets the defaults).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use shipway_model::yaml::{Limits, parse_stream};
use shipway_model::{FileId, Mapping, Node, Pos, Value};

use super::{App, AppError, Source, Target, location, source};
use shipway_render::image::split_image;

/// The server URL Argo CD uses for the cluster it runs in; shipway reads it as "the
/// cluster the kubeconfig selects".
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// The destination name Argo CD gives that same cluster.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// How an app is synced: Argo CD's `spec.syncPolicy`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncPolicy {
    /// `automated` is present (and not `enabled: false`): sync on change without asking.
    pub automated: bool,
    /// `automated.prune`: delete owned objects that are no longer rendered. Off by default,
    /// as in Argo CD, because deleting is the one step that cannot be undone.
    pub prune: bool,
    /// `automated.selfHeal`: re-sync when the live state drifts from the desired state.
    pub self_heal: bool,
    /// `automated.allowEmpty`: allow a sync (and prune) when the render is empty. Off by
    /// default: an empty render is far more often a broken fetch than an intent.
    pub allow_empty: bool,
    /// `syncOptions`.
    pub options: SyncOptions,
    /// `retry`; `None` when absent, which means a failed sync is not retried.
    pub retry: Option<RetryPolicy>,
}

/// The `syncOptions` shipway implements. Each is written `Name=true|false` in Argo CD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// `CreateNamespace=true`: create the destination namespace when missing.
    pub create_namespace: bool,
    /// `PruneLast=true`: prune only after every other object is applied and healthy.
    pub prune_last: bool,
    /// `ServerSideApply=true`. Shipway always applies server-side; this is recorded so a
    /// caller can tell the user it was asked for explicitly.
    pub server_side_apply: bool,
    /// `Replace=true`: objects whose change needs a replacement (immutable fields) are
    /// deleted and recreated instead of stopping the sync.
    pub replace: bool,
    /// `ApplyOutOfSyncOnly=true`: apply only objects whose plan is not `unchanged`.
    pub apply_out_of_sync_only: bool,
    /// `RespectIgnoreDifferences=true`: fields `ignoreDifferences` names by JSON pointer keep
    /// their live values when the app syncs.
    pub respect_ignore_differences: bool,
    /// `SkipDryRunOnMissingResource=true`: an object whose kind the server does not know
    /// (its CRD comes from elsewhere, later) is planned as a create without a dry run.
    pub skip_dry_run_on_missing_resource: bool,
    /// `PrunePropagationPolicy=foreground|background|orphan` (default foreground).
    pub prune_propagation: Propagation,
}

/// How a pruned object's dependents are deleted: Kubernetes' `propagationPolicy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents first; the object goes once they are gone (Argo CD's default).
    #[default]
    Foreground,
    /// The object at once, dependents by the garbage collector.
    Background,
    /// The object only; dependents stay, without an owner.
    Orphan,
}

/// The sync options shipway accepts, for the error that refuses any other.
const SYNC_OPTIONS: &str = "CreateNamespace, PruneLast, ServerSideApply=true, Replace, \
     ApplyOutOfSyncOnly, RespectIgnoreDifferences, SkipDryRunOnMissingResource, \
     PrunePropagationPolicy, FailOnSharedResource=true, Validate";

/// How a failed sync is retried: Argo CD's `syncPolicy.retry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many retries after the first attempt; `None` for unlimited (a negative
    /// `limit` in Argo CD). `Some(0)` means no retry.
    pub limit: Option<u32>,
    /// The delay before the first retry (`backoff.duration`, default 5 s).
    pub backoff: Duration,
    /// What each delay is multiplied by for the next one (`backoff.factor`, default 2).
    pub factor: u32,
    /// The longest delay (`backoff.maxDuration`, default 3 min).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Argo CD's defaults for a `retry` block without `limit` or `backoff`: without a
    /// `limit` retries are unlimited (shipway bounds them by the sync's timeout).
    fn default() -> Self {
        RetryPolicy {
            limit: None,
            backoff: Duration::from_secs(5),
            factor: 2,
            max_backoff: Duration::from_secs(180),
        }
    }
}

impl RetryPolicy {
    /// Whether a retry is allowed after `retries` retries have already run.
    pub fn allows(&self, retries: u32) -> bool {
        self.limit.is_none_or(|limit| retries < limit)
    }

    /// The delay before retry number `retry` (0-based): `backoff × factor^retry`, capped at
    /// `max_backoff`, as Argo CD computes it.
    pub fn delay(&self, retry: u32) -> Duration {
        let mut delay = self.backoff;
        for _ in 0..retry {
            delay = delay.saturating_mul(self.factor);
            if delay >= self.max_backoff {
                break;
            }
        }
        delay.min(self.max_backoff)
    }
}

/// One `spec.ignoreDifferences` entry: the diff module's rule, so the parsed form is the
/// one the plan applies.
pub use crate::diff::IgnoreRule as IgnoreDifference;

/// One image override, as kustomize's `images` entries and Argo CD's `kustomize.images`
/// strings (`name=newName:tag`, `name:tag`, `name@digest`) express it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageOverride {
    /// The image name to match, without tag or digest.
    pub name: String,
    /// The replacement name, when the name changes.
    pub new_name: Option<String>,
    /// The replacement tag.
    pub new_tag: Option<String>,
    /// The replacement digest (`sha256:…`).
    pub digest: Option<String>,
}

impl ImageOverride {
    /// Parses an Argo CD `kustomize.images` string: `[name=]newName[:tag][@digest]`, or
    /// `name:tag` / `name@digest` to keep the name. A tag after a registry port is found
    /// (`host:5000/app:1.2`).
    pub fn parse(text: &str) -> Result<ImageOverride, String> {
        if text.is_empty() || text.chars().any(char::is_whitespace) {
            return Err(format!(
                "image override `{text}` is empty or contains spaces"
            ));
        }
        let (name, replacement) = match text.split_once('=') {
            Some((name, replacement)) => (Some(name), replacement),
            None => (None, text),
        };
        if replacement.contains('=') {
            return Err(format!("image override `{text}` has more than one `=`"));
        }
        let (new_name, tag, digest) = split_image(replacement);
        if tag == Some("") || digest == Some("") {
            return Err(format!(
                "image override `{text}` has an empty tag or digest"
            ));
        }
        if new_name.is_empty() {
            return Err(format!("image override `{text}` has no image name"));
        }
        let over = match name {
            Some("") => return Err(format!("image override `{text}` has no name before `=`")),
            Some(name) => ImageOverride {
                name: name.to_string(),
                new_name: Some(new_name.to_string()),
                new_tag: tag.map(str::to_string),
                digest: digest.map(str::to_string),
            },
            None => {
                if tag.is_none() && digest.is_none() {
                    return Err(format!(
                        "image override `{text}` sets nothing: write `name:tag`, \
                         `name@digest` or `name=newName[:tag]`"
                    ));
                }
                ImageOverride {
                    name: new_name.to_string(),
                    new_name: None,
                    new_tag: tag.map(str::to_string),
                    digest: digest.map(str::to_string),
                }
            }
        };
        Ok(over)
    }

    /// The rewritten image, or `None` when `image`'s name is not this override's. A new
    /// tag or digest replaces both the old tag and the old digest, as in kustomize.
    pub fn apply(&self, image: &str) -> Option<String> {
        shipway_render::kustomization::ImageSpec {
            name: self.name.clone(),
            new_name: self.new_name.clone(),
            new_tag: self.new_tag.clone(),
            digest: self.digest.clone(),
            pos: Pos::NONE,
        }
        .apply(image)
    }
}

/// The cluster an `Application` asks for (`spec.destination.server` / `.name`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// `destination.server`, the API server URL.
    pub server: Option<String>,
    /// `destination.name`, Argo CD's name for a cluster.
    pub name: Option<String>,
    /// Where the destination is written, for errors.
    pub pos: Pos,
}

impl Destination {
    /// Checks that this destination is the cluster `target` selects (see
    /// [`App::check_destination`]); `defined_in` names the file in the error.
    pub fn check(&self, target: &Target, defined_in: &Path) -> Result<(), AppError> {
        let error = |asked: String| AppError::Destination {
            location: location(defined_in, self.pos),
            message: format!(
                "the Application targets {asked}, but kubeconfig context `{}` is cluster `{}` \
                 at {}; shipway syncs only to the kubeconfig's cluster (use --context, or \
                 `server: {IN_CLUSTER_SERVER}`)",
                target.context, target.cluster, target.server
            ),
        };
        if let Some(server) = &self.server
            && server != IN_CLUSTER_SERVER
            && server.trim_end_matches('/') != target.server.trim_end_matches('/')
        {
            return Err(error(format!("server {server}")));
        }
        if let Some(name) = &self.name
            && name != IN_CLUSTER_NAME
            && *name != target.cluster
            && *name != target.context
        {
            return Err(error(format!("cluster name `{name}`")));
        }
        Ok(())
    }
}

/// Parses a Go duration as Argo CD's backoff fields take it (`5s`, `3m`, `1h30m`,
/// `500ms`); a bare number is seconds, Argo CD's default unit. One parser for the tree:
/// [`shipway_model::duration::parse`].
pub use shipway_model::duration::parse as parse_duration;

/// Reads `text` (the contents of `path`) and returns the app it defines when it holds an
/// Argo CD `Application`; `None` when it holds none (it is then a plain manifest file).
pub(crate) fn parse_application_file(path: &Path, text: &str) -> Result<Option<App>, AppError> {
    let docs = parse_stream(text, FileId(0), &Limits::default()).map_err(|e| AppError::Yaml {
        location: shipway_render::error::Location {
            path: path.to_path_buf(),
            line: e.line,
        },
        message: e.message,
    })?;
    let docs: Vec<Node> = docs.into_iter().filter(|d| !d.value.is_null()).collect();
    let is_application = |d: &Node| {
        d.str_at(&["kind"]) == Some("Application")
            && d.str_at(&["apiVersion"])
                .is_some_and(|v| v.starts_with("argoproj.io/"))
    };
    let Some(first) = docs.iter().find(|d| is_application(d)) else {
        return Ok(None);
    };
    if docs.len() > 1 {
        let second = docs
            .iter()
            .find(|d| !std::ptr::eq(*d, first))
            .unwrap_or(first);
        return Err(AppError::invalid(
            path,
            second.pos,
            "a file with an Argo CD Application must hold only that Application \
             (one app per file)",
        ));
    }
    parse_application(path, first).map(Some)
}

/// Where the fields of one mapping are taken from, so that whatever is left over at the
/// end can be reported as unknown.
struct Fields<'a> {
    path: &'a Path,
    /// The dotted name of the mapping (`spec.source`), for messages.
    at: &'a str,
    map: Option<&'a Mapping>,
    taken: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    /// The fields of `node`, which must be a mapping (or null, read as empty).
    fn of(path: &'a Path, at: &'a str, node: &'a Node) -> Result<Fields<'a>, AppError> {
        let map = match &node.value {
            Value::Map(map) => Some(map),
            Value::Null => None,
            other => {
                return Err(AppError::invalid(
                    path,
                    node.pos,
                    format!("`{at}` must be a mapping, found {}", other.type_name()),
                ));
            }
        };
        Ok(Fields {
            path,
            at,
            map,
            taken: Vec::new(),
        })
    }

    /// The value of `key`; `None` when absent or null.
    fn take(&mut self, key: &'static str) -> Option<&'a Node> {
        self.taken.push(key);
        self.map?.get(key).filter(|n| !n.value.is_null())
    }

    /// The string value of `key`.
    fn string(&mut self, key: &'static str) -> Result<Option<String>, AppError> {
        let Some(node) = self.take(key) else {
            return Ok(None);
        };
        match &node.value {
            Value::Str(s) => Ok(Some(s.clone())),
            other => Err(AppError::invalid(
                self.path,
                node.pos,
                format!(
                    "`{}.{key}` must be a string, found {} (quote it)",
                    self.at,
                    other.type_name()
                ),
            )),
        }
    }

    /// The boolean value of `key`, `false` when absent.
    fn boolean(&mut self, key: &'static str) -> Result<bool, AppError> {
        let Some(node) = self.take(key) else {
            return Ok(false);
        };
        match node.value {
            Value::Bool(b) => Ok(b),
            ref other => Err(AppError::invalid(
                self.path,
                node.pos,
                format!(
                    "`{}.{key}` must be true or false, found {}",
                    self.at,
                    other.type_name()
                ),
            )),
        }
    }

    /// The list of strings at `key`, empty when absent.
    fn strings(&mut self, key: &'static str) -> Result<Vec<(String, Pos)>, AppError> {
        let Some(node) = self.take(key) else {
            return Ok(Vec::new());
        };
        let items = node.as_seq().ok_or_else(|| {
            AppError::invalid(
                self.path,
                node.pos,
                format!("`{}.{key}` must be a list", self.at),
            )
        })?;
        items
            .iter()
            .map(|item| match &item.value {
                Value::Str(s) => Ok((s.clone(), item.pos)),
                other => Err(AppError::invalid(
                    self.path,
                    item.pos,
                    format!(
                        "`{}.{key}` items must be strings, found {}",
                        self.at,
                        other.type_name()
                    ),
                )),
            })
            .collect()
    }

    /// Fails on the first key not taken: `unsupported` lists the keys Argo CD knows but
    /// shipway does not implement, so the message can say which it is.
    fn finish(self, unsupported: &[&str]) -> Result<(), AppError> {
        let Some(map) = self.map else {
            return Ok(());
        };
        for entry in &map.entries {
            if self.taken.contains(&entry.key.as_str()) {
                continue;
            }
            let message = if unsupported.contains(&entry.key.as_str()) {
                format!(
                    "`{}.{}` is an Argo CD field shipway does not support",
                    self.at, entry.key
                )
            } else {
                format!("unknown field `{}.{}`", self.at, entry.key)
            };
            return Err(AppError::invalid(self.path, entry.key_pos, message));
        }
        Ok(())
    }
}

/// Reads one `Application` document.
fn parse_application(path: &Path, doc: &Node) -> Result<App, AppError> {
    let mut top = Fields::of(path, "Application", doc)?;
    let api_version = top.string("apiVersion")?.unwrap_or_default();
    if api_version != "argoproj.io/v1alpha1" {
        let pos = doc.get("apiVersion").map_or(doc.pos, |n| n.pos);
        return Err(AppError::invalid(
            path,
            pos,
            format!(
                "unsupported Application apiVersion `{api_version}` (want argoproj.io/v1alpha1)"
            ),
        ));
    }
    top.take("kind");
    // Written by Argo CD itself; nothing in them describes the desired state.
    top.take("status");
    top.take("operation");
    let metadata = top.take("metadata").ok_or_else(|| {
        AppError::invalid(path, doc.pos, "the Application has no `metadata.name`")
    })?;
    let spec = top
        .take("spec")
        .ok_or_else(|| AppError::invalid(path, doc.pos, "the Application has no `spec`"))?;
    top.finish(&[])?;

    // Labels, annotations, finalizers and Argo CD's own namespace say nothing about what
    // is deployed where; only the name (and shipway's decryption annotation) is read.
    let name_node = metadata.get("name").ok_or_else(|| {
        AppError::invalid(path, metadata.pos, "the Application has no `metadata.name`")
    })?;
    let name = name_node
        .as_str()
        .filter(|n| is_dns_subdomain(n))
        .ok_or_else(|| {
            AppError::invalid(
                path,
                name_node.pos,
                "`metadata.name` must be a DNS subdomain name (lowercase letters, digits, `-`, `.`)",
            )
        })?
        .to_string();
    // The Application's own namespace is part of its identity (two `web` Applications in
    // two Argo CD namespaces are two apps); Argo CD's default is `argocd`.
    let app_namespace = metadata
        .get("namespace")
        .and_then(Node::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("argocd")
        .to_string();
    let decryption_secret = metadata
        .get_path(&["annotations", super::DECRYPTION_SECRET_ANNOTATION])
        .and_then(Node::as_str)
        .filter(|n| !n.is_empty())
        .map(|n| (app_namespace.clone(), n.to_string()));

    let mut spec_fields = Fields::of(path, "spec", spec)?;
    spec_fields.string("project")?;
    spec_fields.take("info");
    spec_fields.take("revisionHistoryLimit");
    let source_node = spec_fields.take("source");
    let destination_node = spec_fields.take("destination");
    let sync_node = spec_fields.take("syncPolicy");
    let ignore_node = spec_fields.take("ignoreDifferences");
    spec_fields.finish(&["sources", "sourceHydrator"])?;

    let source_node = source_node
        .ok_or_else(|| AppError::invalid(path, spec.pos, "the Application has no `spec.source`"))?;
    let (source, images) = parse_source(path, source_node)?;

    let destination_node = destination_node.ok_or_else(|| {
        AppError::invalid(path, spec.pos, "the Application has no `spec.destination`")
    })?;
    let mut dest = Fields::of(path, "spec.destination", destination_node)?;
    let destination = Destination {
        server: dest.string("server")?,
        name: dest.string("name")?,
        pos: destination_node.pos,
    };
    let namespace = dest.string("namespace")?;
    dest.finish(&[])?;
    if destination.server.is_some() && destination.name.is_some() {
        return Err(AppError::invalid(
            path,
            destination_node.pos,
            "`spec.destination` may not set both `server` and `name`",
        ));
    }

    let sync = match sync_node {
        Some(node) => parse_sync_policy(path, node)?,
        None => SyncPolicy::default(),
    };
    let ignore_differences = match ignore_node {
        Some(node) => parse_ignore_differences(path, node)?,
        None => Vec::new(),
    };
    if sync.options.respect_ignore_differences
        && let Some(rule) = ignore_differences.iter().find(|rule| {
            !rule.jq_path_expressions.is_empty() || !rule.managed_fields_managers.is_empty()
        })
    {
        return Err(AppError::invalid(
            path,
            ignore_node.map_or(spec.pos, |node| node.pos),
            format!(
                "RespectIgnoreDifferences=true keeps live values only of fields named by `jsonPointers`; \
                 the rule for kind `{}` uses jqPathExpressions or managedFieldsManagers",
                rule.kind
            ),
        ));
    }

    Ok(App {
        id_source: format!("application:{app_namespace}/{name}"),
        name,
        source,
        namespace: namespace.filter(|n| !n.is_empty()),
        sync,
        ignore_differences,
        images,
        destination,
        defined_in: path.to_path_buf(),
        decrypt: None,
        decryption_secret,
    })
}

/// Whether `name` is a DNS-1123 subdomain, what Kubernetes object names must be.
fn is_dns_subdomain(name: &str) -> bool {
    let bytes = name.as_bytes();
    !name.is_empty()
        && name.len() <= 253
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'.')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// Reads `spec.source`: the [`Source`] and the image overrides.
fn parse_source(path: &Path, node: &Node) -> Result<(Source, Vec<ImageOverride>), AppError> {
    let mut fields = Fields::of(path, "spec.source", node)?;
    let repo_node = fields.take("repoURL");
    let repo_url = fields.string("repoURL")?;
    let revision_node = fields.take("targetRevision");
    let revision = fields
        .string("targetRevision")?
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "HEAD".to_string());
    let path_node = fields.take("path");
    let sub_path = fields.string("path")?.unwrap_or_default();
    // A source's `name` only labels it in Argo CD's UI.
    fields.string("name")?;
    let kustomize = fields.take("kustomize");
    let directory = fields.take("directory");
    fields.finish(&["helm", "plugin", "chart", "ref"])?;

    let (Some(repo_url), Some(repo_node)) = (repo_url, repo_node) else {
        return Err(AppError::invalid(
            path,
            node.pos,
            "`spec.source.repoURL` is required",
        ));
    };
    if revision.starts_with('-') {
        let pos = revision_node.map_or(node.pos, |n| n.pos);
        return Err(AppError::invalid(
            path,
            pos,
            format!("`spec.source.targetRevision` `{revision}` is not a revision"),
        ));
    }
    let sub_path = PathBuf::from(sub_path);
    if sub_path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        let pos = path_node.map_or(node.pos, |n| n.pos);
        return Err(AppError::invalid(
            path,
            pos,
            format!(
                "`spec.source.path` `{}` must be relative and stay inside the repository",
                sub_path.display()
            ),
        ));
    }

    let mut images = Vec::new();
    if let Some(kustomize) = kustomize {
        let mut k = Fields::of(path, "spec.source.kustomize", kustomize)?;
        for (text, pos) in k.strings("images")? {
            images.push(
                ImageOverride::parse(&text)
                    .map_err(|message| AppError::invalid(path, pos, message))?,
            );
        }
        k.finish(&[
            "namePrefix",
            "nameSuffix",
            "commonLabels",
            "commonAnnotations",
            "commonAnnotationsEnvsubst",
            "forceCommonLabels",
            "forceCommonAnnotations",
            "namespace",
            "version",
            "replicas",
            "patches",
            "components",
            "ignoreMissingComponents",
            "labelWithoutSelector",
            "labelIncludeTemplates",
            "kubeVersion",
            "apiVersions",
        ])?;
    }
    // Argo CD reads only the top level of a plain directory unless `recurse` is set.
    let mut recurse = false;
    if let Some(directory) = directory {
        let mut d = Fields::of(path, "spec.source.directory", directory)?;
        recurse = d.boolean("recurse")?;
        for key in ["include", "exclude"] {
            if d.string(key)?.is_some_and(|v| !v.is_empty()) {
                let pos = directory.get(key).map_or(directory.pos, |n| n.pos);
                return Err(AppError::invalid(
                    path,
                    pos,
                    format!("`spec.source.directory.{key}` is not supported by shipway"),
                ));
            }
        }
        d.finish(&["jsonnet"])?;
    }

    let source = resolve_repo(path, &repo_url, repo_node.pos, revision, sub_path, recurse)?;
    Ok((source, images))
}

/// How a `repoURL` is read: a URL (`file://`, `https://`, `ssh://`, …) or an scp-like
/// `host:path` is a git remote; anything else is a local path, relative to the
/// `Application` file's directory, which is a git source when it is a repository's top
/// and is rendered in place otherwise.
fn resolve_repo(
    path: &Path,
    repo_url: &str,
    pos: Pos,
    revision: String,
    sub_path: PathBuf,
    recurse: bool,
) -> Result<Source, AppError> {
    if repo_url.is_empty() {
        return Err(AppError::invalid(
            path,
            pos,
            "`spec.source.repoURL` is empty",
        ));
    }
    let scp_like = repo_url
        .split_once(':')
        .is_some_and(|(host, _)| !host.contains('/') && host.len() > 1);
    if repo_url.contains("://") || scp_like {
        return Ok(Source::Git {
            url: repo_url.to_string(),
            revision,
            path: sub_path,
            recurse,
        });
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let local = base.join(repo_url);
    let local = std::fs::canonicalize(&local).map_err(|e| {
        AppError::invalid(
            path,
            pos,
            format!(
                "`spec.source.repoURL` `{repo_url}` ({}): {e}",
                local.display()
            ),
        )
    })?;
    if source::is_repository_top(&local) {
        return Ok(Source::Git {
            url: local.to_string_lossy().into_owned(),
            revision,
            path: sub_path,
            recurse,
        });
    }
    if revision != "HEAD" {
        return Err(AppError::invalid(
            path,
            pos,
            format!(
                "`spec.source.repoURL` `{repo_url}` is a directory, not a git repository, so \
                 `targetRevision: {revision}` cannot be honoured"
            ),
        ));
    }
    Ok(Source::Local {
        path: local.join(sub_path),
        recurse,
    })
}

/// Reads `spec.syncPolicy`.
fn parse_sync_policy(path: &Path, node: &Node) -> Result<SyncPolicy, AppError> {
    let mut policy = SyncPolicy::default();
    let mut fields = Fields::of(path, "spec.syncPolicy", node)?;
    // `automated: {}` turns automation on with prune and self-heal off, as in Argo CD.
    if let Some(automated) = fields.take("automated") {
        let mut a = Fields::of(path, "spec.syncPolicy.automated", automated)?;
        policy.prune = a.boolean("prune")?;
        policy.self_heal = a.boolean("selfHeal")?;
        policy.allow_empty = a.boolean("allowEmpty")?;
        policy.automated = a.take("enabled").is_none() || a.boolean("enabled")?;
        a.finish(&[])?;
    }
    for (option, pos) in fields.strings("syncOptions")? {
        parse_sync_option(path, pos, &option, &mut policy.options)?;
    }
    if let Some(retry) = fields.take("retry") {
        policy.retry = Some(parse_retry(path, retry)?);
    }
    fields.finish(&["managedNamespaceMetadata"])?;
    Ok(policy)
}

/// Records one `Name=value` sync option.
fn parse_sync_option(
    path: &Path,
    pos: Pos,
    option: &str,
    options: &mut SyncOptions,
) -> Result<(), AppError> {
    let Some((name, value)) = option.split_once('=') else {
        return Err(AppError::invalid(
            path,
            pos,
            format!("sync option `{option}` must be written `Name=value`"),
        ));
    };
    let refuse = |why: &str| {
        Err(AppError::invalid(
            path,
            pos,
            format!("sync option `{option}`: {why}"),
        ))
    };
    let mut ignored = false;
    let flag = match name {
        "CreateNamespace" => &mut options.create_namespace,
        "PruneLast" => &mut options.prune_last,
        "ServerSideApply" => &mut options.server_side_apply,
        "Replace" => &mut options.replace,
        "ApplyOutOfSyncOnly" => &mut options.apply_out_of_sync_only,
        "RespectIgnoreDifferences" => &mut options.respect_ignore_differences,
        "SkipDryRunOnMissingResource" => &mut options.skip_dry_run_on_missing_resource,
        // shipway always refuses an object another app tracks, and never asks the server
        // for strict field validation (it only warns about unknown fields): `true` and
        // `false` of these already hold, or are refused below.
        "FailOnSharedResource" | "Validate" => &mut ignored,
        "PrunePropagationPolicy" => {
            options.prune_propagation = match value {
                "foreground" => Propagation::Foreground,
                "background" => Propagation::Background,
                "orphan" => Propagation::Orphan,
                _ => return refuse("takes foreground, background or orphan"),
            };
            return Ok(());
        }
        _ => {
            return refuse(&format!(
                "shipway does not support it (it supports {SYNC_OPTIONS})"
            ));
        }
    };
    *flag = match value {
        "true" => true,
        "false" => false,
        _ => return refuse(&format!("`{name}` takes true or false")),
    };
    match (name, value) {
        ("ServerSideApply", "false") => {
            refuse("shipway always applies server-side (client-side apply is not supported)")
        }
        ("FailOnSharedResource", "false") => refuse(
            "shipway always refuses to apply an object another app tracks (Argo CD's FailOnSharedResource=true)",
        ),
        _ => Ok(()),
    }
}

/// Reads `spec.syncPolicy.retry`.
fn parse_retry(path: &Path, node: &Node) -> Result<RetryPolicy, AppError> {
    let mut retry = RetryPolicy::default();
    let mut fields = Fields::of(path, "spec.syncPolicy.retry", node)?;
    if let Some(limit) = fields.take("limit") {
        retry.limit = match limit.value {
            Value::Int(n) if n < 0 => None,
            Value::Int(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
            ref other => {
                return Err(AppError::invalid(
                    path,
                    limit.pos,
                    format!(
                        "`spec.syncPolicy.retry.limit` must be an integer, found {}",
                        other.type_name()
                    ),
                ));
            }
        };
    }
    // Refreshing the source between retries is what shipway does anyway.
    fields.boolean("refresh")?;
    if let Some(backoff) = fields.take("backoff") {
        let mut b = Fields::of(path, "spec.syncPolicy.retry.backoff", backoff)?;
        for (key, slot) in [
            ("duration", &mut retry.backoff),
            ("maxDuration", &mut retry.max_backoff),
        ] {
            let pos = backoff.get(key).map_or(backoff.pos, |n| n.pos);
            if let Some(text) = b.string(key)? {
                *slot = parse_duration(&text)
                    .map_err(|message| AppError::invalid(path, pos, message))?;
            }
        }
        if let Some(factor) = b.take("factor") {
            retry.factor = match factor.value {
                Value::Int(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
                _ => {
                    return Err(AppError::invalid(
                        path,
                        factor.pos,
                        "`spec.syncPolicy.retry.backoff.factor` must be a positive integer",
                    ));
                }
            };
        }
        b.finish(&[])?;
    }
    fields.finish(&[])?;
    Ok(retry)
}

/// Reads `spec.ignoreDifferences`.
fn parse_ignore_differences(path: &Path, node: &Node) -> Result<Vec<IgnoreDifference>, AppError> {
    let items = node.as_seq().ok_or_else(|| {
        AppError::invalid(path, node.pos, "`spec.ignoreDifferences` must be a list")
    })?;
    let mut out = Vec::new();
    for item in items {
        let mut f = Fields::of(path, "spec.ignoreDifferences[]", item)?;
        let group = f.string("group")?.unwrap_or_default();
        let kind = f.string("kind")?.filter(|k| !k.is_empty()).ok_or_else(|| {
            AppError::invalid(
                path,
                item.pos,
                "`spec.ignoreDifferences[]` needs a `kind` (`*` for every kind)",
            )
        })?;
        let name = f.string("name")?.filter(|n| !n.is_empty());
        let namespace = f.string("namespace")?.filter(|n| !n.is_empty());
        let mut json_pointers = Vec::new();
        for (pointer, pos) in f.strings("jsonPointers")? {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(AppError::invalid(
                    path,
                    pos,
                    format!("JSON pointer `{pointer}` must start with `/`"),
                ));
            }
            json_pointers.push(pointer);
        }
        let jq_path_expressions = strings_only(f.strings("jqPathExpressions")?);
        let managed_fields_managers = strings_only(f.strings("managedFieldsManagers")?);
        f.finish(&[])?;
        if json_pointers.is_empty()
            && jq_path_expressions.is_empty()
            && managed_fields_managers.is_empty()
        {
            return Err(AppError::invalid(
                path,
                item.pos,
                "`spec.ignoreDifferences[]` ignores nothing: give jsonPointers, \
                 jqPathExpressions or managedFieldsManagers",
            ));
        }
        let rule = IgnoreDifference {
            group,
            kind,
            name,
            namespace,
            json_pointers,
            jq_path_expressions,
            managed_fields_managers,
        };
        // A jq expression outside the supported subset or a bad pointer is an error here,
        // naming the file and line, not at the first plan.
        rule.check()
            .map_err(|error| AppError::invalid(path, item.pos, error.to_string()))?;
        out.push(rule);
    }
    Ok(out)
}

fn strings_only(items: Vec<(String, Pos)>) -> Vec<String> {
    items.into_iter().map(|(s, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const APPLICATION: &str = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: team-a
  annotations:
    shipway.dev/decryption-secret: sops-age
spec:
  project: default
  source: {repoURL: https://git.example.com/app.git, path: deploy, targetRevision: main}
  destination: {server: https://kubernetes.default.svc, namespace: shop}
";

    #[test]
    fn the_decryption_annotation_names_a_secret_in_the_applications_namespace() {
        let app = crate::app::App::from_application_text(Path::new("app.yaml"), APPLICATION)
            .unwrap()
            .unwrap();
        assert_eq!(
            app.decryption_secret,
            Some(("team-a".to_string(), "sops-age".to_string()))
        );
        let plain = APPLICATION.replace(
            "    shipway.dev/decryption-secret: sops-age\n",
            "    other: x\n",
        );
        let app = crate::app::App::from_application_text(Path::new("app.yaml"), &plain)
            .unwrap()
            .unwrap();
        assert_eq!(app.decryption_secret, None);
    }
}
