//! The in-memory object store and the write semantics of the real registry.
//!
//! Objects are JSON values keyed by (group, resource, namespace, name) in a sorted map, so
//! lists come out in the order etcd's key layout gives a real server. One counter backs every
//! `resourceVersion`, shared by all kinds as on a real server, and it only moves on writes
//! that change something. Every write path (create, update, the three patch types, server-side
//! apply, the `status` and `scale` subresources, and the deletions the garbage collector
//! makes) ends in [`Store::create`]'s or `Store::write_existing`'s pipeline, so
//! preconditions, defaulting, validation, `managedFields`, generation, dry run, no-op
//! detection and watch events cannot drift apart between them.
//!
//! Submodules: `delete` (finalizers, propagation, garbage collection, namespace lifecycle),
//! `crd` (custom resources served from `CustomResourceDefinition`s), `list` (paging).

mod crd;
mod delete;
mod list;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::clock;
use crate::defaults;
use crate::error::{ApiError, InvalidField};
use crate::patch;
use crate::resources::{self, RESOURCES, ResourceType};
use crate::strategic;
use crate::validation;

pub use delete::{DeleteOptions, Deleted, Propagation};
pub use list::ListOptions;

/// Namespaces a real cluster starts with.
const INITIAL_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// How many watch events are kept for resuming watches; older resourceVersions get 410.
const DEFAULT_HISTORY: usize = 10_000;

/// How many bytes of events (their objects as JSON, before and after) the watch history
/// keeps. The count alone did not bound memory: 400 applies of a 2.9 MB `ConfigMap` held
/// 2.6 GiB. A real API server's watch cache is bounded by count and time; a byte budget is
/// this simulator's equivalent for a process that also runs the test suite.
const DEFAULT_HISTORY_BYTES: usize = 64 * 1024 * 1024;

/// The largest object the store accepts, as JSON: etcd's default `--max-request-bytes`
/// (1.5 MiB). A real server measures the protobuf encoding, which is smaller than JSON, so
/// the simulator refuses slightly earlier than a real cluster does.
pub const MAX_OBJECT_BYTES: usize = 1536 * 1024;

/// (group, plural, namespace — `""` when cluster-scoped —, name).
pub(crate) type ObjectKey = (&'static str, &'static str, String, String);

/// `fieldValidation`: what happens to fields the schema does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Reject the request (400 `BadRequest`).
    Strict,
    /// Drop the fields and answer with `Warning` headers (the server default).
    #[default]
    Warn,
    /// Drop the fields silently.
    Ignore,
}

impl FieldValidation {
    /// Parses the query value; `None` for an unknown one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Strict" => Some(Self::Strict),
            "" | "Warn" => Some(Self::Warn),
            "Ignore" => Some(Self::Ignore),
            _ => None,
        }
    }
}

/// The options every write takes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `fieldManager` (for writes without one, the User-Agent's product, as the real server
    /// derives it).
    pub manager: String,
    /// `dryRun=All`: run everything, persist nothing.
    pub dry_run: bool,
    /// `fieldValidation`.
    pub validation: FieldValidation,
    /// `force` (server-side apply only).
    pub force: bool,
}

impl WriteOptions {
    /// Options for a write by `manager` with the server defaults.
    pub fn manager(manager: &str) -> Self {
        Self {
            manager: manager.to_owned(),
            ..Self::default()
        }
    }
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// The object itself (`status` is ignored for kinds with a status subresource).
    Main,
    /// `/status`: only `status` is written.
    Status,
    /// `/scale`: an `autoscaling/v1` `Scale` view of `spec.replicas`.
    Scale,
}

impl Subresource {
    /// The `subresource` recorded in `managedFields` (`""` for the main resource).
    pub fn name(self) -> &'static str {
        match self {
            Self::Main => "",
            Self::Status => "status",
            Self::Scale => "scale",
        }
    }
}

/// The four PATCH body types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 6902 (`application/json-patch+json`).
    Json,
    /// RFC 7386 (`application/merge-patch+json`).
    Merge,
    /// Strategic merge patch (built-in kinds only).
    Strategic,
    /// Server-side apply (`application/apply-patch+yaml`).
    Apply,
}

/// Which request a write came from: decoding errors are worded per request type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Create,
    Update,
    Patch,
    Apply,
}

/// What a successful write answers.
#[derive(Debug, Clone)]
pub struct Written {
    /// The object as stored (or as it would be stored, for a dry run).
    pub object: Value,
    /// Whether the write created the object (201 rather than 200).
    pub created: bool,
    /// `Warning` header texts (unknown fields under `fieldValidation=Warn`).
    pub warnings: Vec<String>,
}

/// A watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object changed.
    Modified,
    /// The object was removed.
    Deleted,
}

impl EventType {
    /// The wire name (`ADDED`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One persisted change, kept for watches.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the change was written at.
    pub resource_version: u64,
    /// What happened.
    pub event_type: EventType,
    /// The resource type's group.
    pub group: &'static str,
    /// The resource type's plural.
    pub plural: &'static str,
    /// The object's namespace (`""` for cluster-scoped objects).
    pub namespace: String,
    /// The object after the change (for deletions: as last stored, with the new version).
    pub object: Arc<Value>,
    /// The object before the change (modifications), so a watch with a selector can turn an
    /// object that stops matching into a `DELETED` event.
    pub previous: Option<Arc<Value>>,
    /// What the event costs the history's byte budget: the JSON size of `object` and
    /// `previous`.
    pub bytes: usize,
}

/// The objects, the resourceVersion counter and the watch history. Not synchronised: the
/// [`crate::Simulator`] holds it behind one mutex, which also makes every request atomic.
#[derive(Debug)]
pub struct Store {
    objects: BTreeMap<ObjectKey, Value>,
    resource_version: u64,
    sequence: u64,
    /// Custom resource types served for CRDs, by (group, plural).
    custom: BTreeMap<(String, String), &'static ResourceType>,
    history: VecDeque<Event>,
    history_limit: usize,
    /// The sum of the history's [`Event::bytes`].
    history_bytes: usize,
    history_byte_limit: usize,
    /// Every event after this resourceVersion is still in `history`.
    history_floor: u64,
    /// Added to the wall clock: the virtual clock controllers and timestamps read.
    clock_offset: u64,
    /// Wakes watchers after each persisted change.
    notify: tokio::sync::watch::Sender<u64>,
    /// Cluster IPs and node ports handed out by defaulting.
    pub(crate) allocations: crate::defaults::Allocator,
    /// Set by writes that may leave work for the garbage collector.
    gc_pending: bool,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A store holding the namespaces a fresh cluster has.
    pub fn new() -> Self {
        let (notify, _) = tokio::sync::watch::channel(0);
        let mut store = Self {
            objects: BTreeMap::new(),
            resource_version: 0,
            sequence: 0,
            custom: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit: DEFAULT_HISTORY,
            history_bytes: 0,
            history_byte_limit: DEFAULT_HISTORY_BYTES,
            history_floor: 0,
            clock_offset: 0,
            notify,
            allocations: crate::defaults::Allocator::new(),
            gc_pending: false,
        };
        for name in INITIAL_NAMESPACES {
            let namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            // Cannot fail: the names are valid and the store is empty.
            let _ = store.create(
                resources::namespaces(),
                None,
                namespace,
                &WriteOptions::manager("kube-apiserver"),
            );
        }
        store
    }

