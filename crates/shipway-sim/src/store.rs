//! The in-memory object store and the write semantics of the real registry.
//!
//! Objects are JSON values keyed by (group, resource, namespace, name) in a sorted map, so
//! lists come out in the order etcd's key layout gives a real server. One counter backs every
//! `resourceVersion`, shared by all kinds as on a real server, and it only moves on writes
//! that change something. Every write path (create, update, both patches) ends in
//! [`Store::create`] or [`Store::update`], so preconditions, generation and no-op detection
//! cannot drift apart between them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::clock;
use crate::error::{ApiError, InvalidField};
use crate::resources::{self, ResourceType};
use crate::selector::Selector;

/// Namespaces a real cluster starts with.
const INITIAL_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Namespaces a real server refuses to delete.
const UNDELETABLE_NAMESPACES: &[&str] = &["default", "kube-public", "kube-system"];

/// (group, plural, namespace — `""` when cluster-scoped —, name).
type ObjectKey = (&'static str, &'static str, String, String);

/// What a delete answers: the real server returns the object for some kinds (here:
/// namespaces, which it marks terminating) and a `Status` for the rest.
#[derive(Debug)]
pub enum Deleted {
    /// The object as last seen, with `deletionTimestamp` set.
    Object(Value),
    /// A `Status` with `status: Success` naming the object.
    Status(Value),
}

/// The objects and the resourceVersion counter. Not synchronised: the HTTP layer holds it
/// behind one mutex, which also makes every request atomic.
#[derive(Debug)]
pub struct Store {
    objects: BTreeMap<ObjectKey, Value>,
    resource_version: u64,
    sequence: u64,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A store holding the namespaces a fresh cluster has.
    pub fn new() -> Self {
        let mut store = Self {
            objects: BTreeMap::new(),
            resource_version: 0,
            sequence: 0,
        };
        for name in INITIAL_NAMESPACES {
            let namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            // Cannot fail: the names are valid and the store is empty.
            let _ = store.create(resources::namespaces(), None, namespace);
        }
        store
    }

    /// The current (newest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
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

    /// A `<Kind>List` of the objects in `namespace` (all namespaces when `None`) that match
    /// both selectors, with the current resourceVersion in its metadata.
    pub fn list(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        labels: &Selector,
        fields: &Selector,
    ) -> Value {
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((group, plural, object_namespace, _), _)| {
                *group == resource.group
                    && *plural == resource.plural
                    && namespace.is_none_or(|wanted| wanted == object_namespace)
            })
            .map(|(_, object)| object)
            .filter(|object| labels.matches_labels(object) && fields.matches_fields(object))
            .map(|object| {
                // A real server omits kind and apiVersion on list items.
                let mut item = object.clone();
                if let Some(item) = item.as_object_mut() {
                    item.remove("kind");
                    item.remove("apiVersion");
                }
                item
            })
            .collect();
        json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": resource.api_version(),
            "metadata": {"resourceVersion": self.resource_version.to_string()},
            "items": items,
        })
    }

    /// Creates an object (POST). `namespace` is the one in the URL.
    pub fn create(
        &mut self,
        resource: &ResourceType,
        namespace: Option<&str>,
        mut object: Value,
    ) -> Result<Value, ApiError> {
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
            let namespace = namespace.unwrap_or_default();
            if !self
                .objects
                .contains_key(&key(resources::namespaces(), None, namespace))
            {
                return Err(not_found(resources::namespaces(), namespace));
            }
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
        self.resource_version += 1;
        for server_owned in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ] {
            metadata.remove(server_owned);
        }
        metadata.insert("uid".into(), clock::uid(self.sequence).into());
        metadata.insert(
            "resourceVersion".into(),
            self.resource_version.to_string().into(),
        );
        metadata.insert("creationTimestamp".into(), clock::now_rfc3339().into());
        if resource.tracks_generation {
            metadata.insert("generation".into(), 1.into());
        } else {
            metadata.remove("generation");
        }
        if resource.has_status {
            set_field(&mut object, "status", json!({}));
        }
        if resource.plural == "namespaces" && resource.group.is_empty() {
            default_namespace(&mut object, &name, None);
        }
        self.objects.insert(object_key, object.clone());
        Ok(object)
    }

    /// Replaces an object (PUT, and the end of every patch). A non-empty
    /// `metadata.resourceVersion` in `object` is a precondition.
    pub fn update(
        &mut self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        mut object: Value,
    ) -> Result<Value, ApiError> {
        let object_key = key(resource, namespace, name);
        let old = self
            .objects
            .get(&object_key)
            .ok_or_else(|| not_found(resource, name))?;
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
        metadata.remove("managedFields");
        metadata.remove("selfLink");
        metadata.insert("resourceVersion".into(), old_version.clone().into());
        if resource.has_status {
            match old.get("status") {
                Some(status) => set_field(&mut object, "status", status.clone()),
                None => remove_field(&mut object, "status"),
            }
        }
        if resource.plural == "namespaces" && resource.group.is_empty() {
            default_namespace(&mut object, name, old.pointer("/spec/finalizers"));
        }
        if resource.tracks_generation && generation_changes(resource, old, &object) {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            set_metadata(&mut object, "generation", (generation + 1).into());
        }
        if object == *old {
            // A no-op write keeps the resourceVersion and emits nothing.
            return Ok(object);
        }
        self.resource_version += 1;
        set_metadata(
            &mut object,
            "resourceVersion",
            self.resource_version.to_string().into(),
        );
        self.objects.insert(object_key, object.clone());
        Ok(object)
    }

    /// Deletes an object. `preconditions` is `DeleteOptions.preconditions` (`uid`,
    /// `resourceVersion`). Deleting a namespace removes everything in it at once.
    pub fn delete(
        &mut self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        preconditions: Option<&Value>,
    ) -> Result<Deleted, ApiError> {
        let object_key = key(resource, namespace, name);
        let old = self
            .objects
            .get(&object_key)
            .ok_or_else(|| not_found(resource, name))?;
        let is_namespace = resource.plural == "namespaces" && resource.group.is_empty();
        if is_namespace && UNDELETABLE_NAMESPACES.contains(&name) {
            return Err(ApiError::Forbidden(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            )));
        }
        for field in ["uid", "resourceVersion"] {
            let wanted = preconditions
                .and_then(|p| p.get(field))
                .and_then(Value::as_str);
            let actual = old
                .pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_str);
            if let Some(wanted) = wanted
                && Some(wanted) != actual
            {
                return Err(ApiError::Conflict {
                    qualified_plural: resource.qualified_plural(),
                    group: resource.group,
                    plural: resource.plural,
                    name: name.into(),
                    reason: format!(
                        "Precondition failed: {field}: {wanted}, {field} in object meta: {}",
                        actual.unwrap_or_default()
                    ),
                });
            }
        }
        let uid = old.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
        let Some(mut removed) = self.objects.remove(&object_key) else {
            return Err(not_found(resource, name));
        };
        self.resource_version += 1;
        if !is_namespace {
            return Ok(Deleted::Status(success_status(resource, name, &uid)));
        }
        // Contents go at once; each removal is a write of its own on a real server.
        let contents: Vec<ObjectKey> = self
            .objects
            .keys()
            .filter(|(_, _, object_namespace, _)| object_namespace == name)
            .cloned()
            .collect();
        for content in contents {
            self.objects.remove(&content);
            self.resource_version += 1;
        }
        set_metadata(
            &mut removed,
            "deletionTimestamp",
            clock::now_rfc3339().into(),
        );
        set_metadata(
            &mut removed,
            "resourceVersion",
            self.resource_version.to_string().into(),
        );
        set_field(&mut removed, "status", json!({"phase": "Terminating"}));
        Ok(Deleted::Object(removed))
    }
}

