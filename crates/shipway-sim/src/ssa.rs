//! Server-side apply and `metadata.managedFields`, as pure functions on JSON objects.
//!
//! This reproduces what the API server's field manager (apimachinery's `fieldmanager` on
//! top of structured-merge-diff, "SMD") does, because `GitOps` engines live and die by its
//! details: which fields an applier owns, when an apply conflicts, which fields a later
//! apply removes, and how ordinary writes take ownership. The shape of each object (struct
//! fields, granular or atomic maps, list types and keys) comes from `shipway_schema`; an
//! object without a schema (custom resources) is treated like SMD's deduced type: objects
//! merge key by key, lists are atomic.
//!
//! Field sets are trees keyed by the `FieldsV1` path elements themselves (`f:name`,
//! `k:{"name":"app"}`, `v:"a"`), so decoding and encoding `fieldsV1` is a direct mapping and
//! set algebra (union, difference, intersection) is a walk over sorted maps. The rules that
//! decide which nodes are *members* (printed as `.` when they also have children) follow
//! SMD's `ToFieldSet` for applies and its `Compare` for updates; see [`apply`] and
//! [`record_update`] for the ownership rules and the simplifications.
//!
//! No HTTP and no store here: the caller validates the request (apply bodies must not carry
//! `managedFields`, status is stripped for kinds with a status subresource), runs
//! defaulting and persists the result.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};
use shipway_schema::{Definition, Field, Schema, Type};

/// The manager of the synthetic entry that owns what an object held before its first apply.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// One manager's identity for a write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Manager<'a> {
    /// The `fieldManager` of the request (or the client's default, e.g. `kubectl-edit`).
    pub name: &'a str,
    /// The apiVersion the request was made in (`apps/v1`).
    pub api_version: &'a str,
    /// `""` for the main resource, otherwise `status` or `scale`.
    pub subresource: &'a str,
    /// The time of the write, RFC3339 with seconds (`2026-11-23T19:27:51Z`).
    pub time: &'a str,
}

/// A field owned by another manager whose value the apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// Its operation, `Apply` or `Update`.
    pub operation: String,
    /// The apiVersion of its entry.
    pub api_version: String,
    /// Its subresource (`""` for the main resource).
    pub subresource: String,
    /// The field, as SMD prints paths: `.spec.replicas`,
    /// `.spec.template.spec.containers[name="app"].image`.
    pub path: String,
}

impl Conflict {
    /// The manager as the API server prints it: `"gitops"` for appliers,
    /// `"kubectl-patch" using apps/v1` for updaters, with ` with subresource "status"` after
    /// the name for subresource writes. This is also the `message` of each
    /// `FieldManagerConflict` cause (prefixed with `conflict with `).
    pub(crate) fn manager_text(&self) -> String {
        let mut text = quote(&self.manager);
        if !self.subresource.is_empty() {
            let _ = write!(text, " with subresource {}", quote(&self.subresource));
        }
        if self.operation == "Update" {
            let _ = write!(text, " using {}", self.api_version);
        }
        text
    }

    /// apimachinery's manager identifier (the entry's JSON without fields and time); the
    /// multi-conflict message groups and sorts by it.
    fn identifier(&self) -> String {
        identifier(
            &self.manager,
            &self.operation,
            &self.api_version,
            &self.subresource,
        )
    }
}

/// Why an apply was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApplyError {
    /// Fields owned by other managers would change and `force` was not set (409, message
    /// from [`conflict_message`]).
    Conflicts(Vec<Conflict>),
    /// The applied object does not fit its schema's merge rules, e.g. a list-map item
    /// without its key (`.spec.template.spec.containers: element 0: associative list with
    /// keys has an element that omits key field "name" (and doesn't have default value)`),
    /// or duplicate keys. The real server refuses such an apply with this text in the
    /// message.
    Invalid(String),
}

