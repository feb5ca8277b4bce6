//! The thin layer over kube-rs: find an object's resource type, and get, list, apply
//! (server-side, optionally as a dry run), create and delete objects as JSON values.
//!
//! Everything above this module works on `serde_json::Value` objects and [`Key`]s; this
//! module is the only one that knows about `DynamicObject`, discovery and kube errors, and
//! it classifies those errors ([`Failure`]) so the engine can decide what is a conflict, an
//! immutable field, a missing kind or a transient fault worth retrying.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::Value;

/// The field manager shipway applies with.
pub const FIELD_MANAGER: &str = "shipway";

/// A boxed, `Send` future: what concurrent per-object work is buffered as, so that the
/// futures of a spawned task pass rustc's higher-ranked `Send` check.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where an object lives: group, version, kind, namespace (`""` when cluster-scoped) and
/// name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace, `""` for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl Key {
    /// The key of an object (its `apiVersion`, `kind`, `metadata.namespace` and `name`).
    pub fn of(object: &Value) -> Key {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let api_version = text("/apiVersion");
        let (group, version) = match api_version.split_once('/') {
            Some((group, version)) => (group.to_owned(), version.to_owned()),
            None => (String::new(), api_version),
        };
        Key {
            group,
            version,
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
        }
    }

    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The JSON form plans print: `{"apiVersion","kind","namespace"?,"name"}`.
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::json!({
            "apiVersion": self.api_version(),
            "kind": self.kind,
            "name": self.name,
        });
        if !self.namespace.is_empty() {
            value["namespace"] = self.namespace.clone().into();
        }
        value
    }
}

impl fmt::Display for Key {
    /// `Deployment platform/web`, `Namespace platform`: how kubectl users name objects.
    /// Names come from rendered input before any server validated them, so control
    /// characters are escaped: a name cannot rewrite the terminal or forge a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use shipway_model::text::escape_control as escape;
        if self.namespace.is_empty() {
            write!(f, "{} {}", escape(&self.kind), escape(&self.name))
        } else {
            write!(
                f,
                "{} {}/{}",
                escape(&self.kind),
                escape(&self.namespace),
                escape(&self.name)
            )
        }
    }
}

/// Why a call failed, in the terms the engine decides on.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The kind is not served (no CRD yet, or a typo).
    #[error(
        "{0}: the cluster does not serve this kind (is its CustomResourceDefinition installed?)"
    )]
    UnknownKind(String),
    /// 409 from server-side apply: fields owned by another manager.
    #[error("{0}")]
    Conflict(String),
    /// 409 from a resourceVersion precondition: the object moved.
    #[error("{0}")]
    Moved(String),
    /// 422 on an update because an immutable field would change.
    #[error("{0}")]
    Immutable(String),
    /// 400/422 and other refusals that retrying cannot fix.
    #[error("{0}")]
    Rejected(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 429, 5xx, connection errors: worth retrying (after `retry_after` when the server said).
    #[error("{message}")]
    Transient {
        /// What happened.
        message: String,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
}

impl Failure {
    /// Whether retrying the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Failure::Transient { .. })
    }

    fn from_kube(error: kube::Error) -> Failure {
        match error {
            kube::Error::Api(status) => {
                let message = status.message.clone();
                let retry_after = status
                    .details
                    .as_ref()
                    .map(|d| d.retry_after_seconds)
                    .filter(|s| *s > 0)
                    .map(|s| Duration::from_secs(u64::from(s)));
                match (status.code, status.reason.as_str()) {
                    (409, _) if is_field_conflict(&status) => Failure::Conflict(message),
                    (409, "Conflict") => Failure::Moved(message),
                    (403 | 422, _) if is_immutable(&message) => Failure::Immutable(message),
                    (404, _) => Failure::NotFound(message),
                    (429 | 500..=599, _) => Failure::Transient {
                        message: format!("{} ({})", message, status.code),
                        retry_after,
                    },
                    _ => Failure::Rejected(message),
                }
            }
            other => Failure::Transient {
                message: unreachable_message(&other).unwrap_or_else(|| other.to_string()),
                retry_after: None,
            },
        }
    }
}

/// "cannot reach the cluster (connection refused)" for an error that never reached the
/// server — not kube's `ServiceError: client error (Connect)`; `None` for other errors.
pub fn unreachable_message(error: &kube::Error) -> Option<String> {
    unreachable_reason(error).map(|reason| format!("cannot reach the cluster ({reason})"))
}

/// Why a request never reached the server ("connection refused", "dns error: …"), from
/// the innermost cause; `None` when the server answered.
pub fn unreachable_reason(error: &kube::Error) -> Option<String> {
    matches!(
        error,
        kube::Error::Service(_) | kube::Error::HyperError(_) | kube::Error::HttpError(_)
    )
    .then(|| shipway_http::root_cause(error))
}

