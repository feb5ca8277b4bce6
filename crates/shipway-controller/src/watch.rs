//! Drift detection: one watch per kind the apps manage, selected by shipway's tracking
//! label, so memory follows managed objects (never a cluster-wide cache of objects no app
//! manages). For each managed object only a hash of what a user can change is kept
//! (labels, annotations and everything but `status`), so status updates by controllers
//! do not wake the app; a change to that hash, or a delete, queues a reconcile.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use futures_util::StreamExt as _;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use serde_json::Value;
use shipway_cluster::cluster::Key;
use shipway_cluster::engine::Prepared;
use shipway_cluster::identity::APP_LABEL;

use crate::{Controller, Trigger};

/// The running watches and what they have seen.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    kinds: Mutex<HashSet<(String, String, String)>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    seen: std::sync::Arc<Mutex<HashMap<Key, u64>>>,
}

impl Watches {
    /// Starts a watch for every kind of `prepared`'s objects not watched yet.
    pub(crate) async fn ensure(&self, controller: &Controller, prepared: &Prepared) {
        for object in &prepared.objects {
            let key = Key::of(object);
            let kind = (key.group.clone(), key.version.clone(), key.kind.clone());
            if self.lock_kinds().contains(&kind) {
                continue;
            }
            let Ok((resource, _)) = controller.cluster().resource(&key).await else {
                // Not served yet (a CRD of the same app): the next reconcile tries again.
                continue;
            };
            if !self.lock_kinds().insert(kind) {
                continue;
            }
            let api: Api<DynamicObject> =
                Api::all_with(controller.cluster().client().clone(), &resource);
            let this = controller.clone();
            let seen = std::sync::Arc::clone(&self.seen);
            let task = tokio::spawn(async move {
                let config = watcher::Config::default().labels(APP_LABEL);
                let mut stream = watcher(api, config).default_backoff().boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(watcher::Event::InitApply(object)) => {
                            // What is there at the start is the baseline, not drift.
                            let value = serde_json::to_value(&object).unwrap_or_default();
                            let key = key_of(&value, &resource);
                            lock(&seen).insert(key, fingerprint(&value));
                        }
                        Ok(watcher::Event::Apply(object)) => {
                            let value = serde_json::to_value(&object).unwrap_or_default();
                            let key = key_of(&value, &resource);
                            let hash = fingerprint(&value);
                            let changed = lock(&seen).insert(key, hash) != Some(hash);
                            if changed {
                                wake(&this, &value);
                            }
                        }
                        Ok(watcher::Event::Delete(object)) => {
                            let value = serde_json::to_value(&object).unwrap_or_default();
                            lock(&seen).remove(&key_of(&value, &resource));
                            wake(&this, &value);
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::debug!(error = %error, "watch interrupted; resuming");
                        }
                    }
                }
            });
            self.tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(task);
        }
    }

    fn lock_kinds(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String, String)>> {
        self.kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stops every watch.
    pub(crate) fn stop(&self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

fn lock(seen: &Mutex<HashMap<Key, u64>>) -> std::sync::MutexGuard<'_, HashMap<Key, u64>> {
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn key_of(value: &Value, resource: &kube::api::ApiResource) -> Key {
    Key {
        group: resource.group.clone(),
        version: resource.version.clone(),
        kind: resource.kind.clone(),
        namespace: value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        name: value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    }
}

/// A hash of what a user changes: everything but `status` and the server's bookkeeping.
fn fingerprint(value: &Value) -> u64 {
    let mut copy = value.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "resourceVersion",
            "managedFields",
            "generation",
            "creationTimestamp",
            "uid",
        ] {
            meta.remove(field);
        }
    }
    let mut hasher = DefaultHasher::new();
    copy.to_string().hash(&mut hasher);
    hasher.finish()
}

/// Queues a reconcile of the app whose tracking label `value` carries.
fn wake(controller: &Controller, value: &Value) {
    let Some(label) = value
        .pointer("/metadata/labels")
        .and_then(|l| l.get(APP_LABEL))
        .and_then(Value::as_str)
    else {
        return;
    };
    let app = controller
        .inner
        .labels
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(label)
        .cloned();
    if let Some(app) = app {
        controller.request(&app, Trigger::Watch, false, "controller");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_and_bookkeeping_do_not_change_the_fingerprint() {
        let a = json!({"metadata": {"name": "web", "resourceVersion": "1"}, "spec": {"replicas": 2}, "status": {"ready": 1}});
        let b = json!({"metadata": {"name": "web", "resourceVersion": "2"}, "spec": {"replicas": 2}, "status": {"ready": 2}});
        let c =
            json!({"metadata": {"name": "web", "resourceVersion": "3"}, "spec": {"replicas": 5}});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