    /// The current (newest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// A receiver that changes whenever a write is persisted (its value is the new
    /// resourceVersion). Watch streams wait on it.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.notify.subscribe()
    }

    /// Seconds since the epoch on the simulator's clock (the wall clock plus every
    /// [`Store::advance_clock`]).
    pub fn now(&self) -> u64 {
        clock::wall_seconds() + self.clock_offset
    }

    /// The simulator's clock as Kubernetes writes timestamps.
    pub fn now_rfc3339(&self) -> String {
        clock::format_rfc3339(self.now())
    }

    /// Moves the simulator's clock forward, for tests of deadlines.
    pub fn advance_clock(&mut self, seconds: u64) {
        self.clock_offset += seconds;
    }

    /// Forgets the watch history, so any watch resuming from an older resourceVersion gets
    /// `410 Expired` (a test hook: real servers compact their watch cache the same way).
    pub fn compact_history(&mut self) {
        self.history.clear();
        self.history_bytes = 0;
        self.history_floor = self.resource_version;
    }

    /// Sets how many events the watch history keeps.
    pub fn set_history_limit(&mut self, limit: usize) {
        self.history_limit = limit.max(1);
        self.trim_history();
    }

    /// Sets how many bytes of events the watch history keeps (64 MiB by default); the
    /// oldest events are compacted away first.
    pub fn set_history_byte_limit(&mut self, bytes: usize) {
        self.history_byte_limit = bytes;
        self.trim_history();
    }

    /// The bytes the watch history holds now (see [`Event::bytes`]); never more than the
    /// limit set by [`Store::set_history_byte_limit`].
    pub fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// The events after `resource_version`, or `None` when some of them were compacted.
    pub fn events_after(&self, resource_version: u64) -> Option<impl Iterator<Item = &Event>> {
        if resource_version < self.history_floor {
            return None;
        }
        let start = self
            .history
            .partition_point(|event| event.resource_version <= resource_version);
        Some(self.history.range(start..))
    }

    /// The oldest resourceVersion a watch can still resume from.
    pub fn history_floor(&self) -> u64 {
        self.history_floor
    }

    /// The resource type served at `group`/`version` under `plural`: built-in or custom.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
        resources::find(group, version, plural).or_else(|| {
            self.custom
                .get(&(group.to_owned(), plural.to_owned()))
                .copied()
                .filter(|r| r.version == version)
        })
    }

    /// The resource type of objects with `apiVersion` and `kind`.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<&'static ResourceType> {
        self.resource_types()
            .into_iter()
            .find(|r| r.kind == kind && r.api_version() == api_version)
    }

    /// Every stored object and the resourceVersion counter, for `shipway sandbox --state`.
    /// Definitions come first so that loading serves their kinds before their objects.
    pub fn export_state(&self) -> Value {
        let is_definition = |(group, plural, _, _): &ObjectKey| {
            *group == "apiextensions.k8s.io" && *plural == "customresourcedefinitions"
        };
        let objects: Vec<&Value> = self
            .objects
            .iter()
            .filter(|(k, _)| is_definition(k))
            .chain(self.objects.iter().filter(|(k, _)| !is_definition(k)))
            .map(|(_, object)| object)
            .collect();
        json!({"resourceVersion": self.resource_version, "objects": objects})
    }

    /// Replaces the contents with an [`Store::export_state`] document. Objects keep their
    /// uids, versions and timestamps; the watch history starts empty.
    pub fn import_state(&mut self, state: &Value) -> Result<(), String> {
        let objects = state
            .get("objects")
            .and_then(Value::as_array)
            .ok_or("the state has no `objects` list")?;
        self.objects.clear();
        self.custom.clear();
        self.allocations = defaults::Allocator::new();
        for (index, object) in objects.iter().enumerate() {
            let text = |field: &str| {
                object
                    .get(field)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let resource = self
                .find_kind(text("apiVersion"), text("kind"))
                .ok_or_else(|| {
                    format!(
                        "object {index} has a kind the simulator does not serve: {} {}",
                        text("apiVersion"),
                        text("kind")
                    )
                })?;
            let meta = |field: &str| {
                object
                    .pointer(&format!("/metadata/{field}"))
                    .and_then(Value::as_str)
            };
            let name = meta("name").ok_or_else(|| format!("object {index} has no name"))?;
            let object_key = key(resource, meta("namespace"), name);
            if resource.plural == "services" && resource.group.is_empty() {
                self.allocations.reserve(object);
            }
            self.objects.insert(object_key, object.clone());
            if resource.kind == "CustomResourceDefinition" {
                self.serve_definition(object);
            }
        }
        let newest = self
            .objects
            .values()
            .filter_map(|o| {
                o.pointer("/metadata/resourceVersion")?
                    .as_str()?
                    .parse::<u64>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        self.resource_version = state
            .get("resourceVersion")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .max(newest);
        self.sequence = self.sequence.max(self.resource_version);
        self.history.clear();
        self.history_bytes = 0;
        self.history_floor = self.resource_version;
        Ok(())
    }

    /// Every resource type served now: the built-in table, then custom resources.
    pub fn resource_types(&self) -> Vec<&'static ResourceType> {
        RESOURCES
            .iter()
            .chain(self.custom.values().copied())
            .collect()
    }

    /// The stored object, with `kind` and `apiVersion`.
    pub fn get(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.objects
            .get(&key(resource, namespace, name))
            .cloned()
            .ok_or_else(|| not_found(resource, name))
    }

    /// Every stored object of `resource` (in `namespace` when given), in key order.
    pub fn objects_of<'a>(
        &'a self,
        resource: &'a ResourceType,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        // Keys sort by group, plural, namespace, name: the objects asked for are one run
        // of the map, so lists and the controllers' passes never scan other kinds.
        let start: ObjectKey = (
            resource.group,
            resource.plural,
            namespace.unwrap_or_default().to_owned(),
            String::new(),
        );
        self.objects
            .range(start..)
            .take_while(move |((group, plural, object_namespace, _), _)| {
                *group == resource.group
                    && *plural == resource.plural
                    && namespace.is_none_or(|wanted| wanted == object_namespace)
            })
            .map(|(_, object)| object)
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the store is empty (it never is: namespaces exist from the start).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Creates an object (POST, and server-side apply of a missing object). `namespace` is
    /// the one in the URL.
    pub fn create(
        &mut self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        object: Value,
        options: &WriteOptions,
    ) -> Result<Written, ApiError> {
        self.create_with(resource, namespace, object, options, None)
    }

    /// [`Store::create`], with `managedFields` already computed by server-side apply.
    fn create_with(
        &mut self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        mut object: Value,
        options: &WriteOptions,
        applied_fields: Option<Value>,
    ) -> Result<Written, ApiError> {
        check_type(resource, &mut object)?;
        let metadata = metadata_mut(&mut object)?;
        set_namespace(resource, namespace, metadata)?;
        if metadata
            .get("resourceVersion")
            .and_then(Value::as_str)
            .is_some_and(|version| !version.is_empty())
        {
            // The real storage layer answers this with a plain error, which the API server
            // turns into an InternalError.
            return Err(ApiError::Internal(
                "resourceVersion should not be set on objects to be created".into(),
            ));
        }
        let mut name = metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            let prefix = metadata
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if prefix.is_empty() {
                return Err(invalid(
                    resource,
                    "",
                    "metadata.name",
                    "FieldValueRequired",
                    "Required value: name or generateName is required",
                ));
            }
            self.sequence += 1;
            name = format!("{prefix}{}", clock::name_suffix(self.sequence));
            metadata.insert("name".into(), name.clone().into());
        }
        validate_name(resource, &name)?;
        if resource.namespaced {
            self.check_namespace_accepts(resource, namespace.unwrap_or_default(), &name)?;
        }
        let object_key = key(resource, namespace, &name);
        if self.objects.contains_key(&object_key) {
            return Err(ApiError::AlreadyExists {
                qualified_plural: resource.qualified_plural(),
                group: resource.group,
                plural: resource.plural,
                name,
            });
        }
        self.sequence += 1;
        for server_owned in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ] {
            metadata.remove(server_owned);
        }
        metadata.insert("uid".into(), clock::uid(self.sequence).into());
        metadata.insert("creationTimestamp".into(), self.now_rfc3339().into());
        if resource.tracks_generation {
            metadata.insert("generation".into(), 1.into());
        } else {
            metadata.remove("generation");
        }
        if resource.has_status {
            set_field(&mut object, "status", json!({}));
        }
        if resource.is_namespace() {
            default_namespace(&mut object, &name, None);
        }
        let operation = if applied_fields.is_some() {
            Operation::Apply
        } else {
            Operation::Create
        };
        let warnings = self.admit(resource, None, &mut object, options, operation)?;
        if let Some(managed) = applied_fields {
            set_metadata(&mut object, "managedFields", managed);
        } else {
            let now = self.now_rfc3339();
            record_managed_fields(
                resource,
                None,
                &mut object,
                options,
                Subresource::Main,
                &now,
            );
        }
        if options.dry_run {
            // A dry-run create shows the object as it would be stored, minus the version.
            set_metadata(&mut object, "resourceVersion", "".into());
            return Ok(Written {
                object,
                created: true,
                warnings,
            });
        }
        fit_for_storage(&mut object, operation == Operation::Apply)?;
        let object = self.persist(object_key, EventType::Added, object, None);
        self.after_write(resource, &object);
        Ok(Written {
            object,
            created: true,
            warnings,
        })
    }

    /// Replaces an object (PUT). A non-empty `metadata.resourceVersion` in `object` is a
    /// precondition.
    pub fn update(
        &mut self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        object: Value,
        subresource: Subresource,
        options: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let old = self.get(resource, namespace, name)?;
        let new = match subresource {
            Subresource::Scale => scale_into(resource, &old, &object)?,
            _ => object,
        };
        self.write_existing(
            resource,
            namespace,
            name,
            &old,
            new,
            subresource,
            options,
            None,
            Operation::Update,
        )
    }

    /// PATCH of any of the four types, on the object or one of its subresources.
    #[expect(clippy::too_many_arguments, reason = "the PATCH request's parts")]
    pub fn patch(
        &mut self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch_type: PatchType,
        body: &Value,
        subresource: Subresource,
        options: &WriteOptions,
    ) -> Result<Written, ApiError> {
        if patch_type == PatchType::Apply {
            return self.apply(resource, namespace, name, body, subresource, options);
        }
        let old = self.get(resource, namespace, name)?;
        let mut target = match subresource {
            Subresource::Scale => scale_of(&old),
            _ => old.clone(),
        };
        match patch_type {
            PatchType::Strategic => {
                if resource.is_custom() {
                    return Err(ApiError::UnsupportedMediaType(
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
                    ));
                }
                let schema = crate::schema();
                let definition = if subresource == Subresource::Scale {
                    schema.definition_for("autoscaling", "v1", "Scale")
                } else {
                    schema.definition_for(resource.group, resource.version, resource.kind)
                };
                strategic::apply(schema, definition, &mut target, body)?;
            }
            PatchType::Merge => {
                if !body.is_object() {
                    return Err(ApiError::BadRequest(
                        "a merge patch must be a JSON object".into(),
                    ));
                }
                patch::merge_patch(&mut target, body);
            }
            PatchType::Json => {
                if !body.is_array() {
                    return Err(ApiError::BadRequest(
                        "a JSON patch must be a JSON array".into(),
                    ));
                }
                patch::json_patch(&mut target, body)
                    .map_err(|error| ApiError::Unprocessable(error.to_string()))?;
            }
            PatchType::Apply => unreachable!("handled above"),
        }
        let new = match subresource {
            Subresource::Scale => scale_into(resource, &old, &target)?,
            _ => target,
        };
        self.write_existing(
            resource,
            namespace,
            name,
            &old,
            new,
            subresource,
            options,
            None,
            Operation::Patch,
        )
    }

    /// Server-side apply: merges `body` as `options.manager`'s complete intent, creating the
    /// object when it is missing.
    pub fn apply(
        &mut self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        body: &Value,
        subresource: Subresource,
        options: &WriteOptions,
    ) -> Result<Written, ApiError> {
        if options.manager.is_empty() {
            return Err(ApiError::Unprocessable(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into(),
            ));
        }
        let mut body = body.clone();
        check_type(resource, &mut body)?;
        let metadata = metadata_mut(&mut body)?;
        if metadata.get("managedFields").is_some_and(|m| !m.is_null()) {
            return Err(ApiError::BadRequest(
                "metadata.managedFields must be nil".into(),
            ));
        }
        match metadata.get("name").and_then(Value::as_str) {
            None | Some("") => {
                metadata.insert("name".into(), name.into());
            }
            Some(found) if found == name => {}
            Some(found) => {
                return Err(ApiError::BadRequest(format!(
                    "the name of the object ({found}) does not match the name on the URL ({name})"
                )));
            }
        }
        set_namespace(resource, namespace, metadata)?;
        if resource.has_status {
            match subresource {
                Subresource::Status => {
                    // Only status is applied through /status.
                    let status = body.get("status").cloned();
                    if let Some(map) = body.as_object_mut() {
                        map.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata"));
                        if let Some(status) = status {
                            map.insert("status".into(), status);
                        }
                    }
                }
                _ => remove_field(&mut body, "status"),
            }
        }
        let mut apply_warnings = Vec::new();
        if let (Some(schema), Some(definition)) = schema_of(resource) {
            // Undeclared fields never reach the merge, so they are never owned.
            let report = validation::check_fields(schema, definition, &body);
            if !report.unknown.is_empty() {
                match options.validation {
                    FieldValidation::Strict => {
                        let paths: Vec<String> = report
                            .unknown
                            .iter()
                            .map(|u| u.apply_path.clone())
                            .collect();
                        return Err(ApiError::BadRequest(format!(
                            "failed to create typed patch object ({}/{name}; {}, Kind={}): {}",
                            namespace.unwrap_or_default(),
                            resource.api_version(),
                            resource.kind,
                            validation::apply_unknown_message(&paths)
                        )));
                    }
                    FieldValidation::Warn => apply_warnings.extend(
                        report
                            .unknown
                            .iter()
                            .map(|u| format!("unknown field \"{}\"", u.path)),
                    ),
                    FieldValidation::Ignore => {}
                }
                validation::prune(&mut body, &report.unknown);
            }
        }
        let live = self.objects.get(&key(resource, namespace, name)).cloned();
        let manager = crate::ssa::Manager {
            name: &options.manager,
            api_version: &resource.api_version(),
            subresource: subresource.name(),
            time: &self.now_rfc3339(),
        };
        let (schema, definition) = schema_of(resource);
        // Defaulting for the comparison only: allocations go to a scratch copy, the write
        // below defaults (and allocates) for real.
        let allocations = &self.allocations;
        let defaults = |object: &mut Value| {
            if let Some(old) = live.as_ref() {
                let mut scratch = allocations.clone();
                let mut context = defaults::DefaultContext::update(&mut scratch, old);
                defaults::apply_defaults(resource.group, resource.kind, object, &mut context);
            }
        };
        let merged = crate::ssa::apply(
            schema,
            definition,
            live.as_ref(),
            &body,
            &manager,
            options.force,
            &defaults,
        )
        .map_err(|error| match error {
            crate::ssa::ApplyError::Conflicts(conflicts) => ApiError::ApplyConflict {
                message: crate::ssa::conflict_message(&conflicts),
                causes: conflicts
                    .iter()
                    .map(|c| {
                        (
                            format!("conflict with {}", c.manager_text()),
                            c.path.clone(),
                        )
                    })
                    .collect(),
            },
            crate::ssa::ApplyError::Invalid(message) => ApiError::Unprocessable(message),
        })?;
        let managed = merged
            .pointer("/metadata/managedFields")
            .cloned()
            .unwrap_or_else(|| json!([]));
        let written = match live {
            None => self.create_with(resource, namespace, merged, options, Some(managed)),
            Some(old) => self.write_existing(
                resource,
                namespace,
                name,
                &old,
                merged,
                subresource,
                options,
                Some(managed),
                Operation::Apply,
            ),
        };
        written.map(|mut written| {
            apply_warnings.append(&mut written.warnings);
            written.warnings = apply_warnings;
            written
        })
    }

    /// The update pipeline every write to an existing object goes through.
    #[expect(
        clippy::too_many_arguments,
        reason = "one pipeline for every write path"
    )]
    fn write_existing(
        &mut self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        old: &Value,
        mut object: Value,
        subresource: Subresource,
        options: &WriteOptions,
        applied_fields: Option<Value>,
        operation: Operation,
    ) -> Result<Written, ApiError> {
        check_type(resource, &mut object)?;
        let metadata = metadata_mut(&mut object)?;
        set_namespace(resource, namespace, metadata)?;
        let body_name = metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if body_name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let old_version = old
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let precondition = metadata
            .get("resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !precondition.is_empty() && precondition != old_version {
            return Err(conflict(resource, name));
        }
        // Fields the server owns come from the stored object, whatever the client sent.
        for server_owned in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match old.pointer(&format!("/metadata/{server_owned}")) {
                Some(value) => metadata.insert(server_owned.into(), value.clone()),
                None => metadata.remove(server_owned),
            };
        }
        metadata.remove("selfLink");
        // An update that does not mention managedFields keeps them (a real PUT of an object
        // read without them does not wipe the tracking).
        if !metadata.contains_key("managedFields")
            && let Some(managed) = old.pointer("/metadata/managedFields")
        {
            metadata.insert("managedFields".into(), managed.clone());
        }
        metadata.insert("resourceVersion".into(), old_version.clone().into());
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            let finalizers = |object: &Value| -> Vec<Value> {
                object
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            let before = finalizers(old);
            if let Some(added) = finalizers(&object).iter().find(|f| !before.contains(f)) {
                return Err(invalid(
                    resource,
                    name,
                    "metadata.finalizers",
                    "FieldValueForbidden",
                    &format!(
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{added}}}"
                    ),
                ));
            }
        }
        if resource.has_status {
            match subresource {
                Subresource::Status => {
                    // /status writes change status only (Deployments also take annotations,
                    // which is how the controller records revisions).
                    let mut merged = old.clone();
                    set_field(
                        &mut merged,
                        "status",
                        object.get("status").cloned().unwrap_or_else(|| json!({})),
                    );
                    for carried in ["resourceVersion", "managedFields"] {
                        if let Some(value) = object.pointer(&format!("/metadata/{carried}")) {
                            set_metadata(&mut merged, carried, value.clone());
                        }
                    }
                    if resource.kind == "Deployment" {
                        match object.pointer("/metadata/annotations") {
                            Some(annotations) => {
                                set_metadata(&mut merged, "annotations", annotations.clone());
                            }
                            None => remove_metadata(&mut merged, "annotations"),
                        }
                    }
                    object = merged;
                }
                _ => match old.get("status") {
                    Some(status) => set_field(&mut object, "status", status.clone()),
                    None => remove_field(&mut object, "status"),
                },
            }
        }
        if resource.is_namespace() {
            default_namespace(&mut object, name, old.pointer("/spec/finalizers"));
        }
        let warnings = self.admit(resource, Some(old), &mut object, options, operation)?;
        // The status strategies never bump the generation (a Deployment's revision
        // annotation arrives through /status for exactly that reason).
        if resource.tracks_generation
            && subresource != Subresource::Status
            && generation_changes(resource, old, &object)
        {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            set_metadata(&mut object, "generation", (generation + 1).into());
        }
        if let Some(managed) = applied_fields {
            set_metadata(&mut object, "managedFields", managed);
        } else {
            let now = self.now_rfc3339();
            record_managed_fields(resource, Some(old), &mut object, options, subresource, &now);
        }
        if object == *old || options.dry_run {
            // A no-op write keeps the resourceVersion and emits nothing; a dry run shows
            // what would be stored.
            return Ok(Written {
                object,
                created: false,
                warnings,
            });
        }
        fit_for_storage(&mut object, operation == Operation::Apply)?;
        let object_key = key(resource, namespace, name);
        let object = self.persist(object_key, EventType::Modified, object, Some(old.clone()));
        if object.pointer("/metadata/deletionTimestamp").is_some() {
            self.gc_pending = true;
        }
        self.after_write(resource, &object);
        self.collect_garbage();
        Ok(Written {
            object,
            created: false,
            warnings,
        })
    }

    /// Decoding checks, defaulting and validation, shared by creates and updates, in the
    /// real server's order: undeclared fields (per `fieldValidation`) and type mismatches,
    /// then defaults, then the kind's validation and immutable fields. Returns the
    /// warnings.
    fn admit(
        &mut self,
        resource: &'static ResourceType,
        old: Option<&Value>,
        object: &mut Value,
        options: &WriteOptions,
        operation: Operation,
    ) -> Result<Vec<String>, ApiError> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut warnings = Vec::new();
        if let Some(schema) = resource.custom_schema {
            let report = crd::validate_custom(schema, object);
            unknown_fields_outcome(&report.unknown, options.validation, &mut warnings, None)?;
            if !report.errors.is_empty() {
                return Err(crd::report_error(resource, &name, report));
            }
        } else if let (Some(schema), Some(definition)) = schema_of(resource) {
            let report = validation::check_fields(schema, definition, object);
            // POST and PUT bodies fail decoding as a whole; patches report the detail.
            let wrap = |detail: String| match operation {
                Operation::Create | Operation::Update => {
                    validation::cannot_be_handled(resource.kind, resource.version, &detail)
                }
                Operation::Patch | Operation::Apply => detail,
            };
            if let Some(mismatch) = report.mismatches.first() {
                return Err(ApiError::BadRequest(wrap(mismatch.message.clone())));
            }
            let paths: Vec<String> = report.unknown.iter().map(|u| u.path.clone()).collect();
            unknown_fields_outcome(&paths, options.validation, &mut warnings, Some(&wrap))?;
            validation::prune(object, &report.unknown);
        }
        {
            let mut context = match old {
                Some(old) => defaults::DefaultContext::update(&mut self.allocations, old),
                None => defaults::DefaultContext::create(&mut self.allocations),
            };
            defaults::apply_defaults(resource.group, resource.kind, object, &mut context);
        }
        let mut problems = validation::validate(resource.group, resource.kind, object);
        if let Some(old) = old {
            problems.extend(validation::immutable_violations(
                resource.group,
                resource.kind,
                old,
                object,
            ));
        }
        if !problems.is_empty() {
            return Err(ApiError::from_fields(problems));
        }
        if resource.kind == "CustomResourceDefinition" && resource.group == "apiextensions.k8s.io" {
            crd::admit_definition(object)?;
        }
        Ok(warnings)
    }

    /// Stores `object` at the next resourceVersion and records the event.
    fn persist(
        &mut self,
        object_key: ObjectKey,
        event_type: EventType,
        mut object: Value,
        previous: Option<Value>,
    ) -> Value {
        self.resource_version += 1;
        set_metadata(
            &mut object,
            "resourceVersion",
            self.resource_version.to_string().into(),
        );
        let bytes = json_size(&object) + previous.as_ref().map_or(0, json_size);
        let event = Event {
            resource_version: self.resource_version,
            event_type,
            group: object_key.0,
            plural: object_key.1,
            namespace: object_key.2.clone(),
            object: Arc::new(object.clone()),
            previous: previous.map(Arc::new),
            bytes,
        };
        if event_type == EventType::Deleted {
            self.objects.remove(&object_key);
        } else {
            self.objects.insert(object_key, object.clone());
        }
        self.history_bytes += event.bytes;
        self.history.push_back(event);
        self.trim_history();
        self.notify.send_replace(self.resource_version);
        object
    }

    /// Compacts the oldest events until the history is within both its count and its byte
    /// budget. A single event larger than the whole byte budget is compacted too: watchers
    /// behind it get `410 Expired` and relist, which is what a budget means.
    fn trim_history(&mut self) {
        while self.history.len() > self.history_limit
            || self.history_bytes > self.history_byte_limit
        {
            let Some(event) = self.history.pop_front() else {
                break;
            };
            self.history_bytes -= event.bytes;
            self.history_floor = event.resource_version;
        }
    }

    /// Work a write of `object` triggers beyond storing it (serving a CRD's kind).
    fn after_write(&mut self, resource: &ResourceType, object: &Value) {
        if resource.kind == "CustomResourceDefinition" && resource.group == "apiextensions.k8s.io" {
            self.serve_definition(object);
        }
    }

    /// Namespaced writes need a namespace that exists and is not terminating.
    fn check_namespace_accepts(
        &self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let Some(found) = self
            .objects
            .get(&key(resources::namespaces(), None, namespace))
        else {
            return Err(not_found(resources::namespaces(), namespace));
        };
        if found.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(ApiError::NamespaceTerminating {
                message: format!(
                    "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                    resource.qualified_plural()
                ),
                group: resource.group,
                plural: resource.plural,
                name: name.to_owned(),
            });
        }
        Ok(())
    }
}

