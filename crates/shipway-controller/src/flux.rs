//! Flux's `Kustomization` (kustomize.toolkit.fluxcd.io/v1) and `GitRepository`
//! (source.toolkit.fluxcd.io/v1) as shipway apps, and Flux's post-build variable
//! substitution (`${var}`, `${var:=default}`, `${var:-default}`, `$${var}` for a literal).
//!
//! The fields shipway implements are read; any other `spec` field is refused with the
//! file and the field's name, so a Flux user never has a setting silently ignored.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use shipway_cluster::app::argo::{RetryPolicy, SyncPolicy, parse_duration};
use shipway_cluster::app::{App, Source};
use shipway_model::{Node, Value as NodeValue};

/// The `Kustomization.spec` fields shipway implements.
const KUSTOMIZATION_FIELDS: &[&str] = &[
    "sourceRef",
    "path",
    "interval",
    "prune",
    "targetNamespace",
    "suspend",
    "timeout",
    "retryInterval",
    "dependsOn",
    "wait",
    "postBuild",
    "force",
    "decryption",
];

/// The `GitRepository.spec` fields shipway implements.
const REPOSITORY_FIELDS: &[&str] = &["url", "ref", "interval", "timeout", "ignore", "suspend"];

/// A Flux `Kustomization` as an app, with what is Flux's own.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxApp {
    /// The app (automated; prune as `spec.prune`; drift healed).
    pub app: App,
    /// `spec.interval`.
    pub interval: Duration,
    /// `spec.suspend`.
    pub suspend: bool,
    /// `spec.targetNamespace`: every namespaced object goes there.
    pub target_namespace: Option<String>,
    /// `spec.timeout` (default: the interval).
    pub timeout: Duration,
    /// `spec.dependsOn`: Kustomizations (namespace, name) that must be Ready first.
    pub depends_on: Vec<(String, String)>,
    /// `spec.wait`.
    pub wait: bool,
    /// `spec.postBuild.substitute`.
    pub substitute: BTreeMap<String, String>,
    /// `spec.postBuild.substituteFrom`: (kind, name, optional).
    pub substitute_from: Vec<(String, String, bool)>,
    /// The Kustomization's namespace (where its status and Events go).
    pub namespace: String,
}

/// The documents of one Flux file set, by kind.
#[derive(Debug, Default)]
pub struct FluxObjects {
    /// `GitRepository` objects: ((namespace, name), object, file).
    pub repositories: Vec<((String, String), Value, PathBuf)>,
    /// `Kustomization` objects with the file they came from.
    pub kustomizations: Vec<(Value, PathBuf)>,
}

impl FluxObjects {
    /// Takes `doc` when it is a Flux object shipway reads; returns whether it was.
    pub fn take(&mut self, doc: &Value, file: &Path) -> bool {
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        let group = api.split('/').next().unwrap_or("");
        match (group, kind) {
            ("source.toolkit.fluxcd.io", "GitRepository") => {
                let key = (namespace_of(doc), name_of(doc));
                self.repositories
                    .push((key, doc.clone(), file.to_path_buf()));
                true
            }
            ("kustomize.toolkit.fluxcd.io", "Kustomization") => {
                self.kustomizations.push((doc.clone(), file.to_path_buf()));
                true
            }
            _ => false,
        }
    }

    /// Each Kustomization as an app, or an error naming its file.
    pub fn apps(&self) -> Vec<Result<FluxApp, String>> {
        self.kustomizations
            .iter()
            .map(|(doc, file)| self.app(doc, file))
            .collect()
    }

