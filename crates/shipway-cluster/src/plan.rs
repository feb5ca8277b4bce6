//! Plans: what a sync would do to every object, worked out before anything mutates.
//!
//! Each rendered object is compared with its live copy through a server-side dry-run apply,
//! so defaults, admission and immutable fields are the server's own: a change that only a
//! delete and recreate can make (a Deployment selector, a Job template, a `StatefulSet`'s
//! claim templates) shows as `replace-required` here, not as a failed sync later. Objects
//! whose manifest is the one last applied (the inventory's content hash) and whose live
//! fields still hold every value of the manifest are `unchanged` without a dry run, which
//! keeps a plan of a large up-to-date app to one list per kind. Objects in the inventory
//! that are no longer rendered are `delete` (prune), subject to the inventory's safety rules.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::cluster::{Cluster, Failure, Key};
use crate::diff::{self, Change, IgnoreRule};
use crate::identity::{self, AppId, Tracking};
use crate::inventory::{self, Inventory, KeepReason, PruneOptions};

/// How many objects are compared with the cluster at once.
const CONCURRENCY: usize = 16;

/// What a sync does to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// The object does not exist yet.
    Create,
    /// The live object differs from the manifest.
    Update,
    /// Nothing to do.
    Unchanged,
    /// Owned, no longer rendered: pruned.
    Delete,
    /// Only a delete and recreate can make the change (immutable fields).
    ReplaceRequired,
}

impl Action {
    /// The spelling of plans (`replace-required`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
            Action::ReplaceRequired => "replace-required",
        }
    }

    /// Parses [`Action::as_str`].
    pub fn parse(text: &str) -> Option<Action> {
        [
            Action::Create,
            Action::Update,
            Action::Unchanged,
            Action::Delete,
            Action::ReplaceRequired,
        ]
        .into_iter()
        .find(|action| action.as_str() == text)
    }
}

/// One object's line in a plan.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The object.
    pub key: Key,
    /// What the sync does.
    pub action: Action,
    /// The manifest to apply (namespace filled in); `None` for deletes.
    pub desired: Option<Value>,
    /// The live object's `resourceVersion` when the plan was made (`None`: it did not
    /// exist). `sync --plan` uses it as a precondition.
    pub resource_version: Option<String>,
    /// Field-level differences (Secret values masked).
    pub changes: Vec<Change>,
    /// Why, when the action needs explaining (immutable field, conflict, pending CRD).
    pub note: Option<String>,
    /// The live object the plan compared with (`None` when missing, and in plans read
    /// back from a file).
    pub live: Option<Value>,
    /// [`live_digest`] of that live object: `sync --plan` accepts an object whose
    /// `resourceVersion` moved only because its status changed (a rollout in progress).
    pub live_digest: Option<String>,
}

/// A digest of what a live object holds besides its status and bookkeeping
/// (`resourceVersion`, `managedFields`): equal before and after a controller only wrote
/// status. `None` for Secrets, whose values are never hashed without a key.
pub fn live_digest(live: &Value) -> Option<String> {
    if inventory::is_secret(live) {
        return None;
    }
    let mut copy = live.clone();
    let object = copy.as_object_mut()?;
    object.remove("status");
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("resourceVersion");
        metadata.remove("managedFields");
    }
    Some(inventory::content_hash(&copy))
}

/// A whole plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The app.
    pub app: AppId,
    /// Where the app's inventory lives.
    pub namespace: String,
    /// Every rendered object, then every pruned one.
    pub items: Vec<Planned>,
    /// Inventory entries no longer rendered that prune keeps, with the reason; those whose
    /// live object is not the app's ([`KeepReason::NotOwned`]) leave the inventory.
    pub kept: Vec<(Key, KeepReason)>,
    /// The inventory the plan was made against (rebuilt when it was missing): what the sync
    /// records over and prunes from, so it is read once. A plan read back from a file has
    /// none until [`load_inventory`] reads the cluster's.
    pub inventory: Option<Inventory>,
    /// Why prune was refused as a whole, if it was.
    pub prune_refused: Option<String>,
    /// Things the user should know that are not per object (a rebuilt inventory).
    pub notes: Vec<String>,
    /// The hook manifests the plan was made with (set by the caller that split them off),
    /// saved with the plan so `sync --plan` runs the hooks that were reviewed.
    pub hooks: Vec<Value>,
    /// `secretDigest` of each Secret in a plan read back from a file (keyed digests, see
    /// [`secret_digest`]), by key.
    pub secret_digests: BTreeMap<Key, String>,
}

