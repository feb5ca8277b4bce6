//! The app's inventory (what shipway applied, kept in the cluster) and the safe prune plan.
//!
//! Pruning is the most feared failure of a `GitOps` tool: a bad fetch or render that comes
//! back empty and a tool that then deletes everything it owns. Shipway therefore prunes only what its
//! own record says it applied — a labelled `ConfigMap` per app, `shipway-inventory-<app>-<hash>`
//! (named after the app's whole identity, [`AppId`]), listing every applied object's id,
//! uid and content hash — and only through [`prune_plan`], which refuses outright when the
//! render failed or is empty, deletes an object only when the live object carries this
//! app's tracking annotation and the uid recorded when shipway applied it (the inventory is
//! an ordinary `ConfigMap`: anyone who can edit it could otherwise name other people's
//! objects), refuses to delete more than a percentage of the app's live owned objects
//! without confirmation, and keeps Namespaces, volumes and CRDs (whose deletion destroys
//! data) unless the live object opts in. The plan is ordered
//! the way Argo CD prunes: reverse sync waves, reverse kind order, `PruneLast` at the end.
//! [`kind_order`] and [`sync_wave`] are the same orderings the sync engine applies in.
//!
//! Everything here is pure: the caller reads and writes the `ConfigMap` and the live
//! objects.

use std::cmp::Reverse;
use std::fmt;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::identity::{self, AppId, Tracking};

/// Label every object shipway manages for itself carries (the inventory `ConfigMap`).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "shipway";
/// Label naming the app an inventory belongs to ([`AppId::label`]). Not the objects' app
/// label: an inventory is not one of the app's objects.
pub const INVENTORY_LABEL: &str = "shipway.dev/inventory";
/// Data key of the inventory's entry list (a JSON array).
pub const OBJECTS_KEY: &str = "objects";
/// Data key holding the app's unique id ([`AppId::id`]); labels cannot hold every id.
pub const APP_KEY: &str = "app";
/// Data key holding the app's display name.
pub const NAME_KEY: &str = "name";
/// Per-object permission to prune a protected kind: `shipway.dev/prune: "true"`
/// (`"false"` keeps any object).
pub const PRUNE_ANNOTATION: &str = "shipway.dev/prune";
/// Shipway's own sync-wave annotation; it wins over Argo CD's when both are set.
pub const WAVE_ANNOTATION: &str = "shipway.dev/sync-wave";
/// Argo CD's sync-wave annotation, accepted as is.
pub const ARGO_WAVE_ANNOTATION: &str = "argocd.argoproj.io/sync-wave";
/// Argo CD's per-object sync options (`Prune=false`, `PruneLast=true`, …).
pub const ARGO_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";

/// Prefix of inventory `ConfigMap` names.
const NAME_PREFIX: &str = "shipway-inventory-";
/// Longest DNS label (the inventory name is kept to one so it is valid everywhere).
const DNS_LABEL_MAX: usize = 63;

/// What can be wrong with an inventory `ConfigMap`, an object, or a wave annotation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// The object read as an inventory is not a `ConfigMap`.
    #[error("inventory {configmap}: expected a ConfigMap, found {kind}")]
    NotAConfigMap {
        /// `namespace/name` of the object.
        configmap: String,
        /// Its kind.
        kind: String,
    },
    /// The `ConfigMap` has no `data.objects`.
    #[error(
        "inventory ConfigMap {configmap}: no data.{OBJECTS_KEY} key (not written by shipway, or edited)"
    )]
    MissingObjects {
        /// `namespace/name` of the `ConfigMap`.
        configmap: String,
    },
    /// `data.objects` is not a JSON array.
    #[error("inventory ConfigMap {configmap}: data.{OBJECTS_KEY} is corrupted: {reason}")]
    Corrupt {
        /// `namespace/name` of the `ConfigMap`.
        configmap: String,
        /// What the JSON parser said (with line and column).
        reason: String,
    },
    /// The `ConfigMap` records another app (two ids whose names hash alike, or an edit).
    #[error(
        "inventory ConfigMap {configmap} belongs to app `{found}`, not `{expected}`; refusing to use it"
    )]
    OtherApp {
        /// `namespace/name` of the `ConfigMap`.
        configmap: String,
        /// The id it records.
        found: String,
        /// The id of the app being synced.
        expected: String,
    },
    /// One entry of the list lacks a field or has a wrong type.
    #[error(
        "inventory ConfigMap {configmap}: entry {index} of data.{OBJECTS_KEY} is invalid: {reason}"
    )]
    BadEntry {
        /// `namespace/name` of the `ConfigMap`.
        configmap: String,
        /// Zero-based position in the list.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An object cannot be recorded (no `apiVersion`, `kind` or `metadata.name`).
    #[error("cannot record {object} in the inventory: {reason}")]
    InvalidObject {
        /// The object as far as it is known.
        object: String,
        /// What is missing.
        reason: String,
    },
    /// A sync-wave annotation that is not an integer.
    #[error("{object}: annotation {annotation}: \"{value}\" is not an integer sync wave")]
    BadWave {
        /// `Kind namespace/name` of the object.
        object: String,
        /// The annotation.
        annotation: &'static str,
        /// Its value.
        value: String,
    },
}

/// One object the app applied: its id and the hash of the manifest applied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// API group (`""` for the core group).
    pub group: String,
    /// API version the object was applied with (`v1`); not part of the identity.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace, `""` for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// [`content_hash`] of the manifest as rendered.
    pub hash: String,
    /// The live object's uid when shipway applied it (`""` when unknown: never pruned).
    pub uid: String,
}

