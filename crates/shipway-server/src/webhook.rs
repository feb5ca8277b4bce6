//! Git push webhooks: which provider sent a delivery, whether it is signed with our
//! secret, and which repository and branch it names.
//!
//! | provider | signature |
//! |---|---|
//! | GitHub | `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` |
//! | Gitea / Forgejo | `X-Gitea-Signature: <hex HMAC-SHA256>` |
//! | GitLab | `X-Gitlab-Token: <the secret>` |
//! | Bitbucket Server | `X-Hub-Signature: sha256=<hex HMAC-SHA256>` with `X-Event-Key` |
//! | generic | `X-Shipway-Signature: sha256=<hex HMAC-SHA256>` |
//!
//! Everything is compared in constant time. Without a configured secret every delivery is
//! refused: an unsigned webhook could otherwise make the controller fetch on anyone's
//! schedule.

use axum::http::HeaderMap;
use ring::hmac;
use serde_json::Value;

/// A delivery's provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// GitHub.
    GitHub,
    /// GitLab.
    GitLab,
    /// Gitea or Forgejo.
    Gitea,
    /// Bitbucket Server / Data Center.
    BitbucketServer,
    /// shipway's own generic form.
    Generic,
    /// None of the above.
    Unknown,
}

impl Provider {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Gitea => "gitea",
            Provider::BitbucketServer => "bitbucket-server",
            Provider::Generic => "generic",
            Provider::Unknown => "unknown",
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Which provider `headers` come from.
pub fn provider(headers: &HeaderMap) -> Provider {
    if header(headers, "x-gitea-signature").is_some() || header(headers, "x-gitea-event").is_some()
    {
        Provider::Gitea
    } else if header(headers, "x-github-event").is_some()
        || header(headers, "x-hub-signature-256").is_some()
    {
        Provider::GitHub
    } else if header(headers, "x-gitlab-event").is_some()
        || header(headers, "x-gitlab-token").is_some()
    {
        Provider::GitLab
    } else if header(headers, "x-event-key").is_some() {
        Provider::BitbucketServer
    } else if header(headers, "x-shipway-signature").is_some() {
        Provider::Generic
    } else {
        Provider::Unknown
    }
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hmac_ok(secret: &[u8], body: &[u8], signature: Option<&str>, prefix: &str) -> bool {
    let Some(hex) = signature.and_then(|s| s.trim().strip_prefix(prefix)) else {
        return false;
    };
    let Some(tag) = hex_decode(hex) else {
        return false;
    };
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), body, &tag).is_ok()
}

/// Whether the delivery is signed with `secret` the way its provider signs.
pub fn verify(provider: Provider, headers: &HeaderMap, body: &[u8], secret: &[u8]) -> bool {
    match provider {
        Provider::GitHub => hmac_ok(
            secret,
            body,
            header(headers, "x-hub-signature-256"),
            "sha256=",
        ),
        Provider::Gitea => hmac_ok(secret, body, header(headers, "x-gitea-signature"), ""),
        Provider::BitbucketServer => {
            hmac_ok(secret, body, header(headers, "x-hub-signature"), "sha256=")
        }
        Provider::Generic => hmac_ok(
            secret,
            body,
            header(headers, "x-shipway-signature"),
            "sha256=",
        ),
        Provider::GitLab => {
            // A shared token, not a signature: compare through HMAC tags so the
            // comparison takes the same time wherever the first difference is.
            let Some(given) = header(headers, "x-gitlab-token") else {
                return false;
            };
            let key = hmac::Key::new(hmac::HMAC_SHA256, b"shipway-gitlab-token");
            let expected = hmac::sign(&key, secret);
            hmac::verify(&key, given.as_bytes(), expected.as_ref()).is_ok()
        }
        Provider::Unknown => false,
    }
}

/// A push: the repository's URLs (every spelling the payload gives) and the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Clone and web URLs of the repository.
    pub urls: Vec<String>,
    /// The branch pushed, `None` when the payload names none (every app of the
    /// repository is refreshed).
    pub branch: Option<String>,
}

