//! Resources as the renderer tracks them: the object plus the history kustomize keeps
//! (original name and namespace, renames, prefixes and suffixes, generator options) so name
//! references can be fixed up after every layer has renamed things.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use shipway_model::{Gvk, Node, ObjectId, Value};

use crate::error::{RenderError, location};

/// How a generated object combines with an existing one of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    /// A new object; an existing one is an error.
    #[default]
    Create,
    /// Merge data into the existing object.
    Merge,
    /// Replace the existing object.
    Replace,
}

/// One resource and its history.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The object.
    pub node: Node,
    /// The file it was read from (or the kustomization that generated it).
    pub source: Arc<Path>,
    /// Name when first loaded.
    pub original_name: String,
    /// Namespace when first loaded.
    pub original_namespace: String,
    /// Every (name, namespace) it had before its current one, oldest first.
    pub previous: Vec<(String, String)>,
    /// The (kind, name, namespace) it had before each change of kind (a patch with
    /// `allowKindChange`), oldest first: a later strategic merge patch still finds it by
    /// the identity it was loaded with.
    pub previous_kinds: Vec<(String, String, String)>,
    /// Name prefixes applied, innermost first.
    pub prefixes: Vec<String>,
    /// Name suffixes applied, innermost first.
    pub suffixes: Vec<String>,
    /// Whether a content hash is appended to the name at the end (generated objects).
    pub needs_hash: bool,
    /// The generator behaviour, for generated objects.
    pub behavior: Option<Behavior>,
    /// Names of the `vars` bound to this object.
    pub var_names: Vec<String>,
}

impl Resource {
    /// Wraps a loaded object.
    pub fn new(node: Node, source: Arc<Path>) -> Resource {
        let original_name = node.str_at(&["metadata", "name"]).unwrap_or("").to_string();
        let original_namespace = node
            .str_at(&["metadata", "namespace"])
            .unwrap_or("")
            .to_string();
        Resource {
            node,
            source,
            original_name,
            original_namespace,
            previous: Vec::new(),
            previous_kinds: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: None,
            var_names: Vec::new(),
        }
    }

    /// Current identity.
    pub fn id(&self) -> ObjectId {
        ObjectId::of(&self.node)
    }

    /// Current group/version/kind.
    pub fn gvk(&self) -> Gvk {
        Gvk::of(&self.node)
    }

    /// Current name.
    pub fn name(&self) -> &str {
        self.node.str_at(&["metadata", "name"]).unwrap_or("")
    }

    /// Current namespace.
    pub fn namespace(&self) -> &str {
        self.node.str_at(&["metadata", "namespace"]).unwrap_or("")
    }

    /// Kind.
    pub fn kind(&self) -> &str {
        self.node.str_at(&["kind"]).unwrap_or("")
    }

    /// Records the current name and namespace before a rename.
    pub fn remember_id(&mut self) {
        let entry = (self.name().to_string(), self.namespace().to_string());
        self.previous.push(entry);
    }

    /// Sets `metadata.name`.
    pub fn set_name(&mut self, name: &str) {
        if let Some(meta) = self
            .node
            .ensure_path(&["metadata"])
            .and_then(Node::as_map_mut)
        {
            meta.insert("name".into(), Node::string(name));
        }
    }

    /// Sets `metadata.namespace`.
    pub fn set_namespace(&mut self, namespace: &str) {
        if let Some(meta) = self
            .node
            .ensure_path(&["metadata"])
            .and_then(Node::as_map_mut)
        {
            meta.insert("namespace".into(), Node::string(namespace));
        }
    }

    /// Whether `name` is this resource's original or any previous name.
    pub fn was_named(&self, name: &str) -> bool {
        self.original_name == name || self.previous.iter().any(|(n, _)| n == name)
    }