impl Entry {
    /// The entry for a rendered object (namespace as given: the caller defaults it first).
    pub fn of(object: &Value) -> Result<Self, InventoryError> {
        let api_version = str_at(object, "/apiVersion");
        let kind = str_at(object, "/kind");
        let name = str_at(object, "/metadata/name");
        let missing = [
            ("apiVersion", api_version),
            ("kind", kind),
            ("metadata.name", name),
        ]
        .iter()
        .filter(|(_, value)| value.is_empty())
        .map(|(field, _)| *field)
        .collect::<Vec<_>>();
        if !missing.is_empty() {
            return Err(InventoryError::InvalidObject {
                object: describe(object),
                reason: format!("no {}", missing.join(", ")),
            });
        }
        let (group, version) = split_api_version(api_version);
        Ok(Self {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            namespace: str_at(object, "/metadata/namespace").to_owned(),
            name: name.to_owned(),
            hash: content_hash(object),
            uid: String::new(),
        })
    }

    /// Whether `self` and `other` name the same object. The version is left out: an object
    /// re-rendered under a newer API version is the same object, not one to prune.
    pub fn same_object(&self, other: &Self) -> bool {
        self.group == other.group
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }

    /// `group/version` as an `apiVersion` field spells it.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "group": self.group, "version": self.version, "kind": self.kind,
            "namespace": self.namespace, "name": self.name, "hash": self.hash,
            "uid": self.uid,
        })
    }
}

impl fmt::Display for Entry {
    /// `Kind namespace/name`, or `Kind name` when cluster-scoped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// An app's inventory: every object the last successful sync applied, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// The app it belongs to.
    pub app: AppId,
    /// The entries, sorted and without duplicate objects.
    pub entries: Vec<Entry>,
}

impl Inventory {
    /// An inventory of `entries` (sorted; a repeated object keeps its last entry).
    pub fn new(app: AppId, entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut unique: Vec<Entry> = Vec::new();
        for entry in entries {
            unique.retain(|seen| !seen.same_object(&entry));
            unique.push(entry);
        }
        unique.sort();
        Self {
            app,
            entries: unique,
        }
    }

    /// The inventory recording `rendered` (the objects just applied).
    pub fn from_rendered(app: AppId, rendered: &[Value]) -> Result<Self, InventoryError> {
        let entries = rendered
            .iter()
            .map(Entry::of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(app, entries))
    }

    /// The name of the `ConfigMap` holding the inventory of `app`.
    pub fn configmap_name(app: &AppId) -> String {
        configmap_name(app)
    }

    /// The `ConfigMap` to apply in `namespace`.
    pub fn to_configmap(&self, namespace: &str) -> Value {
        let list: Vec<Value> = self.entries.iter().map(Entry::to_json).collect();
        // One entry per line keeps `kubectl get -o yaml` readable and diffs small.
        let mut objects = String::from("[\n");
        for (index, entry) in list.iter().enumerate() {
            objects.push_str(&entry.to_string());
            objects.push_str(if index + 1 == list.len() { "\n" } else { ",\n" });
        }
        objects.push(']');
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": configmap_name(&self.app),
                "namespace": namespace,
                "labels": {
                    MANAGED_BY_LABEL: MANAGED_BY,
                    INVENTORY_LABEL: self.app.label(),
                },
            },
            "data": {
                APP_KEY: self.app.id,
                NAME_KEY: self.app.name,
                OBJECTS_KEY: objects,
            },
        })
    }

    /// Reads the inventory of `expected` back from its `ConfigMap`; errors name the
    /// `ConfigMap`, and one that records another app is an error, never merged.
    pub fn from_configmap(configmap: &Value, expected: &AppId) -> Result<Self, InventoryError> {
        let id = format!(
            "{}/{}",
            str_at(configmap, "/metadata/namespace"),
            str_at(configmap, "/metadata/name")
        );
        let kind = str_at(configmap, "/kind");
        if kind != "ConfigMap" {
            return Err(InventoryError::NotAConfigMap {
                configmap: id,
                kind: if kind.is_empty() {
                    "no kind".into()
                } else {
                    kind.into()
                },
            });
        }
        let Some(text) = configmap
            .pointer(&format!("/data/{OBJECTS_KEY}"))
            .and_then(Value::as_str)
        else {
            return Err(InventoryError::MissingObjects { configmap: id });
        };
        let list: Vec<Value> =
            serde_json::from_str(text).map_err(|error| InventoryError::Corrupt {
                configmap: id.clone(),
                reason: error.to_string(),
            })?;
        let mut entries = Vec::with_capacity(list.len());
        for (index, item) in list.iter().enumerate() {
            let field = |name: &str, required: bool| -> Result<String, InventoryError> {
                match item.get(name) {
                    Some(Value::String(text)) if !(required && text.is_empty()) => Ok(text.clone()),
                    Some(Value::String(_)) => Err(format!("\"{name}\" is empty")),
                    Some(_) => Err(format!("\"{name}\" is not a string")),
                    None => Err(format!("no \"{name}\"")),
                }
                .map_err(|reason| InventoryError::BadEntry {
                    configmap: id.clone(),
                    index,
                    reason,
                })
            };
            entries.push(Entry {
                group: field("group", false)?,
                version: field("version", true)?,
                kind: field("kind", true)?,
                namespace: field("namespace", false)?,
                name: field("name", true)?,
                hash: field("hash", false)?,
                // Written by every shipway that records uids; older entries have none.
                uid: match item.get("uid") {
                    None => String::new(),
                    Some(_) => field("uid", false)?,
                },
            });
        }
        let found = str_at(configmap, &format!("/data/{APP_KEY}"));
        if found != expected.id {
            return Err(InventoryError::OtherApp {
                configmap: id,
                found: found.to_owned(),
                expected: expected.id.clone(),
            });
        }
        Ok(Self::new(expected.clone(), entries))
    }
}

