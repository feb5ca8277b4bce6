//! The four stores sops reads and writes — YAML, JSON, dotenv and binary — each turning
//! bytes into a [`Tree`] plus the `sops` metadata and back, keeping the order of entries.
//!
//! YAML is read by `shipway-model`'s reader (yaml.v3 scalar rules, duplicate keys refused,
//! aliases expanded as sops expands them) and written by the small order-preserving
//! emitter below, with sops' 4-space indentation; comments are not kept. JSON output uses
//! a tab indent and Go's HTML escaping, as sops writes it.

use std::path::Path;

use serde_json::Value as Json;
use shipway_model::yaml::{Limits, number::v2_needs_quotes, parse_stream};
use shipway_model::{FileId, Node, Value};

use crate::error::ErrorKind;
use crate::metadata::Metadata;
use crate::tree::{Item, Scalar, Tree, format_float};

/// A sops store, chosen by file extension as sops chooses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.json`.
    Json,
    /// `.env`.
    Dotenv,
    /// Anything else: the whole file is one value.
    Binary,
}

impl Format {
    /// The store sops uses for `path`.
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            Some("env") => Format::Dotenv,
            _ => Format::Binary,
        }
    }

    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Dotenv => "dotenv",
            Format::Binary => "binary",
        }
    }

    /// Whether `bytes` carry this format's sops MAC marker, the test Flux uses to decide
    /// that a file is sops-encrypted before decrypting it.
    pub fn has_marker(self, bytes: &[u8]) -> bool {
        let marker: &[u8] = match self {
            Format::Yaml => b"mac: ENC[",
            Format::Json | Format::Binary => b"\"mac\": \"ENC[",
            Format::Dotenv => b"sops_mac=ENC[",
        };
        bytes.windows(marker.len()).any(|w| w == marker)
    }

    /// The format whose marker `bytes` carry, for data whose name says nothing (a
    /// Secret's `data` value).
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        [Format::Json, Format::Yaml, Format::Dotenv]
            .into_iter()
            .find(|f| f.has_marker(bytes))
    }
}

fn syntax(format: Format, message: impl Into<String>) -> ErrorKind {
    ErrorKind::Syntax {
        format: format.name(),
        message: message.into(),
    }
}

/// Reads a document that may or may not carry `sops` metadata; returns the tree without
/// it and the raw metadata mapping when present.
pub fn parse(
    format: Format,
    bytes: &[u8],
    encrypted: bool,
) -> Result<(Tree, Option<Item>), ErrorKind> {
    match format {
        Format::Yaml => parse_yaml(bytes),
        Format::Json => parse_json(bytes, format),
        Format::Dotenv => parse_dotenv(bytes),
        Format::Binary if encrypted => {
            let (tree, meta) = parse_json(bytes, format)?;
            let has_data = tree
                .branches
                .first()
                .is_some_and(|b| b.iter().any(|(k, _)| k == "data"));
            if meta.is_some() && !has_data {
                return Err(ErrorKind::NotSops {
                    hint: "; no `data` key, so likely not an encrypted binary file",
                });
            }
            Ok((tree, meta))
        }
        Format::Binary => Ok((
            Tree {
                branches: vec![vec![(
                    "data".into(),
                    Item::Scalar(Scalar::Bytes(bytes.to_vec())),
                )]],
            },
            None,
        )),
    }
}

/// Writes a document; with `metadata`, it is appended as sops places it.
pub fn emit(
    format: Format,
    tree: &Tree,
    metadata: Option<&Metadata>,
) -> Result<Vec<u8>, ErrorKind> {
    let meta = metadata.map(Metadata::to_item);
    match format {
        Format::Yaml => Ok(emit_yaml(tree, meta.as_ref()).into_bytes()),
        Format::Json => Ok(emit_json(tree, meta.as_ref())?.into_bytes()),
        Format::Dotenv => emit_dotenv(tree, meta.as_ref()).map(String::into_bytes),
        Format::Binary => {
            if let Some(meta) = meta {
                return Ok(emit_json(tree, Some(&meta))?.into_bytes());
            }
            let data = tree
                .branches
                .first()
                .and_then(|b| b.iter().find(|(k, _)| k == "data"))
                .map(|(_, v)| v);
            match data {
                Some(Item::Scalar(Scalar::Bytes(b))) => Ok(b.clone()),
                Some(Item::Scalar(s)) => Ok(s.plaintext()),
                _ => Err(ErrorKind::Unrepresentable(
                    "the binary document has no `data` value".into(),
                )),
            }
        }
    }
}

