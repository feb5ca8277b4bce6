//! Objects read from files, the files they came from, and an ordered set of objects with
//! constant-time lookup by identity.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::identity::ObjectId;
use crate::value::{FileId, Node, Pos};

/// The files nodes were read from, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<PathBuf>,
    by_path: HashMap<PathBuf, FileId>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// The id of `path`, adding it when new.
    pub fn add(&mut self, path: &Path) -> FileId {
        if let Some(id) = self.by_path.get(path) {
            return *id;
        }
        let id = FileId(self.files.len() as u32);
        self.files.push(path.to_path_buf());
        self.by_path.insert(path.to_path_buf(), id);
        id
    }

    /// Adds every file of `other`; the result maps each of `other`'s ids to its id here
    /// (see [`Node::remap_files`]).
    pub fn absorb(&mut self, other: &SourceMap) -> Vec<FileId> {
        other.files.iter().map(|path| self.add(path)).collect()
    }

    /// The path of a file id, `None` for [`FileId::NONE`].
    pub fn path(&self, id: FileId) -> Option<&Path> {
        self.files.get(id.0 as usize).map(PathBuf::as_path)
    }

    /// `file:line` for a position, or `None` when the position is unknown.
    pub fn describe(&self, pos: Pos) -> Option<String> {
        let path = self.path(pos.file)?;
        Some(if pos.line > 0 {
            format!("{}:{}", path.display(), pos.line)
        } else {
            path.display().to_string()
        })
    }
}

/// Two objects in one set share an identity.
#[derive(Debug, Clone, thiserror::Error)]
#[error("duplicate object {id}")]
pub struct DuplicateObject {
    /// The shared identity.
    pub id: ObjectId,
    /// Where the first one came from.
    pub first: Pos,
    /// Where the second one came from.
    pub second: Pos,
}

/// An ordered set of objects, unique by [`ObjectId`].
#[derive(Clone, Debug, Default)]
pub struct ObjectSet {
    objects: Vec<Node>,
    index: HashMap<ObjectId, usize>,
}

impl ObjectSet {
    /// An empty set.
    pub fn new() -> ObjectSet {
        ObjectSet::default()
    }

    /// Adds an object at the end; an object with the same identity is an error.
    pub fn push(&mut self, object: Node) -> Result<(), Box<DuplicateObject>> {
        let id = ObjectId::of(&object);
        if let Some(&existing) = self.index.get(&id) {
            return Err(Box::new(DuplicateObject {
                id,
                first: self.objects[existing].pos,
                second: object.pos,
            }));
        }
        self.index.insert(id, self.objects.len());
        self.objects.push(object);
        Ok(())
    }

    /// The object with this identity.
    pub fn get(&self, id: &ObjectId) -> Option<&Node> {
        self.index.get(id).map(|&i| &self.objects[i])
    }

    /// Objects in order.
    pub fn iter(&self) -> impl Iterator<Item = &Node> {
        self.objects.iter()
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_one;

    #[test]
    fn duplicates_are_rejected() {
        let mut set = ObjectSet::new();
        let a = parse_one("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n").unwrap();
        set.push(a.clone()).unwrap();
        assert!(set.push(a).is_err());
        let id = ObjectId::of(set.iter().next().unwrap());
        assert_eq!(id.to_string(), "ConfigMap a");
        assert!(set.get(&id).is_some());
    }
}
