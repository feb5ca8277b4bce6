//! sops' value envelope `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`: AES-256-GCM with a
//! 32-byte IV (GHASH-derived counter, SP 800-38D), the key path plus `:` as additional
//! data, standard padded base64. The cipher is the `aes-gcm` crate's; nothing here is
//! cryptography of our own.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::secret::Secret;

/// AES-256-GCM with sops' 256-bit nonce.
type SopsCipher = AesGcm<Aes256, U32>;

/// The GCM tag length.
const TAG_LEN: usize = 16;

/// One parsed `ENC[...]` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) data: Vec<u8>,
    pub(crate) iv: Vec<u8>,
    pub(crate) tag: Vec<u8>,
    pub(crate) type_name: String,
}

impl Envelope {
    /// Parses a value that starts with sops' pattern; `None` when it is not one.
    pub(crate) fn parse(text: &str) -> Option<Envelope> {
        let rest = text.strip_prefix("ENC[AES256_GCM,data:")?;
        let (data, rest) = rest.split_once(",iv:")?;
        let (iv, rest) = rest.split_once(",tag:")?;
        let (tag, rest) = rest.split_once(",type:")?;
        let (type_name, _) = rest.split_once(']')?;
        Some(Envelope {
            data: STANDARD.decode(data).ok()?,
            iv: STANDARD.decode(iv).ok()?,
            tag: STANDARD.decode(tag).ok()?,
            type_name: type_name.to_string(),
        })
    }

    /// The `ENC[...]` text.
    pub(crate) fn format(&self) -> String {
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
            STANDARD.encode(&self.data),
            STANDARD.encode(&self.iv),
            STANDARD.encode(&self.tag),
            self.type_name
        )
    }
}

/// A fresh random 32-byte IV.
pub(crate) fn random_iv() -> [u8; 32] {
    let nonce = SopsCipher::generate_nonce(&mut aes_gcm::aead::OsRng);
    nonce.into()
}

/// A fresh random 32-byte data key.
pub(crate) fn random_data_key() -> Secret<Vec<u8>> {
    let key = SopsCipher::generate_key(&mut aes_gcm::aead::OsRng);
    Secret::new(key.to_vec())
}

/// Encrypts `plaintext` under `key` with `iv` and `aad`.
pub(crate) fn seal(
    key: &[u8],
    iv: &[u8; 32],
    aad: &[u8],
    plaintext: &[u8],
    type_name: &str,
) -> Envelope {
    let cipher = SopsCipher::new(Key::<SopsCipher>::from_slice(key));
    let nonce = Nonce::<U32>::from_slice(iv);
    // Encryption with a valid 32-byte key and nonce cannot fail: aes-gcm only errors for
    // messages above 2^36 bytes, which no document held in memory reaches.
    let mut sealed = cipher
        .encrypt(
            nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    let tag = sealed.split_off(sealed.len().saturating_sub(TAG_LEN));
    Envelope {
        data: sealed,
        iv: iv.to_vec(),
        tag,
        type_name: type_name.to_string(),
    }
}

/// Decrypts `envelope` under `key` with `aad`; `None` when authentication fails (a changed
/// value, AAD or key) or the IV is not 32 bytes.
pub(crate) fn open(key: &[u8], envelope: &Envelope, aad: &[u8]) -> Option<Vec<u8>> {
    if envelope.iv.len() != 32 || envelope.tag.len() != TAG_LEN || key.len() != 32 {
        return None;
    }
    let cipher = SopsCipher::new(Key::<SopsCipher>::from_slice(key));
    let nonce = Nonce::<U32>::from_slice(&envelope.iv);
    let mut msg = envelope.data.clone();
    msg.extend_from_slice(&envelope.tag);
    cipher.decrypt(nonce, Payload { msg: &msg, aad }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binds_the_path() {
        let key = random_data_key();
        let iv = random_iv();
        let env = seal(key.expose(), &iv, b"a:b:", b"value", "str");
        let parsed = Envelope::parse(&env.format()).unwrap();
        assert_eq!(parsed, env);
        assert_eq!(open(key.expose(), &parsed, b"a:b:").unwrap(), b"value");
        assert!(open(key.expose(), &parsed, b"a:c:").is_none());
    }

    #[test]
    fn not_an_envelope() {
        assert!(Envelope::parse("plain").is_none());
        assert!(Envelope::parse("ENC[AES256_GCM,data:!!,iv:,tag:,type:str]").is_none());
    }
}