fn key(resource: &ResourceType, namespace: Option<&str>, name: &str) -> ObjectKey {
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
    let is_namespace = resource.plural == "namespaces" && resource.group.is_empty();
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
    let body = |object: &Value| -> Map<String, Value> {
        object
            .as_object()
            .map(|map| {
                map.iter()
                    .filter(|(key, _)| {
                        !matches!(key.as_str(), "metadata" | "status" | "kind" | "apiVersion")
                    })
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    if body(old) != body(new) {
        return true;
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

fn set_field(object: &mut Value, field: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(field.into(), value);
    }
}

fn remove_field(object: &mut Value, field: &str) {
    if let Some(map) = object.as_object_mut() {
        map.remove(field);
    }
}

fn set_metadata(object: &mut Value, field: &str, value: Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert(field.into(), value);
    }
}

fn success_status(resource: &ResourceType, name: &str, uid: &Value) -> Value {
    let mut details =
        json!({"name": name, "group": resource.group, "kind": resource.plural, "uid": uid});
    if resource.group.is_empty()
        && let Some(details) = details.as_object_mut()
    {
        details.remove("group");
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
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

    #[test]
    fn generation_moves_on_spec_and_deployment_annotations_only() {
        let mut store = Store::new();
        let created = store
            .create(
                deployments(),
                Some("default"),
                json!({"metadata":{"name":"web"},"spec":{"replicas":1}}),
            )
            .unwrap();
        assert_eq!(created["metadata"]["generation"], 1);
        assert_eq!(created["status"], json!({}));
        let mut labelled = created.clone();
        labelled["metadata"]["labels"] = json!({"a": "b"});
        let labelled = store
            .update(deployments(), Some("default"), "web", labelled)
            .unwrap();
        assert_eq!(labelled["metadata"]["generation"], 1);
        let mut annotated = labelled.clone();
        annotated["metadata"]["annotations"] = json!({"a": "b"});
        let annotated = store
            .update(deployments(), Some("default"), "web", annotated)
            .unwrap();
        assert_eq!(annotated["metadata"]["generation"], 2);
        let mut scaled = annotated.clone();
        scaled["spec"]["replicas"] = 3.into();
        scaled["status"] = json!({"replicas": 99});
        let scaled = store
            .update(deployments(), Some("default"), "web", scaled)
            .unwrap();
        assert_eq!(scaled["metadata"]["generation"], 3);
        assert_eq!(
            scaled["status"],
            json!({}),
            "status is only written through /status"
        );
    }

    #[test]
    fn no_op_update_keeps_the_resource_version() {
        let mut store = Store::new();
        let created = store
            .create(
                deployments(),
                Some("default"),
                json!({"metadata":{"name":"web"},"spec":{}}),
            )
            .unwrap();
        let before = store.resource_version();
        let same = store
            .update(deployments(), Some("default"), "web", created.clone())
            .unwrap();
        assert_eq!(same, created);
        assert_eq!(store.resource_version(), before);
    }
}
