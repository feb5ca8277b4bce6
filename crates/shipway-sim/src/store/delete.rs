//! Deletion: finalizers, `deletionTimestamp`, propagation policies, the garbage collector and
//! the namespace lifecycle.
//!
//! A real cluster splits this between the API server (which only marks objects) and the
//! garbage-collector and namespace controllers (which delete dependents and contents
//! asynchronously). Here the collector runs synchronously at the end of every write that can
//! leave it work, until nothing more changes, so a test sees the same sequence of states and
//! watch events without waiting on a controller: owner marked, dependents removed, owner
//! removed. Owners and dependents are matched by uid, never by name, so a recreated owner
//! does not adopt the old one's orphans.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{EventType, ObjectKey, Store, not_found, set_field, set_metadata};
use crate::error::ApiError;
use crate::resources::ResourceType;

/// Namespaces a real server refuses to delete.
const UNDELETABLE_NAMESPACES: &[&str] = &["default", "kube-public", "kube-system"];

/// How many rounds the collector runs before giving up on a cycle (an ownership cycle on a
/// real cluster also never resolves).
const MAX_ROUNDS: usize = 64;

/// `DeleteOptions.propagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Remove the object now; the collector removes its dependents afterwards.
    Background,
    /// Keep the object (finalizer `foregroundDeletion`) until its blocking dependents are gone.
    Foreground,
    /// Strip the owner reference from dependents (finalizer `orphan`), keep them.
    Orphan,
}

impl Propagation {
    /// Parses the wire value; `None` for an unknown one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Background" => Some(Self::Background),
            "Foreground" => Some(Self::Foreground),
            "Orphan" => Some(Self::Orphan),
            _ => None,
        }
    }
}

/// What a DELETE request carries (query or `DeleteOptions` body).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `propagationPolicy`; `None` is the kind's default (Background here).
    pub propagation: Option<Propagation>,
    /// `preconditions` (`uid`, `resourceVersion`).
    pub preconditions: Option<Value>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// What a delete answers: the object when it is still there (finalizers, foreground or
/// orphan propagation, namespaces; pods, whose registry returns the deleted object) and a
/// `Status` when it is gone.
#[derive(Debug)]
pub enum Deleted {
    /// The object, with `deletionTimestamp` set.
    Object(Value),
    /// A `Status` with `status: Success` naming the object.
    Status(Value),
}

