//! The object model shared by every shipway layer: values with source positions, YAML input
//! and kustomize-identical YAML output, object identity and the ordered object set, and the
//! one rule for printing input text safely ([`text::escape_control`]).
//!
//! This crate does no I/O beyond what callers hand it and nothing async; it is the bottom of
//! the dependency graph.
//!
//! ```
//! use shipway_model::yaml::{parse_one, to_kustomize_yaml};
//! let node = parse_one("kind: ConfigMap\napiVersion: v1\n").unwrap();
//! assert_eq!(to_kustomize_yaml(&node).unwrap(), "apiVersion: v1\nkind: ConfigMap\n");
//! ```

pub mod duration;
pub mod text;
pub mod value;
pub mod yaml;

pub use value::{Entry, FileId, Mapping, Node, Pos, Value};
pub mod finding;
pub mod identity;
pub mod object;

pub use finding::{Finding, ObjectRef, Severity};
pub use identity::{Gvk, ObjectId};
pub use object::{ObjectSet, SourceMap};

/// File names kustomize recognises for a kustomization, in the order it looks for them.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];