impl Plan {
    /// How many items take each action.
    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut counts = BTreeMap::new();
        for item in &self.items {
            *counts.entry(item.action).or_insert(0) += 1;
        }
        counts
    }

    /// Whether the cluster already matches (nothing to create, update, replace or delete).
    pub fn in_sync(&self) -> bool {
        self.items
            .iter()
            .all(|item| item.action == Action::Unchanged)
    }

    /// The JSON form: `{"changes":[{"object":{…},"action":…,"diff":…}]}`, plus what `sync
    /// --plan` needs to apply exactly this plan: each manifest (Secret values masked), the
    /// live `resourceVersion` it was planned against, the hooks, and — with `digest_key`,
    /// for a saved plan — a keyed digest of each Secret ([`secret_digest`]), so that the
    /// Secret applied later can be held to the one planned without the file holding its
    /// values.
    pub fn to_json(&self, digest_key: Option<&[u8]>) -> Value {
        let changes: Vec<Value> = self
            .items
            .iter()
            .map(|item| {
                let mut change = json!({
                    "object": item.key.to_json(),
                    "action": item.action.as_str(),
                    "diff": diff::to_json(&item.changes),
                });
                if let Some(note) = &item.note {
                    change["note"] = note.clone().into();
                }
                if let Some(version) = &item.resource_version {
                    change["resourceVersion"] = version.clone().into();
                }
                if let Some(digest) = &item.live_digest {
                    change["liveDigest"] = digest.clone().into();
                }
                if let Some(desired) = &item.desired {
                    change["manifest"] = masked_manifest(desired);
                    if let Some(key) = digest_key
                        && inventory::is_secret(desired)
                    {
                        change["secretDigest"] = secret_digest(key, desired).into();
                    }
                }
                change
            })
            .collect();
        let kept: Vec<Value> = self
            .kept
            .iter()
            .map(|(key, reason)| json!({"object": key.to_json(), "reason": reason.to_string()}))
            .collect();
        let mut plan = json!({
            "app": self.app.name,
            "appId": self.app.id,
            "namespace": self.namespace,
            "changes": changes,
            "kept": kept,
        });
        if let Some(refused) = &self.prune_refused {
            plan["pruneRefused"] = refused.clone().into();
        }
        if !self.notes.is_empty() {
            plan["notes"] = self.notes.clone().into();
        }
        if digest_key.is_some() {
            let hooks: Vec<Value> = self.hooks.iter().map(masked_manifest).collect();
            plan["hooks"] = hooks.into();
            let digests: serde_json::Map<String, Value> = self
                .hooks
                .iter()
                .filter(|hook| inventory::is_secret(hook))
                .filter_map(|hook| {
                    digest_key
                        .map(|key| (Key::of(hook).to_string(), secret_digest(key, hook).into()))
                })
                .collect();
            if !digests.is_empty() {
                plan["hookSecretDigests"] = digests.into();
            }
        }
        plan
    }
}

