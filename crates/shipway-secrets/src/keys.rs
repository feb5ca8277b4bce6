//! age keys: parsing recipients and identities (X25519 and post-quantum), wrapping and
//! unwrapping the data key as armored age files, generating identities in age-keygen's
//! file format, and finding identities the way sops finds them (`SOPS_AGE_KEY_FILE`,
//! `SOPS_AGE_KEY`, then `<config dir>/sops/age/keys.txt`). All age cryptography is the
//! `age` crate's.

// age 0.13 marks classic X25519 keys deprecated in favour of post-quantum ones; sops files
// and Flux use X25519, so shipway must keep reading and writing them.
#![expect(deprecated, reason = "X25519 is what sops and Flux use today")]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::armor::{ArmoredReader, ArmoredWriter, Format as ArmorFormat};
use age::secrecy::ExposeSecret;

use crate::error::{Error, ErrorKind};
use crate::secret::Secret;

/// An age recipient (public key).
#[derive(Clone)]
pub enum Recipient {
    /// `age1…` (X25519).
    X25519(age::x25519::Recipient),
    /// `age1pq1…` (ML-KEM-768 + X25519 hybrid).
    PostQuantum(Box<age::pq::Recipient>),
}

impl Recipient {
    /// Parses `text` as sops does: `age1pq1` first, then plugins (refused), then X25519.
    pub fn parse(text: &str) -> Result<Recipient, ErrorKind> {
        let text = text.trim();
        let bad = |reason: &str| ErrorKind::BadRecipient {
            recipient: text.to_string(),
            reason: reason.to_string(),
        };
        if text.starts_with("age1pq1") {
            return text
                .parse::<age::pq::Recipient>()
                .map(|r| Recipient::PostQuantum(Box::new(r)))
                .map_err(bad);
        }
        if let Some(rest) = text.strip_prefix("age1")
            && rest.contains('1')
        {
            return Err(bad("age plugin recipients are not supported"));
        }
        if text.starts_with("ssh-") {
            return Err(bad("ssh recipients are not supported"));
        }
        text.parse::<age::x25519::Recipient>()
            .map(Recipient::X25519)
            .map_err(bad)
    }

    fn as_dyn(&self) -> &dyn age::Recipient {
        match self {
            Recipient::X25519(r) => r,
            Recipient::PostQuantum(r) => r.as_ref(),
        }
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::X25519(r) => r.fmt(f),
            Recipient::PostQuantum(r) => r.fmt(f),
        }
    }
}

/// An age identity (secret key). `Debug` prints only its recipient.
pub enum Identity {
    /// `AGE-SECRET-KEY-1…`.
    X25519(age::x25519::Identity),
    /// `AGE-SECRET-KEY-PQ-1…`.
    PostQuantum(Box<age::pq::Identity>),
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.recipient())
    }
}

impl Identity {
    /// A new random X25519 identity.
    pub fn generate() -> Identity {
        Identity::X25519(age::x25519::Identity::generate())
    }

    /// The identity's public recipient.
    pub fn recipient(&self) -> String {
        match self {
            Identity::X25519(i) => i.to_public().to_string(),
            Identity::PostQuantum(i) => i.to_public().to_string(),
        }
    }

    /// The `AGE-SECRET-KEY-…` line.
    pub fn secret_line(&self) -> Secret<String> {
        Secret::new(match self {
            Identity::X25519(i) => i.to_string().expose_secret().to_string(),
            Identity::PostQuantum(i) => i.to_string().expose_secret().to_string(),
        })
    }

    fn as_dyn(&self) -> &dyn age::Identity {
        match self {
            Identity::X25519(i) => i,
            Identity::PostQuantum(i) => i.as_ref(),
        }
    }

    /// The contents of an age-keygen key file for this identity: a `created` comment, a
    /// `public key` comment and the secret line. `created` is RFC 3339.
    pub fn key_file(&self, created: &str) -> Secret<String> {
        Secret::new(format!(
            "# created: {created}\n# public key: {}\n{}\n",
            self.recipient(),
            self.secret_line().expose()
        ))
    }
}