/// etcd's request limit, checked where a real server meets it: after validation, when the
/// object is written (so a dry run never meets it). Like the real handlers, a create,
/// update or patch that is too large is retried without `managedFields`, which can be
/// large; server-side apply is not, since its field ownership is the point of the write.
fn fit_for_storage(object: &mut Value, apply: bool) -> Result<(), ApiError> {
    if json_size(object) <= MAX_OBJECT_BYTES {
        return Ok(());
    }
    if !apply && object.pointer("/metadata/managedFields").is_some() {
        remove_metadata(object, "managedFields");
        if json_size(object) <= MAX_OBJECT_BYTES {
            return Ok(());
        }
    }
    Err(ApiError::StorageTooLarge)
}

/// What `fieldValidation` makes of undeclared fields (already dropped from the object):
/// Strict refuses the request, Warn answers warnings, Ignore says nothing.
fn unknown_fields_outcome(
    unknown: &[String],
    validation: FieldValidation,
    warnings: &mut Vec<String>,
    wrap: Option<&dyn Fn(String) -> String>,
) -> Result<(), ApiError> {
    if unknown.is_empty() {
        return Ok(());
    }
    match validation {
        FieldValidation::Strict => {
            let detail = validation::strict_decoding_message(unknown);
            Err(ApiError::BadRequest(match wrap {
                Some(wrap) => wrap(detail),
                None => detail,
            }))
        }
        FieldValidation::Warn => {
            warnings.extend(
                unknown
                    .iter()
                    .map(|path| format!("unknown field \"{path}\"")),
            );
            Ok(())
        }
        FieldValidation::Ignore => Ok(()),
    }
}