/// The real apiserver's message for apply conflicts:
/// `Apply failed with 1 conflict: conflict with "gitops": .spec.replicas`, or with several
/// `Apply failed with 2 conflicts: conflicts with "a":\n- .spec.x\nconflicts with "b" using
/// apps/v1:\n- .spec.y`, managers sorted by apimachinery's manager identifier.
pub(crate) fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.manager_text(),
            only.path
        );
    }
    let mut groups: BTreeMap<String, (String, Vec<&str>)> = BTreeMap::new();
    for conflict in conflicts {
        groups
            .entry(conflict.identifier())
            .or_insert_with(|| (conflict.manager_text(), Vec::new()))
            .1
            .push(&conflict.path);
    }
    let mut lines = Vec::new();
    for (text, paths) in groups.values() {
        lines.push(format!("conflicts with {text}:"));
        lines.extend(paths.iter().map(|path| format!("- {path}")));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Server-side apply of `applied` (the request body, already JSON) onto `live` (`None`:
/// the apply creates the object), as the manager `manager`.
///
/// `live` carries `metadata.managedFields`; the result is the merged object with the new
/// `managedFields`. Following SMD's `Updater.Apply`:
/// 1. an object that has no managedFields but has fields first gets a `before-first-apply`
///    Update entry owning all of them;
/// 2. `applied` merges into `live` by the schema (structs and granular maps key by key,
///    list-maps by key, sets by value, atomics replaced whole) and its field set becomes
///    the manager's Apply set — exactly the applied fields, nothing defaulted;
/// 3. fields of the manager's previous Apply set that it no longer applies and that no
///    other manager owns are removed from the object (a map or list emptied by this goes
///    too, as SMD leaves it null);
/// 4. fields of other managers whose value changed are conflicts: the apply fails unless
///    `force`, which moves them to this manager; fields that vanished leave every set.
///
/// `defaults` fills in what the server defaults; it runs on the merged object before the
/// comparison with `live`. Defaults are applied to what an apply writes, so the live object
/// carries them while no applied configuration does: without this step a default inside
/// an atomic struct (`fieldRef.apiVersion`) or a field an apply removes would read as a
/// change, and a second manager applying the identical manifest would conflict with the
/// first. A real server shares ownership there (defaults applied at decoding are owned by
/// no one; see kubernetes/kubernetes#129960, which contrasts them with late defaults).
///
/// When the object does not change, the entry keeps its old `time`, so an identical
/// re-apply returns `live` unchanged and the store can skip the write.
pub(crate) fn apply(
    schema: Option<&Schema>,
    definition: Option<&str>,
    live: Option<&Value>,
    applied: &Value,
    manager: &Manager<'_>,
    force: bool,
    defaults: &dyn Fn(&mut Value),
) -> Result<Value, ApplyError> {
    let typer = Typer { schema };
    let root = typer.root(definition);
    if !applied.is_object() {
        return Err(ApplyError::Invalid(
            "the applied configuration must be an object".into(),
        ));
    }
    let base = Value::Object(Map::new());
    let live_object = live.unwrap_or(&base);
    let mut entries = live
        .and_then(|live| decode_entries(live.pointer("/metadata/managedFields")))
        .unwrap_or_default();
    if live.is_some() && entries.is_empty() {
        // Objects created before field tracking: SMD's skipNonAppliedManager records an
        // update from the empty object so their fields have an owner to conflict with.
        let diff = typer
            .compare(root, None, Some(live_object), Level::Root, true)
            .unwrap_or_default();
        let mut owned = diff.added;
        owned.union_with(&diff.modified);
        if !owned.is_empty() {
            entries.push(Entry {
                manager: BEFORE_FIRST_APPLY.into(),
                operation: Operation::Update,
                api_version: manager.api_version.into(),
                time: Some(manager.time.into()),
                subresource: manager.subresource.into(),
                set: owned,
            });
        }
    }

    let new_set = typer
        .field_set(root, applied, Level::Root)
        .map_err(|error| ApplyError::Invalid(error.trim_start_matches(": ").to_string()))?;
    let mut merged = live_object.clone();
    typer.merge_into(root, &mut merged, applied, Level::Root);

    let own = entries
        .iter()
        .position(|entry| entry.is_apply_of(manager.name, manager.subresource));
    if let Some(last) = own.map(|index| &entries[index].set) {
        // Everyone's current claims, with this manager's new intent in place of its old.
        let mut managed = new_set.clone();
        for (index, entry) in entries.iter().enumerate() {
            if Some(index) != own {
                managed.union_with(&entry.set);
            }
        }
        typer.prune(root, &mut merged, last, Some(&managed), Level::Root);
    }
    if live.is_some() {
        defaults(&mut merged);
    }

    let diff = typer
        .compare(root, Some(live_object), Some(&merged), Level::Root, false)
        .map_err(|error| ApplyError::Invalid(error.trim_start_matches(": ").to_string()))?;
    let mut changed = diff.added;
    changed.union_with(&diff.modified);
    let mut conflicts = Vec::new();
    let mut taken = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let lost = if Some(index) == own {
            Node::default()
        } else {
            entry.set.intersection(&changed)
        };
        if !lost.is_empty() {
            lost.for_each_member(&mut Vec::new(), &mut |path| {
                conflicts.push(Conflict {
                    manager: entry.manager.clone(),
                    operation: entry.operation.as_str().into(),
                    api_version: entry.api_version.clone(),
                    subresource: entry.subresource.clone(),
                    path: render_path(path),
                });
            });
        }
        taken.push(lost);
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by_cached_key(Conflict::identifier);
        return Err(ApplyError::Conflicts(conflicts));
    }
    for (entry, lost) in entries.iter_mut().zip(&taken) {
        entry.set.subtract(lost);
        entry.set.subtract(&diff.removed);
    }

    let object_changed = merged != *live_object;
    let time = match own {
        Some(index) if !object_changed => entries[index].time.clone(),
        _ => Some(manager.time.to_string()),
    };
    let entry = Entry {
        manager: manager.name.into(),
        operation: Operation::Apply,
        api_version: manager.api_version.into(),
        time,
        subresource: manager.subresource.into(),
        set: new_set,
    };
    match own {
        Some(index) => entries[index] = entry,
        None => entries.push(entry),
    }
    write_entries(&mut merged, entries);
    Ok(merged)
}

/// Records an ordinary write (POST, PUT, merge/strategic/JSON patch, controllers' status
/// writes) by `manager` with operation `Update`, as apimachinery's field manager does.
///
/// The manager takes every field whose value changed between `old` and `new` (all set
/// fields on create, defaults included); those fields leave other managers' sets, fields
/// that disappeared leave every set, and entries whose set becomes empty are dropped.
/// Returns `new` with `metadata.managedFields` set. A write that changes nothing returns
/// the managedFields unchanged (same `time`), so the store can detect a no-op.
///
/// Like the real server, `managedFields` sent in `new` that differ from what the client
/// read are honoured as the starting point (kubectl's CSA→SSA migration rewrites them with
/// a JSON patch), and `[]` or `[{}]` clears tracking. When the object does not fit its
/// schema's list keys, tracking is dropped rather than the write refused, as
/// `UpdateNoErrors` does.
pub(crate) fn record_update(
    schema: Option<&Schema>,
    definition: Option<&str>,
    old: Option<&Value>,
    new: &Value,
    manager: &Manager<'_>,
) -> Value {
    let mut out = new.clone();
    let sent = new.pointer("/metadata/managedFields");
    if is_reset(sent) {
        remove_managed_fields(&mut out);
        return out;
    }
    let mut entries = decode_entries(sent)
        .filter(|entries| !entries.is_empty())
        .or_else(|| old.and_then(|old| decode_entries(old.pointer("/metadata/managedFields"))))
        .unwrap_or_default();
    let typer = Typer { schema };
    let root = typer.root(definition);
    let Ok(diff) = typer.compare(root, old, Some(new), Level::Root, old.is_none()) else {
        remove_managed_fields(&mut out);
        return out;
    };
    let mut changed = diff.added;
    changed.union_with(&diff.modified);
    let mut own = None;
    for (index, entry) in entries.iter_mut().enumerate() {
        if entry.is_update_of(manager) {
            own = Some(index);
        } else {
            entry.set.subtract(&changed);
        }
        entry.set.subtract(&diff.removed);
    }
    if !changed.is_empty() {
        match own {
            Some(index) => {
                entries[index].set.union_with(&changed);
                entries[index].time = Some(manager.time.into());
            }
            None => entries.push(Entry {
                manager: manager.name.into(),
                operation: Operation::Update,
                api_version: manager.api_version.into(),
                time: Some(manager.time.into()),
                subresource: manager.subresource.into(),
                set: changed,
            }),
        }
    }
    write_entries(&mut out, entries);
    out
}

/// Whether sent managedFields ask to clear tracking (apimachinery `isResetManagedFields`):
/// an empty list, or a single empty entry.
fn is_reset(sent: Option<&Value>) -> bool {
    match sent {
        Some(Value::Array(entries)) => match entries.as_slice() {
            [] => true,
            [only] => only.as_object().is_some_and(Map::is_empty),
            _ => false,
        },
        _ => false,
    }
}

fn remove_managed_fields(object: &mut Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.shift_remove("managedFields");
    }
}

/// Drops empty entries, sorts the rest as apimachinery encodes them (Apply before Update,
/// then by time, manager, apiVersion, subresource) and stores them in the object.
fn write_entries(object: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|entry| !entry.set.is_empty());
    if entries.is_empty() {
        remove_managed_fields(object);
        return;
    }
    entries.sort_by(Entry::encoding_order);
    let Some(root) = object.as_object_mut() else {
        return;
    };
    let metadata = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Some(metadata) = metadata.as_object_mut() {
        metadata.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(Entry::to_json).collect()),
        );
    }
}

/// The operation of a managedFields entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One decoded managedFields entry.
#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: Operation,
    api_version: String,
    time: Option<String>,
    subresource: String,
    set: Node,
}

impl Entry {
    /// Apply entries are keyed by manager and subresource (apiVersion is not part of it).
    fn is_apply_of(&self, manager: &str, subresource: &str) -> bool {
        self.operation == Operation::Apply
            && self.manager == manager
            && self.subresource == subresource
    }

    /// Update entries are keyed by manager, apiVersion and subresource.
    fn is_update_of(&self, manager: &Manager<'_>) -> bool {
        self.operation == Operation::Update
            && self.manager == manager.name
            && self.api_version == manager.api_version
            && self.subresource == manager.subresource
    }

    fn encoding_order(a: &Entry, b: &Entry) -> Ordering {
        // RFC3339 UTC times with the same precision sort as strings; a missing time sorts
        // first, as Go's zero Unix time does.
        a.operation
            .cmp(&b.operation)
            .then_with(|| {
                a.time
                    .as_deref()
                    .unwrap_or("")
                    .cmp(b.time.as_deref().unwrap_or(""))
            })
            .then_with(|| a.manager.cmp(&b.manager))
            .then_with(|| a.api_version.cmp(&b.api_version))
            .then_with(|| a.subresource.cmp(&b.subresource))
    }

    /// The entry in Go's `ManagedFieldsEntry` field order, `subresource` omitted when empty.
    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("manager".into(), Value::String(self.manager.clone()));
        map.insert("operation".into(), self.operation.as_str().into());
        map.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(time) = &self.time {
            map.insert("time".into(), Value::String(time.clone()));
        }
        map.insert("fieldsType".into(), "FieldsV1".into());
        map.insert("fieldsV1".into(), self.set.to_fields_v1());
        if !self.subresource.is_empty() {
            map.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        Value::Object(map)
    }
}

/// Decodes `metadata.managedFields`; `None` when absent or when any entry is not a valid
/// `FieldsV1` entry (the real server then ignores what was sent).
fn decode_entries(value: Option<&Value>) -> Option<Vec<Entry>> {
    let items = value?.as_array()?;
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let text = |key: &str| item.get(key).and_then(Value::as_str);
        if text("fieldsType") != Some("FieldsV1") {
            return None;
        }
        let operation = match text("operation")? {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return None,
        };
        let set = match item.get("fieldsV1") {
            None | Some(Value::Null) => Node::default(),
            Some(fields) => {
                let mut set = Node::from_fields_v1(fields)?;
                set.member = false;
                set
            }
        };
        entries.push(Entry {
            manager: text("manager").unwrap_or("").into(),
            operation,
            api_version: text("apiVersion").unwrap_or("").into(),
            time: text("time").map(str::to_string),
            subresource: text("subresource").unwrap_or("").into(),
            set,
        });
    }
    Some(entries)
}