/// Parses identity lines: one per line, blank lines and `#` comments skipped, as age and
/// sops read key files (a trailing `\r` is dropped). Any other line fails the whole source
/// with its line number (never its text, which may be a key).
pub fn parse_identities(text: &str) -> Result<Vec<Identity>, ErrorKind> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.trim();
        let identity = if line.starts_with("AGE-SECRET-KEY-PQ-1") {
            line.parse::<age::pq::Identity>()
                .ok()
                .map(|i| Identity::PostQuantum(Box::new(i)))
        } else if line.starts_with("AGE-SECRET-KEY-1") {
            line.parse::<age::x25519::Identity>()
                .ok()
                .map(Identity::X25519)
        } else {
            None
        };
        out.push(identity.ok_or(ErrorKind::BadIdentity { line: n + 1 })?);
    }
    Ok(out)
}

/// The identities available for decryption, with where each set came from (for
/// messages) and the problems met while loading them (reported only if decryption fails,
/// as sops does).
#[derive(Debug, Default)]
pub struct Keyring {
    /// The identities.
    pub identities: Vec<Identity>,
    /// Sources that could not be read, as messages naming them.
    pub problems: Vec<String>,
}

/// Keyrings are equal when they hold the identities of the same recipients (apps compare
/// their settings to notice changes; secret keys are never compared or printed).
impl PartialEq for Keyring {
    fn eq(&self, other: &Keyring) -> bool {
        self.problems == other.problems
            && self.identities.len() == other.identities.len()
            && self
                .identities
                .iter()
                .zip(&other.identities)
                .all(|(a, b)| a.recipient() == b.recipient())
    }
}

impl Keyring {
    /// A keyring holding `identities`.
    pub fn new(identities: Vec<Identity>) -> Keyring {
        Keyring {
            identities,
            problems: Vec::new(),
        }
    }

    /// Adds the identities of a key file's text; `source` names it in messages.
    pub fn add_text(&mut self, source: &str, text: &str) {
        match parse_identities(text) {
            Ok(ids) => self.identities.extend(ids),
            Err(e) => self.problems.push(format!("{source}: {e}")),
        }
    }

    /// The identities sops would find: `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY` (identities
    /// separated by whitespace), then `<config dir>/sops/age/keys.txt` when it exists. All
    /// sources are combined. `env` looks a variable up (the process environment in
    /// production, a map in tests).
    pub fn discover(env: &dyn Fn(&str) -> Option<String>) -> Keyring {
        let mut ring = Keyring::default();
        if let Some(path) = env("SOPS_AGE_KEY_FILE").filter(|p| !p.is_empty()) {
            match fs_err::read_to_string(&path) {
                Ok(text) => ring.add_text(&format!("`SOPS_AGE_KEY_FILE` (`{path}`)"), &text),
                Err(e) => ring.problems.push(format!("`SOPS_AGE_KEY_FILE`: {e}")),
            }
        }
        if let Some(keys) = env("SOPS_AGE_KEY").filter(|k| !k.trim().is_empty()) {
            // Identities separated by whitespace or newlines; `#` lines (a pasted key
            // file's comments) are skipped first.
            let words: Vec<&str> = keys
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .flat_map(str::split_whitespace)
                .collect();
            ring.add_text("`SOPS_AGE_KEY`", &words.join("\n"));
        }
        if let Some(path) = default_key_file(env)
            && path.is_file()
        {
            match fs_err::read_to_string(&path) {
                Ok(text) => ring.add_text(&format!("`{}`", path.display()), &text),
                Err(e) => ring.problems.push(e.to_string()),
            }
        }
        ring
    }
}