impl Plan {
    /// Reads a plan saved with [`Plan::to_json`] back. Diffs are not read (a saved plan is
    /// applied, not printed again); Secret manifests hold masked values and are taken from
    /// the render when the plan is applied, held to their `secretDigest`.
    pub fn from_json(value: &Value) -> Result<Plan, String> {
        let text = |value: &Value, field: &str| -> Result<String, String> {
            value
                .get(field)
                .and_then(Value::as_str)
                .map(String::from)
                .ok_or_else(|| format!("a plan needs a string `{field}`"))
        };
        let mut items = Vec::new();
        let mut secret_digests = BTreeMap::new();
        for change in value
            .get("changes")
            .and_then(Value::as_array)
            .ok_or("a plan needs a `changes` list")?
        {
            let object = change.get("object").ok_or("a change needs its `object`")?;
            let mut key = Key::of(&json!({
                "apiVersion": text(object, "apiVersion")?,
                "kind": text(object, "kind")?,
                "metadata": {"name": text(object, "name")?},
            }));
            object
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .clone_into(&mut key.namespace);
            let action = Action::parse(&text(change, "action")?)
                .ok_or_else(|| format!("{key}: unknown action"))?;
            let desired = change.get("manifest").cloned();
            if let Some(manifest) = &desired {
                if Key::of(manifest) != key {
                    return Err(format!("{key}: its manifest names {}", Key::of(manifest)));
                }
                if inventory::is_secret(manifest) {
                    let digest = change
                        .get("secretDigest")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{key}: a saved Secret needs its `secretDigest`"))?;
                    secret_digests.insert(key.clone(), digest.to_owned());
                }
            }
            items.push(Planned {
                key,
                action,
                desired,
                resource_version: change
                    .get("resourceVersion")
                    .and_then(Value::as_str)
                    .map(String::from),
                live_digest: change
                    .get("liveDigest")
                    .and_then(Value::as_str)
                    .map(String::from),
                changes: Vec::new(),
                note: change.get("note").and_then(Value::as_str).map(String::from),
                live: None,
            });
        }
        let hooks = match value.get("hooks") {
            None => return Err("a saved plan needs its `hooks` (save it with `plan --out`)".into()),
            Some(hooks) => hooks.as_array().ok_or("`hooks` must be a list")?.clone(),
        };
        for hook in &hooks {
            if inventory::is_secret(hook) {
                let name = Key::of(hook).to_string();
                let digest = value
                    .pointer("/hookSecretDigests")
                    .and_then(|d| d.get(&name))
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("hook {name}: a saved Secret needs its digest"))?;
                secret_digests.insert(Key::of(hook), digest.to_owned());
            }
        }
        Ok(Plan {
            app: AppId::new(text(value, "app")?, text(value, "appId")?),
            namespace: text(value, "namespace")?,
            items,
            kept: Vec::new(),
            inventory: None,
            prune_refused: value
                .get("pruneRefused")
                .and_then(Value::as_str)
                .map(String::from),
            notes: Vec::new(),
            hooks,
            secret_digests,
        })
    }
}

/// The keyed digest a saved plan holds for a Secret: HMAC-SHA256 under `key` of the
/// manifest's canonical JSON, in hex. Unlike a plain hash it cannot confirm a guessed
/// value without the key, which lives only in the cluster ([`DIGEST_KEY_SECRET`]).
pub fn secret_digest(key: &[u8], manifest: &Value) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&key, inventory::canonical_json(manifest).as_bytes());
    identity::hex(tag.as_ref())
}

/// The Secret (in the app's inventory namespace) holding the key of saved plans' Secret
/// digests: created with 32 random bytes the first time a plan is saved.
pub const DIGEST_KEY_SECRET: &str = "shipway-plan-digest-key";

