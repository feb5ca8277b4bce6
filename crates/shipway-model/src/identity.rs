//! Object identity: group/version/kind, namespace and name.

use std::fmt;

use crate::value::Node;

/// A group, version and kind. The core group is the empty string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Gvk {
    /// API group, `""` for the core group.
    pub group: String,
    /// API version within the group.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl Gvk {
    /// Splits an `apiVersion` (`apps/v1`, `v1`) and pairs it with `kind`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The `apiVersion` field value: `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Reads `apiVersion` and `kind` of an object.
    pub fn of(node: &Node) -> Gvk {
        Gvk::from_api_version(
            node.str_at(&["apiVersion"]).unwrap_or(""),
            node.str_at(&["kind"]).unwrap_or(""),
        )
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // kustomize spells ids as `[noGrp]/v1/ConfigMap`-like strings in some errors; we use
        // the readable `group/version, Kind=…` spelling kubectl uses.
        if self.group.is_empty() {
            write!(f, "{}, Kind={}", self.version, self.kind)
        } else {
            write!(f, "{}/{}, Kind={}", self.group, self.version, self.kind)
        }
    }
}

/// The identity of one object: kind and where it lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObjectId {
    /// Group, version and kind.
    pub gvk: Gvk,
    /// Namespace, `""` for cluster-scoped objects or when unset.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectId {
    /// Reads the identity of an object.
    pub fn of(node: &Node) -> ObjectId {
        ObjectId {
            gvk: Gvk::of(node),
            namespace: node
                .str_at(&["metadata", "namespace"])
                .unwrap_or("")
                .to_string(),
            name: node.str_at(&["metadata", "name"]).unwrap_or("").to_string(),
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.gvk.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.gvk.kind, self.namespace, self.name)
        }
    }
}