    fn app(&self, doc: &Value, file: &Path) -> Result<FluxApp, String> {
        let at = |field: &str, message: String| {
            format!(
                "{}: Kustomization `{}`: `{field}` {message}",
                file.display(),
                name_of(doc)
            )
        };
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if api != "kustomize.toolkit.fluxcd.io/v1" {
            return Err(at(
                "apiVersion",
                format!("is `{api}`; shipway reads kustomize.toolkit.fluxcd.io/v1"),
            ));
        }
        let name = name_of(doc);
        let namespace = namespace_of(doc);
        let spec = doc
            .get("spec")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{}: Kustomization `{name}` has no `spec`", file.display()))?;

        if let Some(unknown) = spec
            .keys()
            .find(|k| !KUSTOMIZATION_FIELDS.contains(&k.as_str()))
        {
            return Err(at(
                &format!("spec.{unknown}"),
                "is a Flux field shipway does not support".into(),
            ));
        }
        let duration = |field: &str, default: Option<Duration>| -> Result<Duration, String> {
            match spec.get(field).and_then(Value::as_str) {
                Some(text) => parse_duration(text)
                    .map_err(|m| at(&format!("spec.{field}"), format!("`{text}`: {m}"))),
                None => default.ok_or_else(|| at(&format!("spec.{field}"), "is required".into())),
            }
        };
        let interval = duration("interval", None)?;
        let timeout = duration("timeout", Some(interval))?;
        let retry_interval = duration("retryInterval", Some(interval))?;
        let flag = |field: &str| spec.get(field).and_then(Value::as_bool).unwrap_or(false);
        let source_ref = spec
            .get("sourceRef")
            .ok_or_else(|| at("spec.sourceRef", "is required".into()))?;
        let source_kind = source_ref.get("kind").and_then(Value::as_str).unwrap_or("");
        if source_kind != "GitRepository" {
            return Err(at(
                "spec.sourceRef.kind",
                format!("is `{source_kind}`; shipway reads GitRepository sources"),
            ));
        }
        let source_name = source_ref.get("name").and_then(Value::as_str).unwrap_or("");
        let source_namespace = source_ref
            .get("namespace")
            .and_then(Value::as_str)
            .map_or_else(|| namespace.clone(), str::to_string);
        let (_, repo, repo_file) = self
            .repositories
            .iter()
            .find(|(key, _, _)| key.0 == source_namespace && key.1 == source_name)
            .ok_or_else(|| {
                at(
                    "spec.sourceRef",
                    format!("names GitRepository `{source_namespace}/{source_name}`, which is not defined"),
                )
            })?;
        let (url, revision) = repository(repo, repo_file)?;
        let sub_path = spec
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("./")
            .trim_start_matches("./")
            .to_string();
        let sub_path = PathBuf::from(sub_path);
        if sub_path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(at("spec.path", "must stay inside the repository".into()));
        }
        let target_namespace = spec
            .get("targetNamespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let depends_on = spec
            .get("dependsOn")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|d| {
                        (
                            d.get("namespace")
                                .and_then(Value::as_str)
                                .map_or_else(|| namespace.clone(), str::to_string),
                            d.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        // `spec.decryption`: only the sops provider exists in Flux; its keys come from the
        // `secretRef` Secret in the Kustomization's namespace.
        let decryption_secret = match spec.get("decryption") {
            None => None,
            Some(decryption) => {
                let provider = decryption
                    .get("provider")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if provider != "sops" {
                    return Err(at(
                        "spec.decryption.provider",
                        format!("is `{provider}`; must be `sops`"),
                    ));
                }
                decryption
                    .get("secretRef")
                    .and_then(|r| r.get("name"))
                    .and_then(Value::as_str)
                    .map(|n| (namespace.clone(), n.to_string()))
            }
        };
        let mut substitute = BTreeMap::new();
        let mut substitute_from = Vec::new();
        if let Some(post) = spec.get("postBuild") {
            if let Some(map) = post.get("substitute").and_then(Value::as_object) {
                for (key, value) in map {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    substitute.insert(key.clone(), text);
                }
            }
            for item in post
                .get("substituteFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let kind = item.get("kind").and_then(Value::as_str).unwrap_or("");
                if kind != "ConfigMap" && kind != "Secret" {
                    return Err(at(
                        "spec.postBuild.substituteFrom.kind",
                        format!("is `{kind}`; must be ConfigMap or Secret"),
                    ));
                }
                substitute_from.push((
                    kind.to_string(),
                    item.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    item.get("optional")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                ));
            }
        }
        let app = App {
            name: name.clone(),
            id_source: format!("flux:{namespace}/{name}"),
            source: Source::Git {
                url,
                revision,
                path: sub_path,
                recurse: false,
            },
            namespace: target_namespace.clone().or_else(|| Some(namespace.clone())),
            sync: SyncPolicy {
                automated: !flag("suspend"),
                prune: flag("prune"),
                // Flux corrects drift at every interval; shipway heals as soon as it sees it.
                self_heal: true,
                retry: Some(RetryPolicy {
                    limit: None,
                    backoff: retry_interval,
                    factor: 1,
                    max_backoff: retry_interval,
                }),
                ..SyncPolicy::default()
            },
            ignore_differences: Vec::new(),
            images: Vec::new(),
            destination: shipway_cluster::app::argo::Destination::default(),
            defined_in: file.to_path_buf(),
            decrypt: None,
            decryption_secret,
        };
        Ok(FluxApp {
            app,
            interval,
            suspend: flag("suspend"),
            target_namespace,
            timeout,
            depends_on,
            wait: flag("wait"),
            substitute,
            substitute_from,
            namespace,
        })
    }
}

/// A `GitRepository`'s URL and the revision its `ref` names.
fn repository(repo: &Value, file: &Path) -> Result<(String, String), String> {
    let name = name_of(repo);
    let at = |field: &str, message: &str| {
        format!(
            "{}: GitRepository `{name}`: `{field}` {message}",
            file.display()
        )
    };
    let spec = repo
        .get("spec")
        .and_then(Value::as_object)
        .ok_or_else(|| at("spec", "is required"))?;
    if let Some(unknown) = spec
        .keys()
        .find(|k| !REPOSITORY_FIELDS.contains(&k.as_str()))
    {
        let message = if unknown == "secretRef" {
            "is not read: shipway runs git with the user's own credentials (git config, \
             ssh agent, credential helpers)"
        } else {
            "is a Flux field shipway does not support"
        };
        return Err(at(&format!("spec.{unknown}"), message));
    }
    let url = spec
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| at("spec.url", "is required"))?
        .to_string();
    let reference = spec.get("ref");
    let field = |key: &str| {
        reference
            .and_then(|r| r.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if field("semver").is_some() {
        return Err(at(
            "spec.ref.semver",
            "is not supported; name a branch, tag or commit",
        ));
    }
    let revision = field("commit")
        .or_else(|| field("tag").map(|t| format!("refs/tags/{t}")))
        .or_else(|| field("name"))
        .or_else(|| field("branch").map(|b| format!("refs/heads/{b}")))
        .unwrap_or_else(|| "HEAD".to_string());
    Ok((url, revision))
}

fn name_of(doc: &Value) -> String {
    doc.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn namespace_of(doc: &Value) -> String {
    doc.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("flux-system")
        .to_string()
}

/// Flux's post-build substitution over every string in `object` (as rendered, before the
/// check gate sees it), unless the object opts out with
/// `kustomize.toolkit.fluxcd.io/substitute: disabled`. A string that was one variable and
/// nothing else is read back as YAML would read it (so `replicas: ${REPLICAS}` becomes a
/// number, as Flux's re-parse of the substituted text makes it).
pub fn substitute(object: &mut Node, vars: &BTreeMap<String, String>) {
    let disabled = object.str_at(&[
        "metadata",
        "annotations",
        "kustomize.toolkit.fluxcd.io/substitute",
    ]) == Some("disabled");
    if !disabled {
        walk(object, vars);
    }
}

fn walk(node: &mut Node, vars: &BTreeMap<String, String>) {
    match &mut node.value {
        NodeValue::Str(text) if text.contains('$') => {
            let whole = is_one_variable(text);
            let replaced = expand(text, vars);
            node.value = if whole {
                scalar(&replaced)
            } else {
                NodeValue::Str(replaced)
            };
        }
        NodeValue::Seq(items) => items.iter_mut().for_each(|v| walk(v, vars)),
        NodeValue::Map(map) => map
            .entries
            .iter_mut()
            .for_each(|e| walk(&mut e.value, vars)),
        _ => {}
    }
}

fn is_one_variable(text: &str) -> bool {
    text.starts_with("${") && text.ends_with('}') && text[2..].find('}') == Some(text.len() - 3)
}

/// A substituted whole value as YAML reads a plain scalar: integers, floats and booleans.
fn scalar(text: &str) -> NodeValue {
    if let Ok(n) = text.parse::<i64>() {
        return NodeValue::Int(n);
    }
    match text {
        "true" => NodeValue::Bool(true),
        "false" => NodeValue::Bool(false),
        _ => match text.parse::<f64>() {
            Ok(f) if f.is_finite() && text.contains('.') => NodeValue::Float(f),
            _ => NodeValue::Str(text.to_string()),
        },
    }
}

/// Expands `${name}`, `${name:=default}`, `${name:-default}`, `${name=default}`,
/// `${name-default}`; `$${…}` is a literal `${…}`. An unset variable without a default
/// becomes empty, as Flux's non-strict mode does.
pub fn expand(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("$${") {
            out.push('$');
            rest = &tail[2..];
            // Copy the `{…}` verbatim.
            if let Some(end) = rest.find('}') {
                out.push_str(&rest[..=end]);
                rest = &rest[end + 1..];
            } else {
                out.push_str(rest);
                rest = "";
            }
            continue;
        }
        if !tail.starts_with("${") {
            out.push('$');
            rest = &tail[1..];
            continue;
        }
        let Some(end) = tail.find('}') else {
            out.push_str(tail);
            rest = "";
            break;
        };
        let inner = &tail[2..end];
        let name_len = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        let (name, op) = inner.split_at(name_len);
        let set = vars.get(name).map(String::as_str);
        let value = match op {
            "" => set.unwrap_or("").to_string(),
            _ if op.starts_with(":=") || op.starts_with(":-") => set
                .filter(|v| !v.is_empty())
                .map_or_else(|| op[2..].to_string(), str::to_string),
            _ if op.starts_with('=') || op.starts_with('-') => {
                set.map_or_else(|| op[1..].to_string(), str::to_string)
            }
            // Not a form Flux substitutes: left as written.
            _ => tail[..=end].to_string(),
        };
        out.push_str(&value);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> BTreeMap<String, String> {
        [("cluster_env", "prod"), ("replicas", "3"), ("empty", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expands_flux_forms() {
        let v = vars();
        assert_eq!(expand("web-${cluster_env}", &v), "web-prod");
        assert_eq!(expand("${missing:=dev}", &v), "dev");
        assert_eq!(expand("${empty:-fallback}", &v), "fallback");
        assert_eq!(expand("${empty=fallback}", &v), "");
        assert_eq!(expand("${missing}", &v), "");
        assert_eq!(expand("$${cluster_env}", &v), "${cluster_env}");
        assert_eq!(expand("cost $5", &v), "cost $5");
        assert_eq!(expand("${unterminated", &v), "${unterminated");
    }

    #[test]
    fn whole_variables_become_yaml_scalars_and_opt_out_is_honoured() {
        let mut object = shipway_model::yaml::parse_one(
            "metadata: {name: 'web-${cluster_env}'}\nspec: {replicas: '${replicas}', paused: '${missing:=false}', image: 'x:${replicas}'}\n",
        )
        .unwrap();
        substitute(&mut object, &vars());
        let object = object.to_json();
        assert_eq!(object["metadata"]["name"], "web-prod");
        assert_eq!(object["spec"]["replicas"], 3);
        assert_eq!(object["spec"]["paused"], false);
        assert_eq!(object["spec"]["image"], "x:3");
        let mut off = shipway_model::yaml::parse_one(
            "metadata: {annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}}\na: '${replicas}'\n",
        )
        .unwrap();
        substitute(&mut off, &vars());
        assert_eq!(off.to_json()["a"], "${replicas}");
    }

    #[test]
    fn decryption_names_the_secret_ref_and_only_the_sops_provider_is_accepted() {
        let mut objects = FluxObjects::default();
        let file = Path::new("flux.yaml");
        objects.take(
            &json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "repo", "namespace": "flux-system"},
                "spec": {"url": "/srv/git/app.git", "interval": "1m", "ref": {"branch": "main"}}}),
            file,
        );
        for (name, provider) in [("web", "sops"), ("bad", "vault")] {
            objects.take(
                &json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                    "metadata": {"name": name, "namespace": "flux-system"},
                    "spec": {"interval": "5m", "path": "./deploy",
                        "sourceRef": {"kind": "GitRepository", "name": "repo"},
                        "decryption": {"provider": provider, "secretRef": {"name": "sops-age"}}}}),
                file,
            );
        }
        let apps = objects.apps();
        let web = apps.iter().flatten().find(|a| a.app.name == "web").unwrap();
        assert_eq!(
            web.app.decryption_secret,
            Some(("flux-system".to_string(), "sops-age".to_string()))
        );
        let refused: Vec<String> = apps
            .iter()
            .filter_map(|a| a.as_ref().err())
            .map(ToString::to_string)
            .collect();
        assert!(
            refused
                .iter()
                .any(|e| e.contains("spec.decryption.provider")),
            "{refused:?}"
        );
    }

    #[test]
    fn kustomizations_pair_with_their_git_repository_and_refuse_unknown_fields() {
        let mut objects = FluxObjects::default();
        let file = Path::new("flux.yaml");
        objects.take(
            &json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "repo", "namespace": "flux-system"},
                "spec": {"url": "/srv/git/app.git", "interval": "1m", "ref": {"branch": "main"}}}),
            file,
        );
        objects.take(
            &json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "web", "namespace": "flux-system"},
                "spec": {"interval": "5m", "path": "./deploy", "prune": true, "targetNamespace": "shop",
                    "sourceRef": {"kind": "GitRepository", "name": "repo"},
                    "postBuild": {"substitute": {"env": "prod"}}}}),
            file,
        );
        objects.take(
            &json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "bad", "namespace": "flux-system"},
                "spec": {"interval": "5m", "sourceRef": {"kind": "GitRepository", "name": "repo"}, "healthChecks": []}}),
            file,
        );
        let apps = objects.apps();
        let web = apps[0].as_ref().unwrap();
        assert_eq!(web.app.name, "web");
        assert!(web.app.sync.prune && web.app.sync.automated);
        assert_eq!(web.target_namespace.as_deref(), Some("shop"));
        assert_eq!(web.interval, Duration::from_secs(300));
        assert_eq!(web.substitute["env"], "prod");
        match &web.app.source {
            Source::Git {
                url,
                revision,
                path,
                ..
            } => {
                assert_eq!(url, "/srv/git/app.git");
                assert_eq!(revision, "refs/heads/main");
                assert_eq!(path, Path::new("deploy"));
            }
            Source::Local { .. } => panic!("a Flux app's source is git"),
        }
        let bad = apps[1].as_ref().unwrap_err();
        assert!(
            bad.contains("flux.yaml") && bad.contains("spec.healthChecks"),
            "{bad}"
        );
    }
}
