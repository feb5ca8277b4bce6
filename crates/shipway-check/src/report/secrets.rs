//! Keeping Secret values out of text excerpts.
//!
//! The text report prints the source line under each finding. When that line holds part of
//! a Secret's `data` or `stringData` (its own line, a flow mapping, a one-line JSON file, or
//! the `secretGenerator` literal the value came from), the value would reach the terminal
//! and the CI log. [`SecretLines`] records every line where such a value starts, whatever
//! the finding is about, and [`mask`] blanks the value part of those lines.

use std::collections::HashSet;

use shipway_model::{FileId, Node, Pos, Value};

/// The lines (file and 1-based line) where a Secret's `data` or `stringData` has a key or
/// a value.
#[derive(Debug, Clone, Default)]
pub struct SecretLines {
    lines: HashSet<(FileId, u32)>,
}

impl SecretLines {
    /// The lines of every Secret among `objects`. Any `kind: Secret` counts, whatever its
    /// `apiVersion`: masking a line too many costs nothing.
    pub fn of(objects: &[Node]) -> SecretLines {
        let mut lines = SecretLines::default();
        for object in objects
            .iter()
            .filter(|o| o.str_at(&["kind"]) == Some("Secret"))
        {
            for field in ["data", "stringData"] {
                if let Some(node) = object.get(field) {
                    lines.add_tree(node);
                }
            }
        }
        lines
    }

    /// Whether the line at `pos` holds part of a Secret's values.
    pub fn contains(&self, pos: Pos) -> bool {
        self.lines.contains(&(pos.file, pos.line))
    }

    fn add(&mut self, pos: Pos) {
        if pos.line > 0 {
            self.lines.insert((pos.file, pos.line));
        }
    }

    fn add_tree(&mut self, node: &Node) {
        self.add(node.pos);
        match &node.value {
            Value::Map(map) => {
                for entry in &map.entries {
                    self.add(entry.key_pos);
                    self.add_tree(&entry.value);
                }
            }
            Value::Seq(items) => items.iter().for_each(|item| self.add_tree(item)),
            _ => {}
        }
    }
}

/// `line` with its value replaced by `***`: a block-style `key: value` line keeps its key
/// (`  token: ***`), anything else (flow mappings, JSON, list items, generator literals)
/// keeps only its indentation, since a key cannot be told from a value there.
pub fn mask(line: &str) -> String {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let key = body
        .find(':')
        .map(|i| &body[..i])
        .filter(|key| is_quoted(key) || is_plain_key(key));
    match key {
        Some(key) => format!("{indent}{key}: ***"),
        None => format!("{indent}***"),
    }
}

/// Whether `text` reads as a block mapping's plain key: not a list item, not flow or JSON
/// syntax, not a `key=value` literal.
fn is_plain_key(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(['-', '?', '"', '\'', '{', '['])
        && !text.contains(['{', '[', ',', '=', '"', '\''])
}

/// Whether `text` is one quoted scalar (`"token"`, `'token'`).
fn is_quoted(text: &str) -> bool {
    text.len() >= 2
        && ((text.starts_with('"') && text.ends_with('"'))
            || (text.starts_with('\'') && text.ends_with('\'')))
        && !text[1..text.len() - 1].contains(['"', '\'', '{', '[', ','])
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipway_model::yaml::{Limits, parse_stream};

    #[test]
    fn lines_of_secret_values_are_recorded_and_masked() {
        let yaml = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  token: c2VjcmV0\nstringData: {password: hunter2}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  token: not-secret\n";
        let objects = parse_stream(yaml, FileId(0), &Limits::default()).unwrap();
        let lines = SecretLines::of(&objects);
        let at = |line| Pos {
            file: FileId(0),
            line,
            col: 1,
        };
        assert!(lines.contains(at(5)) && lines.contains(at(6)));
        assert!(!lines.contains(at(3)), "metadata is not masked");
        assert!(!lines.contains(at(12)), "a ConfigMap is not a Secret");
    }

    #[test]
    fn masking_keeps_block_keys_and_nothing_of_flow_or_json() {
        assert_eq!(mask("  token: c2VjcmV0"), "  token: ***");
        assert_eq!(mask("  \"token\": \"c2VjcmV0\","), "  \"token\": ***");
        assert_eq!(mask("stringData: {password: hunter2}"), "stringData: ***");
        assert_eq!(mask("  - password=hunter2"), "  ***");
        assert_eq!(
            mask(r#"{"kind":"Secret","data":{"token":"c2VjcmV0"}}"#),
            "***"
        );
        assert_eq!(mask("  token: |"), "  token: ***");
        assert_eq!(mask("data:"), "data: ***");
    }
}