/// The bundled schema and definition of a built-in kind (`None` for custom resources, which
/// merge as untyped maps).
fn schema_of(
    resource: &ResourceType,
) -> (
    Option<&'static shipway_schema::Schema>,
    Option<&'static str>,
) {
    if resource.is_custom() {
        return (None, None);
    }
    let schema = crate::schema();
    (
        Some(schema),
        schema.definition_for(resource.group, resource.version, resource.kind),
    )
}

/// Records an ordinary write's field ownership under `options.manager`.
fn record_managed_fields(
    resource: &ResourceType,
    old: Option<&Value>,
    object: &mut Value,
    options: &WriteOptions,
    subresource: Subresource,
    time: &str,
) {
    let (schema, definition) = schema_of(resource);
    let manager = if options.manager.is_empty() {
        "unknown"
    } else {
        options.manager.as_str()
    };
    let manager = crate::ssa::Manager {
        name: manager,
        api_version: &resource.api_version(),
        subresource: subresource.name(),
        time,
    };
    *object = crate::ssa::record_update(schema, definition, old, object, &manager);
}

/// The `autoscaling/v1` `Scale` view of an object with a scale subresource.
fn scale_of(object: &Value) -> Value {
    let mut metadata = Map::new();
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(value) = object.pointer(&format!("/metadata/{field}")) {
            metadata.insert(field.into(), value.clone());
        }
    }
    let selector = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

