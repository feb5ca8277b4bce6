//! The `sops` metadata block: key groups with their wrapped data keys, the MAC, the time
//! it was taken, and the one rule that selects which values are encrypted. Read loosely
//! typed (dotenv holds every field as a string), written in the alphabetical order of
//! sops 3.13.

use regex::Regex;

use crate::error::ErrorKind;
use crate::tree::{Item, Scalar};

/// The sops version shipway writes: the format it follows.
pub const SOPS_VERSION: &str = "3.13.2";

/// One age recipient and the data key (or Shamir share) wrapped for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeKey {
    /// `age1…` or `age1pq1…`.
    pub recipient: String,
    /// An armored age file holding the key.
    pub enc: String,
}

/// A key group: any one of its keys recovers the group's key (or share).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyGroup {
    /// Its age keys.
    pub age: Vec<AgeKey>,
    /// Key types present in the group that shipway cannot use, with the raw entries kept
    /// so that re-writing the metadata does not drop them.
    pub other: Vec<(String, Item)>,
}

impl KeyGroup {
    /// Names of the unsupported key types in the group (`PGP`, `AWS KMS`, ...).
    pub fn other_types(&self) -> Vec<&'static str> {
        self.other.iter().map(|(k, _)| key_type_name(k)).collect()
    }
}

/// The selection rule (research note, section 1.2); at most one is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Values under a key ending with this suffix stay clear (sops' default, `_unencrypted`).
    UnencryptedSuffix(String),
    /// Only values under a key ending with this suffix are encrypted.
    EncryptedSuffix(String),
    /// Values under a key matching this regex stay clear.
    UnencryptedRegex(String),
    /// Only values under a key matching this regex are encrypted.
    EncryptedRegex(String),
    /// Values after a comment matching this regex stay clear. Comments are not kept by
    /// shipway's stores, so every value is encrypted.
    UnencryptedCommentRegex(String),
    /// Only values after a comment matching this regex are encrypted. Comments are not kept
    /// by shipway's stores, so no value is.
    EncryptedCommentRegex(String),
}

impl Default for Rule {
    fn default() -> Rule {
        Rule::UnencryptedSuffix("_unencrypted".into())
    }
}

impl Rule {
    /// The metadata field naming this rule.
    pub fn field(&self) -> &'static str {
        match self {
            Rule::UnencryptedSuffix(_) => "unencrypted_suffix",
            Rule::EncryptedSuffix(_) => "encrypted_suffix",
            Rule::UnencryptedRegex(_) => "unencrypted_regex",
            Rule::EncryptedRegex(_) => "encrypted_regex",
            Rule::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
            Rule::EncryptedCommentRegex(_) => "encrypted_comment_regex",
        }
    }

    fn value(&self) -> &str {
        match self {
            Rule::UnencryptedSuffix(v)
            | Rule::EncryptedSuffix(v)
            | Rule::UnencryptedRegex(v)
            | Rule::EncryptedRegex(v)
            | Rule::UnencryptedCommentRegex(v)
            | Rule::EncryptedCommentRegex(v) => v,
        }
    }

    /// Builds the rule a field names.
    pub fn from_field(field: &str, value: String) -> Option<Rule> {
        Some(match field {
            "unencrypted_suffix" => Rule::UnencryptedSuffix(value),
            "encrypted_suffix" => Rule::EncryptedSuffix(value),
            "unencrypted_regex" => Rule::UnencryptedRegex(value),
            "encrypted_regex" => Rule::EncryptedRegex(value),
            "unencrypted_comment_regex" => Rule::UnencryptedCommentRegex(value),
            "encrypted_comment_regex" => Rule::EncryptedCommentRegex(value),
            _ => return None,
        })
    }

    /// Every rule field, in the order sops checks them.
    pub const FIELDS: [&'static str; 6] = [
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
    ];

    /// A matcher for this rule.
    pub(crate) fn matcher(&self) -> Matcher {
        // sops ignores a regex that does not compile (it then never matches); kept for
        // compatibility, see the research note's "known integrity gaps".
        let regex = match self {
            Rule::UnencryptedRegex(r) | Rule::EncryptedRegex(r) => Regex::new(r).ok(),
            _ => None,
        };
        Matcher {
            rule: self.clone(),
            regex,
        }
    }
}

/// A compiled [`Rule`].
pub(crate) struct Matcher {
    rule: Rule,
    regex: Option<Regex>,
}