fn is_field_conflict(status: &kube::core::Status) -> bool {
    status.details.as_ref().is_some_and(|details| {
        details
            .causes
            .iter()
            .any(|cause| cause.reason == "FieldManagerConflict")
    }) || status.message.starts_with("Apply failed with")
}

/// The texts real servers use for changes only a delete-and-recreate can make.
fn is_immutable(message: &str) -> bool {
    message.contains("field is immutable")
        || message.contains("may not change once set")
        || message.contains("updates to statefulset spec for fields other than")
        || message.contains("spec is immutable after creation")
        || message.contains("cannot change roleRef")
}

/// The one retry policy: calls the server failed transiently (429, 5xx, dropped
/// connections) are retried here, per call, and nowhere else (5 s doubling up to 3 min, 5
/// attempts, unless the app's Argo CD `retry` says otherwise), never past the deadline the
/// engine sets ([`Cluster::scoped`]).
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Attempts after the first; `None` for unlimited (still bounded by the deadline).
    pub limit: Option<u32>,
    /// The first pause.
    pub duration: Duration,
    /// Each pause is the previous times this.
    pub factor: u32,
    /// The longest pause.
    pub max_duration: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            limit: Some(5),
            duration: Duration::from_secs(5),
            factor: 2,
            max_duration: Duration::from_secs(180),
        }
    }
}

/// The longest timeout honoured: a longer one (`--timeout 99999999h`) means "no
/// timeout" and must not overflow an `Instant`.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `now + timeout`, overflow-safe (capped at [`MAX_TIMEOUT`]).
pub fn deadline_after(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout.min(MAX_TIMEOUT)).unwrap_or(now)
}

/// Runs `call` and retries it while it fails transiently, per `backoff`, giving up with the
/// last failure when the next pause would end after `deadline`.
pub async fn with_retry<T, F, Fut>(
    backoff: &Backoff,
    deadline: Option<tokio::time::Instant>,
    mut call: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let mut pause = backoff.duration;
    let mut attempt: u32 = 0;
    loop {
        match call().await {
            Err(failure)
                if failure.is_transient() && backoff.limit.is_none_or(|limit| attempt < limit) =>
            {
                let wait = match &failure {
                    Failure::Transient {
                        retry_after: Some(after),
                        ..
                    } => *after,
                    _ => pause,
                };
                if deadline.is_some_and(|deadline| {
                    tokio::time::Instant::now()
                        .checked_add(wait)
                        .is_none_or(|resume| resume > deadline)
                }) {
                    return Err(failure);
                }
                attempt = attempt.saturating_add(1);
                tokio::time::sleep(wait).await;
                pause = pause
                    .saturating_mul(backoff.factor.max(1))
                    .min(backoff.max_duration);
            }
            other => return other,
        }
    }
}

/// The resource types found so far, by (group, version, kind).
type ResourceCache = HashMap<(String, String, String), (ApiResource, ApiCapabilities)>;

/// One cluster: a kube client, a default namespace, the resource types found so far (shared
/// by its [`Cluster::scoped`] copies) and the retry policy with its deadline.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    default_namespace: String,
    resources: Arc<Mutex<ResourceCache>>,
    backoff: Backoff,
    deadline: Option<tokio::time::Instant>,
}

impl Cluster {
    /// A cluster reached through `client`; `default_namespace` is the kubeconfig context's.
    pub fn new(client: kube::Client, default_namespace: &str) -> Cluster {
        Cluster {
            client,
            default_namespace: default_namespace.to_owned(),
            resources: Arc::new(Mutex::new(HashMap::new())),
            backoff: Backoff::default(),
            deadline: None,
        }
    }