/// The key of saved plans' Secret digests for `namespace`, created when `create` and
/// missing. `None` when it is missing and not created.
pub async fn digest_key(
    cluster: &Cluster,
    namespace: &str,
    create: bool,
) -> Result<Option<Vec<u8>>, PlanError> {
    let key = Key {
        group: String::new(),
        version: "v1".into(),
        kind: "Secret".into(),
        namespace: namespace.to_owned(),
        name: DIGEST_KEY_SECRET.into(),
    };
    let failed = |failure| PlanError::Object {
        key: key.clone(),
        failure,
    };
    let read = |secret: &Value| -> Result<Vec<u8>, &'static str> {
        let encoded = secret.pointer("/data/key").cloned().unwrap_or(Value::Null);
        let bytes: k8s_openapi::ByteString =
            serde_json::from_value(encoded).map_err(|_| "its `data.key` is not base64")?;
        if bytes.0.len() < 32 {
            return Err("its `data.key` is shorter than 32 bytes");
        }
        Ok(bytes.0)
    };
    let unreadable = |why: &str| failed(Failure::Rejected(why.to_owned()));
    if let Some(secret) = cluster.get(&key).await.map_err(failed)? {
        return read(&secret).map(Some).map_err(unreadable);
    }
    if !create {
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| failed(Failure::Rejected("the system random source failed".into())))?;
    let encoded =
        serde_json::to_value(k8s_openapi::ByteString(bytes.to_vec())).unwrap_or(Value::Null);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": DIGEST_KEY_SECRET, "namespace": namespace,
            "labels": {inventory::MANAGED_BY_LABEL: inventory::MANAGED_BY}},
        "data": {"key": encoded}});
    match cluster.create(&secret).await {
        Ok(created) => read(&created).map(Some).map_err(unreadable),
        // Another plan created it first: use that one.
        Err(Failure::Moved(_) | Failure::Conflict(_)) => {
            match cluster.get(&key).await.map_err(failed)? {
                Some(secret) => read(&secret).map(Some).map_err(unreadable),
                None => Err(failed(Failure::Rejected("created and gone again".into()))),
            }
        }
        Err(failure) => Err(failed(failure)),
    }
}

/// A manifest as a saved plan holds it: Secrets keep their keys, never their values (a
/// plan file must not carry them); `sync --plan` re-reads Secret values from the render.
fn masked_manifest(object: &Value) -> Value {
    let mut copy = object.clone();
    if inventory::is_secret(&copy) {
        for field in ["data", "stringData"] {
            if let Some(map) = copy.get_mut(field).and_then(Value::as_object_mut) {
                for value in map.values_mut() {
                    *value = "***".into();
                }
            }
        }
    }
    copy
}

/// What a plan takes besides the objects.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Dry-run applies force conflicts (as the sync will).
    pub force_conflicts: bool,
    /// `ignoreDifferences`.
    pub ignore: Vec<IgnoreRule>,
    /// Prune limits and whether the render is trustworthy.
    pub prune: PruneOptions,
    /// `PruneLast` for the whole app.
    pub prune_last: bool,
    /// The app's namespace when the sync creates it (`CreateNamespace=true`): objects in
    /// it plan as creates before it exists, so a new app can be previewed.
    pub created_namespace: Option<String>,
    /// `RespectIgnoreDifferences=true`: ignored fields (JSON pointers) take their live
    /// values in what is applied.
    pub respect_ignore_differences: bool,
    /// `SkipDryRunOnMissingResource=true`: objects of kinds the server does not know plan
    /// as creates without a dry run.
    pub skip_dry_run_on_missing_resource: bool,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The server refused an object outright (validation), or could not be reached.
    #[error("{key}: {failure}")]
    Object {
        /// The object.
        key: Key,
        /// What went wrong.
        failure: Failure,
    },
    /// The inventory `ConfigMap` is unreadable, or records another app.
    #[error("{0}")]
    Inventory(String),
    /// Objects the app renders are already managed by other apps (Argo CD's
    /// `FailOnSharedResource`): nothing is taken over silently.
    #[error("{}", shared_message(app, objects))]
    Shared {
        /// The app being planned.
        app: AppId,
        /// Each shared object and the id of the app whose tracking annotation it carries.
        objects: Vec<(Key, String)>,
    },
}

fn shared_message(app: &AppId, objects: &[(Key, String)]) -> String {
    let mut text = format!(
        "app `{}` ({}) renders {} object(s) that another app manages; an object belongs to one app, so nothing was applied:",
        app.name,
        app.id,
        objects.len()
    );
    for (key, other) in objects {
        let _ = write!(text, "\n  {key}: managed by app `{other}`");
    }
    text
}

/// The inventory's key for an app.
pub fn inventory_key(app: &AppId, namespace: &str) -> Key {
    Key {
        group: String::new(),
        version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: namespace.to_owned(),
        name: Inventory::configmap_name(app),
    }
}