impl Matcher {
    /// Whether the value at `path` (mapping keys from the root) is encrypted. Regexes are
    /// unanchored and matched against each key separately, as sops does.
    pub(crate) fn encrypts(&self, path: &[String]) -> bool {
        let any_regex = || {
            self.regex
                .as_ref()
                .is_some_and(|r| path.iter().any(|k| r.is_match(k)))
        };
        match &self.rule {
            Rule::UnencryptedSuffix(s) => !path.iter().any(|k| k.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => path.iter().any(|k| k.ends_with(s.as_str())),
            Rule::UnencryptedRegex(_) => !any_regex(),
            Rule::EncryptedRegex(_) => any_regex(),
            Rule::UnencryptedCommentRegex(_) => true,
            Rule::EncryptedCommentRegex(_) => false,
        }
    }
}

/// The whole `sops` block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// The key groups (one, unless Shamir splitting is used).
    pub key_groups: Vec<KeyGroup>,
    /// Shares needed when there are several groups (0 means all).
    pub shamir_threshold: usize,
    /// `lastmodified`, RFC 3339: the MAC's additional data.
    pub last_modified: String,
    /// The encrypted MAC.
    pub mac: String,
    /// The selection rule.
    pub rule: Rule,
    /// Whether only encrypted values are in the MAC.
    pub mac_only_encrypted: bool,
    /// The sops version that wrote the file.
    pub version: String,
}

/// The metadata fields that hold keys, and how errors name their type.
const KEY_FIELDS: [(&str, &str); 7] = [
    ("pgp", "PGP"),
    ("kms", "AWS KMS"),
    ("gcp_kms", "GCP KMS"),
    ("azure_kv", "Azure Key Vault"),
    ("hc_vault", "HashiCorp Vault"),
    ("hckms", "Huawei Cloud KMS"),
    ("age", "age"),
];

fn key_type_name(field: &str) -> &'static str {
    KEY_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("an unknown key type", |(_, name)| name)
}

fn bad(message: impl Into<String>) -> ErrorKind {
    ErrorKind::Metadata(message.into())
}

/// A scalar's text, however it was typed by the store.
fn text(item: &Item) -> Option<String> {
    match item {
        Item::Scalar(Scalar::Str(s) | Scalar::Time(s)) => Some(s.clone()),
        Item::Scalar(Scalar::Int(i)) => Some(i.to_string()),
        Item::Scalar(Scalar::Bool(b)) => Some(b.to_string()),
        Item::Scalar(Scalar::Float(f)) => Some(crate::tree::format_float(*f)),
        _ => None,
    }
}

fn is_empty_list(item: &Item) -> bool {
    matches!(item, Item::Null) || matches!(item, Item::Seq(v) if v.is_empty())
}

fn read_group(entries: &[(String, Item)]) -> Result<KeyGroup, ErrorKind> {
    let mut group = KeyGroup::default();
    for (field, value) in entries {
        if field == "age" {
            let Item::Seq(list) = value else {
                if is_empty_list(value) {
                    continue;
                }
                return Err(bad("`age` is not a list"));
            };
            for entry in list {
                let Item::Map(fields) = entry else {
                    return Err(bad("an `age` entry is not a mapping"));
                };
                let get = |name: &str| {
                    fields
                        .iter()
                        .find(|(k, _)| k == name)
                        .and_then(|(_, v)| text(v))
                };
                let recipient =
                    get("recipient").ok_or_else(|| bad("an `age` entry has no `recipient`"))?;
                let enc = get("enc").ok_or_else(|| bad("an `age` entry has no `enc`"))?;
                group.age.push(AgeKey { recipient, enc });
            }
        } else if KEY_FIELDS.iter().any(|(f, _)| f == field) && !is_empty_list(value) {
            group.other.push((field.clone(), value.clone()));
        }
    }
    Ok(group)
}

impl Metadata {
    /// Reads the `sops` mapping.
    pub fn from_item(item: &Item) -> Result<Metadata, ErrorKind> {
        let Item::Map(entries) = item else {
            return Err(bad("`sops` is not a mapping"));
        };
        let get = |name: &str| entries.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let mut meta = Metadata {
            version: get("version").and_then(text).unwrap_or_default(),
            last_modified: get("lastmodified").and_then(text).unwrap_or_default(),
            mac: get("mac").and_then(text).unwrap_or_default(),
            ..Metadata::default()
        };
        if let Some(t) = get("shamir_threshold").and_then(text) {
            meta.shamir_threshold = t
                .parse()
                .map_err(|_| bad("`shamir_threshold` is not a number"))?;
        }
        meta.mac_only_encrypted = get("mac_only_encrypted")
            .and_then(text)
            .is_some_and(|t| matches!(t.as_str(), "true" | "True" | "TRUE" | "1" | "t" | "T"));
        let mut rules = Rule::FIELDS.iter().filter_map(|f| {
            get(f)
                .and_then(text)
                .filter(|v| !v.is_empty())
                .map(|v| (f, v))
        });
        if let Some((field, value)) = rules.next() {
            if rules.next().is_some() {
                return Err(bad(
                    "more than one of `unencrypted_suffix`, `encrypted_suffix`, `unencrypted_regex`, `encrypted_regex`, `unencrypted_comment_regex` and `encrypted_comment_regex` is set",
                ));
            }
            meta.rule = Rule::from_field(field, value).unwrap_or_default();
        }
        // Top-level key lists win over `key_groups`, as in sops.
        let top = read_group(entries)?;
        if !top.age.is_empty() || !top.other.is_empty() {
            meta.key_groups = vec![top];
        } else if let Some(groups) = get("key_groups") {
            let Item::Seq(groups) = groups else {
                return Err(bad("`key_groups` is not a list"));
            };
            for group in groups {
                let Item::Map(fields) = group else {
                    return Err(bad("a key group is not a mapping"));
                };
                meta.key_groups.push(read_group(fields)?);
            }
        }
        if meta
            .key_groups
            .iter()
            .all(|g| g.age.is_empty() && g.other.is_empty())
        {
            return Err(bad("no keys found in the file"));
        }
        Ok(meta)
    }