/// `shipway-inventory-<name>-<hash>`, a DNS label: the app's label value (its name, then a
/// hash of its whole id, so `teamA/web` and `teamB/web` never share an inventory), cut to
/// fit 63 characters.
fn configmap_name(app: &AppId) -> String {
    let hash = app.short_hash();
    let mut clean = String::new();
    for c in app.name.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (clean.is_empty() || clean.ends_with('-'))) {
            clean.push(c);
        }
    }
    clean.truncate(DNS_LABEL_MAX - NAME_PREFIX.len() - hash.len() - 1);
    while clean.ends_with('-') {
        clean.pop();
    }
    if clean.is_empty() {
        format!("{NAME_PREFIX}{hash}")
    } else {
        format!("{NAME_PREFIX}{clean}-{hash}")
    }
}

/// The first 16 hex digits of the SHA-256 of `object`'s canonical JSON (keys sorted at
/// every level, no whitespace), so the same manifest hashes alike however its keys were
/// ordered.
///
/// A Secret's `data` and `stringData` values are left out (their keys stay): the
/// inventory is readable by anyone who can read `ConfigMap`s, and an unsalted hash over a
/// value lets a guess be confirmed offline. Nothing is lost: the plan's unchanged fast path
/// also requires every manifest value to be live, so a changed Secret value is still seen.
pub fn content_hash(object: &Value) -> String {
    let mut text = String::new();
    if is_secret(object) {
        let mut copy = object.clone();
        for field in ["data", "stringData"] {
            if let Some(map) = copy.get_mut(field).and_then(Value::as_object_mut) {
                for value in map.values_mut() {
                    *value = Value::Null;
                }
            }
        }
        write_canonical(&copy, &mut text);
    } else {
        write_canonical(object, &mut text);
    }
    identity::hex(&Sha256::digest(text.as_bytes()))[..16].to_owned()
}

/// Whether `object` is a core `Secret`.
pub fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// `object`'s canonical JSON: keys sorted at every level, no whitespace.
pub fn canonical_json(object: &Value) -> String {
    let mut text = String::new();
    write_canonical(object, &mut text);
    text
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push(':');
                write_canonical(&map[*key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The string at `pointer`, or `""`.
fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// (`group`, `version`) of an `apiVersion` (`v1` is the core group).
fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// `Kind namespace/name` of an object, for messages.
fn describe(object: &Value) -> String {
    let kind = match str_at(object, "/kind") {
        "" => "object",
        kind => kind,
    };
    let name = match str_at(object, "/metadata/name") {
        "" => "<unnamed>",
        name => name,
    };
    match str_at(object, "/metadata/namespace") {
        "" => format!("{kind} {name}"),
        namespace => format!("{kind} {namespace}/{name}"),
    }
}

/// An annotation of `object`, if set.
fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// The value of option `key` in the object's `argocd.argoproj.io/sync-options`
/// (comma-separated `Key=Value` pairs).
fn argo_sync_option<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    annotation(object, ARGO_SYNC_OPTIONS)?
        .split(',')
        .filter_map(|option| option.trim().split_once('='))
        .find(|(name, _)| name.trim() == key)
        .map(|(_, value)| value.trim())
}

/// Kinds in the order Argo CD applies them (gitops-engine's `kindOrder`).
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Where `kind` goes in apply order: as in gitops-engine, known kinds get negative numbers
/// in [`KIND_ORDER`] order and every other kind (custom resources) 0, after all of them.
/// Apply sorts ascending; prune uses the reverse.
pub fn kind_order(kind: &str) -> i32 {
    KIND_ORDER
        .iter()
        .position(|known| *known == kind)
        .map_or(0, |index| index as i32 - KIND_ORDER.len() as i32)
}

/// The object's sync wave: `shipway.dev/sync-wave`, else `argocd.argoproj.io/sync-wave`,
/// else 0. A value that is not an integer is an error naming the object, not a silent 0:
/// a typo would otherwise reorder the sync.
pub fn sync_wave(object: &Value) -> Result<i64, InventoryError> {
    for key in [WAVE_ANNOTATION, ARGO_WAVE_ANNOTATION] {
        if let Some(value) = annotation(object, key) {
            return value
                .trim()
                .parse::<i64>()
                .map_err(|_| InventoryError::BadWave {
                    object: describe(object),
                    annotation: key,
                    value: value.to_owned(),
                });
        }
    }
    Ok(0)
}

/// Whether the object has `PruneLast=true` in its Argo CD sync options.
pub fn prune_last(object: &Value) -> bool {
    argo_sync_option(object, "PruneLast") == Some("true")
}

/// Kinds whose deletion destroys data or other apps' objects, pruned only with explicit
/// per-object permission.
pub fn is_protected_kind(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "",
            "Namespace" | "PersistentVolumeClaim" | "PersistentVolume"
        ) | ("apiextensions.k8s.io", "CustomResourceDefinition")
    )
}

/// How a prune behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneOptions {
    /// Refuse to delete more than this percentage of the inventory without `confirm`
    /// (`--max-prune`, default 20).
    pub max_prune_percent: u32,
    /// `--confirm-prune`: lifts the percentage limit and confirms `Prune=confirm` objects.
    pub confirm: bool,
    /// Whether fetch, render and check all succeeded. False (the default, so that a caller
    /// must assert success) refuses every prune.
    pub render_ok: bool,
    /// The app's `PruneLast` sync option: every pruned object goes after the sync.
    pub prune_last: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        Self {
            max_prune_percent: 20,
            confirm: false,
            render_ok: false,
            prune_last: false,
        }
    }
}