/// sops' default key file: `$XDG_CONFIG_HOME/sops/age/keys.txt`, else
/// `~/.config/sops/age/keys.txt` (on macOS without `XDG_CONFIG_HOME`,
/// `~/Library/Application Support/sops/age/keys.txt`).
pub fn default_key_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = if let Some(dir) = env("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        PathBuf::from(dir)
    } else {
        let home = PathBuf::from(env("HOME").filter(|h| !h.is_empty())?);
        if cfg!(target_os = "macos") {
            home.join("Library").join("Application Support")
        } else {
            home.join(".config")
        }
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

/// Wraps `key` for `recipient` as an armored age file, as sops stores it in `enc`.
pub(crate) fn wrap(recipient: &Recipient, key: &[u8]) -> Result<String, ErrorKind> {
    let age_err = |e: &dyn std::fmt::Display| ErrorKind::Age(e.to_string());
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient.as_dyn()))
        .map_err(|e| age_err(&e))?;
    let mut out = Vec::new();
    let armor =
        ArmoredWriter::wrap_output(&mut out, ArmorFormat::AsciiArmor).map_err(|e| age_err(&e))?;
    let mut writer = encryptor.wrap_output(armor).map_err(|e| age_err(&e))?;
    writer.write_all(key).map_err(|e| age_err(&e))?;
    writer
        .finish()
        .and_then(ArmoredWriter::finish)
        .map_err(|e| age_err(&e))?;
    String::from_utf8(out).map_err(|_| ErrorKind::Age("armored output is not UTF-8".into()))
}

/// Opens an armored (or binary) age file with any of `identities`; `Ok(None)` when no
/// identity matches its stanzas.
pub(crate) fn unwrap(
    enc: &str,
    identities: &[Identity],
) -> Result<Option<Secret<Vec<u8>>>, ErrorKind> {
    if identities.is_empty() {
        return Ok(None);
    }
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(enc.as_bytes()))
        .map_err(|e| ErrorKind::Age(e.to_string()))?;
    match decryptor.decrypt(identities.iter().map(Identity::as_dyn)) {
        Ok(mut reader) => {
            let mut key = Secret::new(Vec::new());
            reader
                .read_to_end(key.expose_mut())
                .map_err(|e| ErrorKind::Age(e.to_string()))?;
            Ok(Some(key))
        }
        Err(age::DecryptError::NoMatchingKeys) => Ok(None),
        Err(e) => Err(ErrorKind::Age(e.to_string())),
    }
}

/// Writes a new identity to `path` (mode 0600, refusing to overwrite) or returns the key
/// file text for stdout; returns the public recipient.
pub fn keygen(
    path: Option<&Path>,
    created: &str,
) -> Result<(String, Option<Secret<String>>), Error> {
    let identity = Identity::generate();
    let text = identity.key_file(created);
    let recipient = identity.recipient();
    let Some(path) = path else {
        return Ok((recipient, Some(text)));
    };
    let mut options = fs_err::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::new(path, ErrorKind::Io(e)))?;
    file.write_all(text.expose().as_bytes())
        .map_err(|e| Error::new(path, ErrorKind::Io(e)))?;
    Ok((recipient, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_round_trip() {
        let id = Identity::generate();
        let recipient = Recipient::parse(&id.recipient()).unwrap();
        let enc = wrap(&recipient, b"0123456789abcdef0123456789abcdef").unwrap();
        assert!(
            enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            "{enc}"
        );
        let key = unwrap(&enc, &[id]).unwrap().unwrap();
        assert_eq!(key.expose(), b"0123456789abcdef0123456789abcdef");
        assert!(unwrap(&enc, &[Identity::generate()]).unwrap().is_none());
    }

    #[test]
    fn key_files_parse_back_and_bad_lines_name_the_line() {
        let id = Identity::generate();
        let text = id.key_file("2026-01-01T00:00:00Z");
        let ids = parse_identities(text.expose()).unwrap();
        assert_eq!(ids[0].recipient(), id.recipient());
        let err = parse_identities("# c\nnot-a-key\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: not an age identity (expected `AGE-SECRET-KEY-1...` or `AGE-SECRET-KEY-PQ-1...`)"
        );
    }

    #[test]
    fn default_key_file_follows_xdg() {
        let env = |k: &str| match k {
            "XDG_CONFIG_HOME" => Some("/x".to_string()),
            _ => None,
        };
        assert_eq!(
            default_key_file(&env).unwrap(),
            PathBuf::from("/x/sops/age/keys.txt")
        );
    }

    #[test]
    fn plugin_and_ssh_recipients_are_refused() {
        assert!(Recipient::parse("age1yubikey1qwerty").is_err());
        assert!(Recipient::parse("ssh-ed25519 AAAA").is_err());
    }
}
