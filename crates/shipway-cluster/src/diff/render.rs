//! The two renderings of a diff: text in the style of `terraform plan` for people, and a
//! JSON array for `-o json` and saved plans.
//!
//! The text is one line per field: `  ~ path: from → to`, `  + path: value`,
//! `  - path: value`. An added or removed map or list is expanded into one line per leaf
//! (so a new label reads `+ metadata.labels.team: "a"` whether or not the map existed),
//! capped per change so a new 500-line `ConfigMap` does not drown the plan. Values are
//! compact: a multi-line string shows its first line and `(+N lines)`, or for a change the
//! first line that differs; long strings and inline maps are cut with `…`. The text never
//! needs to be parsed back: the JSON rendering carries the full values.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{Change, MASK, MASK_CHANGED, keyed_by_name, push_index, push_key, push_name};

/// Characters of a string shown before it is cut.
const MAX_STRING: usize = 60;
/// Characters of a map or list shown inline (as compact JSON) before it is cut.
const MAX_INLINE: usize = 80;
/// Leaf lines shown for one added or removed map or list.
const MAX_LEAVES: usize = 40;

/// The changes as text, one line per field, each ending in a newline; empty when there
/// are none (the caller says "no changes").
pub fn render_text(changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        match change {
            Change::Added { path, value } => leaf_lines('+', path, value, &mut out),
            Change::Removed { path, value } => leaf_lines('-', path, value, &mut out),
            Change::Changed { path, from, to } => {
                let _ = writeln!(out, "  ~ {}: {}", shown_path(path), changed(from, to));
            }
        }
    }
    out
}

/// The changes as a JSON array of `{"op": "add", "path", "to"}`,
/// `{"op": "remove", "path", "from"}` and `{"op": "change", "path", "from", "to"}`, with
/// full values (already masked for Secrets).
pub fn to_json(changes: &[Change]) -> Value {
    Value::Array(
        changes
            .iter()
            .map(|change| {
                let mut entry = Map::new();
                let (op, from, to) = match change {
                    Change::Added { value, .. } => ("add", None, Some(value)),
                    Change::Removed { value, .. } => ("remove", Some(value), None),
                    Change::Changed { from, to, .. } => ("change", Some(from), Some(to)),
                };
                entry.insert("op".into(), op.into());
                entry.insert("path".into(), change.path().into());
                if let Some(from) = from {
                    entry.insert("from".into(), from.clone());
                }
                if let Some(to) = to {
                    entry.insert("to".into(), to.clone());
                }
                Value::Object(entry)
            })
            .collect(),
    )
}

/// The path as printed: the empty path is the whole object.
fn shown_path(path: &str) -> &str {
    if path.is_empty() { "(object)" } else { path }
}

/// One line per leaf of an added or removed value, capped at [`MAX_LEAVES`].
fn leaf_lines(sign: char, path: &str, value: &Value, out: &mut String) {
    let mut leaves = Vec::new();
    flatten(&mut path.to_owned(), value, &mut leaves);
    for (leaf_path, leaf) in leaves.iter().take(MAX_LEAVES) {
        let _ = writeln!(out, "  {sign} {}: {}", shown_path(leaf_path), shown(leaf));
    }
    if leaves.len() > MAX_LEAVES {
        let _ = writeln!(
            out,
            "  {sign} {}: … (+{} more fields)",
            shown_path(path),
            leaves.len() - MAX_LEAVES
        );
    }
}

/// The leaves of a value with their paths, addressed as the diff addresses them.
fn flatten<'a>(path: &mut String, value: &'a Value, leaves: &mut Vec<(String, &'a Value)>) {
    let mark = path.len();
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                push_key(path, key);
                flatten(path, child, leaves);
                path.truncate(mark);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let by_name = keyed_by_name(items);
            for (index, item) in items.iter().enumerate() {
                match item.get("name").and_then(Value::as_str) {
                    Some(name) if by_name => push_name(path, name),
                    _ => push_index(path, index),
                }
                flatten(path, item, leaves);
                path.truncate(mark);
            }
        }
        _ => leaves.push((path.clone(), value)),
    }
}