/// Reads the app's inventory; `None` when there is none (a first sync, or a lost one).
pub async fn read_inventory(
    cluster: &Cluster,
    app: &AppId,
    namespace: &str,
) -> Result<Option<Inventory>, PlanError> {
    let key = inventory_key(app, namespace);
    match cluster.get(&key).await {
        Ok(Some(configmap)) => Inventory::from_configmap(&configmap, app)
            .map(Some)
            .map_err(|error| PlanError::Inventory(error.to_string())),
        Ok(None) => Ok(None),
        Err(failure) => Err(PlanError::Object { key, failure }),
    }
}

/// Rebuilds a lost inventory from the live objects that carry the app's label and its
/// tracking annotation for themselves (their uids are the live ones: each was applied by
/// this app). Empty for an app never synced.
pub async fn rebuild_inventory(cluster: &Cluster, app: &AppId) -> Result<Inventory, PlanError> {
    let selector = format!("{}={}", identity::APP_LABEL, app.label());
    let found = cluster
        .list_everywhere(&selector)
        .await
        .map_err(|failure| {
            PlanError::Inventory(format!(
                "rebuilding the inventory of app `{app}`: {failure}"
            ))
        })?;
    let entries = found
        .iter()
        .filter(|live| identity::tracking_of(live) == Tracking::App(app.id.clone()))
        .filter_map(|live| {
            let mut entry = inventory::Entry::of(live).ok()?;
            // Unknown content: never `unchanged` without a dry run.
            entry.hash = String::new();
            live.pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .clone_into(&mut entry.uid);
            Some(entry)
        });
    Ok(Inventory::new(app.clone(), entries))
}

/// The inventory of `app`, rebuilt from live objects when it is missing; the note says
/// when it was rebuilt.
pub async fn load_inventory(
    cluster: &Cluster,
    app: &AppId,
    namespace: &str,
) -> Result<(Inventory, Option<String>), PlanError> {
    if let Some(inventory) = read_inventory(cluster, app, namespace).await? {
        return Ok((inventory, None));
    }
    let rebuilt = rebuild_inventory(cluster, app).await?;
    let note = (!rebuilt.entries.is_empty()).then(|| {
        format!(
            "the inventory `{}/{}` was missing: rebuilt from {} live object(s) carrying app `{}`'s tracking annotation",
            namespace,
            Inventory::configmap_name(app),
            rebuilt.entries.len(),
            app.name
        )
    });
    Ok((rebuilt, note))
}

/// Fills in the namespace of namespaced objects that have none and drops it from
/// cluster-scoped ones; objects of kinds the cluster does not serve yet are scoped by their
/// CRD in the same render when there is one.
pub async fn assign_namespaces(
    cluster: &Cluster,
    objects: &mut [Value],
    namespace: &str,
) -> Result<(), PlanError> {
    let definitions = crd_scopes(objects);
    for object in objects.iter_mut() {
        let key = Key::of(object);
        let namespaced = match cluster.is_namespaced(&key).await {
            Ok(namespaced) => namespaced,
            Err(Failure::UnknownKind(_)) => definitions
                .get(&(key.group.clone(), key.kind.clone()))
                .copied()
                .unwrap_or(true),
            Err(failure) => return Err(PlanError::Object { key, failure }),
        };
        let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        if !namespaced {
            // kubectl ignores a namespace on cluster-scoped objects (kustomize sets one on
            // kinds it does not know); so does the identity shipway records.
            metadata.remove("namespace");
        } else if key.namespace.is_empty() {
            metadata.insert("namespace".into(), namespace.into());
        }
    }
    Ok(())
}

/// (group, kind) → namespaced, for the CRDs among `objects`.
fn crd_scopes(objects: &[Value]) -> HashMap<(String, String), bool> {
    objects
        .iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"))
        .filter_map(|o| {
            let group = o.pointer("/spec/group")?.as_str()?.to_owned();
            let kind = o.pointer("/spec/names/kind")?.as_str()?.to_owned();
            let namespaced = o.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster");
            Some(((group, kind), namespaced))
        })
        .collect()
}