/// The object after a `Scale` write: its `spec.replicas` set from the scale, with the
/// scale's `resourceVersion` as the precondition.
fn scale_into(resource: &ResourceType, old: &Value, scale: &Value) -> Result<Value, ApiError> {
    if !resource.has_scale() {
        return Err(ApiError::NoRoute);
    }
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if replicas < 0 {
        return Err(invalid(
            resource,
            old.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            "spec.replicas",
            "FieldValueInvalid",
            &format!("Invalid value: {replicas}: must be greater than or equal to 0"),
        ));
    }
    let mut new = old.clone();
    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), replicas.into());
    }
    match scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        Some(version) if !version.is_empty() => {
            set_metadata(&mut new, "resourceVersion", version.into());
        }
        _ => remove_metadata(&mut new, "resourceVersion"),
    }
    remove_metadata(&mut new, "managedFields");
    if let Some(managed) = old.pointer("/metadata/managedFields") {
        set_metadata(&mut new, "managedFields", managed.clone());
    }
    Ok(new)
}

/// The public view of a subresource read.
pub fn subresource_view(object: &Value, subresource: Subresource) -> Value {
    match subresource {
        Subresource::Scale => scale_of(object),
        _ => object.clone(),
    }
}

pub(crate) fn key(resource: &ResourceType, namespace: Option<&str>, name: &str) -> ObjectKey {
    let namespace = if resource.namespaced {
        namespace.unwrap_or_default()
    } else {
        ""
    };
    (
        resource.group,
        resource.plural,
        namespace.to_owned(),
        name.to_owned(),
    )
}

