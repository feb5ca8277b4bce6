//! SOPS documents encrypted with age, compatible with the `sops` CLI and Flux: the YAML,
//! JSON, dotenv and binary stores, AES-256-GCM values with sops' 32-byte IVs and key-path
//! AAD, the SHA-512 MAC, the selection rules (`encrypted_regex` and friends,
//! `mac_only_encrypted`), age X25519 and post-quantum recipients, `.sops.yaml` creation
//! rules, and key discovery as sops does it. Decrypted values travel in [`Secret`] or in a
//! [`Tree`] whose `Debug` prints `***`; errors name the file and never a value.
//!
//! Not supported, and refused with an error naming the key type: PGP, cloud KMS, Vault,
//! age plugins and ssh keys, and data keys split over several key groups (Shamir).
//!
//! ```
//! use shipway_secrets::{EncryptOptions, Format, Identity, Keyring, decrypt, encrypt};
//! use std::path::Path;
//! let identity = Identity::generate();
//! let options = EncryptOptions { key_groups: vec![vec![identity.recipient()]], ..Default::default() };
//! let path = Path::new("secret.yaml");
//! let sealed = encrypt(path, Format::Yaml, b"password: hunter2\n", &options).unwrap();
//! assert!(!String::from_utf8_lossy(&sealed).contains("hunter2"));
//! let opened = decrypt(path, Format::Yaml, &sealed, &Keyring::new(vec![identity]), true).unwrap();
//! assert_eq!(opened.plaintext(path).unwrap().expose(), b"password: hunter2\n");
//! ```

mod cipher;
pub mod config;
mod document;
pub mod error;
pub mod keys;
pub mod metadata;
mod secret;
pub mod stores;
pub mod tree;

pub use document::{Decrypted, EncryptOptions, decrypt, encrypt, now_rfc3339, rfc3339_utc};
pub use error::{Error, ErrorKind};
pub use keys::{Identity, Keyring, Recipient};
pub use metadata::{Metadata, Rule};
pub use secret::Secret;
pub use stores::Format;
pub use tree::{Item, Scalar, Tree};

/// Whether `bytes` (a file of `format`) look sops-encrypted: they carry the format's MAC
/// marker, Flux's test before decrypting a file.
pub fn is_encrypted(format: Format, bytes: &[u8]) -> bool {
    format.has_marker(bytes)
}