/// Why a prune was refused as a whole: nothing is deleted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PruneRefusal {
    /// Fetch, render or check failed.
    #[error(
        "refusing to prune: fetch, render or check failed, so what the app should contain is unknown"
    )]
    RenderFailed,
    /// The render produced no objects, which would prune the whole app.
    #[error(
        "refusing to prune: the render is empty ({inventory} objects in the inventory would all be deleted)"
    )]
    EmptyRender {
        /// How many objects the inventory lists.
        inventory: usize,
    },
    /// Too large a share of the app's live objects would go.
    #[error(
        "refusing to prune {count} of the app's {inventory} live objects ({percent}%, more than the {max}% limit): pass --confirm-prune to delete them, or --max-prune to raise the limit"
    )]
    TooMany {
        /// Objects that would be deleted.
        count: usize,
        /// Live objects the app owns (inventory entries whose live object exists and
        /// carries the app's identity), rendered or not.
        inventory: usize,
        /// `count` as a percentage of `inventory`, rounded up.
        percent: usize,
        /// The limit.
        max: u32,
    },
    /// A live object's sync-wave annotation is not an integer.
    #[error("refusing to prune: {0}")]
    Invalid(InventoryError),
}

/// Why an object that is no longer rendered is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepReason {
    /// The live object is not this app's: no tracking annotation naming the app, or not
    /// the uid recorded when shipway applied it. It is dropped from the inventory.
    NotOwned {
        /// The app's display name.
        app: String,
        /// What the live object shows instead.
        why: String,
    },
    /// A Namespace, PVC, PV or CRD without `shipway.dev/prune: "true"` (or Argo CD's
    /// `Prune=true`) on the live object.
    ProtectedKind,
    /// The live object says `Prune=false` or `shipway.dev/prune: "false"`.
    PruneDisabled,
    /// The live object says `Prune=confirm` and the prune was not confirmed.
    NeedsConfirmation,
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotOwned { app, why } => {
                return write!(f, "not pruned: not applied by app `{app}` ({why})");
            }
            Self::ProtectedKind => {
                "deleting it would destroy data; annotate it shipway.dev/prune: \"true\" to allow pruning"
            }
            Self::PruneDisabled => "pruning is disabled on the object",
            Self::NeedsConfirmation => {
                "the object asks for confirmation (Prune=confirm): pass --confirm-prune"
            }
        })
    }
}

/// An object the plan deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneItem {
    /// The inventory entry.
    pub entry: Entry,
    /// The live object's sync wave.
    pub wave: i64,
    /// Whether it is pruned after the sync (`PruneLast`, per object or for the app).
    pub last: bool,
}

/// An object no longer rendered that the plan keeps, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The inventory entry.
    pub entry: Entry,
    /// Why it stays.
    pub reason: KeepReason,
}

/// What a prune does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrunePlan {
    /// Objects to delete, in order: later waves first, then reverse kind order, objects
    /// marked `PruneLast` at the very end.
    pub to_delete: Vec<PruneItem>,
    /// Objects left in place (they stay in the inventory, so a later permission prunes
    /// them).
    pub kept: Vec<Kept>,
    /// Inventory entries already gone from the cluster: nothing to delete, drop them.
    pub gone: Vec<Entry>,
}

/// Why `live` (the object `entry` names) is not `app`'s to delete, or `None` when it is:
/// it must carry the app's tracking annotation for itself and the uid recorded when
/// shipway applied it.
pub fn not_owned(app: &AppId, entry: &Entry, live: &Value) -> Option<String> {
    match identity::tracking_of(live) {
        Tracking::Untracked => {
            return Some(format!(
                "it has no `{}` annotation",
                identity::TRACKING_ANNOTATION
            ));
        }
        Tracking::Foreign(_) => {
            return Some("its tracking annotation names another object".to_owned());
        }
        Tracking::App(id) if id != app.id => {
            return Some(format!("it is tracked by app `{id}`"));
        }
        Tracking::App(_) => {}
    }
    let uid = str_at(live, "/metadata/uid");
    if entry.uid.is_empty() {
        return Some("the inventory records no uid for it".to_owned());
    }
    if uid != entry.uid {
        return Some(format!(
            "its uid `{uid}` is not the one recorded when shipway applied it (`{}`)",
            entry.uid
        ));
    }
    None
}