/// A changed value: `from → to`, with the masked-Secret and multi-line special cases.
fn changed(from: &Value, to: &Value) -> String {
    if to.as_str() == Some(MASK_CHANGED) {
        return MASK_CHANGED.to_owned();
    }
    if let (Some(from), Some(to)) = (from.as_str(), to.as_str()) {
        if from.contains('\n') || to.contains('\n') {
            return changed_lines(from, to);
        }
        if from.chars().count() > MAX_STRING || to.chars().count() > MAX_STRING {
            return changed_long(from, to);
        }
    }
    format!("{} → {}", shown(from), shown(to))
}

/// A changed multi-line string: line counts and the first line that differs.
fn changed_lines(from: &str, to: &str) -> String {
    let from_lines: Vec<&str> = from.lines().collect();
    let to_lines: Vec<&str> = to.lines().collect();
    let counts = format!(
        "multi-line string, {} → {} lines",
        from_lines.len(),
        to_lines.len()
    );
    let first_difference = (0..from_lines.len().max(to_lines.len()))
        .find(|&at| from_lines.get(at) != to_lines.get(at));
    match first_difference {
        Some(at) => {
            let line = |lines: &[&str]| {
                lines
                    .get(at)
                    .map_or_else(|| "(none)".to_owned(), |line| short_string(line))
            };
            format!(
                "{counts}, first difference at line {}: {} → {}",
                at + 1,
                line(&from_lines),
                line(&to_lines)
            )
        }
        None => format!("{counts}, differing only in line endings"),
    }
}

/// A changed long one-line string: both sides cut around the first character that
/// differs, so the change is visible even past the cut.
fn changed_long(from: &str, to: &str) -> String {
    let from_chars: Vec<char> = from.chars().collect();
    let to_chars: Vec<char> = to.chars().collect();
    let at = from_chars
        .iter()
        .zip(&to_chars)
        .take_while(|(a, b)| a == b)
        .count();
    // Start a little before the difference when it is past the visible part.
    let start = if at + 10 > MAX_STRING { at - 10 } else { 0 };
    let window = |chars: &[char]| {
        let end = chars.len().min(start + MAX_STRING);
        let mut text = String::new();
        if start > 0 {
            text.push('…');
        }
        text.extend(&chars[start..end]);
        if end < chars.len() {
            text.push('…');
        }
        format!("{} ({} chars)", quoted_text(&text), chars.len())
    };
    format!("{} → {}", window(&from_chars), window(&to_chars))
}

/// A value on one line.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) if text == MASK || text == MASK_CHANGED => text.clone(),
        Value::String(text) => {
            let mut lines = text.lines();
            let first = lines.next().unwrap_or_default();
            let more = lines.count();
            let mut out = short_string(first);
            if more > 0 {
                let _ = write!(out, " (+{more} lines)");
            }
            out
        }
        Value::Object(_) | Value::Array(_) => {
            let compact = value.to_string();
            if compact.chars().count() > MAX_INLINE {
                let mut cut: String = compact.chars().take(MAX_INLINE - 1).collect();
                cut.push('…');
                cut
            } else {
                compact
            }
        }
        _ => value.to_string(),
    }
}

/// A one-line string quoted, cut at [`MAX_STRING`] characters with its length given.
fn short_string(text: &str) -> String {
    let count = text.chars().count();
    if count > MAX_STRING {
        let mut cut: String = text.chars().take(MAX_STRING - 1).collect();
        cut.push('…');
        format!("{} ({count} chars)", quoted_text(&cut))
    } else {
        quoted_text(text)
    }
}