impl Store {
    /// Deletes an object.
    pub fn delete(
        &mut self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        let object_key = super::key(resource, namespace, name);
        let old = self
            .objects
            .get(&object_key)
            .cloned()
            .ok_or_else(|| not_found(resource, name))?;
        if resource.is_namespace() && UNDELETABLE_NAMESPACES.contains(&name) {
            return Err(ApiError::Forbidden(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            )));
        }
        check_preconditions(resource, name, &old, options.preconditions.as_ref())?;
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            // Deleting again changes nothing and answers the object.
            return Ok(Deleted::Object(old));
        }
        let propagation = options.propagation.unwrap_or(Propagation::Background);
        let mut finalizers: Vec<Value> = old
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let extra = match propagation {
            Propagation::Foreground => Some("foregroundDeletion"),
            Propagation::Orphan => Some("orphan"),
            Propagation::Background => None,
        };
        if let Some(extra) = extra
            && !finalizers.iter().any(|f| f == extra)
        {
            finalizers.push(extra.into());
        }
        if finalizers.is_empty() && !resource.is_namespace() {
            let uid = old.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
            if options.dry_run {
                return Ok(Deleted::Status(success_status(resource, name, &uid)));
            }
            let removed = self.remove(&object_key);
            self.gc_pending = true;
            self.collect_garbage();
            // The pod registry answers the deleted object; others a Status.
            return Ok(if resource.group.is_empty() && resource.plural == "pods" {
                Deleted::Object(removed)
            } else {
                Deleted::Status(success_status(resource, name, &uid))
            });
        }
        let mut marked = old.clone();
        set_metadata(&mut marked, "deletionTimestamp", self.now_rfc3339().into());
        set_metadata(&mut marked, "deletionGracePeriodSeconds", 0.into());
        if !finalizers.is_empty() {
            set_metadata(&mut marked, "finalizers", Value::Array(finalizers));
        }
        if resource.is_namespace() {
            set_field(&mut marked, "status", json!({"phase": "Terminating"}));
        }
        if options.dry_run {
            return Ok(Deleted::Object(marked));
        }
        let marked = self.persist(object_key, EventType::Modified, marked, Some(old));
        self.gc_pending = true;
        self.collect_garbage();
        Ok(Deleted::Object(marked))
    }

    /// Deletes every object of `resource` in `namespace` that `matches` (deletecollection).
    pub fn delete_collection(
        &mut self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        matches: impl Fn(&Value) -> bool,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let names: Vec<String> = self
            .objects_of(resource, namespace)
            .filter(|object| matches(object))
            .filter_map(|object| object.pointer("/metadata/name")?.as_str().map(String::from))
            .collect();
        let mut items = Vec::new();
        for name in names {
            match self.delete(resource, namespace, &name, options)? {
                Deleted::Object(object) => items.push(object),
                Deleted::Status(_) => {}
            }
        }
        Ok(json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": resource.api_version(),
            "metadata": {"resourceVersion": self.resource_version.to_string()},
            "items": items,
        }))
    }

    /// Removes an object now, recording the `DELETED` event; returns its last state.
    pub(super) fn remove(&mut self, object_key: &ObjectKey) -> Value {
        let Some(old) = self.objects.get(object_key).cloned() else {
            return Value::Null;
        };
        let removed = self.persist(object_key.clone(), EventType::Deleted, old, None);
        if object_key.0.is_empty() && object_key.1 == "services" {
            // The Service's cluster IPs and node ports become free again.
            self.allocations.release(&removed);
        }
        if object_key.0 == "apiextensions.k8s.io" && object_key.1 == "customresourcedefinitions" {
            self.stop_serving_definition(&removed);
        }
        removed
    }

    /// Runs the garbage collector and the namespace controller until nothing changes.
    pub(crate) fn collect_garbage(&mut self) {
        if !std::mem::take(&mut self.gc_pending) {
            return;
        }
        for _ in 0..MAX_ROUNDS {
            if !self.collect_round() {
                return;
            }
        }
    }

    /// One round of collection; whether anything changed.
    fn collect_round(&mut self) -> bool {
        let uids: HashSet<String> = self
            .objects
            .values()
            .filter_map(|object| object.pointer("/metadata/uid")?.as_str().map(String::from))
            .collect();
        let mut changed = false;
        let keys: Vec<ObjectKey> = self.objects.keys().cloned().collect();
        for object_key in keys {
            let Some(object) = self.objects.get(&object_key).cloned() else {
                continue;
            };
            let deleting = object.pointer("/metadata/deletionTimestamp").is_some();
            let uid = object
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let finalizers = strings(object.pointer("/metadata/finalizers"));
            if deleting && finalizers.iter().any(|f| f == "orphan") {
                self.orphan_dependents(&uid);
                self.drop_finalizer(&object_key, "orphan");
                changed = true;
                continue;
            }
            if deleting && finalizers.iter().any(|f| f == "foregroundDeletion") {
                let dependents = self.dependents_of(&uid);
                let mut blocking = false;
                for (dependent_key, dependent) in dependents {
                    blocking |= blocks_owner(&dependent, &uid);
                    if dependent.pointer("/metadata/deletionTimestamp").is_none() {
                        self.mark_for_deletion(&dependent_key, "foregroundDeletion");
                        changed = true;
                    }
                }
                if !blocking {
                    self.drop_finalizer(&object_key, "foregroundDeletion");
                    changed = true;
                }
                continue;
            }
            let is_namespace = object_key.0.is_empty() && object_key.1 == "namespaces";
            if deleting && is_namespace {
                changed |= self.finalize_namespace(&object_key);
                continue;
            }
            if deleting && finalizers.is_empty() {
                self.remove(&object_key);
                changed = true;
                continue;
            }
            if !deleting {
                let owners = strings_at(&object, "/metadata/ownerReferences", "uid");
                if !owners.is_empty() && owners.iter().all(|owner| !uids.contains(owner)) {
                    // Every owner is gone: a background cascade.
                    if finalizers.is_empty() {
                        self.remove(&object_key);
                    } else {
                        self.mark_for_deletion(&object_key, "");
                    }
                    changed = true;
                }
            }
        }
        changed
    }

    /// The namespace controller: delete the contents, then drop the `kubernetes` finalizer,
    /// then the namespace goes. Whether anything changed.
    fn finalize_namespace(&mut self, namespace_key: &ObjectKey) -> bool {
        let name = namespace_key.3.clone();
        let contents: Vec<ObjectKey> = self
            .objects
            .keys()
            .filter(|(_, _, namespace, _)| *namespace == name)
            .cloned()
            .collect();
        if !contents.is_empty() {
            let mut changed = false;
            for content in contents {
                let Some(object) = self.objects.get(&content) else {
                    continue;
                };
                if object.pointer("/metadata/deletionTimestamp").is_some() {
                    continue;
                }
                if strings(object.pointer("/metadata/finalizers")).is_empty() {
                    self.remove(&content);
                } else {
                    self.mark_for_deletion(&content, "");
                }
                changed = true;
            }
            return changed;
        }
        let Some(namespace) = self.objects.get(namespace_key).cloned() else {
            return false;
        };
        let spec_finalizers = strings(namespace.pointer("/spec/finalizers"));
        if !spec_finalizers.is_empty() {
            let mut finalized = namespace.clone();
            set_field(&mut finalized, "spec", json!({"finalizers": []}));
            self.persist(
                namespace_key.clone(),
                EventType::Modified,
                finalized,
                Some(namespace),
            );
            return true;
        }
        if strings(namespace.pointer("/metadata/finalizers")).is_empty() {
            self.remove(namespace_key);
            return true;
        }
        false
    }

    /// Objects whose `ownerReferences` name `owner_uid`.
    fn dependents_of(&self, owner_uid: &str) -> Vec<(ObjectKey, Value)> {
        self.objects
            .iter()
            .filter(|(_, object)| {
                strings_at(object, "/metadata/ownerReferences", "uid")
                    .iter()
                    .any(|uid| uid == owner_uid)
            })
            .map(|(object_key, object)| (object_key.clone(), object.clone()))
            .collect()
    }

    fn orphan_dependents(&mut self, owner_uid: &str) {
        for (dependent_key, dependent) in self.dependents_of(owner_uid) {
            let mut updated = dependent.clone();
            if let Some(references) = updated
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                references.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
                if references.is_empty() {
                    super::remove_metadata(&mut updated, "ownerReferences");
                }
            }
            self.persist(dependent_key, EventType::Modified, updated, Some(dependent));
        }
    }

    /// Sets `deletionTimestamp` (and `finalizer`, when not empty) on an object.
    fn mark_for_deletion(&mut self, object_key: &ObjectKey, finalizer: &str) {
        let Some(old) = self.objects.get(object_key).cloned() else {
            return;
        };
        let mut marked = old.clone();
        set_metadata(&mut marked, "deletionTimestamp", self.now_rfc3339().into());
        set_metadata(&mut marked, "deletionGracePeriodSeconds", 0.into());
        if !finalizer.is_empty() {
            let mut finalizers = strings(old.pointer("/metadata/finalizers"));
            if !finalizers.iter().any(|f| f == finalizer) {
                finalizers.push(finalizer.to_owned());
            }
            set_metadata(&mut marked, "finalizers", json!(finalizers));
        }
        self.persist(object_key.clone(), EventType::Modified, marked, Some(old));
    }

    fn drop_finalizer(&mut self, object_key: &ObjectKey, finalizer: &str) {
        let Some(old) = self.objects.get(object_key).cloned() else {
            return;
        };
        let mut updated = old.clone();
        let finalizers: Vec<String> = strings(old.pointer("/metadata/finalizers"))
            .into_iter()
            .filter(|f| f != finalizer)
            .collect();
        if finalizers.is_empty() {
            super::remove_metadata(&mut updated, "finalizers");
            self.remove(object_key);
        } else {
            set_metadata(&mut updated, "finalizers", json!(finalizers));
            self.persist(object_key.clone(), EventType::Modified, updated, Some(old));
        }
    }
}