    /// This cluster retrying with `backoff` and never past `deadline`: what the engine
    /// uses for one app's plan or sync, so the app's retry policy is the only one applied
    /// and `--timeout` bounds it.
    #[must_use]
    pub fn scoped(&self, backoff: &Backoff, deadline: tokio::time::Instant) -> Cluster {
        Cluster {
            backoff: backoff.clone(),
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// Retries transient failures (429, 5xx, dropped connections) of every call with
    /// `backoff` (Argo CD's defaults otherwise).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Cluster {
        self.backoff = backoff;
        self
    }

    /// The kube client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The kubeconfig context's namespace.
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// The resource type of `key`'s kind, asking the server once per group-version and
    /// again after a miss (a CRD may just have been established).
    pub async fn resource(&self, key: &Key) -> Result<(ApiResource, bool), Failure> {
        let cache_key = (key.group.clone(), key.version.clone(), key.kind.clone());
        if let Some((resource, capabilities)) = self.lock_resources().get(&cache_key) {
            return Ok((resource.clone(), capabilities.scope == Scope::Namespaced));
        }
        let gvk = GroupVersionKind::gvk(&key.group, &key.version, &key.kind);
        match kube::discovery::pinned_kind(&self.client, &gvk).await {
            Ok((resource, capabilities)) => {
                let namespaced = capabilities.scope == Scope::Namespaced;
                self.lock_resources()
                    .insert(cache_key, (resource.clone(), capabilities));
                Ok((resource, namespaced))
            }
            Err(kube::Error::Api(status)) if status.code == 404 => Err(Failure::UnknownKind(
                format!("{} {}", key.api_version(), key.kind),
            )),
            Err(kube::Error::Discovery(_)) => Err(Failure::UnknownKind(format!(
                "{} {}",
                key.api_version(),
                key.kind
            ))),
            Err(other) => Err(Failure::from_kube(other)),
        }
    }

    /// Forgets the resource types found so far (after CRDs change what is served).
    pub fn forget_resources(&self) {
        self.lock_resources().clear();
    }

    fn lock_resources(&self) -> std::sync::MutexGuard<'_, ResourceCache> {
        self.resources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn api(&self, key: &Key) -> Result<Api<DynamicObject>, Failure> {
        let (resource, namespaced) = self.resource(key).await?;
        Ok(if namespaced {
            let namespace = if key.namespace.is_empty() {
                self.default_namespace.as_str()
            } else {
                key.namespace.as_str()
            };
            Api::namespaced_with(self.client.clone(), namespace, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        })
    }

    /// Whether `key`'s kind is namespaced.
    pub async fn is_namespaced(&self, key: &Key) -> Result<bool, Failure> {
        Ok(self.resource(key).await?.1)
    }

    /// The live object, `None` when it does not exist.
    pub async fn get(&self, key: &Key) -> Result<Option<Value>, Failure> {
        let api = self.api(key).await?;
        with_retry(&self.backoff, self.deadline, || async {
            match api.get_opt(&key.name).await {
                Ok(found) => Ok(found.map(to_value)),
                Err(error) => Err(Failure::from_kube(error)),
            }
        })
        .await
    }

    /// Every object of `key`'s kind in `key.namespace` (all namespaces when it is empty and
    /// the kind is namespaced) that matches `label_selector`.
    pub async fn list(&self, key: &Key, label_selector: &str) -> Result<Vec<Value>, Failure> {
        let (resource, namespaced) = self.resource(key).await?;
        let api: Api<DynamicObject> = if namespaced && !key.namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), &key.namespace, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        };
        let mut params = ListParams::default();
        if !label_selector.is_empty() {
            params = params.labels(label_selector);
        }
        let answer = with_retry(&self.backoff, self.deadline, || async {
            api.list(&params).await.map_err(Failure::from_kube)
        })
        .await;
        match answer {
            Ok(list) => Ok(list
                .items
                .into_iter()
                .map(|mut item| {
                    // List items come without type meta; restore it for the callers.
                    item.types = Some(kube::core::TypeMeta {
                        api_version: resource.api_version.clone(),
                        kind: resource.kind.clone(),
                    });
                    to_value(item)
                })
                .collect()),
            Err(failure) => Err(failure),
        }
    }

    /// Server-side apply of `object` as [`FIELD_MANAGER`].
    pub async fn apply(
        &self,
        object: &Value,
        force: bool,
        dry_run: bool,
    ) -> Result<Value, Failure> {
        let key = Key::of(object);
        let api = self.api(&key).await?;
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = force;
        params.dry_run = dry_run;
        // Without a resourceVersion an apply is idempotent, so a 409 that is not a field
        // conflict (a write raced it) is retried like a transient failure.
        let unconditional = object.pointer("/metadata/resourceVersion").is_none();
        with_retry(&self.backoff, self.deadline, || async {
            match api.patch(&key.name, &params, &Patch::Apply(object)).await {
                Ok(applied) => Ok(to_value(applied)),
                Err(error) => match Failure::from_kube(error) {
                    Failure::Moved(message) if unconditional => Err(Failure::Transient {
                        message,
                        retry_after: None,
                    }),
                    other => Err(other),
                },
            }
        })
        .await
    }