/// Splits the `sops` key off the top of a branch.
fn take_sops(branch: &mut Vec<(String, Item)>) -> Result<Option<Item>, ErrorKind> {
    let mut found = None;
    let mut i = 0;
    while i < branch.len() {
        if branch[i].0 == "sops" {
            if found.is_some() {
                return Err(ErrorKind::Metadata("the `sops` key appears twice".into()));
            }
            found = Some(branch.remove(i).1);
        } else {
            i += 1;
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------
// YAML

fn node_to_item(node: Node) -> Result<Item, ErrorKind> {
    Ok(match node.value {
        Value::Null => Item::Null,
        Value::Bool(b) => Item::Scalar(Scalar::Bool(b)),
        Value::Int(i) => Item::Scalar(Scalar::Int(i)),
        Value::Uint(_) => {
            return Err(syntax(
                Format::Yaml,
                format!(
                    "line {}: an integer beyond 64 bits, which sops cannot hold",
                    node.pos.line
                ),
            ));
        }
        Value::Float(f) => Item::Scalar(Scalar::Float(f)),
        Value::Str(s) => Item::Scalar(Scalar::Str(s)),
        Value::Seq(items) => Item::Seq(
            items
                .into_iter()
                .map(node_to_item)
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(map) => Item::Map(
            map.entries
                .into_iter()
                .map(|e| Ok((e.key, node_to_item(e.value)?)))
                .collect::<Result<_, ErrorKind>>()?,
        ),
    })
}

fn parse_yaml(bytes: &[u8]) -> Result<(Tree, Option<Item>), ErrorKind> {
    let text = std::str::from_utf8(bytes).map_err(|_| syntax(Format::Yaml, "not UTF-8"))?;
    let docs = parse_stream(text, FileId::NONE, &Limits::default())
        .map_err(|e| syntax(Format::Yaml, e.to_string()))?;
    let mut tree = Tree::default();
    let mut meta = None;
    for (i, doc) in docs.into_iter().enumerate() {
        let line = doc.pos.line;
        let mut branch = match node_to_item(doc)? {
            Item::Map(entries) => entries,
            Item::Null => Vec::new(),
            _ => {
                return Err(syntax(
                    Format::Yaml,
                    format!("line {line}: a document is not a mapping"),
                ));
            }
        };
        // The same metadata is written into every document; it is read from the first.
        let sops = take_sops(&mut branch)?;
        if i == 0 {
            meta = sops;
        }
        tree.branches.push(branch);
    }
    Ok((tree, meta))
}

fn yaml_scalar(s: &Scalar, out: &mut String) {
    match s {
        Scalar::Str(text) | Scalar::Time(text) => yaml_string(text, out),
        Scalar::Bytes(b) => yaml_string(&String::from_utf8_lossy(b), out),
        Scalar::Int(i) => out.push_str(&i.to_string()),
        Scalar::Float(f) => {
            if f.is_nan() {
                out.push_str(".nan");
            } else if f.is_infinite() {
                out.push_str(if *f > 0.0 { ".inf" } else { "-.inf" });
            } else {
                let text = format_float(*f);
                out.push_str(&text);
                // Keep it a float when read back.
                if !text.contains(['.', 'e']) {
                    out.push_str(".0");
                }
            }
        }
        Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

fn yaml_string(text: &str, out: &mut String) {
    if text.is_empty() {
        out.push_str("\"\"");
    } else if v2_needs_quotes(text)
        || text.contains(['\n', '\r', '\t'])
        || text.chars().any(char::is_control)
    {
        // serde_json's escapes are all valid in a YAML double-quoted scalar.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    } else {
        out.push_str(text);
    }
}

/// A multi-line string that a literal block (`|` or `|-`) holds exactly.
fn literal_block(text: &str) -> Option<(&'static str, Vec<&str>)> {
    if !text.contains('\n')
        || text.contains('\r')
        || text.chars().any(|c| c.is_control() && c != '\n')
    {
        return None;
    }
    let (indicator, body) = match text.strip_suffix('\n') {
        Some(body) if !body.ends_with('\n') => ("|", body),
        Some(_) => return None,
        None => ("|-", text),
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let first_ok = lines
        .first()
        .is_some_and(|l| !l.starts_with(' ') && !l.is_empty());
    if !first_ok || lines.iter().any(|l| l.ends_with(' ')) {
        return None;
    }
    Some((indicator, lines))
}

const YAML_INDENT: usize = 4;

fn yaml_map(entries: &[(String, Item)], indent: usize, first_inline: bool, out: &mut String) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        yaml_string(key, out);
        out.push(':');
        yaml_value_after_key(value, indent, out);
    }
}

fn yaml_value_after_key(value: &Item, indent: usize, out: &mut String) {
    match value {
        Item::Map(m) if !m.is_empty() => {
            out.push('\n');
            yaml_map(m, indent + YAML_INDENT, false, out);
        }
        Item::Seq(s) if !s.is_empty() => {
            out.push('\n');
            yaml_seq(s, indent + YAML_INDENT, out);
        }
        Item::Scalar(Scalar::Str(text)) if literal_block(text).is_some() => {
            if let Some((indicator, lines)) = literal_block(text) {
                out.push(' ');
                out.push_str(indicator);
                out.push('\n');
                for line in lines {
                    if !line.is_empty() {
                        out.push_str(&" ".repeat(indent + YAML_INDENT));
                        out.push_str(line);
                    }
                    out.push('\n');
                }
            }
        }
        other => {
            out.push(' ');
            yaml_inline(other, out);
            out.push('\n');
        }
    }
}

fn yaml_inline(item: &Item, out: &mut String) {
    match item {
        Item::Map(_) => out.push_str("{}"),
        Item::Seq(_) => out.push_str("[]"),
        Item::Scalar(s) => yaml_scalar(s, out),
        Item::Null => out.push_str("null"),
    }
}

fn yaml_seq(items: &[Item], indent: usize, out: &mut String) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Item::Map(m) if !m.is_empty() => yaml_map(m, indent + 2, true, out),
            Item::Seq(s) if !s.is_empty() => {
                out.push('\n');
                yaml_seq(s, indent + 2, out);
            }
            Item::Scalar(Scalar::Str(text)) if literal_block(text).is_some() => {
                // A block scalar as a list item: `- |` then the lines, written as after a
                // key (which starts with the space just pushed).
                out.pop();
                yaml_value_after_key(item, indent, out);
            }
            other => {
                yaml_inline(other, out);
                out.push('\n');
            }
        }
    }
}

fn emit_yaml(tree: &Tree, meta: Option<&Item>) -> String {
    let mut out = String::new();
    for (i, branch) in tree.branches.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let mut entries = branch.clone();
        if let Some(meta) = meta {
            entries.push(("sops".into(), meta.clone()));
        }
        if entries.is_empty() {
            out.push_str("{}\n");
        } else {
            yaml_map(&entries, 0, false, &mut out);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// JSON

fn json_to_item(value: Json) -> Item {
    match value {
        Json::Null => Item::Null,
        Json::Bool(b) => Item::Scalar(Scalar::Bool(b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Item::Scalar(Scalar::Int(i)),
            None => Item::Scalar(Scalar::Float(n.as_f64().unwrap_or(f64::NAN))),
        },
        Json::String(s) => Item::Scalar(Scalar::Str(s)),
        Json::Array(items) => Item::Seq(items.into_iter().map(json_to_item).collect()),
        Json::Object(map) => {
            Item::Map(map.into_iter().map(|(k, v)| (k, json_to_item(v))).collect())
        }
    }
}

fn item_to_json(item: &Item) -> Result<Json, ErrorKind> {
    Ok(match item {
        Item::Null => Json::Null,
        Item::Scalar(Scalar::Bool(b)) => Json::Bool(*b),
        Item::Scalar(Scalar::Int(i)) => Json::from(*i),
        Item::Scalar(Scalar::Float(f)) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .ok_or_else(|| ErrorKind::Unrepresentable("JSON cannot hold NaN or infinity".into()))?,
        Item::Scalar(Scalar::Str(s) | Scalar::Time(s)) => Json::String(s.clone()),
        Item::Scalar(Scalar::Bytes(b)) => {
            Json::String(String::from_utf8(b.clone()).map_err(|_| {
                ErrorKind::Unrepresentable("a value is not UTF-8, which JSON cannot hold".into())
            })?)
        }
        Item::Seq(items) => Json::Array(items.iter().map(item_to_json).collect::<Result<_, _>>()?),
        Item::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), item_to_json(v)?)))
                .collect::<Result<_, ErrorKind>>()?,
        ),
    })
}

