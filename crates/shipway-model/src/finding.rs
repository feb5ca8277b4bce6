//! Findings: what a check says about an object, where, and how serious it is.
//!
//! Findings are diagnostics, not errors: a check run that finds problems still succeeds.
//! They live in the model so that every layer (the checker, the sync planner, the server)
//! can produce and print them the same way.

use std::fmt;

use crate::value::{Node, Pos};

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; never fails a run.
    Info,
    /// Likely a problem; fails a run only with `--fail-on warning`.
    Warning,
    /// The API server, admission or the workload would fail.
    Error,
}

impl Severity {
    /// The lower-case name used in reports: `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object a finding is about, as reports print it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace` (empty when unset).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// Reads the reference of an object.
    pub fn of(node: &Node) -> ObjectRef {
        let text = |path: &[&str]| node.str_at(path).unwrap_or("").to_string();
        ObjectRef {
            api_version: text(&["apiVersion"]),
            kind: text(&["kind"]),
            namespace: text(&["metadata", "namespace"]),
            name: text(&["metadata", "name"]),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule id, e.g. `pod-security/runAsNonRoot`.
    pub rule: String,
    /// How serious it is.
    pub severity: Severity,
    /// The object it is about (none for findings about the input as a whole).
    pub object: Option<ObjectRef>,
    /// Where: the file and line of the offending field, or of the object.
    pub pos: Pos,
    /// The field path, e.g. `spec.template.spec.containers[0].image` (empty for the object).
    pub path: String,
    /// One sentence saying what is wrong.
    pub message: String,
}

impl Finding {
    /// The message prefixed with the object it is about: `Deployment apps/web: …`.
    pub fn headline(&self) -> String {
        match &self.object {
            Some(object) => format!("{object}: {}", self.message),
            None => self.message.clone(),
        }
    }
}
