//! `configMapGenerator` and `secretGenerator`: building the objects and kustomize's name
//! hash.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use shipway_model::yaml::number::resolve_plain_v3;
use shipway_model::{Mapping, Node, Value};

use crate::error::RenderError;
use crate::kustomization::{GeneratorOptions, GeneratorSpec, Kustomization};
use crate::loader::Loader;
use crate::resource::{Behavior, Resource};

/// Builds the object one generator entry describes.
pub fn generate(
    loader: &Loader,
    k: &Kustomization,
    dir: &Path,
    spec: &GeneratorSpec,
    secret: bool,
) -> Result<Resource, RenderError> {
    let context = if secret {
        "secretGenerator"
    } else {
        "configMapGenerator"
    };
    let behavior = match spec.behavior.as_deref() {
        None | Some("" | "create") => Behavior::Create,
        Some("merge") => Behavior::Merge,
        Some("replace") => Behavior::Replace,
        Some(other) => {
            return Err(RenderError::invalid(
                &k.path,
                spec.pos,
                format!("{context}: unknown behavior {other:?}, expected create, merge or replace"),
            ));
        }
    };
    if spec.name.is_empty() {
        return Err(RenderError::invalid(
            &k.path,
            spec.pos,
            format!("{context}: a generator needs a name"),
        ));
    }
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let add = |key: String,
               value: Vec<u8>,
               pairs: &mut Vec<(String, Vec<u8>)>|
     -> Result<(), RenderError> {
        if !valid_key(&key) {
            return Err(RenderError::invalid(
                &k.path,
                spec.pos,
                format!("{context} {:?}: a key must not be empty", spec.name),
            ));
        }
        // kustomize builds the object with plain, untagged key nodes and decodes it again,
        // so a key that YAML reads as null, a boolean or a number breaks the build
        // (`json: unsupported type: map[interface {}]interface {}`).
        if !matches!(resolve_plain_v3(&key), Value::Str(_)) {
            return Err(RenderError::invalid(
                &k.path,
                spec.pos,
                format!(
                    "{context} {:?}: key {key:?} reads as a YAML {} and kustomize cannot build a {} with it",
                    spec.name,
                    resolve_plain_v3(&key).type_name(),
                    if secret { "Secret" } else { "ConfigMap" }
                ),
            ));
        }
        if pairs.iter().any(|(existing, _)| *existing == key) {
            return Err(RenderError::invalid(
                &k.path,
                spec.pos,
                format!(
                    "{context} {:?}: cannot add key {key:?}, another key by that name already exists",
                    spec.name
                ),
            ));
        }
        pairs.push((key, value));
        Ok(())
    };
    for env in &spec.envs {
        let path = dir.join(env);
        let bytes = loader.read_file(&path, &k.path, spec.pos)?;
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            let line = line.trim_start_matches('\u{feff}');
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            // kustomize keeps whitespace around `=` (`B = x` gives key "B " and value " x")
            // and takes the value of a bare `KEY` from its own environment.
            let (key, value) = match trimmed.split_once('=') {
                Some((key, value)) => (key.to_string(), value.to_string()),
                None => (
                    trimmed.to_string(),
                    std::env::var(trimmed).unwrap_or_default(),
                ),
            };
            add(key, value.into_bytes(), &mut pairs)?;
        }
    }
    for literal in &spec.literals {
        let Some((key, value)) = literal.split_once('=') else {
            return Err(RenderError::invalid(
                &k.path,
                spec.pos,
                format!(
                    "{context} {:?}: literal {literal:?} is not of the form KEY=VALUE",
                    spec.name
                ),
            ));
        };
        add(
            key.to_string(),
            strip_quotes(value).as_bytes().to_vec(),
            &mut pairs,
        )?;
    }
    for file in &spec.files {
        let (key, rel) = if let Some((key, rel)) = file.split_once('=') {
            (key.to_string(), rel)
        } else {
            let name = Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            (name, file.as_str())
        };
        let path = dir.join(rel);
        let bytes = loader.read_file(&path, &k.path, spec.pos)?;
        add(key, bytes, &mut pairs)?;
    }

    let options = merged_options(k.generator_options.as_ref(), spec.options.as_ref());
    let mut metadata = Mapping::new();
    metadata.insert("name".into(), Node::string(spec.name.clone()));
    if let Some(ns) = &spec.namespace {
        metadata.insert("namespace".into(), Node::string(ns.clone()));
    }
    if !options.labels.is_empty() {
        metadata.insert("labels".into(), string_map(&options.labels));
    }
    if !options.annotations.is_empty() {
        metadata.insert("annotations".into(), string_map(&options.annotations));
    }
    let mut object = Mapping::new();
    object.insert("apiVersion".into(), Node::string("v1"));
    object.insert(
        "kind".into(),
        Node::string(if secret { "Secret" } else { "ConfigMap" }),
    );
    object.insert("metadata".into(), Node::new(Value::Map(metadata)));
    let mut data = Mapping::new();
    let mut binary = Mapping::new();
    for (key, value) in pairs {
        if secret {
            data.insert(key, Node::string(wrapped_base64(&value)));
        } else {
            match String::from_utf8(value) {
                Ok(text) => data.insert(key, Node::string(text)),
                Err(err) => binary.insert(key, Node::string(wrapped_base64(err.as_bytes()))),
            }
        }
    }
    // An empty Secret keeps `data: {}`; an empty ConfigMap has no `data` (observed).
    if !data.is_empty() || (binary.is_empty() && secret) {
        object.insert("data".into(), Node::new(Value::Map(data)));
    }
    if !binary.is_empty() {
        object.insert("binaryData".into(), Node::new(Value::Map(binary)));
    }
    if secret {
        let secret_type = spec.secret_type.clone().unwrap_or_else(|| "Opaque".into());
        object.insert("type".into(), Node::string(secret_type));
    }
    if options.immutable == Some(true) {
        object.insert("immutable".into(), Node::new(Value::Bool(true)));
    }
    let mut node = Node::new(Value::Map(object));
    node.set_pos_recursive(shipway_model::Pos {
        file: shipway_model::FileId::NONE,
        line: spec.pos.line,
        col: spec.pos.col,
    });
    let mut resource = Resource::new(node, Arc::from(k.path.as_path()));
    resource.needs_hash = options.disable_name_suffix_hash != Some(true);
    resource.behavior = Some(behavior);
    Ok(resource)
}

