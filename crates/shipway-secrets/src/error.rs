//! The errors of SOPS handling. Every error names the file (and the key type or key path
//! where there is one) and never a decrypted value or a key: messages are built only from
//! paths, key names, recipients and fixed text.

use std::path::PathBuf;

/// A failure to read, decrypt or encrypt a SOPS document, with the file it concerns.
#[derive(Debug, thiserror::Error)]
#[error("`{}`: {kind}", path.display())]
pub struct Error {
    /// The file (or the name standing in for it, such as a Secret's data key).
    pub path: PathBuf,
    /// What went wrong. Not marked `#[source]`: the message already ends with it, and
    /// printing the chain would repeat it.
    pub kind: ErrorKind,
}

impl Error {
    /// An error about `path`.
    pub fn new(path: impl Into<PathBuf>, kind: ErrorKind) -> Error {
        Error {
            path: path.into(),
            kind,
        }
    }
}

/// What went wrong; see [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file has no `sops` metadata: it is not encrypted (or not by sops).
    #[error("not a sops document (no `sops` metadata{hint})")]
    NotSops {
        /// Extra text, e.g. for binary files that lack `data`.
        hint: &'static str,
    },
    /// The file could not be parsed in its format.
    #[error("{format} syntax: {message}")]
    Syntax {
        /// `YAML`, `JSON`, `dotenv` or `binary`.
        format: &'static str,
        /// The parser's message (positions, never values).
        message: String,
    },
    /// The `sops` metadata is malformed.
    #[error("invalid sops metadata: {0}")]
    Metadata(String),
    /// The document's data key is wrapped only for key types shipway does not support.
    #[error(
        "the data key is wrapped only for {key_type}, which shipway does not support (only age X25519 and age post-quantum recipients)"
    )]
    UnsupportedKeyType {
        /// `PGP`, `AWS KMS`, `GCP KMS`, `Azure Key Vault`, `HashiCorp Vault`, ...
        key_type: String,
    },
    /// No age identity was available at all.
    #[error(
        "no age identity to decrypt with (recipients: {recipients}); set `SOPS_AGE_KEY_FILE` or `SOPS_AGE_KEY`, or put the key in `~/.config/sops/age/keys.txt`"
    )]
    NoIdentities {
        /// The file's recipients, comma separated.
        recipients: String,
    },
    /// None of the identities opens any of the file's age stanzas.
    #[error("none of the {identities} age identities matches the file's recipients ({recipients})")]
    NoMatchingKey {
        /// How many identities were tried.
        identities: usize,
        /// The file's recipients, comma separated.
        recipients: String,
    },
    /// An age stanza could be opened but was malformed.
    #[error("age: {0}")]
    Age(String),
    /// A value failed authentication: it was changed, moved to another key, or encrypted
    /// with another data key.
    #[error(
        "the value at `{key_path}` does not decrypt (tampered, moved, or encrypted with another key)"
    )]
    TamperedValue {
        /// The key path, `:`-joined as sops' AAD.
        key_path: String,
    },
    /// A value at an encrypted path is not in sops' `ENC[...]` form.
    #[error("the value at `{key_path}` is not in sops' `ENC[AES256_GCM,...]` format")]
    NotEncrypted {
        /// The key path.
        key_path: String,
    },
    /// The document has no MAC.
    #[error("the sops metadata has no `mac`")]
    MissingMac,
    /// The MAC does not decrypt (changed, or `lastmodified` changed).
    #[error("the MAC does not decrypt (`mac` or `lastmodified` was changed)")]
    UndecryptableMac,
    /// The MAC does not match the values: a value was changed, added, removed or reordered.
    #[error("MAC mismatch: the document's values were changed after it was encrypted")]
    MacMismatch,
    /// Key groups need more shares than could be decrypted.
    #[error("{0}")]
    KeyGroups(String),
    /// No recipients were given for encryption.
    #[error(
        "no age recipients: pass `--age RECIPIENT` or add a `.sops.yaml` creation rule for this file"
    )]
    NoRecipients,
    /// A recipient string is not an age recipient.
    #[error("`{recipient}` is not an age recipient ({reason})")]
    BadRecipient {
        /// The recipient as given (public, safe to print).
        recipient: String,
        /// Why.
        reason: String,
    },
    /// An identity file has a line that is not an age identity.
    #[error(
        "line {line}: not an age identity (expected `AGE-SECRET-KEY-1...` or `AGE-SECRET-KEY-PQ-1...`)"
    )]
    BadIdentity {
        /// 1-based line number.
        line: usize,
    },
    /// The document is already encrypted.
    #[error("already encrypted (it has `sops` metadata)")]
    AlreadyEncrypted,
    /// The document cannot be represented in its format.
    #[error("{0}")]
    Unrepresentable(String),
    /// `.sops.yaml` problems.
    #[error("{0}")]
    Config(String),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