/// The push a payload describes; `None` when it is not a push (a ping, an issue event).
pub fn push(provider: Provider, payload: &Value) -> Option<Push> {
    let text = |pointer: &str| {
        payload
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let branch_of =
        |r: Option<String>| r.and_then(|r| r.strip_prefix("refs/heads/").map(str::to_string));
    let (urls, branch) = match provider {
        Provider::GitHub | Provider::Gitea => (
            [
                "/repository/clone_url",
                "/repository/html_url",
                "/repository/ssh_url",
                "/repository/url",
            ]
            .iter()
            .filter_map(|p| text(p))
            .collect::<Vec<_>>(),
            branch_of(text("/ref")),
        ),
        Provider::GitLab => (
            [
                "/project/git_http_url",
                "/project/git_ssh_url",
                "/project/web_url",
                "/repository/homepage",
            ]
            .iter()
            .filter_map(|p| text(p))
            .collect(),
            branch_of(text("/ref")),
        ),
        Provider::BitbucketServer => (
            payload
                .pointer("/repository/links/clone")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|l| l.get("href").and_then(Value::as_str).map(str::to_string))
                .collect(),
            branch_of(text("/changes/0/ref/id")),
        ),
        Provider::Generic => (
            text("/repository").into_iter().collect(),
            text("/branch").or_else(|| branch_of(text("/ref"))),
        ),
        Provider::Unknown => return None,
    };
    (!urls.is_empty()).then_some(Push { urls, branch })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), body);
        tag.as_ref().iter().fold(String::new(), |mut hex, b| {
            let _ = std::fmt::Write::write_fmt(&mut hex, format_args!("{b:02x}"));
            hex
        })
    }

    #[test]
    fn signatures_are_checked_per_provider() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let secret = b"s3cret";
        let mut github = HeaderMap::new();
        github.insert("x-github-event", HeaderValue::from_static("push"));
        github.insert(
            "x-hub-signature-256",
            HeaderValue::from_str(&format!("sha256={}", sign(secret, body))).unwrap(),
        );
        assert_eq!(provider(&github), Provider::GitHub);
        assert!(verify(Provider::GitHub, &github, body, secret));
        assert!(!verify(Provider::GitHub, &github, b"tampered", secret));
        assert!(!verify(Provider::GitHub, &github, body, b"other"));

        let mut gitea = HeaderMap::new();
        gitea.insert(
            "x-gitea-signature",
            HeaderValue::from_str(&sign(secret, body)).unwrap(),
        );
        assert_eq!(provider(&gitea), Provider::Gitea);
        assert!(verify(Provider::Gitea, &gitea, body, secret));

        let mut gitlab = HeaderMap::new();
        gitlab.insert("x-gitlab-event", HeaderValue::from_static("Push Hook"));
        gitlab.insert("x-gitlab-token", HeaderValue::from_static("s3cret"));
        assert!(verify(Provider::GitLab, &gitlab, body, secret));
        gitlab.insert("x-gitlab-token", HeaderValue::from_static("s3cres"));
        assert!(!verify(Provider::GitLab, &gitlab, body, secret));

        let unsigned = HeaderMap::new();
        assert!(!verify(provider(&unsigned), &unsigned, body, secret));
    }

    #[test]
    fn pushes_name_repository_and_branch() {
        let github = json!({"ref": "refs/heads/main", "repository": {"clone_url": "https://github.com/a/b.git", "ssh_url": "git@github.com:a/b.git"}});
        assert_eq!(
            push(Provider::GitHub, &github),
            Some(Push {
                urls: vec![
                    "https://github.com/a/b.git".into(),
                    "git@github.com:a/b.git".into()
                ],
                branch: Some("main".into())
            })
        );
        let tag = json!({"ref": "refs/tags/v1", "repository": {"clone_url": "https://x/y.git"}});
        assert_eq!(push(Provider::GitHub, &tag).unwrap().branch, None);
        let bitbucket = json!({"changes": [{"ref": {"id": "refs/heads/dev"}}], "repository": {"links": {"clone": [{"href": "ssh://git@bb/p/r.git"}]}}});
        assert_eq!(
            push(Provider::BitbucketServer, &bitbucket)
                .unwrap()
                .branch
                .as_deref(),
            Some("dev")
        );
        assert_eq!(push(Provider::GitHub, &json!({"zen": "ping"})), None);
    }
}