/// Per-generator options combine with the kustomization's `generatorOptions`: labels and
/// annotations merge key by key, and a `true` on either level wins for the booleans.
fn merged_options(
    global: Option<&GeneratorOptions>,
    local: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut out = global.cloned().unwrap_or_default();
    if let Some(local) = local {
        for (k, v) in &local.labels {
            set_pair(&mut out.labels, k, v);
        }
        for (k, v) in &local.annotations {
            set_pair(&mut out.annotations, k, v);
        }
        // A `true` on either level wins: kustomize ORs the two booleans, so a local
        // `false` cannot undo a global `true` (observed with `kubectl kustomize`).
        if local.disable_name_suffix_hash == Some(true) {
            out.disable_name_suffix_hash = Some(true);
        }
        if local.immutable == Some(true) {
            out.immutable = Some(true);
        }
    }
    out
}

fn set_pair(pairs: &mut Vec<(String, String)>, key: &str, value: &str) {
    if let Some(pair) = pairs.iter_mut().find(|(k, _)| k == key) {
        pair.1 = value.to_string();
    } else {
        pairs.push((key.to_string(), value.to_string()));
    }
}

fn string_map(pairs: &[(String, String)]) -> Node {
    let mut map = Mapping::new();
    for (k, v) in pairs {
        map.insert(k.clone(), Node::string(v.clone()));
    }
    Node::new(Value::Map(map))
}

/// kustomize strips one pair of matching quotes around a literal's value.
fn strip_quotes(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// kustomize v5.5.0 accepts any non-empty key (`bad key`, `a/b` and `export E` all pass
/// through `kubectl kustomize`); only an empty one is refused.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
}

/// Base64 as kustomize writes generated `data` and `binaryData` values (kyaml's
/// `encodeBase64`): an encoding of 70 characters or more is cut into lines of 70, each
/// followed by a newline (so it prints as a `|` block); a shorter one is one line.
pub fn wrapped_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    // Base64 is ASCII, so byte chunks are character chunks.
    for line in encoded.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// kustomize's name suffix for a generated `ConfigMap` or Secret: the SHA-256 of a JSON
/// encoding of kind, name, data (and type, binaryData), its first ten hex digits with
/// `0 1 3 a e` replaced so the suffix never reads as a number or a word.
pub fn name_hash(node: &Node) -> String {
    let kind = node.str_at(&["kind"]).unwrap_or("");
    let mut json = String::from("{");
    let mut fields: Vec<(&str, String)> = Vec::new();
    if let Some(binary) = node.get("binaryData").and_then(Node::as_map) {
        fields.push(("binaryData", json_string_map(binary)));
    }
    fields.push((
        "data",
        node.get("data")
            .and_then(Node::as_map)
            .map_or_else(|| "\"\"".to_string(), json_string_map),
    ));
    fields.push(("kind", go_json_string(kind)));
    // kustomize v5 hashes the object with an empty name (observed: `{"data":{"a":"b"},
    // "kind":"ConfigMap","name":""}` gives the suffix `kubectl kustomize` prints).
    fields.push(("name", go_json_string("")));
    if kind == "Secret" {
        fields.push(("type", go_json_string(node.str_at(&["type"]).unwrap_or(""))));
    }
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        let _ = write!(json, "\"{key}\":{value}");
    }
    json.push('}');
    let digest = Sha256::digest(json.as_bytes());
    let mut hex = String::with_capacity(10);
    for byte in &digest[..5] {
        let _ = write!(hex, "{byte:02x}");
    }
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

fn json_string_map(map: &Mapping) -> String {
    let mut entries: Vec<(&str, String)> = map
        .iter()
        .map(|(k, v)| (k, v.value.scalar_text().unwrap_or_default()))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::from("{");
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&go_json_string(k));
        out.push(':');
        out.push_str(&go_json_string(v));
    }
    out.push('}');
    out
}

/// A JSON string exactly as Go's `encoding/json` writes it (HTML-safe escaping).
pub fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_base64_is_wrapped_at_70_columns_like_kustomize() {
        assert_eq!(wrapped_base64(b"apple"), "YXBwbGU=");
        // 51 bytes encode to exactly 68 characters: one line, no newline.
        assert!(!wrapped_base64(&[0; 51]).contains('\n'));
        // 52 bytes encode to 72: a line of 70, then 2, each newline-terminated.
        let long = wrapped_base64(&[0; 52]);
        let lines: Vec<&str> = long.split_terminator('\n').collect();
        assert_eq!((lines.len(), lines[0].len(), lines[1].len()), (2, 70, 2));
        assert!(long.ends_with('\n'));
        assert_eq!(long.replace('\n', ""), base64(&[0; 52]));
    }

    #[test]
    fn base64_matches_reference() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn go_json_escapes_html() {
        assert_eq!(
            go_json_string("a<b>&\"\n"),
            "\"a\\u003cb\\u003e\\u0026\\\"\\n\""
        );
    }
}