/// A string as a JSON literal (escapes control characters and quotes).
fn quoted_text(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::diff;
    use super::*;
    use serde_json::json;

    #[test]
    fn terraform_style_lines() {
        let live = json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "foo": {"bar": true}, "paused": false}
        });
        let desired = json!({
            "metadata": {"name": "web", "labels": {"app": "web", "team": "a"}},
            "spec": {"replicas": 3, "paused": null, "template": {"spec": {"containers": [
                {"name": "web", "image": "web:2", "ports": [{"containerPort": 80}]}
            ]}}}
        });
        let text = render_text(&diff(Some(&live), Some(&desired)));
        assert_eq!(
            text,
            "  + metadata.labels.team: \"a\"\n\
             \x20 ~ spec.replicas: 2 → 3\n\
             \x20 - spec.paused: false\n\
             \x20 + spec.template.spec.containers[name=web].name: \"web\"\n\
             \x20 + spec.template.spec.containers[name=web].image: \"web:2\"\n\
             \x20 + spec.template.spec.containers[name=web].ports[0].containerPort: 80\n\
             \x20 - spec.foo.bar: true\n"
        );
        assert_eq!(render_text(&[]), "");
    }

    #[test]
    fn multi_line_and_long_values_are_compact() {
        let live = json!({"data": {"app.yaml": "a: 1\nb: 2\nc: 3\n", "new": null}});
        let long = "x".repeat(200);
        let desired = json!({"data": {
            "app.yaml": "a: 1\nb: 20\nc: 3\nd: 4\n",
            "new": "first line\nsecond\nthird",
            "long": long,
            "map": {"k": "v".repeat(100)}
        }});
        let text = render_text(&diff(Some(&live), Some(&desired)));
        assert!(
            text.contains(
                "  ~ data[\"app.yaml\"]: multi-line string, 3 → 4 lines, first difference at line 2: \"b: 2\" → \"b: 20\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  + data.new: \"first line\" (+2 lines)\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "  + data.long: \"{}…\" (200 chars)\n",
                "x".repeat(59)
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "  + data.map.k: \"{}…\" (100 chars)\n",
                "v".repeat(59)
            )),
            "{text}"
        );

        let from = format!("{}A{}", "p".repeat(100), "s".repeat(20));
        let to = format!("{}B{}", "p".repeat(100), "s".repeat(20));
        let line = changed(&json!(from), &json!(to));
        assert!(line.contains("pppA"), "{line}");
        assert!(line.contains("pppB"), "{line}");
        assert!(line.contains("(121 chars)"), "{line}");
        assert_eq!(
            changed(&json!("a\nb"), &json!("a\r\nb")),
            "multi-line string, 2 → 2 lines, differing only in line endings"
        );
        assert_eq!(
            changed(&json!("a\nb"), &json!("a")),
            "multi-line string, 2 → 1 lines, first difference at line 2: \"b\" → (none)"
        );
        assert_eq!(
            changed(&json!({"a": 1}), &json!("x".repeat(3))),
            "{\"a\":1} → \"xxx\""
        );
        let wide = json!((0..40).collect::<Vec<_>>());
        assert!(shown(&wide).ends_with('…'));
        assert_eq!(shown(&wide).chars().count(), MAX_INLINE);
    }

    #[test]
    fn big_additions_are_capped_and_whole_objects_named() {
        let data: Map<String, Value> = (0..100).map(|n| (format!("k{n}"), json!(n))).collect();
        let desired = json!({"data": data});
        let text = render_text(&diff(Some(&json!({})), Some(&desired)));
        assert_eq!(text.lines().count(), MAX_LEAVES + 1);
        assert!(text.ends_with("  + data: … (+60 more fields)\n"), "{text}");
        let text = render_text(&diff(None, Some(&json!(1))));
        assert_eq!(text, "  + (object): 1\n");
    }

    #[test]
    fn masked_secret_values() {
        let changes = vec![
            Change::Changed {
                path: "data.password".into(),
                from: json!(MASK),
                to: json!(MASK_CHANGED),
            },
            Change::Added {
                path: "data.token".into(),
                value: json!(MASK),
            },
        ];
        assert_eq!(
            render_text(&changes),
            "  ~ data.password: *** (changed)\n  + data.token: ***\n"
        );
    }

    #[test]
    fn json_rendering() {
        let live = json!({"spec": {"replicas": 2, "old": "x"}});
        let desired = json!({"spec": {"replicas": 3, "new": [1]}});
        assert_eq!(
            to_json(&diff(Some(&live), Some(&desired))),
            json!([
                {"op": "change", "path": "spec.replicas", "from": 2, "to": 3},
                {"op": "add", "path": "spec.new", "to": [1]},
                {"op": "remove", "path": "spec.old", "from": "x"}
            ])
        );
    }
}