fn parse_json(bytes: &[u8], format: Format) -> Result<(Tree, Option<Item>), ErrorKind> {
    let value: Json = serde_json::from_slice(bytes).map_err(|e| syntax(format, e.to_string()))?;
    let Item::Map(mut branch) = json_to_item(value) else {
        return Err(syntax(format, "the top level is not an object"));
    };
    let meta = take_sops(&mut branch)?;
    Ok((
        Tree {
            branches: vec![branch],
        },
        meta,
    ))
}

fn emit_json(tree: &Tree, meta: Option<&Item>) -> Result<String, ErrorKind> {
    use serde::Serialize;
    let mut entries = tree.branches.first().cloned().unwrap_or_default();
    if let Some(meta) = meta {
        entries.push(("sops".into(), meta.clone()));
    }
    let value = item_to_json(&Item::Map(entries))?;
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut buf,
        serde_json::ser::PrettyFormatter::with_indent(b"\t"),
    );
    value
        .serialize(&mut ser)
        .map_err(|e| ErrorKind::Unrepresentable(e.to_string()))?;
    let text = String::from_utf8(buf)
        .map_err(|_| ErrorKind::Unrepresentable("JSON output is not UTF-8".into()))?;
    // Go's encoding/json escapes these; they can only occur inside strings, so replacing
    // them in the whole text is exact.
    let mut out = text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    out.push('\n');
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// dotenv

