//! Decrypting and encrypting whole documents: recovering the data key from the age
//! stanzas, the depth-first walk that encrypts, decrypts and hashes the selected values
//! (AAD = key path + `:`), and the SHA-512 MAC sops writes under `lastmodified`.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256, Sha512};

use crate::cipher::{self, Envelope};
use crate::error::{Error, ErrorKind};
use crate::keys::{self, Keyring, Recipient};
use crate::metadata::{AgeKey, KeyGroup, Metadata, Rule, SOPS_VERSION};
use crate::secret::Secret;
use crate::stores::{self, Format};
use crate::tree::{Item, Scalar, Tree};

/// A decrypted document: the plaintext tree, its metadata and the data key, so that it
/// can be written back encrypted with the same key ([`Decrypted::reencrypt`]).
///
/// `Debug` prints no value and no key.
#[derive(Debug)]
pub struct Decrypted {
    /// The store the document was read with.
    pub format: Format,
    /// The plaintext values.
    pub tree: Tree,
    /// The metadata as read.
    pub metadata: Metadata,
    data_key: Secret<Vec<u8>>,
    /// The IV each unchanged value had, keyed by a digest of its AAD and plaintext (not the
    /// plaintext itself), so re-encrypting an edited file changes only edited values.
    stash: HashMap<[u8; 64], [u8; 32]>,
}

/// Options for encrypting a new document.
#[derive(Debug, Clone, Default)]
pub struct EncryptOptions {
    /// The key groups: each a list of age recipients (`age1…`, `age1pq1…`).
    pub key_groups: Vec<Vec<String>>,
    /// The selection rule (sops' default `unencrypted_suffix: _unencrypted` when `None`).
    pub rule: Option<Rule>,
    /// Hash only the encrypted values into the MAC.
    pub mac_only_encrypted: bool,
}

/// The visitor [`walk`] calls for each scalar leaf.
type Visit<'a> = dyn FnMut(&[String], &mut Item) -> Result<(), ErrorKind> + 'a;

fn aad(path: &[String]) -> String {
    let mut out = String::new();
    for k in path {
        out.push_str(k);
        out.push(':');
    }
    out
}

fn stash_key(aad: &str, plaintext: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(aad.as_bytes());
    h.update([0]);
    h.update(plaintext);
    h.finalize().into()
}

/// Visits every scalar leaf in document order with its key path (list indices are not
/// part of the path, as in sops). Nulls are skipped.
fn walk(tree: &mut Tree, f: &mut Visit<'_>) -> Result<(), ErrorKind> {
    fn visit(path: &mut Vec<String>, item: &mut Item, f: &mut Visit<'_>) -> Result<(), ErrorKind> {
        match item {
            Item::Map(entries) => {
                for (k, v) in entries {
                    path.push(k.clone());
                    visit(path, v, f)?;
                    path.pop();
                }
                Ok(())
            }
            Item::Seq(items) => items.iter_mut().try_for_each(|v| visit(path, v, f)),
            Item::Scalar(_) => f(path, item),
            Item::Null => Ok(()),
        }
    }
    let mut path = Vec::new();
    for branch in &mut tree.branches {
        for (k, v) in branch {
            path.push(k.clone());
            visit(&mut path, v, f)?;
            path.pop();
        }
    }
    Ok(())
}

