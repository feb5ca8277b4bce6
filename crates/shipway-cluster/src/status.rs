//! `shipway status`: an app's objects as a tree (workloads with their `ReplicaSets`, Pods and
//! Jobs, found by owner uid), each with its health and sync state, and the app's overall
//! health (the worst) and sync state (`OutOfSync` when any object would change).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::cluster::{Cluster, Key};
use crate::health::{self, Health};
use crate::identity::AppId;
use crate::plan::{self, Action, PlanError, PlanOptions};

/// One object of the tree.
#[derive(Debug, Clone)]
pub struct ObjectStatus {
    /// The object.
    pub key: Key,
    /// Its health (`Healthy` for kinds without a health rule that exist).
    pub health: Health,
    /// Why, when not healthy.
    pub message: String,
    /// `Synced` / `OutOfSync` for the app's own objects; `None` for children.
    pub sync: Option<&'static str>,
    /// Objects it owns (`ReplicaSets`, Pods, Jobs).
    pub children: Vec<ObjectStatus>,
}

/// An app's status.
#[derive(Debug, Clone)]
pub struct AppStatus {
    /// The app.
    pub app: String,
    /// The worst health of its objects.
    pub health: Health,
    /// `Synced` when every object matches the render.
    pub sync: &'static str,
    /// The objects, in render order, then those pending prune.
    pub objects: Vec<ObjectStatus>,
}

impl AppStatus {
    /// `{"health","sync","objects":[…]}`.
    pub fn to_json(&self) -> Value {
        fn object(status: &ObjectStatus) -> Value {
            let mut value = status.key.to_json();
            value["health"] = status.health.as_str().into();
            if !status.message.is_empty() {
                value["message"] = status.message.clone().into();
            }
            if let Some(sync) = status.sync {
                value["sync"] = sync.into();
            }
            if !status.children.is_empty() {
                value["children"] = status.children.iter().map(object).collect();
            }
            value
        }
        json!({
            "app": self.app,
            "health": self.health.as_str(),
            "sync": self.sync,
            "objects": self.objects.iter().map(object).collect::<Vec<_>>(),
        })
    }

    /// The tree as text, one object per line.
    pub fn to_text(&self) -> String {
        text(&self.to_json())
    }
}

/// The text of a status in [`AppStatus::to_json`]'s shape, one object per line: how
/// `shipway status` prints it, whether it came from the cluster or from a `shipway serve`.
pub fn text(status: &Value) -> String {
    fn write(out: &mut String, object: &Value, depth: usize) {
        use shipway_model::text::escape_control as escape;
        let field = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or("");
        let key = match field("namespace") {
            "" => format!("{} {}", escape(field("kind")), escape(field("name"))),
            namespace => format!(
                "{} {}/{}",
                escape(field("kind")),
                escape(namespace),
                escape(field("name"))
            ),
        };
        let name = format!("{}{key}", "  ".repeat(depth + 1));
        let health = field("health");
        let mut line = format!("{name:<64} {:<10} {health}", field("sync"));
        let message = field("message");
        if !message.is_empty() && health != Health::Healthy.as_str() {
            line.push_str(": ");
            line.push_str(&escape(message));
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for child in object
            .get("children")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            write(out, child, depth + 1);
        }
    }
    let objects = status
        .get("objects")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let field = |name: &str| {
        status
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("Unknown")
    };
    let mut out = format!(
        "app {}: {}, {} ({} objects)\n",
        shipway_model::text::escape_control(field("app")),
        field("health"),
        field("sync"),
        objects.len()
    );
    for object in objects {
        write(&mut out, object, 0);
    }
    out
}

/// The status of `app` whose render is `desired` (namespaces assigned).
pub async fn status(
    cluster: &Cluster,
    app: &AppId,
    namespace: &str,
    desired: &[Value],
    options: &PlanOptions,
) -> Result<AppStatus, PlanError> {
    let plan = plan::plan(cluster, app, namespace, desired, options).await?;
    let mut namespaces: Vec<String> = plan
        .items
        .iter()
        .map(|item| item.key.namespace.clone())
        .filter(|n| !n.is_empty())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    // Children: ReplicaSets, Pods and Jobs of the app's namespaces, by owner uid.
    let mut by_owner: HashMap<String, Vec<Value>> = HashMap::new();
    for namespace in &namespaces {
        for (group, version, kind) in [
            ("apps", "v1", "ReplicaSet"),
            ("", "v1", "Pod"),
            ("batch", "v1", "Job"),
        ] {
            let key = Key {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
                namespace: namespace.clone(),
                name: String::new(),
            };
            let Ok(objects) = cluster.list(&key, "").await else {
                continue;
            };
            for object in objects {
                for owner in object
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(uid) = owner.get("uid").and_then(Value::as_str) {
                        by_owner
                            .entry(uid.to_owned())
                            .or_default()
                            .push(object.clone());
                    }
                }
            }
        }
    }
    let mut objects = Vec::new();
    for item in &plan.items {
        // The plan read every live object already.
        let live = &item.live;
        let (health, message) = match live {
            None if item.action == Action::Delete => (Health::Healthy, String::new()),
            None => (Health::Missing, "not found".to_owned()),
            Some(object) => match health::object_health(object) {
                Some(status) => (status.health, status.message),
                None => (Health::Healthy, String::new()),
            },
        };
        let sync = match item.action {
            Action::Unchanged => "Synced",
            _ => "OutOfSync",
        };
        let children = live
            .as_ref()
            .map(|object| children_of(object, &by_owner))
            .unwrap_or_default();
        objects.push(ObjectStatus {
            key: item.key.clone(),
            health,
            message,
            sync: Some(sync),
            children,
        });
    }
    let health = health::worst(objects.iter().map(|o| o.health));
    let sync = if plan.in_sync() {
        "Synced"
    } else {
        "OutOfSync"
    };
    Ok(AppStatus {
        app: app.name.clone(),
        health,
        sync,
        objects,
    })
}

fn children_of(object: &Value, by_owner: &HashMap<String, Vec<Value>>) -> Vec<ObjectStatus> {
    let Some(uid) = object.pointer("/metadata/uid").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut children: Vec<ObjectStatus> = by_owner
        .get(uid)
        .into_iter()
        .flatten()
        .map(|child| {
            let (health, message) = match health::object_health(child) {
                Some(status) => (status.health, status.message),
                None => (Health::Healthy, String::new()),
            };
            ObjectStatus {
                key: Key::of(child),
                health,
                message,
                sync: None,
                children: children_of(child, by_owner),
            }
        })
        .collect();
    children.sort_by(|a, b| a.key.cmp(&b.key));
    children
}
