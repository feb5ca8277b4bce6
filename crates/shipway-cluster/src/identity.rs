//! Who owns an object: the app identity shipway stamps on everything it applies.
//!
//! Prune must never delete what shipway did not apply, and two apps must never share an
//! inventory. Both rest on one value: an app's identity ([`AppId`]), built from the whole
//! app (the repository-relative path of a directory app, or an `Application`'s
//! namespace/name, plus the destination namespace), never from a directory's base name.
//! Every applied object carries it in the tracking annotation
//! [`TRACKING_ANNOTATION`] (`<app id>:<group>/<kind>:<namespace>/<name>`, Argo CD's
//! annotation tracking format, so a tracking value copied onto another object does not
//! make that object ours) and, for selection by label, a hash of it in [`APP_LABEL`].
//!
//! Pure: the engine reads live objects and asks here whose they are.

use std::fmt;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cluster::Key;

/// Annotation holding `<app id>:<group>/<kind>:<namespace>/<name>` on every object shipway
/// applies (Argo CD's `argocd.argoproj.io/tracking-id` format).
pub const TRACKING_ANNOTATION: &str = "shipway.dev/tracking-id";
/// Label holding [`AppId::label`]: lets the engine find an app's objects by selector (to
/// rebuild a lost inventory) without reading every object of the cluster.
pub const APP_LABEL: &str = "shipway.dev/app";

/// Longest label value.
const LABEL_MAX: usize = 63;

/// An app's identity: a display name and the unique id everything is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppId {
    /// The app's name as users see it (`web`).
    pub name: String,
    /// The unique id (`dir:teamA/web@shop`, `application:argocd/web@shop`).
    pub id: String,
}

impl AppId {
    /// An identity from a display name and a unique id.
    pub fn new(name: impl Into<String>, id: impl Into<String>) -> AppId {
        AppId {
            name: name.into(),
            id: id.into(),
        }
    }

    /// The first 8 hex digits of the SHA-256 of the id: enough to tell apps apart in a
    /// name or label, which cannot hold every id.
    pub fn short_hash(&self) -> String {
        hex(&Sha256::digest(self.id.as_bytes()))[..8].to_owned()
    }

    /// The [`APP_LABEL`] value: the name as a label value, then the id's hash, at most 63
    /// characters.
    pub fn label(&self) -> String {
        let hash = self.short_hash();
        let mut clean: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        clean.truncate(LABEL_MAX - hash.len() - 1);
        let clean = clean.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if clean.is_empty() {
            hash
        } else {
            format!("{clean}-{hash}")
        }
    }

    /// The tracking annotation value for the object at `key`.
    pub fn tracking_value(&self, key: &Key) -> String {
        format!(
            "{}:{}/{}:{}/{}",
            self.id, key.group, key.kind, key.namespace, key.name
        )
    }

    /// Stamps the tracking annotation and the app label on `object` (a manifest about to
    /// be planned and applied).
    pub fn stamp(&self, object: &mut Value) {
        let key = Key::of(object);
        let tracking = self.tracking_value(&key);
        let label = self.label();
        let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        for (field, name, value) in [
            ("annotations", TRACKING_ANNOTATION, tracking),
            ("labels", APP_LABEL, label),
        ] {
            let map = metadata
                .entry(field)
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if !map.is_object() {
                *map = Value::Object(serde_json::Map::new());
            }
            if let Some(map) = map.as_object_mut() {
                map.insert(name.to_owned(), value.into());
            }
        }
    }
}

impl fmt::Display for AppId {
    /// The display name: what every message calls the app.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Who a live object says owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracking {
    /// No tracking annotation: applied by hand or by another tool.
    Untracked,
    /// The annotation names this object and the app with this id.
    App(String),
    /// The annotation names another object (copied from elsewhere): nobody's.
    Foreign(String),
}

/// Reads the tracking annotation of a live object.
pub fn tracking_of(live: &Value) -> Tracking {
    let Some(value) = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(TRACKING_ANNOTATION))
        .and_then(Value::as_str)
    else {
        return Tracking::Untracked;
    };
    let key = Key::of(live);
    let suffix = format!(":{}/{}:{}/{}", key.group, key.kind, key.namespace, key.name);
    match value.strip_suffix(&suffix) {
        Some(id) if !id.is_empty() => Tracking::App(id.to_owned()),
        _ => Tracking::Foreign(value.to_owned()),
    }
}

/// The id part of a directory app: `dir:<path relative to its git repository>`, or the
/// absolute path when it is not in one (so `teamA/web` and `teamB/web` differ, and the same
/// checkout on another machine gives the same id).
pub fn directory_id(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let resolved = std::fs::canonicalize(&absolute).unwrap_or(absolute);
    let root = resolved
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf);
    let relative = root
        .as_deref()
        .and_then(|root| resolved.strip_prefix(root).ok())
        .map(|rel| {
            let text = rel.to_string_lossy().replace('\\', "/");
            if text.is_empty() {
                ".".to_owned()
            } else {
                text
            }
        });
    match relative {
        Some(rel) => format!("dir:{rel}"),
        None => format!("dir:{}", resolved.display()),
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}})
    }

    #[test]
    fn stamped_objects_are_tracked_by_their_app_only() {
        let a = AppId::new("web", "dir:teamA/web@shop");
        let b = AppId::new("web", "dir:teamB/web@shop");
        assert_ne!(a.label(), b.label(), "same name, different apps");
        let mut object = deployment();
        a.stamp(&mut object);
        assert_eq!(tracking_of(&object), Tracking::App(a.id.clone()));
        assert_eq!(object["metadata"]["labels"][APP_LABEL], a.label());
        // The annotation copied onto another object names the original, not this one.
        object["metadata"]["name"] = "other".into();
        assert!(matches!(tracking_of(&object), Tracking::Foreign(_)));
        assert_eq!(tracking_of(&deployment()), Tracking::Untracked);
    }

    #[test]
    fn labels_are_valid_label_values() {
        let long = AppId::new("A_very.Long name ".repeat(10), "x");
        let label = long.label();
        assert!(label.len() <= 63);
        assert!(
            label
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
        );
        assert!(
            label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        );
        assert_eq!(AppId::new("---", "x").label().len(), 8);
    }

    #[test]
    fn directory_ids_are_repository_relative() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join(".git")).unwrap();
        for team in ["teamA/web", "teamB/web"] {
            std::fs::create_dir_all(repo.path().join(team)).unwrap();
        }
        assert_eq!(
            directory_id(&repo.path().join("teamA/web")),
            "dir:teamA/web"
        );
        assert_eq!(
            directory_id(&repo.path().join("teamB/web")),
            "dir:teamB/web"
        );
        assert_eq!(directory_id(repo.path()), "dir:.");
    }
}