/// The body must be an object of the URL's kind; missing `kind`/`apiVersion` are filled in.
fn check_type(resource: &ResourceType, object: &mut Value) -> Result<(), ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    };
    let api_version = resource.api_version();
    for (field, expected) in [
        ("kind", resource.kind),
        ("apiVersion", api_version.as_str()),
    ] {
        match map.get(field).and_then(Value::as_str) {
            None | Some("") => {
                map.insert(field.into(), expected.into());
            }
            Some(found) if found == expected => {}
            Some(found) => {
                return Err(ApiError::BadRequest(format!(
                    "the API version in the data ({}) does not match the expected API version ({api_version}) or kind {found:?} is not {:?}",
                    map.get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    resource.kind
                )));
            }
        }
    }
    Ok(())
}

fn metadata_mut(object: &mut Value) -> Result<&mut Map<String, Value>, ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    };
    let metadata = map.entry("metadata").or_insert_with(|| json!({}));
    if metadata.is_null() {
        *metadata = json!({});
    }
    metadata
        .as_object_mut()
        .ok_or_else(|| ApiError::BadRequest("metadata must be an object".into()))
}

/// A namespace in the body must match the URL; an absent one is taken from the URL.
fn set_namespace(
    resource: &ResourceType,
    namespace: Option<&str>,
    metadata: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    if !resource.namespaced {
        metadata.remove("namespace");
        return Ok(());
    }
    let url_namespace = namespace.unwrap_or_default();
    match metadata.get("namespace").and_then(Value::as_str) {
        None | Some("") => {
            metadata.insert("namespace".into(), url_namespace.into());
            Ok(())
        }
        Some(found) if found == url_namespace => Ok(()),
        Some(_) => Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        )),
    }
}