fn new_mac_hasher(mac_only_encrypted: bool) -> Sha512 {
    let mut h = Sha512::new();
    if mac_only_encrypted {
        h.update(Sha256::digest(b"sops"));
    }
    h
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

/// `lastmodified` as the MAC's AAD: RFC 3339 with whole seconds (fractions dropped).
fn mac_aad(last_modified: &str) -> String {
    match last_modified.split_once('.') {
        Some((head, tail)) => {
            let offset = tail.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{head}{offset}")
        }
        None => last_modified.to_string(),
    }
}

/// The current time as sops writes `lastmodified`: UTC, RFC 3339, whole seconds.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    rfc3339_utc(secs)
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's civil-from-days).
pub fn rfc3339_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Recovers the data key with the keyring's identities.
fn data_key(meta: &Metadata, keyring: &Keyring) -> Result<Secret<Vec<u8>>, ErrorKind> {
    if meta.key_groups.len() > 1 {
        return Err(ErrorKind::KeyGroups(format!(
            "the data key is split over {} key groups (Shamir secret sharing), which shipway does not support",
            meta.key_groups.len()
        )));
    }
    let Some(group) = meta.key_groups.first() else {
        return Err(ErrorKind::Metadata("no keys found in the file".into()));
    };
    if group.age.is_empty() {
        return Err(ErrorKind::UnsupportedKeyType {
            key_type: group.other_types().join(", "),
        });
    }
    if keyring.identities.is_empty() {
        return Err(ErrorKind::NoIdentities {
            recipients: meta.recipients(),
        });
    }
    for key in &group.age {
        if let Some(data_key) = keys::unwrap(&key.enc, &keyring.identities)? {
            if data_key.expose().len() != 32 {
                return Err(ErrorKind::Age(
                    "the wrapped data key is not 32 bytes".into(),
                ));
            }
            return Ok(data_key);
        }
    }
    Err(ErrorKind::NoMatchingKey {
        identities: keyring.identities.len(),
        recipients: meta.recipients(),
    })
}

/// Decrypts a document of `format`; `path` names it in errors. With `verify_mac`, a
/// missing or mismatching MAC is an error.
pub fn decrypt(
    path: &Path,
    format: Format,
    bytes: &[u8],
    keyring: &Keyring,
    verify_mac: bool,
) -> Result<Decrypted, Error> {
    let at = |kind| Error::new(path, kind);
    let (mut tree, meta) = stores::parse(format, bytes, true).map_err(at)?;
    let Some(meta) = meta else {
        return Err(at(ErrorKind::NotSops { hint: "" }));
    };
    let metadata = Metadata::from_item(&meta).map_err(at)?;
    let data_key = data_key(&metadata, keyring).map_err(at)?;
    let matcher = metadata.rule.matcher();
    let binary = format == Format::Binary;
    let mut mac = new_mac_hasher(metadata.mac_only_encrypted);
    let mut stash = HashMap::new();
    walk(&mut tree, &mut |path, item| {
        let encrypted = binary || matcher.encrypts(path);
        let Item::Scalar(scalar) = item else {
            return Ok(());
        };
        if !encrypted {
            if !metadata.mac_only_encrypted {
                mac.update(scalar.plaintext());
            }
            return Ok(());
        }
        if scalar.is_empty_string() {
            return Ok(());
        }
        let key_path = || path.join(":");
        let Scalar::Str(text) = scalar else {
            return Err(ErrorKind::NotEncrypted {
                key_path: key_path(),
            });
        };
        let envelope = Envelope::parse(text).ok_or_else(|| ErrorKind::NotEncrypted {
            key_path: key_path(),
        })?;
        let aad = aad(path);
        let plaintext =
            cipher::open(data_key.expose(), &envelope, aad.as_bytes()).ok_or_else(|| {
                ErrorKind::TamperedValue {
                    key_path: key_path(),
                }
            })?;
        mac.update(&plaintext);
        if let Ok(iv) = <[u8; 32]>::try_from(envelope.iv.as_slice()) {
            stash.insert(stash_key(&aad, &plaintext), iv);
        }
        let value =
            Scalar::from_plaintext(&envelope.type_name, plaintext, binary).ok_or_else(|| {
                ErrorKind::TamperedValue {
                    key_path: key_path(),
                }
            })?;
        *item = Item::Scalar(value);
        Ok(())
    })
    .map_err(at)?;
    if verify_mac {
        if metadata.mac.is_empty() {
            return Err(at(ErrorKind::MissingMac));
        }
        let computed = hex_upper(&mac.finalize());
        let envelope =
            Envelope::parse(&metadata.mac).ok_or_else(|| at(ErrorKind::UndecryptableMac))?;
        let stored = cipher::open(
            data_key.expose(),
            &envelope,
            mac_aad(&metadata.last_modified).as_bytes(),
        )
        .ok_or_else(|| at(ErrorKind::UndecryptableMac))?;
        if stored != computed.as_bytes() {
            return Err(at(ErrorKind::MacMismatch));
        }
    }
    Ok(Decrypted {
        format,
        tree,
        metadata,
        data_key,
        stash,
    })
}

/// Encrypts `tree` under `data_key` into the metadata `meta` (whose `mac` and
/// `lastmodified` are set here); unchanged values reuse their IV from `stash`.
fn seal_tree(
    mut tree: Tree,
    data_key: &[u8],
    meta: &mut Metadata,
    format: Format,
    stash: &HashMap<[u8; 64], [u8; 32]>,
) -> Result<Tree, ErrorKind> {
    let matcher = meta.rule.matcher();
    let binary = format == Format::Binary;
    let mut mac = new_mac_hasher(meta.mac_only_encrypted);
    walk(&mut tree, &mut |path, item| {
        let encrypted = binary || matcher.encrypts(path);
        let Item::Scalar(scalar) = item else {
            return Ok(());
        };
        let plaintext = Secret::new(scalar.plaintext());
        if encrypted || !meta.mac_only_encrypted {
            mac.update(plaintext.expose());
        }
        if !encrypted || scalar.is_empty_string() {
            return Ok(());
        }
        let aad = aad(path);
        let iv = stash
            .get(&stash_key(&aad, plaintext.expose()))
            .copied()
            .unwrap_or_else(cipher::random_iv);
        // The binary store's raw bytes are written as `type:str`, as sops does.
        let type_name = if binary { "str" } else { scalar.type_name() };
        let envelope = cipher::seal(data_key, &iv, aad.as_bytes(), plaintext.expose(), type_name);
        *item = Item::Scalar(Scalar::Str(envelope.format()));
        Ok(())
    })?;
    meta.last_modified = now_rfc3339();
    let digest = hex_upper(&mac.finalize());
    meta.mac = cipher::seal(
        data_key,
        &cipher::random_iv(),
        mac_aad(&meta.last_modified).as_bytes(),
        digest.as_bytes(),
        "str",
    )
    .format();
    meta.version = SOPS_VERSION.to_string();
    Ok(tree)
}

fn wrap_groups(groups: &[Vec<String>], data_key: &[u8]) -> Result<Vec<KeyGroup>, ErrorKind> {
    if groups.iter().all(Vec::is_empty) {
        return Err(ErrorKind::NoRecipients);
    }
    if groups.len() > 1 {
        return Err(ErrorKind::KeyGroups(
            "more than one key group needs Shamir secret sharing, which shipway does not support; list the recipients in one group".into(),
        ));
    }
    groups
        .iter()
        .map(|group| {
            let age = group
                .iter()
                .map(|r| {
                    let recipient = Recipient::parse(r)?;
                    Ok(AgeKey {
                        recipient: recipient.to_string(),
                        enc: keys::wrap(&recipient, data_key)?,
                    })
                })
                .collect::<Result<_, ErrorKind>>()?;
            Ok(KeyGroup {
                age,
                other: Vec::new(),
            })
        })
        .collect()
}

/// Encrypts a plaintext document with a new data key.
pub fn encrypt(
    path: &Path,
    format: Format,
    plaintext: &[u8],
    options: &EncryptOptions,
) -> Result<Vec<u8>, Error> {
    let at = |kind| Error::new(path, kind);
    let (tree, meta) = stores::parse(format, plaintext, false).map_err(at)?;
    if meta.is_some() {
        return Err(at(ErrorKind::AlreadyEncrypted));
    }
    let data_key = cipher::random_data_key();
    let mut metadata = Metadata {
        key_groups: wrap_groups(&options.key_groups, data_key.expose()).map_err(at)?,
        rule: options.rule.clone().unwrap_or_default(),
        mac_only_encrypted: options.mac_only_encrypted,
        ..Metadata::default()
    };
    let sealed = seal_tree(
        tree,
        data_key.expose(),
        &mut metadata,
        format,
        &HashMap::new(),
    )
    .map_err(at)?;
    stores::emit(format, &sealed, Some(&metadata)).map_err(at)
}

impl Decrypted {
    /// The plaintext document in its store's format (for `secret decrypt` and the
    /// renderer). Binary documents give back their raw bytes.
    pub fn plaintext(&self, path: &Path) -> Result<Secret<Vec<u8>>, Error> {
        stores::emit(self.format, &self.tree, None)
            .map(Secret::new)
            .map_err(|kind| Error::new(path, kind))
    }

    /// Encrypts `plaintext` (an edited version of this document) with the same data key
    /// and key groups, reusing the IVs of unchanged values; a new MAC and `lastmodified`.
    pub fn reencrypt(&self, path: &Path, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let at = |kind| Error::new(path, kind);
        let (tree, meta) = stores::parse(self.format, plaintext, false).map_err(at)?;
        if meta.is_some() {
            return Err(at(ErrorKind::AlreadyEncrypted));
        }
        let mut metadata = self.metadata.clone();
        let sealed = seal_tree(
            tree,
            self.data_key.expose(),
            &mut metadata,
            self.format,
            &self.stash,
        )
        .map_err(at)?;
        stores::emit(self.format, &sealed, Some(&metadata)).map_err(at)
    }

    /// Re-wraps the same data key for `groups` (sops `updatekeys`): values, MAC and
    /// `lastmodified` are kept; `encrypted` is the file as read.
    pub fn rewrap(
        &self,
        path: &Path,
        encrypted: &[u8],
        groups: &[Vec<String>],
    ) -> Result<Vec<u8>, Error> {
        let at = |kind| Error::new(path, kind);
        let (tree, _) = stores::parse(self.format, encrypted, true).map_err(at)?;
        let mut metadata = self.metadata.clone();
        metadata.key_groups = wrap_groups(groups, self.data_key.expose()).map_err(at)?;
        stores::emit(self.format, &tree, Some(&metadata)).map_err(at)
    }

    /// Whether `a` and `b` hold the same data key (tests of `edit` and `updatekeys`).
    pub fn same_data_key(a: &Decrypted, b: &Decrypted) -> bool {
        a.data_key == b.data_key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_731_418_422), "2024-11-12T13:33:42Z");
    }

    #[test]
    fn mac_aad_drops_fractions() {
        assert_eq!(
            mac_aad("2024-11-12T13:33:42.123456Z"),
            "2024-11-12T13:33:42Z"
        );
        assert_eq!(
            mac_aad("2024-11-12T13:33:42+02:00"),
            "2024-11-12T13:33:42+02:00"
        );
    }
}