    /// Whether the resource has or had the identity `name` in `namespace`, as kustomize's
    /// `GetMatchingResourcesByAnyId` with `ResId.Equals` sees it: the original, every
    /// previous and the current (name, namespace) pair count, and an empty namespace equals
    /// `default`.
    pub fn had_id(&self, name: &str, namespace: &str) -> bool {
        let ns_equal = |a: &str| {
            a == namespace
                || (a.is_empty() && namespace == "default")
                || (a == "default" && namespace.is_empty())
        };
        std::iter::once((
            self.original_name.as_str(),
            self.original_namespace.as_str(),
        ))
        .chain(
            self.previous
                .iter()
                .map(|(n, ns)| (n.as_str(), ns.as_str())),
        )
        .chain(std::iter::once((self.name(), self.namespace())))
        .any(|(n, ns)| n == name && ns_equal(ns))
    }

    /// Labels as a mapping, when present.
    pub fn labels(&self) -> Vec<(String, String)> {
        string_pairs(self.node.get_path(&["metadata", "labels"]))
    }

    /// Annotations as a mapping, when present.
    pub fn annotations(&self) -> Vec<(String, String)> {
        string_pairs(self.node.get_path(&["metadata", "annotations"]))
    }
}

fn string_pairs(node: Option<&Node>) -> Vec<(String, String)> {
    node.and_then(Node::as_map)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_string(), v.value.scalar_text().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// The resources accumulated so far, in order, with an index of current ids that is
/// rebuilt lazily after transformers rename things.
#[derive(Debug, Clone, Default)]
pub struct ResMap {
    resources: Vec<Resource>,
    ids: Option<HashSet<ObjectId>>,
}

impl ResMap {
    /// The resources in order.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The resources, mutably; the id index is rebuilt on the next append.
    pub fn resources_mut(&mut self) -> &mut Vec<Resource> {
        self.ids = None;
        &mut self.resources
    }

    /// Takes the resources out.
    pub fn into_resources(self) -> Vec<Resource> {
        self.resources
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether there are no resources.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Appends one resource; a resource with the same current id is an error.
    pub fn append(&mut self, resource: Resource) -> Result<(), RenderError> {
        let resources = &self.resources;
        let ids = self
            .ids
            .get_or_insert_with(|| resources.iter().map(Resource::id).collect());
        let id = resource.id();
        if ids.contains(&id) {
            return Err(duplicate(&resource, &id));
        }
        ids.insert(id);
        self.resources.push(resource);
        Ok(())
    }

    /// Appends every resource of `other`, failing on the first id already present.
    pub fn append_all(&mut self, other: ResMap) -> Result<(), RenderError> {
        for resource in other.resources {
            self.append(resource)?;
        }
        Ok(())
    }
}

fn duplicate(resource: &Resource, id: &ObjectId) -> RenderError {
    RenderError::DuplicateId {
        location: location(&resource.source, resource.node.pos),
        id: describe_id(id),
    }
}

/// kustomize's spelling of an id in error messages: `[noGrp]/v1/ConfigMap/[noNs]/name`-like,
/// but readable: `ConfigMap.v1.[noGrp]/name.namespace`.
pub fn describe_id(id: &ObjectId) -> String {
    let group = if id.gvk.group.is_empty() {
        "[noGrp]"
    } else {
        &id.gvk.group
    };
    let namespace = if id.namespace.is_empty() {
        "[noNs]"
    } else {
        &id.namespace
    };
    format!(
        "{}.{}.{}/{}.{}",
        id.gvk.kind, id.gvk.version, group, id.name, namespace
    )
}

/// Whether two namespaces are the same once an unset one means `default`, as kustomize
/// compares them. Used wherever a reference and its target are matched, so that an object
/// without a namespace and one in `default` never disagree.
pub(crate) fn ns_equal(a: &str, b: &str) -> bool {
    fn effective(s: &str) -> &str {
        if s.is_empty() { "default" } else { s }
    }
    effective(a) == effective(b)
}

/// Whether a value is a non-empty mapping.
pub fn is_nonempty_map(value: &Value) -> bool {
    matches!(value, Value::Map(m) if !m.is_empty())
}
