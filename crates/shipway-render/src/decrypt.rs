//! SOPS decryption of the renderer's inputs, with Flux's semantics: a file the build reads
//! (a resource, a generator's `files` or `envs` entry, a patch file) that carries its
//! format's sops MAC marker is decrypted, its MAC verified, before kustomize touches it;
//! after the build, a `Secret` whose `data` value is itself a sops document is decrypted
//! into that value. The format comes from the file's extension, or from the data key's
//! (`key` is binary, `config.yaml` YAML), as in Flux. Files without the marker are read as
//! they are.
//!
//! Decrypting before the build, rather than after as Flux does, lets the MAC be checked:
//! kustomize's transformers change the values the MAC covers.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use shipway_model::Node;
use shipway_secrets::{Format, Keyring};

use crate::error::RenderError;
use crate::resource::Resource;

/// The plaintext of `bytes` read from `path` when they are a sops document, else `bytes`.
pub fn file(keyring: &Keyring, path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, RenderError> {
    let format = Format::from_path(path);
    if !format.has_marker(&bytes) {
        return Ok(bytes);
    }
    let doc = shipway_secrets::decrypt(path, format, &bytes, keyring, true)
        .map_err(|e| RenderError::Decrypt(Box::new(e)))?;
    let plaintext = doc
        .plaintext(path)
        .map_err(|e| RenderError::Decrypt(Box::new(e)))?;
    Ok(plaintext.expose().clone())
}

/// [`file`] for a text file (a resource's YAML).
pub fn file_text(keyring: &Keyring, path: &Path, text: String) -> Result<String, RenderError> {
    let format = Format::from_path(path);
    if !format.has_marker(text.as_bytes()) {
        return Ok(text);
    }
    let bytes = file(keyring, path, text.into_bytes())?;
    String::from_utf8(bytes).map_err(|_| {
        RenderError::Decrypt(Box::new(shipway_secrets::Error::new(
            path,
            shipway_secrets::ErrorKind::Unrepresentable(
                "the decrypted document is not UTF-8".into(),
            ),
        )))
    })
}

/// Decrypts every `data` value of each `v1` `Secret` among `resources` that is a
/// base64-encoded sops document.
pub(crate) fn secret_data_all(
    keyring: &Keyring,
    resources: &mut [Resource],
) -> Result<(), RenderError> {
    for resource in resources {
        let source = resource.source.clone();
        secret_data(keyring, &mut resource.node, &source)?;
    }
    Ok(())
}

/// Decrypts every `data` value of `node`, when it is a `v1` `Secret`, that is a
/// base64-encoded sops document; `source` names the file in errors.
pub fn secret_data(keyring: &Keyring, node: &mut Node, source: &Path) -> Result<(), RenderError> {
    if node.str_at(&["kind"]) != Some("Secret") || node.str_at(&["apiVersion"]) != Some("v1") {
        return Ok(());
    }
    let name = node
        .str_at(&["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let Some(data) = node.get_mut("data").and_then(Node::as_map_mut) else {
        return Ok(());
    };
    for entry in &mut data.entries {
        let Some(encoded) = entry.value.as_str() else {
            continue;
        };
        // kustomize wraps long base64 values over lines.
        let compact: String = encoded
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let Ok(bytes) = STANDARD.decode(compact) else {
            continue;
        };
        if Format::detect(&bytes).is_none() {
            continue;
        }
        // The data key's extension chooses the store, as in Flux; the path names the
        // value in errors: `FILE#Secret/NAME/data/KEY`.
        let path = PathBuf::from(format!(
            "{}#Secret/{name}/data/{}",
            source.display(),
            entry.key
        ));
        let format = Format::from_path(Path::new(&entry.key));
        let doc = shipway_secrets::decrypt(&path, format, &bytes, keyring, true)
            .map_err(|e| RenderError::Decrypt(Box::new(e)))?;
        let plaintext = doc
            .plaintext(&path)
            .map_err(|e| RenderError::Decrypt(Box::new(e)))?;
        entry.value = Node::string(STANDARD.encode(plaintext.expose()));
    }
    Ok(())
}