/// apimachinery's `BuildManagerIdentifier`: the entry's JSON without time and fields,
/// apiVersion left out for appliers.
fn identifier(manager: &str, operation: &str, api_version: &str, subresource: &str) -> String {
    let mut map = Map::new();
    map.insert("manager".into(), manager.into());
    map.insert("operation".into(), operation.into());
    if operation != "Apply" && !api_version.is_empty() {
        map.insert("apiVersion".into(), api_version.into());
    }
    if !subresource.is_empty() {
        map.insert("subresource".into(), subresource.into());
    }
    Value::Object(map).to_string()
}

fn quote(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// A field set: a tree whose edges are `FieldsV1` path elements. A node is a *member* when
/// its path itself is in the set (a leaf, or `.` next to children).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Node {
    member: bool,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    fn union_with(&mut self, other: &Node) {
        self.member |= other.member;
        for (element, child) in &other.children {
            match self.children.get_mut(element) {
                Some(mine) => mine.union_with(child),
                None => {
                    self.children.insert(element.clone(), child.clone());
                }
            }
        }
    }

    /// SMD's `Difference`: members of `other` leave this set; a member of `other` does not
    /// take the children below it.
    fn subtract(&mut self, other: &Node) {
        if other.member {
            self.member = false;
        }
        if other.children.is_empty() {
            return;
        }
        self.children.retain(|element, child| {
            if let Some(theirs) = other.children.get(element) {
                child.subtract(theirs);
            }
            !child.is_empty()
        });
    }

    fn intersection(&self, other: &Node) -> Node {
        let mut out = Node {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (element, child) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(element.clone(), both);
                }
            }
        }
        out
    }

    /// Calls `f` with the path of every member, in `FieldsV1` order.
    fn for_each_member<'a>(&'a self, path: &mut Vec<&'a str>, f: &mut impl FnMut(&[&str])) {
        for (element, child) in &self.children {
            path.push(element);
            if child.member {
                f(path);
            }
            child.for_each_member(path, f);
            path.pop();
        }
    }

    /// Reads one `FieldsV1` object: `{}` is a member leaf, `.` marks a member with children.
    fn from_fields_v1(json: &Value) -> Option<Node> {
        let object = json.as_object()?;
        let mut node = Node {
            member: object.is_empty(),
            children: BTreeMap::new(),
        };
        for (element, child) in object {
            if element == "." {
                node.member = true;
            } else {
                node.children
                    .insert(element.clone(), Node::from_fields_v1(child)?);
            }
        }
        Some(node)
    }

    /// Writes the node as `FieldsV1`, children sorted, `.` first.
    fn to_fields_v1(&self) -> Value {
        let mut object = Map::new();
        if self.member && !self.children.is_empty() {
            object.insert(".".into(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            object.insert(element.clone(), child.to_fields_v1());
        }
        Value::Object(object)
    }
}

/// Renders a path as SMD's `Path.String()`: `.spec.containers[name="app"].image`,
/// `[=value]` for set items, `[3]` for indexes.
fn render_path(path: &[&str]) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(name) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(key) = element.strip_prefix("k:") {
            out.push('[');
            if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(key) {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                out.push_str(&parts.join(","));
            } else {
                out.push_str(key);
            }
            out.push(']');
        } else if let Some(value) = element.strip_prefix("v:") {
            let _ = write!(out, "[={value}]");
        } else if let Some(index) = element.strip_prefix("i:") {
            let _ = write!(out, "[{index}]");
        } else {
            out.push_str(element);
        }
    }
    out
}

/// Where a key sits, for the fields the field manager never tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Metadata,
    Inner,
}

impl Level {
    /// apimachinery's stripMeta manager removes these from every set: they are identity or
    /// server-owned, so they never conflict and are never pruned.
    fn ignores(self, key: &str) -> bool {
        match self {
            Level::Root => matches!(key, "apiVersion" | "kind"),
            Level::Metadata => matches!(
                key,
                "name"
                    | "namespace"
                    | "uid"
                    | "resourceVersion"
                    | "generation"
                    | "creationTimestamp"
                    | "deletionTimestamp"
                    | "deletionGracePeriodSeconds"
                    | "managedFields"
                    | "selfLink"
            ),
            Level::Inner => false,
        }
    }

    /// `metadata` itself is stripped too (only what is under it is tracked).
    fn strips_itself(self, key: &str) -> bool {
        self == Level::Root && key == "metadata"
    }

    fn child(self, key: &str) -> Level {
        if self == Level::Root && key == "metadata" {
            Level::Metadata
        } else {
            Level::Inner
        }
    }
}

/// How SMD sees a node, resolved from the schema.
#[derive(Debug, Clone, Copy)]
enum Shape<'s> {
    /// A scalar, or an atomic list, map or struct: owned and replaced whole.
    Leaf,
    /// No schema (custom resources, free-form fields): objects merge key by key like
    /// structs, lists are atomic.
    Untyped,
    /// A struct with declared fields.
    Struct(&'s Definition),
    /// A granular map with this element type.
    Map(&'s Type),
    /// An associative list keyed by these fields (empty: a set) with this element type.
    List(&'s [String], &'s Type),
}

impl Shape<'_> {
    /// Whether child keys are named fields (no `.` for them in an apply's field set).
    fn struct_like(self) -> bool {
        matches!(self, Shape::Struct(_) | Shape::Untyped)
    }

    /// Whether `value` is owned whole at this shape (a value that does not match its
    /// schema counts as a leaf, as there is nothing to descend into).
    fn is_leaf(self, value: &Value) -> bool {
        match self {
            Shape::Leaf => true,
            Shape::Untyped | Shape::Struct(_) | Shape::Map(_) => !value.is_object(),
            Shape::List(..) => !value.is_array(),
        }
    }
}

/// The default of list-map key fields the schema does not carry (`protocol` of ports).
fn key_default(name: &str) -> Option<Value> {
    (name == "protocol").then(|| Value::String("TCP".into()))
}

/// The `FieldsV1` element of a list item: `k:{...}` with the key fields sorted by name (as
/// SMD sorts them), or `v:<json>` for sets. Errors start with `: ` so callers can prefix
/// the list's path.
fn item_element(keys: &[String], index: usize, item: &Value) -> Result<String, String> {
    if keys.is_empty() {
        return Ok(format!("v:{item}"));
    }
    let Value::Object(fields) = item else {
        return Err(format!(
            ": element {index}: associative list with keys may not have non-map elements"
        ));
    };
    let mut key: Vec<(&str, Value)> = Vec::with_capacity(keys.len());
    for name in keys {
        match fields.get(name) {
            Some(value) => key.push((name, value.clone())),
            None => match key_default(name) {
                Some(value) => key.push((name, value)),
                None => {
                    return Err(format!(
                        ": element {index}: associative list with keys has an element that \
                         omits key field {} (and doesn't have default value)",
                        quote(name)
                    ));
                }
            },
        }
    }
    key.sort_by(|a, b| a.0.cmp(b.0));
    let mut map = Map::new();
    for (name, value) in key {
        map.insert(name.to_string(), value);
    }
    Ok(format!("k:{}", Value::Object(map)))
}

/// Item `index` of an optional list.
fn at(items: Option<&Value>, index: usize) -> Option<&Value> {
    items.and_then(|items| items.get(index))
}

/// The additions, changes and removals between two objects (SMD's `Comparison`).
#[derive(Debug, Default)]
struct Diff {
    added: Node,
    modified: Node,
    removed: Node,
}

/// Resolves shapes from the schema and walks values with them.
#[derive(Clone, Copy)]
struct Typer<'s> {
    schema: Option<&'s Schema>,
}

