//! Bearer tokens and their roles. A token file holds lines `TOKEN ROLE [NAME]` (roles
//! `viewer`, `deployer`, `admin`; `#` starts a comment). Tokens are kept only as HMAC tags
//! under a key made at start, and checked in constant time, so neither memory dumps of the
//! table nor timing reveal them.

use std::fmt::Write as _;
use std::path::Path;

use ring::hmac;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read apps, history, diffs and events.
    Viewer,
    /// And sync and roll back.
    Deployer,
    /// Everything.
    Admin,
}

impl Role {
    fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "deployer" => Some(Role::Deployer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The tokens the API accepts.
#[derive(Debug)]
pub struct Tokens {
    key: hmac::Key,
    entries: Vec<(hmac::Tag, Role, String)>,
}

impl Tokens {
    /// The tokens of `text` (a token file's content; `path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Tokens> {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| anyhow::anyhow!("no system randomness for the token table"))?;
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = format!("{}:{}", path.display(), number + 1);
            let (token, role) = match fields.as_slice() {
                [token, role] | [token, role, _] => (*token, *role),
                _ => anyhow::bail!("{at}: expected `TOKEN ROLE [NAME]`"),
            };
            let role = Role::parse(role).ok_or_else(|| {
                anyhow::anyhow!("{at}: role `{role}` is not viewer, deployer or admin")
            })?;
            if token.len() < 16 {
                anyhow::bail!("{at}: the token is shorter than 16 characters");
            }
            let name = fields
                .get(2)
                .map_or_else(|| format!("token-{}", number + 1), |n| (*n).to_string());
            entries.push((hmac::sign(&key, token.as_bytes()), role, name));
        }
        if entries.is_empty() {
            anyhow::bail!("{}: no tokens", path.display());
        }
        Ok(Tokens { key, entries })
    }

    /// The role and name of `token`, if it is one of ours.
    pub fn check(&self, token: &str) -> Option<(Role, &str)> {
        self.entries
            .iter()
            .find(|(tag, _, _)| hmac::verify(&self.key, token.as_bytes(), tag.as_ref()).is_ok())
            .map(|(_, role, name)| (*role, name.as_str()))
    }
}

/// A new random token (32 bytes, hex).
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("no system randomness"))?;
    Ok(bytes.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_roles_and_bad_lines_name_their_line() {
        let path = Path::new("tokens");
        let tokens = Tokens::parse(
            path,
            "# comment\nviewer-token-0123456789 viewer ci\nadmin-token-0123456789 admin\n",
        )
        .unwrap();
        assert_eq!(
            tokens.check("viewer-token-0123456789"),
            Some((Role::Viewer, "ci"))
        );
        assert_eq!(
            tokens.check("admin-token-0123456789"),
            Some((Role::Admin, "token-3"))
        );
        assert_eq!(tokens.check("admin-token-012345678"), None);
        let error = Tokens::parse(path, "x\n").unwrap_err().to_string();
        assert!(error.contains("tokens:1"), "{error}");
        let error = Tokens::parse(path, "abcdefghijklmnopq root\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("role `root`"), "{error}");
        assert_eq!(generate().unwrap().len(), 64);
    }
}