/// DNS-1123 subdomain names for everything except namespaces, which must be DNS-1123 labels.
fn validate_name(resource: &ResourceType, name: &str) -> Result<(), ApiError> {
    let is_namespace = resource.is_namespace();
    let max = if is_namespace { 63 } else { 253 };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let valid = name.len() <= max
        && if is_namespace {
            label_ok(name)
        } else {
            name.split('.').all(label_ok)
        };
    if valid {
        return Ok(());
    }
    let message = if is_namespace {
        format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        )
    } else {
        format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    };
    Err(invalid(
        resource,
        name,
        "metadata.name",
        "FieldValueInvalid",
        &message,
    ))
}

/// Whether an update bumps `metadata.generation`: any change outside `metadata` and
/// `status`, and for Deployments also an annotation change (its strategy copies annotations
/// to `ReplicaSets`, so they count as spec).
fn generation_changes(resource: &ResourceType, old: &Value, new: &Value) -> bool {
    let differs = |key: &str| old.get(key) != new.get(key);
    let body_keys = old
        .as_object()
        .into_iter()
        .flat_map(|map| map.keys())
        .chain(new.as_object().into_iter().flat_map(|map| map.keys()))
        .filter(|key| !matches!(key.as_str(), "metadata" | "status" | "kind" | "apiVersion"));
    for key in body_keys {
        if differs(key) {
            return true;
        }
    }
    resource.kind == "Deployment"
        && old.pointer("/metadata/annotations") != new.pointer("/metadata/annotations")
}

/// What the namespace strategy enforces: the `kubernetes` finalizer, phase `Active` while
/// live, and the `kubernetes.io/metadata.name` label.
fn default_namespace(object: &mut Value, name: &str, old_finalizers: Option<&Value>) {
    let finalizers = old_finalizers
        .cloned()
        .unwrap_or_else(|| json!(["kubernetes"]));
    set_field(object, "spec", json!({"finalizers": finalizers}));
    if old_finalizers.is_none() {
        set_field(object, "status", json!({"phase": "Active"}));
    }
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = metadata.entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert("kubernetes.io/metadata.name".into(), name.into());
        }
    }
}

/// The length of `value` serialised as compact JSON, counted without building the text.
pub(crate) fn json_size(value: &Value) -> usize {
    /// A writer that only counts.
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
            self.0 += buffer.len();
            Ok(buffer.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Serialising a `Value` cannot fail (its keys are strings) and the writer never fails.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

pub(crate) fn set_field(object: &mut Value, field: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(field.into(), value);
    }
}

pub(crate) fn remove_field(object: &mut Value, field: &str) {
    if let Some(map) = object.as_object_mut() {
        map.remove(field);
    }
}

pub(crate) fn set_metadata(object: &mut Value, field: &str, value: Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert(field.into(), value);
    }
}

pub(crate) fn remove_metadata(object: &mut Value, field: &str) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove(field);
    }
}

/// 404 for a named object of `resource`.
pub fn not_found(resource: &ResourceType, name: &str) -> ApiError {
    ApiError::NotFound {
        qualified_plural: resource.qualified_plural(),
        group: resource.group,
        plural: resource.plural,
        name: name.into(),
    }
}

/// 409 for a failed resourceVersion precondition, in the real server's words.
fn conflict(resource: &ResourceType, name: &str) -> ApiError {
    ApiError::Conflict {
        qualified_plural: resource.qualified_plural(),
        group: resource.group,
        plural: resource.plural,
        name: name.into(),
        reason: "the object has been modified; please apply your changes to the latest version and try again".into(),
    }
}