impl<'s> Typer<'s> {
    fn root(self, definition: Option<&str>) -> Shape<'s> {
        match (self.schema, definition) {
            (Some(schema), Some(name)) => match schema.definition(name) {
                Some(def) if def.is_struct => Shape::Struct(def),
                _ => Shape::Untyped,
            },
            _ => Shape::Untyped,
        }
    }

    fn definition(self, name: &str, field_map_type: Option<&str>) -> Shape<'s> {
        let Some(def) = self.schema.and_then(|schema| schema.definition(name)) else {
            return Shape::Untyped;
        };
        if def.is_struct {
            if field_map_type.or(def.map_type.as_deref()) == Some("atomic") {
                Shape::Leaf
            } else {
                Shape::Struct(def)
            }
        } else {
            match &def.ty {
                Some(ty) => self.element(ty),
                None => Shape::Untyped,
            }
        }
    }

    /// The shape of a list or map element, or of a named type.
    fn element(self, ty: &'s Type) -> Shape<'s> {
        match ty {
            // Lists of lists are atomic in SMD's schema conversion.
            Type::Scalar(_) | Type::Array(_) => Shape::Leaf,
            Type::Any => Shape::Untyped,
            Type::Ref(name) => self.definition(name, None),
            Type::Map(inner) => Shape::Map(inner),
        }
    }

    /// The shape of a struct field, with its list type, merge key and map type.
    fn field(self, field: &'s Field) -> Shape<'s> {
        let atomic_map = field.map_type.as_deref() == Some("atomic");
        match &field.ty {
            Type::Scalar(_) => Shape::Leaf,
            Type::Any => Shape::Untyped,
            Type::Ref(name) => self.definition(name, field.map_type.as_deref()),
            Type::Map(_) if atomic_map => Shape::Leaf,
            Type::Map(inner) => Shape::Map(inner),
            Type::Array(inner) => match field.list_type.as_deref() {
                Some("map") => Shape::List(&field.list_map_keys, inner),
                Some("set") => Shape::List(&[], inner),
                // kube-openapi's conversion: a merge patch strategy makes the list
                // associative, keyed by the merge key, or a set without one.
                None if field.merges() => match &field.merge_key {
                    Some(key) => Shape::List(std::slice::from_ref(key), inner),
                    None => Shape::List(&[], inner),
                },
                _ => Shape::Leaf,
            },
        }
    }

    fn child(self, shape: Shape<'s>, key: &str) -> Shape<'s> {
        match shape {
            Shape::Struct(def) => def
                .properties
                .get(key)
                .map_or(Shape::Untyped, |field| self.field(field)),
            Shape::Map(ty) => self.element(ty),
            _ => Shape::Untyped,
        }
    }

    fn item(self, shape: Shape<'s>) -> Shape<'s> {
        match shape {
            // Set items are values: owned and compared whole.
            Shape::List([], _) => Shape::Leaf,
            Shape::List(_, ty) => self.element(ty),
            _ => Shape::Untyped,
        }
    }

    /// SMD's `ToFieldSet`: a member for every leaf, every list item, every map entry and
    /// every null or empty object; struct fields with content are only parents.
    fn field_set(self, shape: Shape<'s>, value: &Value, level: Level) -> Result<Node, String> {
        let mut node = Node::default();
        if shape.is_leaf(value) {
            return Ok(node);
        }
        match (shape, value) {
            (Shape::List(keys, _), Value::Array(items)) => {
                let item_shape = self.item(shape);
                for (index, item) in items.iter().enumerate() {
                    let element = item_element(keys, index, item)?;
                    let mut child = self
                        .field_set(item_shape, item, Level::Inner)
                        .map_err(|error| format!("{}{error}", render_path(&[&element])))?;
                    child.member = true;
                    if node.children.contains_key(&element) {
                        return Err(format!(
                            ": duplicate entries for key {}",
                            render_path(&[&element])
                        ));
                    }
                    node.children.insert(element, child);
                }
            }
            (_, Value::Object(fields)) => {
                for (key, child_value) in fields {
                    if level.ignores(key) {
                        continue;
                    }
                    let child_shape = self.child(shape, key);
                    let mut child = self
                        .field_set(child_shape, child_value, level.child(key))
                        .map_err(|error| format!(".{key}{error}"))?;
                    if child_shape.is_leaf(child_value)
                        || child_value.is_null()
                        || child_value.as_object().is_some_and(Map::is_empty)
                        || !shape.struct_like()
                    {
                        child.member = !level.strips_itself(key);
                    }
                    if !child.is_empty() {
                        node.children.insert(format!("f:{key}"), child);
                    }
                }
            }
            _ => {}
        }
        Ok(node)
    }

    /// SMD's merge of an applied configuration into the live object: the applied side
    /// wins for leaves, structs and maps merge key by key, associative lists by key.
    fn merge_into(self, shape: Shape<'s>, live: &mut Value, applied: &Value, level: Level) {
        if shape.is_leaf(applied) || shape.is_leaf(live) {
            live.clone_from(applied);
            return;
        }
        match (shape, &mut *live, applied) {
            (Shape::List(keys, _), Value::Array(items), Value::Array(applied_items)) => {
                let merged =
                    self.merge_list(keys, self.item(shape), std::mem::take(items), applied_items);
                *items = merged;
            }
            (_, Value::Object(fields), Value::Object(applied_fields)) => {
                for (key, value) in applied_fields {
                    if level == Level::Metadata && key == "managedFields" {
                        continue;
                    }
                    if value.is_null() {
                        // A null survives no round trip through the typed object.
                        fields.shift_remove(key);
                        continue;
                    }
                    match fields.get_mut(key) {
                        Some(existing) => self.merge_into(
                            self.child(shape, key),
                            existing,
                            value,
                            level.child(key),
                        ),
                        None => {
                            fields.insert(key.clone(), value.clone());
                        }
                    }
                }
            }
            _ => live.clone_from(applied),
        }
    }

    /// SMD's associative list merge and its ordering: applied items in applied order,
    /// live-only items kept where they were relative to the shared ones.
    fn merge_list(
        self,
        keys: &[String],
        item_shape: Shape<'s>,
        live: Vec<Value>,
        applied: &[Value],
    ) -> Vec<Value> {
        let live_elements: Vec<Option<String>> = live
            .iter()
            .enumerate()
            .map(|(index, item)| item_element(keys, index, item).ok())
            .collect();
        let Ok(applied_elements) = applied
            .iter()
            .enumerate()
            .map(|(index, item)| item_element(keys, index, item))
            .collect::<Result<Vec<String>, String>>()
        else {
            // Invalid items were refused by the field set already; never half-merge.
            return applied.to_vec();
        };
        let mut in_live: HashMap<&str, usize> = HashMap::with_capacity(live.len());
        for (index, element) in live_elements.iter().enumerate() {
            if let Some(element) = element {
                in_live.entry(element).or_insert(index);
            }
        }
        let mut in_applied: HashMap<&str, usize> = HashMap::with_capacity(applied.len());
        for (index, element) in applied_elements.iter().enumerate() {
            in_applied.entry(element).or_insert(index);
        }
        let mut shared = applied_elements
            .iter()
            .filter(|element| in_live.contains_key(element.as_str()))
            .map(String::as_str);
        let mut next_shared = shared.next();
        let mut done: HashSet<&str> = HashSet::with_capacity(applied.len());
        let mut live: Vec<Option<Value>> = live.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(live.len().max(applied.len()));
        let merge_item = |base: Option<Value>, item: &Value| match base {
            Some(mut base) => {
                self.merge_into(item_shape, &mut base, item, Level::Inner);
                base
            }
            None => item.clone(),
        };
        let (mut l, mut r) = (0, 0);
        while l < live.len() || r < applied.len() {
            let live_element = live_elements.get(l).and_then(Option::as_deref);
            if l < live.len() && r < applied.len() {
                if live_element == Some(applied_elements[r].as_str()) {
                    done.insert(&applied_elements[r]);
                    out.push(merge_item(live[l].take(), &applied[r]));
                    l += 1;
                    r += 1;
                    next_shared = shared.next();
                    continue;
                }
                if let Some(element) = live_element
                    && in_applied.contains_key(element)
                    && next_shared.is_some_and(|next| next != element)
                {
                    // A shared item, but not the next one in applied order.
                    l += 1;
                    continue;
                }
            }
            if l < live.len() {
                match live_element {
                    Some(element) if in_applied.contains_key(element) => {
                        if done.contains(element) {
                            l += 1;
                            continue;
                        }
                    }
                    _ => {
                        if let Some(item) = live[l].take() {
                            out.push(item);
                        }
                        l += 1;
                        continue;
                    }
                }
            }
            if r < applied.len() {
                let element = applied_elements[r].as_str();
                done.insert(element);
                let base = in_live.get(element).and_then(|&index| live[index].take());
                out.push(merge_item(base, &applied[in_applied[element]]));
                r += 1;
                if next_shared == Some(element) {
                    next_shared = shared.next();
                }
            } else {
                // Unreachable by the invariants above; keep the item rather than loop.
                if let Some(item) = live[l].take() {
                    out.push(item);
                }
                l += 1;
            }
        }
        out
    }

    /// SMD's `Compare`: leaves added, changed or removed, and non-leaf nodes (structs, maps,
    /// list items) added or removed. `create` compares against the empty object a create
    /// starts from: Go's zero value of a built-in type already holds its non-pointer
    /// structs, so struct fields with content are not recorded as added themselves (no
    /// `.` on `f:spec`, `f:template`).
    fn compare(
        self,
        shape: Shape<'s>,
        old: Option<&Value>,
        new: Option<&Value>,
        level: Level,
        create: bool,
    ) -> Result<Diff, String> {
        let mut diff = Diff::default();
        if let Shape::List(keys, _) = shape {
            let index = |items: Option<&'_ Value>| -> Result<Vec<(String, usize)>, String> {
                let Some(Value::Array(items)) = items else {
                    return Ok(Vec::new());
                };
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| item_element(keys, i, item).map(|e| (e, i)))
                    .collect()
            };
            let old_items = index(old)?;
            let new_items = index(new)?;
            let new_index: HashMap<&str, usize> = new_items
                .iter()
                .rev()
                .map(|(element, i)| (element.as_str(), *i))
                .collect();
            let item_shape = self.item(shape);
            let mut seen = HashSet::with_capacity(old_items.len());
            for (element, i) in &old_items {
                if !seen.insert(element.as_str()) {
                    continue;
                }
                let new_item = new_index.get(element.as_str()).and_then(|&j| at(new, j));
                self.compare_child(
                    item_shape,
                    element,
                    at(old, *i),
                    new_item,
                    (Level::Inner, false, create),
                    &mut diff,
                )
                .map_err(|error| format!("{}{error}", render_path(&[element])))?;
            }
            for (element, j) in &new_items {
                if seen.insert(element.as_str()) {
                    self.compare_child(
                        item_shape,
                        element,
                        None,
                        at(new, *j),
                        (Level::Inner, false, create),
                        &mut diff,
                    )
                    .map_err(|error| format!("{}{error}", render_path(&[element])))?;
                }
            }
        } else {
            let empty = Map::new();
            let old_fields = old.and_then(Value::as_object).unwrap_or(&empty);
            let new_fields = new.and_then(Value::as_object).unwrap_or(&empty);
            let named = shape.struct_like();
            for (key, old_value) in old_fields {
                if level.ignores(key) {
                    continue;
                }
                self.compare_child(
                    self.child(shape, key),
                    &format!("f:{key}"),
                    Some(old_value),
                    new_fields.get(key),
                    (level.child(key), named, create),
                    &mut diff,
                )
                .map_err(|error| format!(".{key}{error}"))?;
            }
            for (key, new_value) in new_fields {
                if level.ignores(key) || old_fields.contains_key(key) {
                    continue;
                }
                self.compare_child(
                    self.child(shape, key),
                    &format!("f:{key}"),
                    None,
                    Some(new_value),
                    (level.child(key), named, create),
                    &mut diff,
                )
                .map_err(|error| format!(".{key}{error}"))?;
            }
        }
        Ok(diff)
    }

    /// Compares one child and files it under `element` in `diff`. `context` is the
    /// child's level, whether it is a named struct field, and the create flag.
    fn compare_child(
        self,
        shape: Shape<'s>,
        element: &str,
        old: Option<&Value>,
        new: Option<&Value>,
        context: (Level, bool, bool),
        diff: &mut Diff,
    ) -> Result<(), String> {
        let (level, named, create) = context;
        if let (Some(a), Some(b)) = (old, new)
            && a == b
        {
            return Ok(());
        }
        let leaf = old.is_some_and(|v| shape.is_leaf(v)) || new.is_some_and(|v| shape.is_leaf(v));
        let mut sub = if leaf {
            Diff::default()
        } else {
            self.compare(shape, old, new, level, create)?
        };
        if leaf {
            sub.added.member = old.is_none();
            sub.removed.member = new.is_none();
            sub.modified.member = old.is_some() && new.is_some();
        } else {
            let zero_valued_struct = create
                && named
                && matches!(shape, Shape::Struct(_))
                && !sub.added.children.is_empty();
            sub.added.member = old.is_none() && !zero_valued_struct;
            sub.removed.member = new.is_none();
        }
        if level == Level::Metadata {
            // The child is the root's `metadata`, which is never tracked itself.
            sub.added.member = false;
            sub.modified.member = false;
            sub.removed.member = false;
        }
        for (target, node) in [
            (&mut diff.added, sub.added),
            (&mut diff.modified, sub.modified),
            (&mut diff.removed, sub.removed),
        ] {
            if !node.is_empty() {
                target.children.insert(element.to_string(), node);
            }
        }
        Ok(())
    }

    /// SMD's prune: removes from `object` what `last` (the manager's previous Apply set)
    /// holds and `managed` (every manager's set, this one's new) does not. Struct fields
    /// count as held when anything below them is (SMD's `EnsureNamedFieldsAreMembers`).
    /// Returns whether the value was a non-empty object or list that is now empty, which
    /// the parent then drops as SMD leaves it null.
    fn prune(
        self,
        shape: Shape<'s>,
        value: &mut Value,
        last: &Node,
        managed: Option<&Node>,
        level: Level,
    ) -> bool {
        if last.children.is_empty() || shape.is_leaf(value) {
            return false;
        }
        let held = |node: Option<&Node>, named: bool| {
            node.is_some_and(|node| node.member || (named && !node.children.is_empty()))
        };
        match (shape, value) {
            (Shape::List(keys, _), Value::Array(items)) => {
                if items.is_empty() {
                    return false;
                }
                let item_shape = self.item(shape);
                let mut index = 0;
                items.retain_mut(|item| {
                    let position = index;
                    index += 1;
                    let Ok(element) = item_element(keys, position, item) else {
                        return true;
                    };
                    let Some(last_child) = last.children.get(&element) else {
                        return true;
                    };
                    let managed_child = managed.and_then(|m| m.children.get(&element));
                    if last_child.member && !held(managed_child, false) {
                        return false;
                    }
                    !self.prune(item_shape, item, last_child, managed_child, Level::Inner)
                });
                items.is_empty()
            }
            (_, Value::Object(fields)) => {
                if fields.is_empty() {
                    return false;
                }
                let named = shape.struct_like();
                for (element, last_child) in &last.children {
                    let Some(key) = element.strip_prefix("f:") else {
                        continue;
                    };
                    if level.ignores(key) {
                        continue;
                    }
                    let Some(child) = fields.get_mut(key) else {
                        continue;
                    };
                    let managed_child = managed.and_then(|m| m.children.get(element));
                    // The object's identity lives under metadata: never drop it whole.
                    let keep_whole = level == Level::Root && key == "metadata";
                    let remove = if !keep_whole
                        && held(Some(last_child), named)
                        && !held(managed_child, named)
                    {
                        true
                    } else {
                        self.prune(
                            self.child(shape, key),
                            child,
                            last_child,
                            managed_child,
                            level.child(key),
                        ) && !keep_whole
                    };
                    if remove {
                        fields.shift_remove(key);
                    }
                }
                fields.is_empty()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// [`super::apply`] without defaulting: these tests state the live objects they mean.
    fn apply(
        schema: Option<&Schema>,
        definition: Option<&str>,
        live: Option<&Value>,
        applied: &Value,
        manager: &Manager<'_>,
        force: bool,
    ) -> Result<Value, ApplyError> {
        super::apply(schema, definition, live, applied, manager, force, &|_| {})
    }

    fn schema() -> &'static Schema {
        shipway_schema::bundled("1.32").unwrap()
    }

    fn def(group: &str, kind: &str) -> Option<&'static str> {
        let version = "v1";
        schema().definition_for(group, version, kind)
    }

    fn manager<'a>(name: &'a str, time: &'a str) -> Manager<'a> {
        Manager {
            name,
            api_version: "apps/v1",
            subresource: "",
            time,
        }
    }

    fn deployment(replicas: Option<i64>, containers: &Value) -> Value {
        let mut spec = json!({
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers}
            }
        });
        if let Some(replicas) = replicas {
            spec["replicas"] = json!(replicas);
        }
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "x", "labels": {"app": "web"}},
            "spec": spec
        })
    }

    fn app(image: &str) -> Value {
        json!([{"name": "app", "image": image, "ports": [{"containerPort": 80}]}])
    }

    fn apply_deploy(
        live: Option<&Value>,
        applied: &Value,
        name: &str,
        time: &str,
        force: bool,
    ) -> Result<Value, ApplyError> {
        let def = def("apps", "Deployment");
        apply(
            Some(schema()),
            def,
            live,
            applied,
            &manager(name, time),
            force,
        )
    }

    fn update_deploy(old: Option<&Value>, new: &Value, name: &str, time: &str) -> Value {
        let def = def("apps", "Deployment");
        record_update(Some(schema()), def, old, new, &manager(name, time))
    }

    /// The entries as (manager, operation) pairs, in stored order.
    fn managers(object: &Value) -> Vec<(String, String)> {
        object["metadata"]["managedFields"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["manager"].as_str().unwrap().to_string(),
                            e["operation"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn fields<'v>(object: &'v Value, manager: &str) -> &'v Value {
        object["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == manager)
            .map_or_else(|| panic!("no entry for {manager}"), |e| &e["fieldsV1"])
    }

    fn conflicts(result: Result<Value, ApplyError>) -> Vec<Conflict> {
        match result {
            Err(ApplyError::Conflicts(conflicts)) => conflicts,
            other => panic!("expected conflicts, got {other:?}"),
        }
    }

    const T1: &str = "2026-11-23T19:27:51Z";
    const T2: &str = "2026-11-23T19:27:52Z";
    const T3: &str = "2026-11-23T19:27:53Z";
    const T4: &str = "2026-11-23T19:27:54Z";

    #[test]
    fn apply_create_owns_the_applied_fields_in_kubernetes_encoding() {
        let live = apply_deploy(
            None,
            &deployment(Some(2), &app("nginx:1.25")),
            "gitops",
            T1,
            false,
        )
        .unwrap();
        let entry = &live["metadata"]["managedFields"][0];
        let expected = json!({
            "manager": "gitops", "operation": "Apply", "apiVersion": "apps/v1", "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {
                            ".": {}, "f:image": {}, "f:name": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {}, "f:containerPort": {}
                            }}
                        }}}
                    }
                }
            }
        });
        // Same bytes, including key order: `.` first, elements sorted, Go's entry order.
        assert_eq!(entry.to_string(), expected.to_string());
        assert_eq!(live["spec"]["replicas"], 2);
        assert_eq!(live["metadata"]["name"], "web");
        assert_eq!(managers(&live).len(), 1);
    }

    #[test]
    fn conflicts_force_and_ownership_moves() {
        let gitops = deployment(Some(2), &app("nginx:1.25"));
        let live = apply_deploy(None, &gitops, "gitops", T1, false).unwrap();

        // Another applier changing replicas conflicts with the Apply manager.
        let other = deployment(Some(3), &app("nginx:1.25"));
        let found = conflicts(apply_deploy(Some(&live), &other, "kubectl", T2, false));
        assert_eq!(
            found,
            vec![Conflict {
                manager: "gitops".into(),
                operation: "Apply".into(),
                api_version: "apps/v1".into(),
                subresource: String::new(),
                path: ".spec.replicas".into(),
            }]
        );
        assert_eq!(
            conflict_message(&found),
            "Apply failed with 1 conflict: conflict with \"gitops\": .spec.replicas"
        );

        // Forced: the value moves and so does the ownership; equal fields are shared.
        let live = apply_deploy(Some(&live), &other, "kubectl", T2, true).unwrap();
        assert_eq!(live["spec"]["replicas"], 3);
        assert!(
            fields(&live, "gitops")["f:spec"]
                .get("f:replicas")
                .is_none()
        );
        assert!(
            fields(&live, "kubectl")["f:spec"]
                .get("f:replicas")
                .is_some()
        );
        assert!(
            fields(&live, "gitops")["f:spec"]
                .get("f:selector")
                .is_some()
        );
        assert!(
            fields(&live, "kubectl")["f:spec"]
                .get("f:selector")
                .is_some()
        );

        // gitops stops sending replicas: kubectl owns it, so it stays.
        let live = apply_deploy(
            Some(&live),
            &deployment(None, &app("nginx:1.25")),
            "gitops",
            T3,
            false,
        )
        .unwrap();
        assert_eq!(live["spec"]["replicas"], 3);

        // kubectl stops sending it too: nobody else owns it, so it is removed.
        let live = apply_deploy(
            Some(&live),
            &deployment(None, &app("nginx:1.25")),
            "kubectl",
            T4,
            false,
        )
        .unwrap();
        assert!(live["spec"].get("replicas").is_none(), "{live}");
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.25"
        );
    }

    #[test]
    fn multi_conflict_message_groups_sorted_managers() {
        let live = apply_deploy(
            None,
            &deployment(Some(2), &app("nginx:1.25")),
            "other",
            T1,
            false,
        )
        .unwrap();
        let mut patched = live.clone();
        patched["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
        let live = update_deploy(Some(&live), &patched, "kubectl-patch", T2);
        let found = conflicts(apply_deploy(
            Some(&live),
            &deployment(Some(5), &app("nginx:1.27")),
            "gitops",
            T3,
            false,
        ));
        assert_eq!(
            conflict_message(&found),
            "Apply failed with 2 conflicts: conflicts with \"kubectl-patch\" using apps/v1:\n\
             - .spec.template.spec.containers[name=\"app\"].image\n\
             conflicts with \"other\":\n- .spec.replicas"
        );
        assert_eq!(
            found[0].manager_text(),
            "\"kubectl-patch\" using apps/v1",
            "the cause message after `conflict with `"
        );
    }

    #[test]
    fn configmap_key_dropped_from_apply_is_removed() {
        let def = def("", "ConfigMap");
        let cm = |data: Value| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "namespace": "x"}, "data": data})
        };
        let m = manager("gitops", T1);
        let live = apply(
            Some(schema()),
            def,
            None,
            &cm(json!({"a": "1", "b": "2"})),
            &m,
            false,
        )
        .unwrap();
        assert_eq!(
            fields(&live, "gitops"),
            &json!({"f:data": {"f:a": {}, "f:b": {}}})
        );
        let m = manager("gitops", T2);
        let live = apply(
            Some(schema()),
            def,
            Some(&live),
            &cm(json!({"a": "1"})),
            &m,
            false,
        )
        .unwrap();
        assert_eq!(live["data"], json!({"a": "1"}));
        assert_eq!(fields(&live, "gitops"), &json!({"f:data": {"f:a": {}}}));

        // Dropping the last key removes the emptied map too (SMD leaves it null).
        let bare = json!({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "c", "namespace": "x"}});
        let m = manager("gitops", T3);
        let live = apply(Some(schema()), def, Some(&live), &bare, &m, false).unwrap();
        assert!(live.get("data").is_none(), "{live}");
        assert_eq!(live["metadata"]["name"], "c");
        assert!(live["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn appliers_of_different_containers_share_the_list() {
        let live = apply_deploy(
            None,
            &deployment(Some(1), &app("nginx:1.25")),
            "gitops",
            T1,
            false,
        )
        .unwrap();
        let sidecar = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "x"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "sidecar", "image": "envoy:1"}
            ]}}}
        });
        let live = apply_deploy(Some(&live), &sidecar, "mesh", T2, false).unwrap();
        let names: Vec<&Value> = live["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["name"])
            .collect();
        assert_eq!(names, [&json!("app"), &json!("sidecar")]);
        // Re-applying either config keeps the other's container.
        let live = apply_deploy(
            Some(&live),
            &deployment(Some(1), &app("nginx:1.26")),
            "gitops",
            T3,
            false,
        )
        .unwrap();
        let containers = live["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(containers.len(), 2);
        assert_eq!(containers[0]["image"], "nginx:1.26");
        // The mesh applier dropping its container removes it, and only it.
        let mut nothing = sidecar.clone();
        nothing["spec"]["template"]["spec"]["containers"] = json!([]);
        let live = apply_deploy(Some(&live), &nothing, "mesh", T4, false).unwrap();
        let containers = live["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0]["name"], "app");
        assert_eq!(
            managers(&live),
            [("gitops".to_string(), "Apply".to_string())]
        );
    }

    #[test]
    fn set_lists_union_and_drop_per_applier() {
        let def = def("", "ConfigMap");
        let cm = |finalizers: Value| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "finalizers": finalizers}})
        };
        let live = apply(
            Some(schema()),
            def,
            None,
            &cm(json!(["a"])),
            &manager("one", T1),
            false,
        )
        .unwrap();
        let live = apply(
            Some(schema()),
            def,
            Some(&live),
            &cm(json!(["b"])),
            &manager("two", T2),
            false,
        )
        .unwrap();
        assert_eq!(live["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(
            fields(&live, "two"),
            &json!({"f:metadata": {"f:finalizers": {"v:\"b\"": {}}}})
        );
        let live = apply(
            Some(schema()),
            def,
            Some(&live),
            &cm(json!([])),
            &manager("one", T3),
            false,
        )
        .unwrap();
        assert_eq!(live["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn updates_take_changed_fields_and_share_equal_ones() {
        // Created by an ordinary write: the Update manager owns everything it set, with `.`
        // on maps, lists and list items but not on the zero-valued structs.
        let created = update_deploy(
            None,
            &deployment(Some(3), &app("nginx:1.25")),
            "kubectl-create",
            T1,
        );
        let expected = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {
                        ".": {},
                        "k:{\"name\":\"app\"}": {
                            ".": {}, "f:image": {}, "f:name": {},
                            "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {}, "f:containerPort": {}
                            }}
                        }
                    }}
                }
            }
        });
        assert_eq!(
            fields(&created, "kubectl-create").to_string(),
            expected.to_string()
        );

        // An applier sending the same values shares them: no conflict.
        let live = apply_deploy(
            Some(&created),
            &deployment(Some(3), &app("nginx:1.25")),
            "gitops",
            T2,
            false,
        )
        .unwrap();
        assert!(
            fields(&live, "gitops")["f:spec"]
                .get("f:replicas")
                .is_some()
        );
        assert!(
            fields(&live, "kubectl-create")["f:spec"]
                .get("f:replicas")
                .is_some()
        );
        assert_eq!(
            managers(&live),
            [
                ("gitops".to_string(), "Apply".to_string()),
                ("kubectl-create".to_string(), "Update".to_string())
            ],
            "Apply entries sort first"
        );

        // An update that changes nothing leaves managedFields byte for byte.
        let same = update_deploy(Some(&live), &live, "kubectl-edit", T3);
        assert_eq!(same, live);

        // An update changing replicas takes it from both.
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(5);
        let live = update_deploy(Some(&live), &scaled, "kubectl-edit", T3);
        assert_eq!(
            fields(&live, "kubectl-edit"),
            &json!({"f:spec": {"f:replicas": {}}})
        );
        assert!(
            fields(&live, "gitops")["f:spec"]
                .get("f:replicas")
                .is_none()
        );
        assert!(
            fields(&live, "kubectl-create")["f:spec"]
                .get("f:replicas")
                .is_none()
        );
        let found = conflicts(apply_deploy(
            Some(&live),
            &deployment(Some(3), &app("nginx:1.25")),
            "gitops",
            T4,
            false,
        ));
        assert_eq!(
            conflict_message(&found),
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
        );

        // A second change by the same updater keeps one entry and moves its time.
        let mut again = live.clone();
        again["spec"]["replicas"] = json!(6);
        let live = update_deploy(Some(&live), &again, "kubectl-edit", T4);
        let entries = live["metadata"]["managedFields"].as_array().unwrap();
        let edit: Vec<&Value> = entries
            .iter()
            .filter(|e| e["manager"] == "kubectl-edit")
            .collect();
        assert_eq!(edit.len(), 1);
        assert_eq!(edit[0]["time"], T4);
    }

    #[test]
    fn identical_reapply_is_a_no_op() {
        let config = deployment(Some(2), &app("nginx:1.25"));
        let live = apply_deploy(None, &config, "gitops", T1, false).unwrap();
        let again = apply_deploy(Some(&live), &config, "gitops", T2, false).unwrap();
        assert_eq!(again, live, "same time, same object");
        let changed = apply_deploy(
            Some(&live),
            &deployment(Some(4), &app("nginx:1.25")),
            "gitops",
            T2,
            false,
        )
        .unwrap();
        assert_eq!(changed["metadata"]["managedFields"][0]["time"], T2);
    }

    #[test]
    fn objects_without_tracking_get_before_first_apply() {
        let old = deployment(Some(1), &app("nginx:1.25"));
        let found = conflicts(apply_deploy(
            Some(&old),
            &deployment(Some(2), &app("nginx:1.25")),
            "gitops",
            T1,
            false,
        ));
        assert_eq!(
            conflict_message(&found),
            "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
        );
        let live = apply_deploy(
            Some(&old),
            &deployment(Some(2), &app("nginx:1.25")),
            "gitops",
            T1,
            true,
        )
        .unwrap();
        assert_eq!(
            managers(&live),
            [
                ("gitops".to_string(), "Apply".to_string()),
                ("before-first-apply".to_string(), "Update".to_string())
            ]
        );
        assert!(
            fields(&live, "before-first-apply")["f:spec"]
                .get("f:replicas")
                .is_none()
        );
    }

    #[test]
    fn sent_managed_fields_are_honoured_or_reset() {
        let live = apply_deploy(
            None,
            &deployment(Some(2), &app("nginx:1.25")),
            "gitops",
            T1,
            false,
        )
        .unwrap();
        // `[{}]` clears tracking.
        let mut reset = live.clone();
        reset["metadata"]["managedFields"] = json!([{}]);
        let cleared = update_deploy(Some(&live), &reset, "kubectl-patch", T2);
        assert!(cleared["metadata"].get("managedFields").is_none());
        // kubectl's CSA→SSA migration rewrites the entries; they are kept as sent.
        let migrated_entry = json!({
            "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T1,
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}
        });
        let mut migrated = live.clone();
        migrated["metadata"]["managedFields"] = json!([migrated_entry]);
        let out = update_deploy(Some(&live), &migrated, "kubectl-patch", T2);
        assert_eq!(out["metadata"]["managedFields"], json!([migrated_entry]));
        // A body without managedFields keeps the stored ones.
        let mut plain = live.clone();
        plain["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        assert_eq!(update_deploy(Some(&live), &plain, "kubectl-edit", T2), live);
    }

    #[test]
    fn atomic_maps_and_structs_are_owned_whole() {
        let def = def("", "Pod");
        let pod = |selector: Value| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"nodeSelector": selector, "containers": [{"name": "c", "image": "i"}]}})
        };
        let m = manager("gitops", T1);
        let live = apply(
            Some(schema()),
            def,
            None,
            &pod(json!({"a": "1"})),
            &m,
            false,
        )
        .unwrap();
        assert_eq!(
            fields(&live, "gitops")["f:spec"]["f:nodeSelector"],
            json!({})
        );
        let live = apply(
            Some(schema()),
            def,
            Some(&live),
            &pod(json!({"b": "2"})),
            &m,
            false,
        )
        .unwrap();
        assert_eq!(live["spec"]["nodeSelector"], json!({"b": "2"}));
        // Another applier changing one key of the atomic map conflicts on the whole map.
        let found = conflicts(apply(
            Some(schema()),
            def,
            Some(&live),
            &pod(json!({"b": "3"})),
            &manager("other", T2),
            false,
        ));
        assert_eq!(found[0].path, ".spec.nodeSelector");
    }

    #[test]
    fn fields_owned_by_others_survive_removal() {
        let def = def("", "ConfigMap");
        let cm = |labels: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": labels}});
        let live = apply(
            Some(schema()),
            def,
            None,
            &cm(json!({"app": "a", "tier": "t"})),
            &manager("one", T1),
            false,
        )
        .unwrap();
        let live = apply(
            Some(schema()),
            def,
            Some(&live),
            &cm(json!({"tier": "t"})),
            &manager("two", T2),
            false,
        )
        .unwrap();
        let live = apply(
            Some(schema()),
            def,
            Some(&live),
            &cm(json!({"other": "o"})),
            &manager("one", T3),
            false,
        )
        .unwrap();
        assert_eq!(
            live["metadata"]["labels"],
            json!({"tier": "t", "other": "o"})
        );
        assert_eq!(
            fields(&live, "one"),
            &json!({"f:metadata": {"f:labels": {"f:other": {}}}})
        );
    }

    #[test]
    fn subresource_updates_are_separate_entries() {
        let live = apply_deploy(
            None,
            &deployment(Some(2), &app("nginx:1.25")),
            "gitops",
            T1,
            false,
        )
        .unwrap();
        let mut status = live.clone();
        status["status"] = json!({"replicas": 2});
        let m = Manager {
            name: "kube-controller-manager",
            api_version: "apps/v1",
            subresource: "status",
            time: T2,
        };
        let out = record_update(
            Some(schema()),
            def("apps", "Deployment"),
            Some(&live),
            &status,
            &m,
        );
        let entry = &out["metadata"]["managedFields"][1];
        assert_eq!(entry["subresource"], "status");
        assert_eq!(
            entry["fieldsV1"],
            json!({"f:status": {".": {}, "f:replicas": {}}})
        );
        assert!(
            out["metadata"]["managedFields"][0]
                .get("subresource")
                .is_none()
        );
    }

    #[test]
    fn list_map_items_need_their_keys() {
        let bad = deployment(Some(1), &json!([{"image": "nginx"}]));
        let Err(ApplyError::Invalid(message)) = apply_deploy(None, &bad, "gitops", T1, false)
        else {
            panic!("a container without a name must be refused");
        };
        assert_eq!(
            message,
            ".spec.template.spec.containers: element 0: associative list with keys has an \
             element that omits key field \"name\" (and doesn't have default value)"
        );
        let twice = deployment(Some(1), &json!([{"name": "a"}, {"name": "a"}]));
        let Err(ApplyError::Invalid(message)) = apply_deploy(None, &twice, "gitops", T1, false)
        else {
            panic!("duplicate keys must be refused");
        };
        assert_eq!(
            message,
            ".spec.template.spec.containers: duplicate entries for key [name=\"a\"]"
        );
        // An ordinary write with such an object drops tracking rather than failing.
        let out = update_deploy(None, &bad, "kubectl-create", T1);
        assert!(out["metadata"].get("managedFields").is_none());
        assert_eq!(out["spec"], bad["spec"]);
    }

    #[test]
    fn defaulted_key_fields_match_live_items() {
        let live = apply_deploy(
            None,
            &deployment(Some(1), &app("nginx:1.25")),
            "gitops",
            T1,
            false,
        )
        .unwrap();
        // Defaulting fills the protocol in; the next apply still matches the port.
        let mut defaulted = live.clone();
        defaulted["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] =
            json!("TCP");
        let again = apply_deploy(
            Some(&defaulted),
            &deployment(Some(1), &app("nginx:1.25")),
            "gitops",
            T2,
            false,
        )
        .unwrap();
        assert_eq!(again, defaulted);
    }

    #[test]
    fn merge_key_lists_without_list_type_are_associative() {
        let swagger = json!({"definitions": {
            "v1.Widget": {
                "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Widget"}],
                "properties": {"spec": {"$ref": "#/definitions/v1.Spec"}}
            },
            "v1.Spec": {"properties": {
                "items": {
                    "type": "array", "items": {"$ref": "#/definitions/v1.Item"},
                    "x-kubernetes-patch-merge-key": "id", "x-kubernetes-patch-strategy": "merge"
                },
                "tags": {"type": "array", "items": {"type": "string"}}
            }},
            "v1.Item": {"properties": {"id": {"type": "string"}, "size": {"type": "integer"}}}
        }});
        let custom = Schema::from_swagger(&swagger).unwrap();
        let def = custom.definition_for("example.com", "v1", "Widget");
        let widget = |items: Value, tags: Value| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                   "spec": {"items": items, "tags": tags}})
        };
        let live = apply(
            Some(&custom),
            def,
            None,
            &widget(json!([{"id": "a", "size": 1}]), json!(["x"])),
            &manager("one", T1),
            false,
        )
        .unwrap();
        let live = apply(
            Some(&custom),
            def,
            Some(&live),
            &widget(json!([{"id": "b"}]), json!(["x"])),
            &manager("two", T2),
            false,
        )
        .unwrap();
        assert_eq!(
            live["spec"]["items"],
            json!([{"id": "a", "size": 1}, {"id": "b"}])
        );
        // Lists of scalars without a list type are atomic: a different value conflicts.
        let found = conflicts(apply(
            Some(&custom),
            def,
            Some(&live),
            &widget(json!([{"id": "b"}]), json!(["y"])),
            &manager("two", T3),
            false,
        ));
        assert_eq!(found[0].path, ".spec.tags");
    }

    #[test]
    fn objects_without_schema_merge_maps_and_replace_lists() {
        let cr = |value: Value| {
            json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
                   "spec": value})
        };
        let live = apply(
            None,
            None,
            None,
            &cr(json!({"a": {"x": 1}, "list": [1, 2]})),
            &manager("one", T1),
            false,
        )
        .unwrap();
        assert_eq!(
            fields(&live, "one"),
            &json!({"f:spec": {"f:a": {"f:x": {}}, "f:list": {}}})
        );
        let live = apply(
            None,
            None,
            Some(&live),
            &cr(json!({"a": {"y": 2}})),
            &manager("two", T2),
            false,
        )
        .unwrap();
        assert_eq!(live["spec"]["a"], json!({"x": 1, "y": 2}));
        let found = conflicts(apply(
            None,
            None,
            Some(&live),
            &cr(json!({"list": [3]})),
            &manager("two", T3),
            false,
        ));
        assert_eq!(found[0].path, ".spec.list");
        // An ordinary create of a schema-less object marks every added object with `.`.
        let created = record_update(
            None,
            None,
            None,
            &cr(json!({"a": {"x": 1}})),
            &manager("c", T1),
        );
        assert_eq!(
            fields(&created, "c"),
            &json!({"f:spec": {".": {}, "f:a": {".": {}, "f:x": {}}}})
        );
    }

    #[test]
    fn live_only_list_items_keep_their_place() {
        let def = def("apps", "Deployment");
        let containers = json!([{"name": "a", "image": "1"}, {"name": "b", "image": "1"}, {"name": "c", "image": "1"}]);
        let created = record_update(
            Some(schema()),
            def,
            None,
            &deployment(Some(1), &containers),
            &manager("create", T1),
        );
        let live = apply_deploy(
            Some(&created),
            &deployment(
                Some(1),
                &json!([{"name": "c", "image": "1"}, {"name": "a", "image": "1"}]),
            ),
            "gitops",
            T2,
            false,
        )
        .unwrap();
        let names: Vec<&str> = live["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b", "c", "a"]);
    }

    #[test]
    fn dropped_list_item_goes_even_when_others_own_fields_in_it() {
        // SMD prunes an item the applier owned as a whole even when an updater owns a
        // field inside it (only the item itself being owned by someone else keeps it).
        let two = json!([{"name": "app", "image": "1"}, {"name": "side", "image": "1"}]);
        let live = apply_deploy(None, &deployment(Some(1), &two), "gitops", T1, false).unwrap();
        let mut edited = live.clone();
        edited["spec"]["template"]["spec"]["containers"][1]["image"] = json!("2");
        let live = update_deploy(Some(&live), &edited, "kubectl-set", T2);
        let one = json!([{"name": "app", "image": "1"}]);
        let live =
            apply_deploy(Some(&live), &deployment(Some(1), &one), "gitops", T3, false).unwrap();
        assert_eq!(live["spec"]["template"]["spec"]["containers"], one);
        // The updater's stale claim goes with the item.
        assert_eq!(
            managers(&live),
            [("gitops".to_string(), "Apply".to_string())]
        );
    }

    #[test]
    fn a_thousand_applies_are_fast() {
        let start = std::time::Instant::now();
        let mut live = apply_deploy(
            None,
            &deployment(Some(1), &app("nginx:1")),
            "gitops",
            T1,
            false,
        )
        .unwrap();
        let mut replicas = 0;
        for round in 0..1000_i64 {
            let image = format!("nginx:{}", round % 7);
            replicas = round % 3 + 1;
            let config = deployment(Some(replicas), &app(&image));
            live = apply_deploy(Some(&live), &config, "gitops", T2, false).unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(live["spec"]["replicas"], replicas);
        // Well under a second in release builds; unoptimised test builds get headroom.
        let budget = if cfg!(debug_assertions) { 2.0 } else { 1.0 };
        assert!(elapsed.as_secs_f64() < budget, "{elapsed:?}");
    }
}