fn check_preconditions(
    resource: &ResourceType,
    name: &str,
    old: &Value,
    preconditions: Option<&Value>,
) -> Result<(), ApiError> {
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
    Ok(())
}

/// Whether `dependent`'s reference to `owner_uid` has `blockOwnerDeletion: true`.
fn blocks_owner(dependent: &Value, owner_uid: &str) -> bool {
    dependent
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|references| {
            references.iter().any(|r| {
                r.get("uid").and_then(Value::as_str) == Some(owner_uid)
                    && r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
            })
        })
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn strings_at(object: &Value, pointer: &str, field: &str) -> Vec<String> {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.get(field)?.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources;
    use crate::store::WriteOptions;
    use crate::store::tests::valid_deployment;

    fn find(group: &str, plural: &str) -> &'static ResourceType {
        // Every group these tests use serves v1.
        resources::find(group, "v1", plural).unwrap()
    }

    fn create(store: &mut Store, group: &str, plural: &str, object: Value) -> Value {
        store
            .create(
                find(group, plural),
                Some("default"),
                object,
                &WriteOptions::manager("test"),
            )
            .unwrap()
            .object
    }

    /// A valid `ReplicaSet` owned by `owner`.
    fn owned_by(name: &str, owner: &Value, block: bool) -> Value {
        let mut replica_set = valid_deployment(name, &json!({}));
        replica_set["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": block}]);
        replica_set
    }

    #[test]
    fn background_deletion_cascades_by_uid() {
        let mut store = Store::new();
        let owner = create(
            &mut store,
            "apps",
            "deployments",
            valid_deployment("web", &json!({})),
        );
        create(
            &mut store,
            "apps",
            "replicasets",
            owned_by("web-1", &owner, true),
        );
        create(
            &mut store,
            "",
            "configmaps",
            json!({"metadata":{"name":"free"}}),
        );
        let answer = store
            .delete(
                find("apps", "deployments"),
                Some("default"),
                "web",
                &DeleteOptions::default(),
            )
            .unwrap();
        assert!(matches!(answer, Deleted::Status(_)));
        assert!(
            store
                .get(find("apps", "replicasets"), Some("default"), "web-1")
                .is_err()
        );
        assert!(
            store
                .get(find("", "configmaps"), Some("default"), "free")
                .is_ok()
        );
    }

    #[test]
    fn foreground_keeps_the_owner_until_dependents_go_and_orphan_keeps_them() {
        let mut store = Store::new();
        let owner = create(
            &mut store,
            "apps",
            "deployments",
            valid_deployment("web", &json!({})),
        );
        let mut dependent = owned_by("web-1", &owner, true);
        dependent["metadata"]["finalizers"] = json!(["example.com/hold"]);
        create(&mut store, "apps", "replicasets", dependent);
        let options = DeleteOptions {
            propagation: Some(Propagation::Foreground),
            ..DeleteOptions::default()
        };
        let answer = store
            .delete(
                find("apps", "deployments"),
                Some("default"),
                "web",
                &options,
            )
            .unwrap();
        let Deleted::Object(marked) = answer else {
            panic!("foreground deletion answers the object")
        };
        assert_eq!(
            marked["metadata"]["finalizers"],
            json!(["foregroundDeletion"])
        );
        // The dependent is held by its own finalizer, so the owner stays.
        let replica_set = store
            .get(find("apps", "replicasets"), Some("default"), "web-1")
            .unwrap();
        assert!(replica_set["metadata"]["deletionTimestamp"].is_string());
        assert!(
            store
                .get(find("apps", "deployments"), Some("default"), "web")
                .is_ok()
        );
        // Releasing the dependent's finalizer lets both go.
        let mut released = replica_set.clone();
        released["metadata"]["finalizers"] = json!([]);
        released["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("resourceVersion");
        store
            .update(
                find("apps", "replicasets"),
                Some("default"),
                "web-1",
                released,
                crate::store::Subresource::Main,
                &WriteOptions::manager("test"),
            )
            .expect("released");
        assert!(
            store
                .get(find("apps", "deployments"), Some("default"), "web")
                .is_err()
        );

        let owner = create(
            &mut store,
            "apps",
            "deployments",
            valid_deployment("api", &json!({})),
        );
        create(
            &mut store,
            "apps",
            "replicasets",
            owned_by("api-1", &owner, true),
        );
        let options = DeleteOptions {
            propagation: Some(Propagation::Orphan),
            ..DeleteOptions::default()
        };
        store
            .delete(
                find("apps", "deployments"),
                Some("default"),
                "api",
                &options,
            )
            .unwrap();
        assert!(
            store
                .get(find("apps", "deployments"), Some("default"), "api")
                .is_err()
        );
        let orphan = store
            .get(find("apps", "replicasets"), Some("default"), "api-1")
            .unwrap();
        assert!(orphan["metadata"].get("ownerReferences").is_none());
    }

    #[test]
    fn namespace_deletion_terminates_then_empties_then_goes() {
        let mut store = Store::new();
        let namespaces = resources::namespaces();
        store
            .create(
                namespaces,
                None,
                json!({"metadata":{"name":"doomed"}}),
                &WriteOptions::manager("t"),
            )
            .unwrap();
        store
            .create(
                find("", "configmaps"),
                Some("doomed"),
                json!({"metadata":{"name":"held","finalizers":["example.com/hold"]}}),
                &WriteOptions::manager("t"),
            )
            .unwrap();
        let Deleted::Object(terminating) = store
            .delete(namespaces, None, "doomed", &DeleteOptions::default())
            .unwrap()
        else {
            panic!("namespace deletion answers the object")
        };
        assert_eq!(terminating["status"]["phase"], "Terminating");
        let late = store.create(
            find("", "configmaps"),
            Some("doomed"),
            json!({"metadata":{"name":"late"}}),
            &WriteOptions::manager("t"),
        );
        assert_eq!(late.unwrap_err().code(), 403);
        assert!(
            store.get(namespaces, None, "doomed").is_ok(),
            "held by content"
        );
        let mut held = store
            .get(find("", "configmaps"), Some("doomed"), "held")
            .unwrap();
        held["metadata"]["finalizers"] = json!([]);
        store
            .update(
                find("", "configmaps"),
                Some("doomed"),
                "held",
                held,
                crate::store::Subresource::Main,
                &WriteOptions::manager("t"),
            )
            .unwrap();
        assert!(store.get(namespaces, None, "doomed").is_err());
    }
}
