//! `security/plaintext-secret`: a `Secret` whose values are in the repository in the
//! clear instead of SOPS-encrypted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use shipway_model::{Node, Value};

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Every `v1` `Secret` with a non-empty value under `data` or `stringData` that is not
    /// SOPS-encrypted: the object carries no `sops` metadata, and the value (base64-decoded,
    /// for `data`) is neither an `ENC[AES256_GCM,…]` value nor a sops document. Secrets made
    /// by a `secretGenerator` count too: their files and literals are in the repository.
    ///
    /// ## Why it matters
    /// Anyone who can read the repository, its forks, CI logs or a laptop's checkout can read
    /// a value committed in the clear, and it stays in git history after it is removed.
    /// shipway decrypts SOPS files in memory at sync time (`plan`, `sync`, `serve`), so the
    /// repository only ever needs the ciphertext.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Secret
    /// metadata:
    ///   name: db
    /// stringData:
    ///   password: hunter2
    /// ```
    ///
    /// ## Use instead
    /// Encrypt it with `shipway secret encrypt -i secret.yaml` (or `sops`), with a
    /// `.sops.yaml` rule such as `encrypted_regex: ^(data|stringData)$`:
    /// ```yaml
    /// apiVersion: v1
    /// kind: Secret
    /// metadata:
    ///   name: db
    /// stringData:
    ///   password: ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]
    /// sops:
    ///   age: [...]
    ///   mac: ENC[AES256_GCM,…]
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: encrypting needs your recipients, and a value already committed in
    /// the clear must also be rotated.
    ///
    /// ## References
    /// - <https://github.com/getsops/sops>
    /// - <https://fluxcd.io/flux/guides/mozilla-sops/>
    pub static PLAINTEXT_SECRET = {
        code: "security/plaintext-secret",
        summary: "A Secret's values are in the repository unencrypted",
        severity: Warning,
        status: Preview,
        check: Check::PerObject(plaintext_secret),
    };
}

fn plaintext_secret(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    if object.str_at(&["kind"]) != Some("Secret")
        || object.str_at(&["apiVersion"]) != Some("v1")
        || is_sops_encrypted(object)
        || from_encrypted_dotenv(object)
    {
        return;
    }
    for field in ["data", "stringData"] {
        let Some(map) = object.get(field).and_then(Node::as_map) else {
            continue;
        };
        let clear: Vec<&str> = map
            .entries
            .iter()
            .filter(|e| !is_encrypted_value(&e.value, field == "data"))
            .map(|e| e.key.as_str())
            .collect();
        if let Some(first) = clear.first() {
            ctx.report(
                rule,
                object,
                &format!("{field}.{first}"),
                format!(
                    "{} unencrypted value(s) in `{field}` (`{}`); encrypt the file with `shipway secret encrypt` (SOPS)",
                    clear.len(),
                    clear.join("`, `")
                ),
            );
        }
    }
}

/// Whether `object` is a SOPS-encrypted manifest: a top-level `sops` mapping with a
/// `mac`, which decryption at sync time removes.
pub(crate) fn is_sops_encrypted(object: &Node) -> bool {
    object
        .get("sops")
        .and_then(Node::as_map)
        .is_some_and(|m| m.contains_key("mac"))
}

/// Whether a Secret was generated from a SOPS-encrypted dotenv file: its `data` holds the
/// flattened metadata, `sops_mac` among it, next to the `ENC[…]` values.
fn from_encrypted_dotenv(object: &Node) -> bool {
    object
        .get_path(&["data", "sops_mac"])
        .is_some_and(|mac| is_encrypted_value(mac, true))
}

/// Whether `object` still holds SOPS ciphertext that decryption would have removed: a
/// manifest with `sops` metadata, a `v1` `Secret` generated from an encrypted dotenv file,
/// or a `Secret` `data` value that is a sops document. Such an object must not be applied.
pub fn holds_sops_ciphertext(object: &Node) -> bool {
    if is_sops_encrypted(object) {
        return true;
    }
    if object.str_at(&["kind"]) != Some("Secret") || object.str_at(&["apiVersion"]) != Some("v1") {
        return false;
    }
    if from_encrypted_dotenv(object) {
        return true;
    }
    object
        .get("data")
        .and_then(Node::as_map)
        .is_some_and(|data| {
            data.entries.iter().any(|e| {
                e.value.as_str().is_some_and(|text| {
                    decode(text)
                        .is_ok_and(|bytes| !bytes.starts_with(b"ENC[") && looks_encrypted(&bytes))
                })
            })
        })
}

/// Whether a value is empty (sops never encrypts those), an `ENC[…]` value, or (for `data`,
/// after base64 decoding) a sops document or an `ENC[…]` value.
fn is_encrypted_value(value: &Node, base64: bool) -> bool {
    let text = match &value.value {
        Value::Str(s) => s.as_str(),
        Value::Null => return true,
        _ => return false,
    };
    if text.is_empty() || looks_encrypted(text.as_bytes()) {
        return true;
    }
    base64 && decode(text).is_ok_and(|bytes| looks_encrypted(&bytes))
}

fn looks_encrypted(bytes: &[u8]) -> bool {
    const MARKERS: [&[u8]; 3] = [b"mac: ENC[", b"\"mac\": \"ENC[", b"sops_mac=ENC["];
    bytes.starts_with(b"ENC[AES256_GCM,")
        || MARKERS
            .iter()
            .any(|m| bytes.windows(m.len()).any(|w| w == *m))
}

/// Decodes base64 that may be wrapped over lines (kustomize wraps long values at 70
/// columns).
fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact)
}