    /// Creates `object` (POST): for hooks with `generateName`.
    pub async fn create(&self, object: &Value) -> Result<Value, Failure> {
        let key = Key::of(object);
        let api = self.api(&key).await?;
        let dynamic: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|error| Failure::Rejected(format!("{key}: {error}")))?;
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        with_retry(&self.backoff, self.deadline, || async {
            api.create(&params, &dynamic)
                .await
                .map(to_value)
                .map_err(Failure::from_kube)
        })
        .await
    }

    /// Deletes an object with the given propagation (`None`: the server's default) and,
    /// when `resource_version` is given, that precondition. A missing object is not an
    /// error.
    pub async fn delete(
        &self,
        key: &Key,
        foreground: bool,
        resource_version: Option<&str>,
    ) -> Result<(), Failure> {
        self.delete_checked(key, foreground, resource_version, None)
            .await
    }

    /// [`Cluster::delete`] with a `uid` precondition as well: the server refuses (409) when
    /// the object at that name is another one, so prune cannot delete a look-alike.
    pub async fn delete_checked(
        &self,
        key: &Key,
        foreground: bool,
        resource_version: Option<&str>,
        uid: Option<&str>,
    ) -> Result<(), Failure> {
        let propagation = if foreground {
            crate::app::Propagation::Foreground
        } else {
            crate::app::Propagation::Background
        };
        self.delete_with(key, propagation, resource_version, uid)
            .await
    }

    /// [`Cluster::delete_checked`] with any propagation policy, orphaning included.
    pub async fn delete_with(
        &self,
        key: &Key,
        propagation: crate::app::Propagation,
        resource_version: Option<&str>,
        uid: Option<&str>,
    ) -> Result<(), Failure> {
        let api = self.api(key).await?;
        let mut params = match propagation {
            crate::app::Propagation::Foreground => DeleteParams::foreground(),
            crate::app::Propagation::Background => DeleteParams::background(),
            crate::app::Propagation::Orphan => DeleteParams::orphan(),
        };
        if resource_version.is_some() || uid.is_some() {
            params.preconditions = Some(kube::api::Preconditions {
                resource_version: resource_version.map(str::to_owned),
                uid: uid.map(str::to_owned),
            });
        }
        with_retry(&self.backoff, self.deadline, || async {
            match api.delete(&key.name, &params).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                Err(error) => Err(Failure::from_kube(error)),
            }
        })
        .await
    }

    /// Every object of every listable kind the server serves, in all namespaces, that
    /// matches `label_selector`. Kinds the client may not list are skipped (what cannot be
    /// seen is not rebuilt into an inventory, so nothing more is pruned).
    pub async fn list_everywhere(&self, label_selector: &str) -> Result<Vec<Value>, Failure> {
        let discovery = kube::Discovery::new(self.client.clone())
            .run()
            .await
            .map_err(Failure::from_kube)?;
        let mut found = Vec::new();
        for group in discovery.groups() {
            for (resource, capabilities) in group.recommended_resources() {
                if !capabilities.supports_operation(kube::discovery::verbs::LIST) {
                    continue;
                }
                let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
                let params = ListParams::default().labels(label_selector);
                let list = match with_retry(&self.backoff, self.deadline, || async {
                    api.list(&params).await.map_err(Failure::from_kube)
                })
                .await
                {
                    Ok(list) => list,
                    Err(failure) if failure.is_transient() => return Err(failure),
                    Err(_) => continue,
                };
                for mut item in list.items {
                    item.types = Some(kube::core::TypeMeta {
                        api_version: resource.api_version.clone(),
                        kind: resource.kind.clone(),
                    });
                    found.push(to_value(item));
                }
            }
        }
        Ok(found)
    }

    /// Waits until `key` no longer exists, polling; `false` on timeout.
    pub async fn wait_deleted(&self, key: &Key, timeout: Duration) -> Result<bool, Failure> {
        let deadline = deadline_after(timeout);
        let mut pause = Duration::from_millis(50);
        loop {
            if self.get(key).await?.is_none() {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// A `DynamicObject` as the plain JSON object it was on the wire.
fn to_value(object: DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_objects_and_print_like_kubectl() {
        let key = Key::of(
            &serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}}),
        );
        assert_eq!(key.group, "apps");
        assert_eq!(key.to_string(), "Deployment shop/web");
        let hostile = Key::of(&serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a\u{1b}[2Jb\nerror: forged", "namespace": "shop"}}));
        let shown = hostile.to_string();
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\n'),
            "{shown}"
        );
        let namespace = Key::of(&serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "shop"}}));
        assert_eq!(namespace.api_version(), "v1");
        assert_eq!(namespace.to_string(), "Namespace shop");
    }

    #[test]
    fn immutable_messages_are_recognised() {
        assert!(is_immutable(
            "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{}: field is immutable"
        ));
        assert!(is_immutable(
            "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas'"
        ));
        assert!(!is_immutable("spec.replicas: Invalid value: -1"));
    }
}