fn parse_dotenv(bytes: &[u8]) -> Result<(Tree, Option<Item>), ErrorKind> {
    let text = std::str::from_utf8(bytes).map_err(|_| syntax(Format::Dotenv, "not UTF-8"))?;
    let mut branch = Vec::new();
    let mut flat_meta = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.is_empty() || line.starts_with('#') {
            // Comments are not kept (they are not part of the MAC).
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(syntax(
                Format::Dotenv,
                format!("line {}: not `KEY=VALUE`", n + 1),
            ));
        };
        let value = value.replace("\\n", "\n");
        if let Some(meta_key) = key.strip_prefix("sops_") {
            flat_meta.push((meta_key.to_string(), value));
        } else {
            branch.push((key.to_string(), Item::Scalar(Scalar::Str(value))));
        }
    }
    let meta = if flat_meta.is_empty() {
        None
    } else {
        Some(unflatten(flat_meta)?)
    };
    Ok((
        Tree {
            branches: vec![branch],
        },
        meta,
    ))
}

fn emit_dotenv(tree: &Tree, meta: Option<&Item>) -> Result<String, ErrorKind> {
    let mut out = String::new();
    let line = |key: &str, value: &Item, out: &mut String| -> Result<(), ErrorKind> {
        let text = match value {
            Item::Scalar(Scalar::Str(s) | Scalar::Time(s)) => s.clone(),
            Item::Scalar(Scalar::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
            Item::Scalar(s) => String::from_utf8_lossy(&s.plaintext()).into_owned(),
            Item::Null => String::new(),
            Item::Map(_) | Item::Seq(_) => {
                return Err(ErrorKind::Unrepresentable(format!(
                    "`{key}` holds a nested value, which dotenv cannot hold"
                )));
            }
        };
        out.push_str(key);
        out.push('=');
        out.push_str(&text.replace('\n', "\\n"));
        out.push('\n');
        Ok(())
    };
    for (key, value) in tree.branches.first().map(Vec::as_slice).unwrap_or_default() {
        if key.starts_with("sops_") {
            return Err(ErrorKind::Unrepresentable(format!(
                "`{key}`: keys starting with `sops_` are reserved"
            )));
        }
        line(key, value, &mut out)?;
    }
    if let Some(meta) = meta {
        let mut flat = Vec::new();
        flatten("sops", meta, &mut flat);
        for (key, value) in flat {
            line(&key, &value, &mut out)?;
        }
    }
    Ok(out)
}

/// sops' flattening of nested metadata into `a__map_b__list_0` keys.
fn flatten(prefix: &str, item: &Item, out: &mut Vec<(String, Item)>) {
    match item {
        Item::Map(entries) => {
            for (k, v) in entries {
                let key = if prefix == "sops" {
                    format!("sops_{k}")
                } else {
                    format!("{prefix}__map_{k}")
                };
                flatten(&key, v, out);
            }
        }
        Item::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}__list_{i}"), v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// Rebuilds the nested metadata from flattened keys (without the `sops_` prefix).
fn unflatten(flat: Vec<(String, String)>) -> Result<Item, ErrorKind> {
    enum Step {
        Map(String),
        List(usize),
    }
    fn steps(key: &str) -> Result<Vec<Step>, ErrorKind> {
        let mut out = Vec::new();
        let mut parts = key.split("__");
        if let Some(first) = parts.next() {
            out.push(Step::Map(first.to_string()));
        }
        for part in parts {
            if let Some(k) = part.strip_prefix("map_") {
                out.push(Step::Map(k.to_string()));
            } else if let Some(i) = part.strip_prefix("list_") {
                out.push(Step::List(i.parse().map_err(|_| {
                    ErrorKind::Metadata(format!("`sops_{key}`: bad list index"))
                })?));
            } else {
                return Err(ErrorKind::Metadata(format!(
                    "`sops_{key}`: unknown flattened key"
                )));
            }
        }
        Ok(out)
    }
    fn insert(slot: &mut Item, steps: &[Step], value: String, key: &str) -> Result<(), ErrorKind> {
        let mismatch =
            || ErrorKind::Metadata(format!("`sops_{key}`: type mismatch in flattened metadata"));
        let Some((step, rest)) = steps.split_first() else {
            if !matches!(slot, Item::Null) {
                return Err(mismatch());
            }
            *slot = Item::Scalar(Scalar::Str(value));
            return Ok(());
        };
        match step {
            Step::Map(k) => {
                if matches!(slot, Item::Null) {
                    *slot = Item::Map(Vec::new());
                }
                let Item::Map(entries) = slot else {
                    return Err(mismatch());
                };
                let idx = if let Some(i) = entries.iter().position(|(e, _)| e == k) {
                    i
                } else {
                    entries.push((k.clone(), Item::Null));
                    entries.len() - 1
                };
                insert(&mut entries[idx].1, rest, value, key)
            }
            Step::List(i) => {
                if matches!(slot, Item::Null) {
                    *slot = Item::Seq(Vec::new());
                }
                let Item::Seq(items) = slot else {
                    return Err(mismatch());
                };
                if *i > items.len() {
                    return Err(ErrorKind::Metadata(format!(
                        "`sops_{key}`: incomplete list"
                    )));
                }
                if *i == items.len() {
                    items.push(Item::Null);
                }
                insert(&mut items[*i], rest, value, key)
            }
        }
    }
    let mut root = Item::Map(Vec::new());
    for (key, value) in flat {
        insert(&mut root, &steps(&key)?, value, &key)?;
    }
    Ok(root)
}