/// Plans the sync of `desired` (namespaces already assigned) for `app`. Every manifest is
/// stamped with the app's tracking annotation and label first, so the plan shows what the
/// sync applies; an object another app's annotation claims is an error ([`PlanError::Shared`]).
pub async fn plan(
    cluster: &Cluster,
    app: &AppId,
    namespace: &str,
    desired: &[Value],
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let desired: Vec<Value> = desired
        .iter()
        .map(|object| {
            let mut object = object.clone();
            app.stamp(&mut object);
            object
        })
        .collect();
    let desired = desired.as_slice();
    let (inventory, rebuilt) = load_inventory(cluster, app, namespace).await?;
    let recorded: HashMap<Key, String> = inventory
        .entries
        .iter()
        .map(|entry| (entry_key(entry), entry.hash.clone()))
        .collect();
    let pending_kinds: HashSet<(String, String)> = crd_scopes(desired).into_keys().collect();
    let mut rendered_namespaces: HashSet<String> = desired
        .iter()
        .map(Key::of)
        .filter(|key| key.group.is_empty() && key.kind == "Namespace")
        .map(|key| key.name)
        .collect();
    rendered_namespaces.extend(options.created_namespace.iter().cloned());
    // The futures are made (boxed) before they are streamed, so that the stream holds
    // no closure over borrowed objects: the controller spawns plans on the runtime, and a
    // streamed closure future fails rustc's higher-ranked `Send` check there.
    let futures: Vec<crate::cluster::BoxFuture<'_, Result<Planned, PlanError>>> = desired
        .iter()
        .map(
            |object| -> crate::cluster::BoxFuture<'_, Result<Planned, PlanError>> {
                Box::pin(plan_object(
                    cluster,
                    object,
                    &recorded,
                    &pending_kinds,
                    &rendered_namespaces,
                    options,
                ))
            },
        )
        .collect();
    let results: Vec<Result<Planned, PlanError>> = futures_util::stream::iter(futures)
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut items = Vec::with_capacity(results.len());
    for result in results {
        items.push(result?);
    }
    let shared: Vec<(Key, String)> = items
        .iter()
        .filter_map(|item| match identity::tracking_of(item.live.as_ref()?) {
            Tracking::App(other) if other != app.id => Some((item.key.clone(), other)),
            _ => None,
        })
        .collect();
    if !shared.is_empty() {
        return Err(PlanError::Shared {
            app: app.clone(),
            objects: shared,
        });
    }
    // Live objects by identity without version: what prune's ownership and share read.
    let short = |key: &Key| {
        (
            key.group.clone(),
            key.kind.clone(),
            key.namespace.clone(),
            key.name.clone(),
        )
    };
    let mut live_all: HashMap<(String, String, String, String), Value> = items
        .iter()
        .filter_map(|item| Some((short(&item.key), item.live.clone()?)))
        .collect();
    // Prune: owned objects the render no longer has.
    let rendered: HashSet<Key> = items.iter().map(|item| item.key.clone()).collect();
    let mut live_of_pruned: HashMap<Key, Value> = HashMap::new();
    for entry in &inventory.entries {
        let key = entry_key(entry);
        if rendered.contains(&key) {
            continue;
        }
        match cluster.get(&key).await {
            Ok(Some(live)) => {
                live_of_pruned.insert(key, live);
            }
            // Already gone, or its kind is no longer served: nothing to prune.
            Ok(None) | Err(Failure::UnknownKind(_) | Failure::NotFound(_)) => {}
            Err(failure) => return Err(PlanError::Object { key, failure }),
        }
    }
    for (key, live) in &live_of_pruned {
        live_all.insert(short(key), live.clone());
    }
    let mut prune_options = options.prune.clone();
    prune_options.prune_last = prune_options.prune_last || options.prune_last;
    let mut kept = Vec::new();
    let mut prune_refused = None;
    match inventory::prune_plan(&inventory, desired, &prune_options, |entry| {
        live_all.get(&short(&entry_key(entry))).cloned()
    }) {
        Ok(decision) => {
            for item in decision.to_delete {
                let key = entry_key(&item.entry);
                let live = live_of_pruned.get(&key).cloned();
                let resource_version = live
                    .as_ref()
                    .and_then(|live| live.pointer("/metadata/resourceVersion"))
                    .and_then(Value::as_str)
                    .map(String::from);
                items.push(Planned {
                    key,
                    action: Action::Delete,
                    desired: None,
                    resource_version,
                    changes: Vec::new(),
                    note: None,
                    live_digest: live.as_ref().and_then(live_digest),
                    live,
                });
            }
            for kept_entry in decision.kept {
                kept.push((entry_key(&kept_entry.entry), kept_entry.reason));
            }
        }
        Err(refusal) => prune_refused = Some(refusal.to_string()),
    }
    Ok(Plan {
        app: app.clone(),
        namespace: namespace.to_owned(),
        items,
        kept,
        inventory: Some(inventory),
        prune_refused,
        notes: rebuilt.into_iter().collect(),
        hooks: Vec::new(),
        secret_digests: BTreeMap::new(),
    })
}