    /// The `sops` mapping, keys in alphabetical order as sops 3.13 writes them.
    pub fn to_item(&self) -> Item {
        fn group_fields(group: &KeyGroup, out: &mut Vec<(String, Item)>) {
            if !group.age.is_empty() {
                let list = group
                    .age
                    .iter()
                    .map(|k| {
                        Item::Map(vec![
                            ("enc".into(), Item::Scalar(Scalar::Str(k.enc.clone()))),
                            (
                                "recipient".into(),
                                Item::Scalar(Scalar::Str(k.recipient.clone())),
                            ),
                        ])
                    })
                    .collect();
                out.push(("age".into(), Item::Seq(list)));
            }
            out.extend(group.other.iter().cloned());
        }
        let mut out = Vec::new();
        if let [group] = self.key_groups.as_slice() {
            group_fields(group, &mut out);
        } else {
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    let mut fields = Vec::new();
                    group_fields(g, &mut fields);
                    fields.sort_by(|a, b| a.0.cmp(&b.0));
                    Item::Map(fields)
                })
                .collect();
            out.push(("key_groups".into(), Item::Seq(groups)));
        }
        let s = |v: &str| Item::Scalar(Scalar::Str(v.to_string()));
        out.push(("lastmodified".into(), s(&self.last_modified)));
        out.push(("mac".into(), s(&self.mac)));
        if self.mac_only_encrypted {
            out.push((
                "mac_only_encrypted".into(),
                Item::Scalar(Scalar::Bool(true)),
            ));
        }
        if self.shamir_threshold > 0 && self.key_groups.len() > 1 {
            out.push((
                "shamir_threshold".into(),
                Item::Scalar(Scalar::Int(self.shamir_threshold as i64)),
            ));
        }
        out.push((self.rule.field().into(), s(self.rule.value())));
        out.push(("version".into(), s(&self.version)));
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Item::Map(out)
    }

    /// Every age recipient, comma separated (for messages); post-quantum recipients,
    /// about 2,000 characters long, are shortened to their ends.
    pub fn recipients(&self) -> String {
        let all: Vec<String> = self
            .key_groups
            .iter()
            .flat_map(|g| g.age.iter().map(|k| abbreviate(&k.recipient)))
            .collect();
        if all.is_empty() {
            "none".into()
        } else {
            all.join(", ")
        }
    }
}

/// `recipient`, or its first 16 and last 8 characters when it is longer than 80.
fn abbreviate(recipient: &str) -> String {
    let chars: Vec<char> = recipient.chars().collect();
    if chars.len() <= 80 {
        return recipient.to_string();
    }
    let head: String = chars[..16].iter().collect();
    let tail: String = chars[chars.len() - 8..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(keys: &[&str]) -> Vec<String> {
        keys.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rules_match_each_key_unanchored() {
        let r = Rule::EncryptedRegex("^(data|stringData)$".into()).matcher();
        assert!(r.encrypts(&path(&["stringData", "key"])));
        assert!(!r.encrypts(&path(&["metadata", "name"])));
        let r = Rule::EncryptedRegex("data".into()).matcher();
        assert!(
            r.encrypts(&path(&["metadata", "name"])),
            "unanchored, as sops"
        );
        let r = Rule::default().matcher();
        assert!(!r.encrypts(&path(&["a_unencrypted", "b"])));
        assert!(r.encrypts(&path(&["a", "b"])));
        let r = Rule::EncryptedSuffix("_secret".into()).matcher();
        assert!(r.encrypts(&path(&["db_secret", "x"])));
        assert!(!r.encrypts(&path(&["db", "x"])));
        let r = Rule::UnencryptedRegex("^public$".into()).matcher();
        assert!(!r.encrypts(&path(&["public"])));
        assert!(r.encrypts(&path(&["private"])));
        assert!(
            !Rule::EncryptedRegex("(".into())
                .matcher()
                .encrypts(&path(&["("]))
        );
    }

    #[test]
    fn two_rules_are_refused() {
        let item = Item::Map(vec![
            (
                "age".into(),
                Item::Seq(vec![Item::Map(vec![
                    (
                        "recipient".into(),
                        Item::Scalar(Scalar::Str("age1x".into())),
                    ),
                    ("enc".into(), Item::Scalar(Scalar::Str("e".into()))),
                ])]),
            ),
            (
                "encrypted_regex".into(),
                Item::Scalar(Scalar::Str("a".into())),
            ),
            (
                "unencrypted_suffix".into(),
                Item::Scalar(Scalar::Str("b".into())),
            ),
        ]);
        assert!(Metadata::from_item(&item).is_err());
    }
}