/// Decides what to prune: the inventory entries that `rendered` no longer contains.
///
/// `live` gives the live object of an entry (`None` when it no longer exists), rendered or
/// not; its annotations decide ownership, permission, wave and `PruneLast`, because those
/// are what the cluster holds now, not what an earlier render said. An object that is not
/// the app's ([`not_owned`]) is never deleted. Refuses as a whole when the render failed
/// or is empty, or when more than `max_prune_percent` of the app's live owned objects
/// would be deleted without `confirm` (entries for objects that do not exist, or are not
/// the app's, do not dilute the share).
pub fn prune_plan<F>(
    inventory: &Inventory,
    rendered: &[Value],
    options: &PruneOptions,
    live: F,
) -> Result<PrunePlan, PruneRefusal>
where
    F: Fn(&Entry) -> Option<Value>,
{
    if !options.render_ok {
        return Err(PruneRefusal::RenderFailed);
    }
    if inventory.entries.is_empty() {
        return Ok(PrunePlan::default());
    }
    if rendered.is_empty() {
        return Err(PruneRefusal::EmptyRender {
            inventory: inventory.entries.len(),
        });
    }
    let rendered = rendered
        .iter()
        .map(Entry::of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(PruneRefusal::Invalid)?;
    let mut plan = PrunePlan::default();
    let mut owned_live = 0usize;
    for entry in &inventory.entries {
        let object = live(entry);
        let not_ours = object
            .as_ref()
            .and_then(|object| not_owned(&inventory.app, entry, object));
        if object.is_some() && not_ours.is_none() {
            owned_live += 1;
        }
        if rendered.iter().any(|r| r.same_object(entry)) {
            continue;
        }
        let Some(object) = object else {
            plan.gone.push(entry.clone());
            continue;
        };
        let keep = |reason| Kept {
            entry: entry.clone(),
            reason,
        };
        if let Some(why) = not_ours {
            plan.kept.push(keep(KeepReason::NotOwned {
                app: inventory.app.name.clone(),
                why,
            }));
            continue;
        }
        let prune_option = argo_sync_option(&object, "Prune");
        let shipway_permission = annotation(&object, PRUNE_ANNOTATION).map(str::trim);
        if prune_option == Some("false") || shipway_permission == Some("false") {
            plan.kept.push(keep(KeepReason::PruneDisabled));
            continue;
        }
        if is_protected_kind(&entry.group, &entry.kind)
            && shipway_permission != Some("true")
            && prune_option != Some("true")
        {
            plan.kept.push(keep(KeepReason::ProtectedKind));
            continue;
        }
        if prune_option == Some("confirm") && !options.confirm {
            plan.kept.push(keep(KeepReason::NeedsConfirmation));
            continue;
        }
        plan.to_delete.push(PruneItem {
            entry: entry.clone(),
            wave: sync_wave(&object).map_err(PruneRefusal::Invalid)?,
            last: options.prune_last || prune_last(&object),
        });
    }
    let count = plan.to_delete.len();
    let total = owned_live.max(1);
    if !options.confirm && count * 100 > options.max_prune_percent as usize * total {
        return Err(PruneRefusal::TooMany {
            count,
            inventory: total,
            percent: (count * 100).div_ceil(total),
            max: options.max_prune_percent,
        });
    }
    plan.to_delete.sort_by(|a, b| {
        let key = |item: &PruneItem| {
            (
                item.last,
                Reverse(item.wave),
                Reverse(kind_order(&item.entry.kind)),
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.entry.namespace.cmp(&b.entry.namespace))
            .then_with(|| a.entry.name.cmp(&b.entry.name))
    });
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn object(api_version: &str, kind: &str, namespace: &str, name: &str) -> Value {
        let mut metadata = Map::new();
        metadata.insert("name".into(), name.into());
        if !namespace.is_empty() {
            metadata.insert("namespace".into(), namespace.into());
        }
        json!({"apiVersion": api_version, "kind": kind, "metadata": metadata})
    }

    fn annotated(mut object: Value, key: &str, value: &str) -> Value {
        object["metadata"]["annotations"] = json!({ key: value });
        object
    }

    fn deployment(name: &str) -> Value {
        object("apps/v1", "Deployment", "shop", name)
    }

    fn ok() -> PruneOptions {
        PruneOptions {
            render_ok: true,
            ..PruneOptions::default()
        }
    }

    fn shop() -> AppId {
        AppId::new("shop", "dir:apps/shop@shop")
    }

    /// `object` as the app applied it: stamped, with a uid.
    fn applied(object: &Value) -> Value {
        let mut object = object.clone();
        shop().stamp(&mut object);
        let uid = format!("uid-{}", str_at(&object, "/metadata/name"));
        object["metadata"]["uid"] = uid.into();
        object
    }

    /// An inventory of `objects` as the app applied them (uids recorded), and a `live`
    /// lookup answering with the same objects.
    fn cluster(objects: &[Value]) -> (Inventory, impl Fn(&Entry) -> Option<Value> + use<>) {
        let live_objects: Vec<Value> = objects.iter().map(applied).collect();
        let mut inventory = Inventory::from_rendered(shop(), objects).unwrap();
        for entry in &mut inventory.entries {
            entry.uid = format!("uid-{}", entry.name);
        }
        let live = move |entry: &Entry| {
            live_objects
                .iter()
                .find(|o| Entry::of(o).unwrap().same_object(entry))
                .cloned()
        };
        (inventory, live)
    }

    fn names(plan: &PrunePlan) -> Vec<&str> {
        plan.to_delete
            .iter()
            .map(|item| item.entry.name.as_str())
            .collect()
    }

    #[test]
    fn content_hash_ignores_key_order_and_sees_values() {
        let a =
            json!({"kind": "ConfigMap", "data": {"a": "1", "b": "2"}, "metadata": {"name": "c"}});
        let b =
            json!({"metadata": {"name": "c"}, "data": {"b": "2", "a": "1"}, "kind": "ConfigMap"});
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_eq!(content_hash(&a).len(), 16);
        assert!(content_hash(&a).bytes().all(|b| b.is_ascii_hexdigit()));
        let c =
            json!({"kind": "ConfigMap", "data": {"a": "1", "b": "3"}, "metadata": {"name": "c"}});
        assert_ne!(content_hash(&a), content_hash(&c));
        // Array order is meaningful.
        assert_ne!(content_hash(&json!([1, 2])), content_hash(&json!([2, 1])));
    }

    #[test]
    fn entries_describe_objects() {
        let entry = Entry::of(&deployment("web")).unwrap();
        assert_eq!(
            (
                entry.group.as_str(),
                entry.version.as_str(),
                entry.kind.as_str()
            ),
            ("apps", "v1", "Deployment")
        );
        assert_eq!(entry.to_string(), "Deployment shop/web");
        assert_eq!(entry.api_version(), "apps/v1");
        let ns = Entry::of(&object("v1", "Namespace", "", "shop")).unwrap();
        assert_eq!((ns.group.as_str(), ns.namespace.as_str()), ("", ""));
        assert_eq!(ns.to_string(), "Namespace shop");
        assert_eq!(ns.api_version(), "v1");
        let error = Entry::of(&json!({"kind": "Secret", "metadata": {}})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot record Secret <unnamed> in the inventory: no apiVersion, metadata.name"
        );
        let moved = Entry::of(&object("apps/v1beta2", "Deployment", "shop", "web")).unwrap();
        assert!(moved.same_object(&entry));
    }

    #[test]
    fn configmap_round_trips() {
        let inventory = Inventory::from_rendered(
            shop(),
            &[
                deployment("web"),
                object("v1", "Namespace", "", "shop"),
                deployment("web"),
            ],
        )
        .unwrap();
        assert_eq!(inventory.entries.len(), 2, "duplicates collapse");
        assert_eq!(
            inventory.entries[0].kind, "Namespace",
            "sorted by group first"
        );
        let cm = inventory.to_configmap("shipway-system");
        let name = format!("shipway-inventory-shop-{}", shop().short_hash());
        assert_eq!(cm["metadata"]["name"], name.as_str());
        assert_eq!(cm["data"][APP_KEY], "dir:apps/shop@shop");
        assert_eq!(cm["metadata"]["namespace"], "shipway-system");
        assert_eq!(cm["metadata"]["labels"][MANAGED_BY_LABEL], "shipway");
        assert_eq!(cm["metadata"]["labels"][INVENTORY_LABEL], shop().label());
        let list: Vec<Value> =
            serde_json::from_str(cm["data"][OBJECTS_KEY].as_str().unwrap()).unwrap();
        assert_eq!(list[1]["kind"], "Deployment");
        assert_eq!(list[1]["hash"].as_str().unwrap().len(), 16);
        assert_eq!(Inventory::from_configmap(&cm, &shop()).unwrap(), inventory);
        let empty = Inventory::new(shop(), []);
        assert_eq!(
            Inventory::from_configmap(&empty.to_configmap("x"), &shop()).unwrap(),
            empty
        );
    }

    #[test]
    fn corrupted_configmaps_are_named() {
        let mut cm = Inventory::from_rendered(shop(), &[deployment("web")])
            .unwrap()
            .to_configmap("ops");
        let name = cm["metadata"]["name"].as_str().unwrap().to_owned();
        // Another app's inventory (a name collision, or an edit) is refused, never merged.
        let other = AppId::new("shop", "dir:teamB/shop@shop");
        assert!(matches!(
            Inventory::from_configmap(&cm, &other),
            Err(InventoryError::OtherApp { .. })
        ));
        cm["data"][OBJECTS_KEY] = json!("[{\"kind\": ");
        let error = Inventory::from_configmap(&cm, &shop())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "inventory ConfigMap ops/{name}: data.objects is corrupted: "
            )),
            "{error}"
        );
        assert!(error.contains("line 1"), "{error}");
        cm["data"][OBJECTS_KEY] = json!("[{\"group\": \"\", \"version\": \"v1\", \"kind\": 3}]");
        assert_eq!(
            Inventory::from_configmap(&cm, &shop())
                .unwrap_err()
                .to_string(),
            format!(
                "inventory ConfigMap ops/{name}: entry 0 of data.objects is invalid: \"kind\" is not a string"
            )
        );
        cm["data"] = json!({});
        assert!(matches!(
            Inventory::from_configmap(&cm, &shop()),
            Err(InventoryError::MissingObjects { .. })
        ));
        let secret = object("v1", "Secret", "ops", &name);
        assert_eq!(
            Inventory::from_configmap(&secret, &shop())
                .unwrap_err()
                .to_string(),
            format!("inventory ops/{name}: expected a ConfigMap, found Secret")
        );
    }

    #[test]
    fn names_are_dns_labels_and_never_collide() {
        let web = |id: &str| configmap_name(&AppId::new("web", id));
        let a = web("dir:teamA/web@shop");
        let b = web("dir:teamB/web@shop");
        assert!(a.starts_with("shipway-inventory-web-"), "{a}");
        assert_ne!(a, b, "same base name, different apps");
        let long = configmap_name(&AppId::new("x".repeat(100), "x"));
        assert!(long.len() <= 63, "{long}");
        assert_eq!(
            configmap_name(&AppId::new("___", "x")).len(),
            NAME_PREFIX.len() + 8
        );
        for name in [a, b, long] {
            assert!(
                name.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            );
            assert!(!name.ends_with('-'));
        }
    }

    #[test]
    fn secret_values_never_reach_the_inventory_hash() {
        let secret = |value: &str| {
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
                "data": {"password": value}})
        };
        // A guessed value cannot be confirmed from the hash: values are not in it.
        assert_eq!(
            content_hash(&secret("aHVudGVyMg==")),
            content_hash(&secret("c2VjcmV0"))
        );
        let mut renamed = secret("aHVudGVyMg==");
        renamed["data"] = json!({"token": "aHVudGVyMg=="});
        assert_ne!(
            content_hash(&secret("aHVudGVyMg==")),
            content_hash(&renamed)
        );
        let mut plain = secret("x");
        plain["stringData"] = json!({"password": "hunter2"});
        let mut other = secret("x");
        other["stringData"] = json!({"password": "letmein"});
        assert_eq!(content_hash(&plain), content_hash(&other));
    }

    #[test]
    fn only_live_objects_carrying_the_app_and_its_uid_are_pruned() {
        // A hand-edited inventory names ten kube-system Secrets, a Deployment of another
        // namespace and sixty objects that do not exist, beside the app's one object.
        let mine = deployment("web");
        let mut inventory = Inventory::from_rendered(shop(), std::slice::from_ref(&mine)).unwrap();
        inventory.entries[0].uid = "uid-web".into();
        let mut foreign: Vec<Value> = (0..10)
            .map(|i| object("v1", "Secret", "kube-system", &format!("token-{i}")))
            .collect();
        foreign.push(object("apps/v1", "Deployment", "payments", "api"));
        for (i, object) in foreign.iter_mut().enumerate() {
            object["metadata"]["uid"] = format!("foreign-{i}").into();
            let mut entry = Entry::of(object).unwrap();
            entry.uid = format!("foreign-{i}");
            inventory.entries.push(entry);
        }
        for i in 0..60 {
            inventory
                .entries
                .push(Entry::of(&deployment(&format!("ghost-{i}"))).unwrap());
        }
        // The Deployment of another namespace carries another app's tracking annotation.
        AppId::new("api", "dir:payments/api@payments").stamp(&mut foreign[10]);
        let lives: Vec<Value> = std::iter::once(applied(&mine)).chain(foreign).collect();
        let live = |entry: &Entry| {
            lives
                .iter()
                .find(|o| Entry::of(o).unwrap().same_object(entry))
                .cloned()
        };
        let rendered = [object("v1", "ConfigMap", "shop", "settings")];
        let plan = prune_plan(&inventory, &rendered, &ok(), live).unwrap_err();
        // Only the app's own object may go, and it is 100% of the app's live objects: the
        // ghosts and foreign entries do not dilute the share.
        assert_eq!(
            plan,
            PruneRefusal::TooMany {
                count: 1,
                inventory: 1,
                percent: 100,
                max: 20
            }
        );
        let confirmed = PruneOptions {
            confirm: true,
            ..ok()
        };
        let plan = prune_plan(&inventory, &rendered, &confirmed, live).unwrap();
        assert_eq!(names(&plan), ["web"]);
        assert_eq!(plan.kept.len(), 11);
        assert!(
            plan.kept
                .iter()
                .all(|kept| matches!(kept.reason, KeepReason::NotOwned { .. }))
        );
        let reasons: Vec<String> = plan.kept.iter().map(|k| k.reason.to_string()).collect();
        assert!(
            reasons[0].starts_with("not pruned: not applied by app `shop`"),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("tracked by app `dir:payments/api@payments`"))
        );
        assert_eq!(plan.gone.len(), 60);

        // The app's own tracking annotation on an object recreated since (another uid), or
        // recorded without a uid, is not enough either.
        let mut recreated = applied(&mine);
        recreated["metadata"]["uid"] = "uid-new".into();
        let mut entry = inventory.entries[0].clone();
        assert!(
            not_owned(&shop(), &entry, &recreated)
                .unwrap()
                .contains("uid")
        );
        entry.uid.clear();
        assert!(not_owned(&shop(), &entry, &applied(&mine)).is_some());
    }

    #[test]
    fn kind_order_and_waves() {
        assert!(kind_order("Namespace") < kind_order("ConfigMap"));
        assert!(kind_order("Service") < kind_order("Deployment"));
        assert!(kind_order("Ingress") < kind_order("APIService"));
        assert!(kind_order("APIService") < kind_order("Certificate"));
        assert_eq!(kind_order("Certificate"), kind_order("Widget"));
        assert_eq!(kind_order("APIService"), -1);

        assert_eq!(sync_wave(&deployment("web")).unwrap(), 0);
        let argo = annotated(deployment("web"), ARGO_WAVE_ANNOTATION, "-2");
        assert_eq!(sync_wave(&argo).unwrap(), -2);
        let mut both = argo;
        both["metadata"]["annotations"][WAVE_ANNOTATION] = json!(" 5 ");
        assert_eq!(sync_wave(&both).unwrap(), 5);
        let bad = annotated(deployment("web"), ARGO_WAVE_ANNOTATION, "first");
        assert_eq!(
            sync_wave(&bad).unwrap_err().to_string(),
            "Deployment shop/web: annotation argocd.argoproj.io/sync-wave: \"first\" is not an integer sync wave"
        );
    }

    #[test]
    fn refuses_failed_and_empty_renders() {
        let (inventory, live) = cluster(&[deployment("web")]);
        let options = PruneOptions {
            confirm: true,
            ..PruneOptions::default()
        };
        assert_eq!(
            prune_plan(&inventory, &[], &options, &live),
            Err(PruneRefusal::RenderFailed)
        );
        let refusal = prune_plan(&inventory, &[], &ok(), &live).unwrap_err();
        assert_eq!(refusal, PruneRefusal::EmptyRender { inventory: 1 });
        assert!(
            refusal
                .to_string()
                .starts_with("refusing to prune: the render is empty")
        );
        // Confirmation does not lift the empty-render refusal.
        let confirmed = PruneOptions {
            confirm: true,
            ..ok()
        };
        assert!(prune_plan(&inventory, &[], &confirmed, &live).is_err());
        // Nothing owned: nothing to prune, even from an empty render.
        let empty = Inventory::new(shop(), []);
        assert_eq!(
            prune_plan(&empty, &[], &ok(), &live).unwrap(),
            PrunePlan::default()
        );
    }

    #[test]
    fn refuses_large_prunes_without_confirmation() {
        let objects: Vec<Value> = (0..10).map(|i| deployment(&format!("d{i}"))).collect();
        let (inventory, live) = cluster(&objects);
        // Two of ten is exactly the 20% limit.
        let plan = prune_plan(&inventory, &objects[2..], &ok(), &live).unwrap();
        assert_eq!(names(&plan), ["d0", "d1"]);
        let refusal = prune_plan(&inventory, &objects[3..], &ok(), &live).unwrap_err();
        assert_eq!(
            refusal,
            PruneRefusal::TooMany {
                count: 3,
                inventory: 10,
                percent: 30,
                max: 20
            }
        );
        assert!(
            refusal
                .to_string()
                .contains("refusing to prune 3 of the app's 10 live objects")
        );
        let confirmed = PruneOptions {
            confirm: true,
            ..ok()
        };
        assert_eq!(
            prune_plan(&inventory, &objects[3..], &confirmed, &live)
                .unwrap()
                .to_delete
                .len(),
            3
        );
        let raised = PruneOptions {
            max_prune_percent: 50,
            ..ok()
        };
        assert!(prune_plan(&inventory, &objects[3..], &raised, &live).is_ok());
    }

    #[test]
    fn protected_kinds_need_permission_on_the_live_object() {
        let ns = object("v1", "Namespace", "", "old");
        let pvc = object("v1", "PersistentVolumeClaim", "shop", "data");
        let crd = object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            "widgets.example.com",
        );
        let allowed = annotated(
            object("v1", "PersistentVolumeClaim", "shop", "scratch"),
            PRUNE_ANNOTATION,
            "true",
        );
        let argo_allowed = annotated(
            object("v1", "PersistentVolume", "", "pv-1"),
            ARGO_SYNC_OPTIONS,
            "ServerSideApply=true, Prune=true",
        );
        let kept_by_argo = annotated(deployment("legacy"), ARGO_SYNC_OPTIONS, "Prune=false");
        let confirm = annotated(deployment("careful"), ARGO_SYNC_OPTIONS, "Prune=confirm");
        let gone = deployment("gone");
        let rendered = deployment("web");
        let all = [
            ns,
            pvc,
            crd,
            allowed,
            argo_allowed,
            kept_by_argo,
            confirm,
            rendered.clone(),
        ];
        let (mut inventory, live) = cluster(&all);
        inventory = Inventory::new(
            shop(),
            inventory
                .entries
                .into_iter()
                .chain([Entry::of(&gone).unwrap()]),
        );
        let confirmed = PruneOptions {
            confirm: true,
            ..ok()
        };
        let plan = prune_plan(
            &inventory,
            std::slice::from_ref(&rendered),
            &confirmed,
            &live,
        )
        .unwrap();
        let mut deleted = names(&plan);
        deleted.sort_unstable();
        assert_eq!(deleted, ["careful", "pv-1", "scratch"]);
        let kept: Vec<(&str, KeepReason)> = plan
            .kept
            .iter()
            .map(|k| (k.entry.name.as_str(), k.reason.clone()))
            .collect();
        assert!(kept.contains(&("old", KeepReason::ProtectedKind)));
        assert!(kept.contains(&("data", KeepReason::ProtectedKind)));
        assert!(kept.contains(&("widgets.example.com", KeepReason::ProtectedKind)));
        assert!(kept.contains(&("legacy", KeepReason::PruneDisabled)));
        assert_eq!(plan.gone.len(), 1);
        assert_eq!(plan.gone[0].name, "gone");
        // Without confirmation the Prune=confirm object stays; the rest (3 of 9) is over
        // the default limit unless raised.
        let unconfirmed = PruneOptions {
            max_prune_percent: 100,
            ..ok()
        };
        let plan = prune_plan(&inventory, &[rendered], &unconfirmed, &live).unwrap();
        assert!(
            plan.kept
                .iter()
                .any(|k| k.entry.name == "careful" && k.reason == KeepReason::NeedsConfirmation)
        );
        assert!(
            KeepReason::ProtectedKind
                .to_string()
                .contains("shipway.dev/prune")
        );
    }

    #[test]
    fn prune_order_is_reverse_waves_then_reverse_kinds_then_prune_last() {
        let objects = [
            annotated(
                object("v1", "ConfigMap", "shop", "config"),
                ARGO_WAVE_ANNOTATION,
                "-1",
            ),
            object("v1", "Service", "shop", "web"),
            deployment("web"),
            annotated(deployment("late"), ARGO_WAVE_ANNOTATION, "3"),
            annotated(
                object("v1", "Secret", "shop", "creds"),
                ARGO_SYNC_OPTIONS,
                "PruneLast=true",
            ),
            object("networking.k8s.io/v1", "Ingress", "shop", "web"),
            object("cert-manager.io/v1", "Certificate", "shop", "tls"),
        ];
        let keep = deployment("keep");
        let mut all = objects.to_vec();
        all.push(keep.clone());
        let (inventory, live) = cluster(&all);
        let options = PruneOptions {
            confirm: true,
            ..ok()
        };
        let plan = prune_plan(&inventory, std::slice::from_ref(&keep), &options, &live).unwrap();
        let order: Vec<String> = plan
            .to_delete
            .iter()
            .map(|item| item.entry.to_string())
            .collect();
        assert_eq!(
            order,
            [
                "Deployment shop/late",
                "Certificate shop/tls",
                "Ingress shop/web",
                "Deployment shop/web",
                "Service shop/web",
                "ConfigMap shop/config",
                "Secret shop/creds",
            ]
        );
        assert!(plan.to_delete.last().unwrap().last);
        assert_eq!(plan.to_delete[0].wave, 3);
        // The app-wide PruneLast marks every item.
        let app_last = PruneOptions {
            prune_last: true,
            ..options.clone()
        };
        let plan = prune_plan(&inventory, std::slice::from_ref(&keep), &app_last, &live).unwrap();
        assert!(plan.to_delete.iter().all(|item| item.last));
        // A live object with a broken wave stops the prune, naming it.
        let broken = applied(&annotated(deployment("late"), ARGO_WAVE_ANNOTATION, "soon"));
        let lookup = |entry: &Entry| {
            if entry.name == "late" {
                Some(broken.clone())
            } else {
                live(entry)
            }
        };
        let refusal = prune_plan(&inventory, &[keep], &options, lookup).unwrap_err();
        assert!(
            refusal.to_string().contains("Deployment shop/late"),
            "{refusal}"
        );
    }
}