/// The key an inventory entry names.
pub fn entry_key(entry: &inventory::Entry) -> Key {
    Key {
        group: entry.group.clone(),
        version: entry.version.clone(),
        kind: entry.kind.clone(),
        namespace: entry.namespace.clone(),
        name: entry.name.clone(),
    }
}

async fn plan_object(
    cluster: &Cluster,
    object: &Value,
    recorded: &HashMap<Key, String>,
    pending_kinds: &HashSet<(String, String)>,
    rendered_namespaces: &HashSet<String>,
    options: &PlanOptions,
) -> Result<Planned, PlanError> {
    let key = Key::of(object);
    let live = match cluster.get(&key).await {
        Ok(live) => live,
        Err(Failure::UnknownKind(_))
            if pending_kinds.contains(&(key.group.clone(), key.kind.clone())) =>
        {
            return Ok(Planned {
                key,
                action: Action::Create,
                desired: Some(object.clone()),
                resource_version: None,
                changes: Vec::new(),
                note: Some(
                    "its CustomResourceDefinition is applied first, in the same sync".into(),
                ),
                live: None,
                live_digest: None,
            });
        }
        Err(Failure::UnknownKind(_)) if options.skip_dry_run_on_missing_resource => {
            return Ok(Planned {
                key,
                action: Action::Create,
                desired: Some(object.clone()),
                resource_version: None,
                changes: diff::diff(None, Some(&masked_manifest(object))),
                note: Some(
                    "the server does not know this kind yet; not dry-run (SkipDryRunOnMissingResource=true)"
                        .into(),
                ),
                live: None,
                live_digest: None,
            });
        }
        Err(failure) => return Err(PlanError::Object { key, failure }),
    };
    let respected;
    let object = match &live {
        Some(live) if options.respect_ignore_differences => {
            respected = diff::respect_ignores(object, live, &options.ignore);
            &respected
        }
        _ => object,
    };
    let mut planned = classify(
        cluster,
        object,
        live.as_ref(),
        recorded,
        rendered_namespaces,
        options,
    )
    .await?;
    planned.live_digest = live.as_ref().and_then(live_digest);
    planned.live = live;
    Ok(planned)
}