/// 422 with one field cause.
pub fn invalid(
    resource: &ResourceType,
    name: &str,
    field: &str,
    cause: &'static str,
    message: &str,
) -> ApiError {
    ApiError::Invalid(Box::new(InvalidField {
        qualified_kind: resource.qualified_kind(),
        group: resource.group,
        kind: resource.kind,
        name: name.into(),
        field: field.into(),
        cause,
        message: message.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployments() -> &'static ResourceType {
        resources::find("apps", "v1", "deployments").unwrap()
    }

    fn options() -> WriteOptions {
        WriteOptions::manager("test")
    }

    /// A Deployment that passes validation, with `spec` fields merged in.
    pub(crate) fn valid_deployment(name: &str, spec: &Value) -> Value {
        let mut deployment = json!({"metadata": {"name": name}, "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}});
        if let (Some(target), Some(extra)) = (deployment["spec"].as_object_mut(), spec.as_object())
        {
            for (key, value) in extra {
                target.insert(key.clone(), value.clone());
            }
        }
        deployment
    }

    #[test]
    fn generation_moves_on_spec_and_deployment_annotations_only() {
        let mut store = Store::new();
        let update = |store: &mut Store, object: Value| {
            store
                .update(
                    deployments(),
                    Some("default"),
                    "web",
                    object,
                    Subresource::Main,
                    &options(),
                )
                .unwrap()
                .object
        };
        let created = store
            .create(
                deployments(),
                Some("default"),
                valid_deployment("web", &json!({"replicas": 1})),
                &options(),
            )
            .unwrap()
            .object;
        assert_eq!(created["metadata"]["generation"], 1);
        assert_eq!(created["status"], json!({}));
        let mut labelled = created.clone();
        labelled["metadata"]["labels"] = json!({"a": "b"});
        let labelled = update(&mut store, labelled);
        assert_eq!(labelled["metadata"]["generation"], 1);
        let mut annotated = labelled.clone();
        annotated["metadata"]["annotations"] = json!({"a": "b"});
        let annotated = update(&mut store, annotated);
        assert_eq!(annotated["metadata"]["generation"], 2);
        let mut scaled = annotated.clone();
        scaled["spec"]["replicas"] = 3.into();
        scaled["status"] = json!({"replicas": 99});
        let scaled = update(&mut store, scaled);
        assert_eq!(scaled["metadata"]["generation"], 3);
        assert_eq!(
            scaled["status"],
            json!({}),
            "status is only written through /status"
        );
        let mut status = scaled.clone();
        status["status"] = json!({"replicas": 2});
        status["spec"]["replicas"] = 7.into();
        let status = store
            .update(
                deployments(),
                Some("default"),
                "web",
                status,
                Subresource::Status,
                &options(),
            )
            .unwrap()
            .object;
        assert_eq!(status["status"]["replicas"], 2);
        assert_eq!(status["spec"]["replicas"], 3, "/status ignores spec");
        assert_eq!(status["metadata"]["generation"], 3);
    }

    #[test]
    fn no_op_update_keeps_the_resource_version_and_emits_nothing() {
        let mut store = Store::new();
        let created = store
            .create(
                deployments(),
                Some("default"),
                valid_deployment("web", &json!({})),
                &options(),
            )
            .unwrap()
            .object;
        let before = store.resource_version();
        let events = store.history.len();
        let same = store
            .update(
                deployments(),
                Some("default"),
                "web",
                created.clone(),
                Subresource::Main,
                &options(),
            )
            .unwrap()
            .object;
        assert_eq!(same, created);
        assert_eq!(store.resource_version(), before);
        assert_eq!(store.history.len(), events);
    }

    #[test]
    fn dry_run_persists_nothing() {
        let mut store = Store::new();
        let before = store.resource_version();
        let dry = WriteOptions {
            dry_run: true,
            ..options()
        };
        let written = store
            .create(
                deployments(),
                Some("default"),
                valid_deployment("web", &json!({})),
                &dry,
            )
            .unwrap();
        assert_eq!(written.object["metadata"]["resourceVersion"], "");
        assert!(written.object["metadata"]["uid"].is_string());
        assert_eq!(store.resource_version(), before);
        assert!(store.get(deployments(), Some("default"), "web").is_err());
    }

    #[test]
    fn history_answers_resumes_and_expires() {
        let mut store = Store::new();
        let start = store.resource_version();
        store
            .create(
                deployments(),
                Some("default"),
                valid_deployment("web", &json!({})),
                &options(),
            )
            .unwrap();
        let events: Vec<_> = store.events_after(start).unwrap().collect();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, EventType::Added);
        store.compact_history();
        assert!(store.events_after(start).is_none());
        assert_eq!(
            store
                .events_after(store.resource_version())
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn state_round_trips_with_custom_resources() {
        let mut store = Store::new();
        let definitions =
            resources::find("apiextensions.k8s.io", "v1", "customresourcedefinitions").unwrap();
        store
            .create(
                definitions,
                None,
                json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com",
                    "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": true, "storage": true}]}}),
                &options(),
            )
            .unwrap();
        let widgets = store.find("example.com", "v1", "widgets").unwrap();
        store
            .create(
                widgets,
                Some("default"),
                json!({"metadata": {"name": "w"}, "spec": {"a": 1}}),
                &options(),
            )
            .unwrap();
        let state = store.export_state();
        let mut loaded = Store::new();
        loaded.import_state(&state).unwrap();
        assert_eq!(loaded.export_state(), state);
        let widgets = loaded.find("example.com", "v1", "widgets").unwrap();
        assert!(loaded.get(widgets, Some("default"), "w").is_ok());
        assert!(
            loaded
                .import_state(&json!({"objects": [{"apiVersion": "x/v1", "kind": "Nope"}]}))
                .is_err()
        );
    }

    #[test]
    fn scale_subresource_reads_and_writes_replicas() {
        let mut store = Store::new();
        store
            .create(
                deployments(),
                Some("default"),
                valid_deployment("web", &json!({"replicas": 2})),
                &options(),
            )
            .unwrap();
        let live = store.get(deployments(), Some("default"), "web").unwrap();
        let scale = subresource_view(&live, Subresource::Scale);
        assert_eq!(scale["spec"]["replicas"], 2);
        assert_eq!(scale["status"]["selector"], "app=web");
        let written = store
            .patch(
                deployments(),
                Some("default"),
                "web",
                PatchType::Merge,
                &json!({"spec":{"replicas":4}}),
                Subresource::Scale,
                &options(),
            )
            .unwrap();
        assert_eq!(written.object["spec"]["replicas"], 4);
        assert_eq!(written.object["metadata"]["generation"], 2);
    }

    /// Issue 17: two managers applying the same manifest share the fields defaulting fills
    /// in after an apply (`fieldRef.apiVersion` inside an atomic struct, `protocol`,
    /// `imagePullPolicy`, `terminationMessagePath`, probe and `httpGet` defaults), as a real
    /// server's deserialization defaults are shared (kubernetes/kubernetes#129960).
    #[test]
    fn identical_applies_by_two_managers_share_defaulted_fields() {
        let mut store = Store::new();
        let manifest = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "app", "image": "nginx:1.27",
                "ports": [{"containerPort": 80}],
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "readinessProbe": {"httpGet": {"port": 80}},
                "volumeMounts": [{"name": "info", "mountPath": "/info"}]}],
                "volumes": [{"name": "info", "downwardAPI": {"items": [
                    {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}}}});
        let apply = |store: &mut Store, manager: &str| {
            store.apply(
                deployments(),
                Some("default"),
                "web",
                &manifest,
                Subresource::Main,
                &WriteOptions::manager(manager),
            )
        };
        let first = apply(&mut store, "kubectl").unwrap().object;
        let container = &first["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["env"][0]["valueFrom"]["fieldRef"]["apiVersion"],
            "v1"
        );
        let second = match apply(&mut store, "shipway") {
            Ok(written) => written.object,
            Err(error) => panic!("second manager conflicted: {error}"),
        };
        let managers: Vec<&str> = second["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, ["kubectl", "shipway"]);
        // Both own the atomic fieldRef; neither owns the defaulted apiVersion separately.
        let env = "/spec/template/spec/containers/k:{\"name\":\"app\"}/env/k:{\"name\":\"POD\"}";
        for entry in second["metadata"]["managedFields"].as_array().unwrap() {
            let fields = &entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
            assert!(
                fields["f:env"]["k:{\"name\":\"POD\"}"]["f:valueFrom"]["f:fieldRef"].is_object(),
                "{env} not owned by {}",
                entry["manager"]
            );
            assert!(fields.get("f:imagePullPolicy").is_none());
        }
        // A third manager changing the shared value conflicts with both.
        let mut changed = manifest.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] =
            json!("metadata.namespace");
        let error = store
            .apply(
                deployments(),
                Some("default"),
                "web",
                &changed,
                Subresource::Main,
                &WriteOptions::manager("third"),
            )
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("conflicts with \"kubectl\""), "{message}");
        assert!(message.contains("conflicts with \"shipway\""), "{message}");
    }
}