/// What a sync does to `object`, whose live copy is `live`.
async fn classify(
    cluster: &Cluster,
    object: &Value,
    live: Option<&Value>,
    recorded: &HashMap<Key, String>,
    rendered_namespaces: &HashSet<String>,
    options: &PlanOptions,
) -> Result<Planned, PlanError> {
    let key = Key::of(object);
    let planned = |action, resource_version, changes, note| Planned {
        key: key.clone(),
        action,
        desired: Some(object.clone()),
        resource_version,
        changes,
        note,
        live: None,
        live_digest: None,
    };
    let resource_version = live
        .and_then(|live| live.pointer("/metadata/resourceVersion"))
        .and_then(Value::as_str)
        .map(String::from);
    if let Some(live) = live
        && recorded.get(&key) == Some(&inventory::content_hash(object))
        && contained(object, live)
    {
        return Ok(planned(
            Action::Unchanged,
            resource_version,
            Vec::new(),
            None,
        ));
    }
    let dry_run =
        match cluster.apply(object, options.force_conflicts, true).await {
            Ok(result) => result,
            Err(Failure::Immutable(message)) => {
                return Ok(planned(
                    Action::ReplaceRequired,
                    resource_version,
                    Vec::new(),
                    Some(message),
                ));
            }
            Err(Failure::Conflict(message)) => {
                // Show what the sync would change once it takes the fields over.
                let forced = cluster.apply(object, true, true).await.map_err(|failure| {
                    PlanError::Object {
                        key: key.clone(),
                        failure,
                    }
                })?;
                let changes = match live {
                    Some(live) => diff::compare(Some(live), Some(&forced), &options.ignore)
                        .map_err(|error| PlanError::Object {
                            key: key.clone(),
                            failure: Failure::Rejected(error.to_string()),
                        })?,
                    None => Vec::new(),
                };
                return Ok(planned(
                    Action::Update,
                    resource_version,
                    changes,
                    Some(format!("{message} (sync needs --force-conflicts)")),
                ));
            }
            Err(Failure::NotFound(_))
                if live.is_none() && rendered_namespaces.contains(&key.namespace) =>
            {
                // Its namespace is in the render and created first; the server cannot dry-run
                // into a namespace that does not exist yet.
                let changes = diff::diff(None, Some(&masked_manifest(object)));
                return Ok(planned(
                    Action::Create,
                    None,
                    changes,
                    Some(format!(
                        "namespace {} is created first, in the same sync",
                        key.namespace
                    )),
                ));
            }
            Err(failure) => return Err(PlanError::Object { key, failure }),
        };
    let Some(live) = live else {
        let changes = diff::diff(None, Some(&masked_manifest(object)));
        return Ok(planned(Action::Create, None, changes, None));
    };
    // Ignores read the live managedFields, so they run before normalising (`compare`).
    let changes = diff::compare(Some(live), Some(&dry_run), &options.ignore).map_err(|error| {
        PlanError::Object {
            key: key.clone(),
            failure: Failure::Rejected(error.to_string()),
        }
    })?;
    let action = if changes.is_empty() {
        Action::Unchanged
    } else {
        Action::Update
    };
    Ok(planned(action, resource_version, changes, None))
}

/// Whether every value `desired` sets is what `live` holds (maps: every key; lists: same
/// length, item by item). Server-set fields the manifest does not mention never count.
pub fn contained(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(want), Value::Object(have)) => want.iter().all(|(key, value)| {
            match have.get(key) {
                Some(found) => contained(value, found),
                // A null or empty value in a manifest means "nothing", which the server
                // stores as absent.
                None => value.is_null() || value.as_object().is_some_and(serde_json::Map::is_empty),
            }
        }),
        (Value::Array(want), Value::Array(have)) => {
            want.len() == have.len() && want.iter().zip(have).all(|(w, h)| contained(w, h))
        }
        (Value::Number(want), Value::Number(have)) => want.as_f64() == have.as_f64(),
        (want, have) => want == have,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_ignores_server_fields_but_not_changed_values() {
        let desired = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.27"}]}}}});
        let live = json!({"spec": {"replicas": 2, "revisionHistoryLimit": 10, "template": {"spec": {
            "containers": [{"name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent"}]}}},
            "status": {"replicas": 2}});
        assert!(contained(&desired, &live));
        let changed = json!({"spec": {"replicas": 3}});
        assert!(!contained(&changed, &live));
        let extra_container = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web"}, {"name": "sidecar"}]}}}});
        assert!(!contained(&extra_container, &live));
    }

    #[test]
    fn actions_round_trip_their_spelling() {
        for action in [
            Action::Create,
            Action::Update,
            Action::Unchanged,
            Action::Delete,
            Action::ReplaceRequired,
        ] {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
    }

    #[test]
    fn saved_plans_never_hold_secret_values() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "plain"}});
        let masked = masked_manifest(&secret);
        let text = masked.to_string();
        assert!(!text.contains("aHVudGVyMg") && !text.contains("plain"));
        assert_eq!(masked["data"]["password"], "***");
    }
}
