//! Each service's request, built from a rendered notification, and how its answer is read.
//! Pure: requests are values ([`Outgoing`]), sent by the delivery loop; signatures are
//! computed here with the timestamp given.
//!
//! | service | request |
//! |---|---|
//! | Feishu/Lark | `{"msg_type":"interactive","card":{…}}`; with `secret`, body fields `timestamp` (seconds) and `sign` = base64(HMAC-SHA256(key = `timestamp + "\n" + secret`, message = "")) |
//! | Slack | `url`: the incoming webhook, `{"text", "blocks", "attachments"}`; `token`: `POST {apiURL}/chat.postMessage` with `Authorization: Bearer`, `channel` = the recipient |
//! | `DingTalk` | `{"msgtype":"markdown",…}`; with `secret`, query `timestamp` (ms) and `sign` = URL-encoded base64(HMAC-SHA256(key = secret, message = `timestamp + "\n" + secret`)) |
//! | `WeCom` | `{"msgtype":"markdown","markdown":{"content"}}` |
//! | Teams | a workflow webhook: `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{AdaptiveCard}}]}`, URL from `recipientUrls[recipient]` or `url` |
//! | webhook | the template's `webhook.<name>` `{method, path, body}`, else `POST` of a JSON event; `headers`, `basicAuth`; with `secret`, `X-Shipway-Timestamp` and `X-Shipway-Signature: sha256=<hex HMAC-SHA256(secret, body)>` |
//! | GitHub | `POST /repos/{owner}/{repo}/statuses/{sha}` (`github.status`) and a deployment with its status (`github.deployment`), `Authorization: Bearer {token}` |
//! | GitLab | `POST {url}/api/v4/projects/{path}/statuses/{sha}` with `PRIVATE-TOKEN` |

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::config::{Service, ServiceKind};

/// One HTTP request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// `POST`, `PUT`, `GET`.
    pub method: String,
    /// The whole URL. A later request of a chain may hold `{id}`: the `id` of the previous
    /// answer's JSON (a GitHub deployment).
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// How an answer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered.
    Delivered,
    /// Try again (after the given wait, when the service said).
    Retry(String, Option<Duration>),
    /// Failed for good: a configuration or payload error.
    Fail(String),
}

/// Checks a service's settings when the configuration is loaded.
pub(crate) fn validate(service: &Service) -> Result<(), String> {
    let need = |key: &str| -> Result<(), String> {
        service
            .get(key)
            .map(|_| ())
            .ok_or_else(|| format!("`{key}` is required"))
    };
    match service.kind {
        ServiceKind::Feishu | ServiceKind::DingTalk | ServiceKind::WeCom | ServiceKind::Webhook => {
            need("url")
        }
        ServiceKind::Slack => {
            if service.get("url").is_none() && service.get("token").is_none() {
                Err("`token` (chat.postMessage) or `url` (an incoming webhook) is required".into())
            } else {
                Ok(())
            }
        }
        ServiceKind::Teams => {
            let has_map = service
                .settings
                .get("recipientUrls")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty());
            if has_map || service.get("url").is_some() {
                Ok(())
            } else {
                Err("`recipientUrls` (recipient → workflow URL) or `url` is required".into())
            }
        }
        ServiceKind::GitHub | ServiceKind::GitLab => need("token"),
    }
}

fn json_body(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn json_headers() -> Vec<(String, String)> {
    vec![(
        "Content-Type".into(),
        "application/json; charset=utf-8".into(),
    )]
}

/// HMAC-SHA256 with `ring`.
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, message).as_ref().to_vec()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn string(notification: &Value, path: &[&str]) -> String {
    let mut value = notification;
    for part in path {
        value = value.get(part).unwrap_or(&Value::Null);
    }
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A block given as JSON text (Argo CD's `slack.attachments`) or as structure.
fn json_block(notification: &Value, path: &[&str]) -> Result<Option<Value>, String> {
    let mut value = notification;
    for part in path {
        value = value.get(part).unwrap_or(&Value::Null);
    }
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| format!("template block `{}` is not JSON: {e}", path.join("."))),
        other => Ok(Some(other.clone())),
    }
}

fn title(notification: &Value) -> String {
    let title = string(notification, &["title"]);
    if title.is_empty() {
        string(notification, &["message"])
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    } else {
        title
    }
}

/// The requests that deliver `notification` to `recipient` over `service`, at `now`
/// (seconds and milliseconds since the epoch, for signatures).
pub fn build(
    service: &Service,
    notification: &Value,
    recipient: &str,
    now: jiff::Timestamp,
) -> Result<Vec<Outgoing>, String> {
    let message = string(notification, &["message"]);
    let link = string(notification, &["url"]);
    let url = service.get("url").unwrap_or_default().to_string();
    match service.kind {
        ServiceKind::Feishu => {
            let card = if let Some(card) = json_block(notification, &["feishu", "card"])? {
                card
            } else {
                let mut elements = vec![json!({"tag": "markdown", "content": message})];
                if !link.is_empty() {
                    elements.push(json!({"tag": "action", "actions": [{
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": "Open"},
                        "url": link,
                        "type": "primary",
                    }]}));
                }
                let color = string(notification, &["feishu", "template"]);
                let color = if color.is_empty() {
                    string(notification, &["color"])
                } else {
                    color
                };
                let mut header_title = string(notification, &["feishu", "title"]);
                if header_title.is_empty() {
                    header_title = title(notification);
                }
                json!({
                    "config": {"wide_screen_mode": true},
                    "header": {
                        "title": {"tag": "plain_text", "content": header_title},
                        "template": if color.is_empty() { "blue".to_string() } else { color },
                    },
                    "elements": elements,
                })
            };
            let mut body = json!({"msg_type": "interactive", "card": card});
            if let Some(secret) = service.get("secret") {
                let timestamp = now.as_second().to_string();
                let key = format!("{timestamp}\n{secret}");
                body["timestamp"] = json!(timestamp);
                body["sign"] = json!(base64(&hmac(key.as_bytes(), b"")));
            }
            Ok(vec![post(url, json_headers(), json_body(&body))])
        }
        ServiceKind::Slack => {
            let mut body = json!({"text": message});
            if let Some(blocks) = json_block(notification, &["slack", "blocks"])? {
                body["blocks"] = blocks;
            }
            if let Some(attachments) = json_block(notification, &["slack", "attachments"])? {
                body["attachments"] = attachments;
            }
            if let Some(token) = service.get("token") {
                body["channel"] = json!(recipient);
                let username = string(notification, &["slack", "username"]);
                let username = if username.is_empty() {
                    service.get("username").unwrap_or_default().to_string()
                } else {
                    username
                };
                if !username.is_empty() {
                    body["username"] = json!(username);
                }
                let icon = string(notification, &["slack", "icon"]);
                let icon = if icon.is_empty() {
                    service.get("icon").unwrap_or_default().to_string()
                } else {
                    icon
                };
                if icon.starts_with(':') {
                    body["icon_emoji"] = json!(icon);
                } else if !icon.is_empty() {
                    body["icon_url"] = json!(icon);
                }
                if service.get("disableUnfurl") == Some("true")
                    || service.settings.get("disableUnfurl") == Some(&Value::Bool(true))
                {
                    body["unfurl_links"] = json!(false);
                    body["unfurl_media"] = json!(false);
                }
                let api = service
                    .get("apiURL")
                    .unwrap_or("https://slack.com/api/")
                    .trim_end_matches('/');
                let mut headers = json_headers();
                headers.push(("Authorization".into(), format!("Bearer {token}")));
                Ok(vec![post(
                    format!("{api}/chat.postMessage"),
                    headers,
                    json_body(&body),
                )])
            } else {
                Ok(vec![post(url, json_headers(), json_body(&body))])
            }
        }
        ServiceKind::DingTalk => {
            let mut heading = string(notification, &["dingtalk", "title"]);
            if heading.is_empty() {
                heading = title(notification);
            }
            let body =
                json!({"msgtype": "markdown", "markdown": {"title": heading, "text": message}});
            let mut target = url;
            if let Some(secret) = service.get("secret") {
                let timestamp = now.as_millisecond().to_string();
                let text = format!("{timestamp}\n{secret}");
                let sign = percent_encode(&base64(&hmac(secret.as_bytes(), text.as_bytes())));
                let separator = if target.contains('?') { '&' } else { '?' };
                target = format!("{target}{separator}timestamp={timestamp}&sign={sign}");
            }
            Ok(vec![post(target, json_headers(), json_body(&body))])
        }
        ServiceKind::WeCom => {
            let body = json!({"msgtype": "markdown", "markdown": {"content": message}});
            Ok(vec![post(url, json_headers(), json_body(&body))])
        }
        ServiceKind::Teams => {
            let target = service
                .settings
                .get("recipientUrls")
                .and_then(|m| m.get(recipient))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| service.get("url").map(str::to_string))
                .ok_or_else(|| format!("no `recipientUrls` entry for recipient `{recipient}`"))?;
            let mut heading = string(notification, &["teams", "title"]);
            if heading.is_empty() {
                heading = title(notification);
            }
            let mut text = string(notification, &["teams", "text"]);
            if text.is_empty() {
                text = message;
            }
            let mut card_body = vec![
                json!({"type": "TextBlock", "text": heading, "weight": "Bolder", "size": "Medium", "wrap": true}),
                json!({"type": "TextBlock", "text": text, "wrap": true}),
            ];
            if let Some(Value::Array(facts)) = json_block(notification, &["teams", "facts"])? {
                let facts: Vec<Value> = facts
                    .iter()
                    .map(|f| json!({"title": string(f, &["name"]), "value": string(f, &["value"])}))
                    .collect();
                card_body.push(json!({"type": "FactSet", "facts": facts}));
            }
            let mut card = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": card_body,
            });
            if !link.is_empty() {
                card["actions"] = json!([{"type": "Action.OpenUrl", "title": "Open", "url": link}]);
            }
            let body = json!({"type": "message", "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }]});
            Ok(vec![post(target, json_headers(), json_body(&body))])
        }
        ServiceKind::Webhook => {
            let block = notification
                .get("webhook")
                .and_then(|w| w.get(&service.name))
                .cloned()
                .unwrap_or(Value::Null);
            let method = string(&block, &["method"]);
            let method = if method.is_empty() {
                "POST".to_string()
            } else {
                method.to_ascii_uppercase()
            };
            let path = string(&block, &["path"]);
            let sent_at = now.as_second();
            let body = if block.get("body").is_some() {
                string(&block, &["body"]).into_bytes()
            } else {
                json_body(&json!({
                    "app": notification.get("app"),
                    "trigger": notification.get("trigger"),
                    "revision": notification.get("revision"),
                    "recipient": recipient,
                    "title": title(notification),
                    "message": message,
                    "url": link,
                    "event": notification.get("event"),
                    "sentAt": sent_at,
                }))
            };
            let mut headers = json_headers();
            for header in service
                .settings
                .get("headers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = string(header, &["name"]);
                if name.is_empty() {
                    continue;
                }
                headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                headers.push((name, string(header, &["value"])));
            }
            if let Some(auth) = service.settings.get("basicAuth") {
                let pair = format!(
                    "{}:{}",
                    string(auth, &["username"]),
                    string(auth, &["password"])
                );
                headers.push((
                    "Authorization".into(),
                    format!("Basic {}", base64(pair.as_bytes())),
                ));
            }
            if let Some(key) = notification.get("key").and_then(Value::as_str) {
                headers.push(("X-Shipway-Delivery".into(), key.to_string()));
            }
            if let Some(secret) = service.get("secret") {
                headers.push(("X-Shipway-Timestamp".into(), sent_at.to_string()));
                let digest =
                    hmac(secret.as_bytes(), &body)
                        .iter()
                        .fold(String::new(), |mut hex, b| {
                            let _ = write!(hex, "{b:02x}");
                            hex
                        });
                headers.push(("X-Shipway-Signature".into(), format!("sha256={digest}")));
            }
            Ok(vec![Outgoing {
                method,
                url: format!("{url}{path}"),
                headers,
                body,
            }])
        }
        ServiceKind::GitHub => github(service, notification),
        ServiceKind::GitLab => gitlab(service, notification),
    }
}

fn post(url: String, headers: Vec<(String, String)>, body: Vec<u8>) -> Outgoing {
    Outgoing {
        method: "POST".into(),
        url,
        headers,
        body,
    }
}

/// `owner/repo` style path of a repository URL (`https://host/a/b.git`, `git@host:a/b`).
fn repository_path(url: &str) -> Option<(String, String)> {
    let text = url.trim();
    let rest = if let Some(rest) = text.strip_prefix("git@") {
        rest.replacen(':', "/", 1)
    } else {
        let without = text.split_once("://").map_or(text, |(_, r)| r);
        without
            .rsplit_once('@')
            .map_or(without, |(_, r)| r)
            .to_string()
    };
    let (host, path) = rest.split_once('/')?;
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (!path.is_empty()).then(|| (host.to_string(), path.to_string()))
}

fn github(service: &Service, notification: &Value) -> Result<Vec<Outgoing>, String> {
    let token = service.get("token").unwrap_or_default();
    let api = service
        .get("apiURL")
        .or_else(|| service.get("enterpriseBaseURL"))
        .unwrap_or("https://api.github.com")
        .trim_end_matches('/')
        .to_string();
    let repo_url = string(notification, &["github", "repoURLPath"]);
    let (_, path) = repository_path(&repo_url)
        .ok_or_else(|| format!("`{repo_url}` is not a GitHub repository URL"))?;
    let sha = string(notification, &["github", "revisionPath"]);
    if sha.is_empty() {
        return Err("the notification has no revision to set a status on".into());
    }
    let headers = {
        let mut h = json_headers();
        h.push(("Accept".into(), "application/vnd.github+json".into()));
        h.push(("Authorization".into(), format!("Bearer {token}")));
        h.push(("X-GitHub-Api-Version".into(), "2022-11-28".into()));
        h.push(("User-Agent".into(), "shipway".into()));
        h
    };
    let description: String = title(notification).chars().take(140).collect();
    let mut out = Vec::new();
    if let Some(status) = notification.get("github").and_then(|g| g.get("status")) {
        let mut label = string(status, &["label"]);
        if label.is_empty() {
            label = "continuous-delivery/shipway".into();
        }
        let mut body = json!({"state": string(status, &["state"]), "description": description, "context": label});
        let target = string(status, &["targetURL"]);
        if !target.is_empty() {
            body["target_url"] = json!(target);
        }
        out.push(post(
            format!("{api}/repos/{path}/statuses/{sha}"),
            headers.clone(),
            json_body(&body),
        ));
    }
    if let Some(deployment) = notification.get("github").and_then(|g| g.get("deployment")) {
        let environment = string(deployment, &["environment"]);
        let auto_merge = string(deployment, &["autoMerge"]) != "false";
        let mut contexts = Vec::new();
        for c in deployment
            .get("requiredContexts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            contexts.push(c.clone());
        }
        let mut reference = string(deployment, &["reference"]);
        if reference.is_empty() {
            reference.clone_from(&sha);
        }
        let create = json!({
            "ref": reference,
            "environment": environment,
            "auto_merge": auto_merge,
            "required_contexts": contexts,
            "transient_environment": string(deployment, &["transientEnvironment"]) == "true",
            "description": description,
        });
        out.push(post(
            format!("{api}/repos/{path}/deployments"),
            headers.clone(),
            json_body(&create),
        ));
        let mut status = json!({"state": string(deployment, &["state"]), "environment": environment, "description": description});
        for (from, to) in [("environmentURL", "environment_url"), ("logURL", "log_url")] {
            let value = string(deployment, &[from]);
            if !value.is_empty() {
                status[to] = json!(value);
            }
        }
        out.push(post(
            format!("{api}/repos/{path}/deployments/{{id}}/statuses"),
            headers,
            json_body(&status),
        ));
    }
    if out.is_empty() {
        return Err("the template has no `github.status` or `github.deployment`".into());
    }
    Ok(out)
}

fn gitlab(service: &Service, notification: &Value) -> Result<Vec<Outgoing>, String> {
    let token = service.get("token").unwrap_or_default();
    let base = service
        .get("url")
        .unwrap_or("https://gitlab.com")
        .trim_end_matches('/')
        .to_string();
    let repo_url = string(notification, &["gitlab", "repoURLPath"]);
    let (_, path) = repository_path(&repo_url)
        .ok_or_else(|| format!("`{repo_url}` is not a GitLab repository URL"))?;
    let sha = string(notification, &["gitlab", "revisionPath"]);
    if sha.is_empty() {
        return Err("the notification has no revision to set a status on".into());
    }
    let Some(status) = notification.get("gitlab").and_then(|g| g.get("status")) else {
        return Err("the template has no `gitlab.status`".into());
    };
    let mut name = string(status, &["name"]);
    if name.is_empty() {
        name = "shipway".into();
    }
    let mut body = json!({
        "state": string(status, &["state"]),
        "name": name,
        "description": title(notification).chars().take(255).collect::<String>(),
    });
    let target = string(status, &["targetURL"]);
    if !target.is_empty() {
        body["target_url"] = json!(target);
    }
    let mut headers = json_headers();
    headers.push(("PRIVATE-TOKEN".into(), token.to_string()));
    Ok(vec![post(
        format!(
            "{base}/api/v4/projects/{}/statuses/{sha}",
            percent_encode(&path)
        ),
        headers,
        json_body(&body),
    )])
}

/// Reads an answer: the HTTP status, `Retry-After` (already parsed), and the body, which the
/// Chinese bots use for errors under HTTP 200.
pub fn classify(
    service: &Service,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Verdict {
    let text = String::from_utf8_lossy(body);
    let short: String = shipway_model::text::escape_control(text.trim())
        .chars()
        .take(300)
        .collect();
    let short = service.redact(&short);
    if status == 429 {
        return Verdict::Retry(format!("HTTP 429: {short}"), retry_after);
    }
    if status >= 500 {
        return if status == 501 {
            Verdict::Fail(format!("HTTP {status}: {short}"))
        } else {
            Verdict::Retry(format!("HTTP {status}: {short}"), retry_after)
        };
    }
    if !(200..300).contains(&status) {
        if service.kind == ServiceKind::GitLab
            && status == 400
            && text.contains("Cannot transition status")
        {
            // GitLab refuses to set the state a status already has: it is set.
            return Verdict::Delivered;
        }
        return Verdict::Fail(format!("HTTP {status}: {short}"));
    }
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = |key: &str| json.get(key).and_then(Value::as_i64);
    match service.kind {
        ServiceKind::Feishu => match code("code").or_else(|| code("StatusCode")) {
            Some(0) => Verdict::Delivered,
            Some(11232) => Verdict::Retry(format!("Feishu is rate limiting: {short}"), None),
            Some(other) => Verdict::Fail(format!("Feishu answered code {other}: {short}")),
            None => Verdict::Fail(format!("Feishu answered without a code: {short}")),
        },
        ServiceKind::DingTalk | ServiceKind::WeCom => match code("errcode") {
            Some(0) => Verdict::Delivered,
            Some(130_101 | 45009 | 90018) => Verdict::Retry(format!("rate limited: {short}"), None),
            Some(other) => Verdict::Fail(format!("answered errcode {other}: {short}")),
            None => Verdict::Fail(format!("answered without an errcode: {short}")),
        },
        ServiceKind::Slack if service.get("token").is_some() => {
            match json.get("ok").and_then(Value::as_bool) {
                Some(true) => Verdict::Delivered,
                _ if json.get("error").and_then(Value::as_str) == Some("ratelimited") => {
                    Verdict::Retry("Slack is rate limiting".into(), retry_after)
                }
                _ => Verdict::Fail(format!("Slack answered: {short}")),
            }
        }
        _ => Verdict::Delivered,
    }
}

/// `Retry-After`: seconds, or an HTTP date, relative to `now`.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = date.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now: jiff::Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Mon, 07 Dec 2026 10:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Mon, 07 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn repository_paths() {
        assert_eq!(
            repository_path("https://github.com/acme/shop.git"),
            Some(("github.com".into(), "acme/shop".into()))
        );
        assert_eq!(
            repository_path("git@gitlab.com:group/sub/app.git"),
            Some(("gitlab.com".into(), "group/sub/app".into()))
        );
        assert_eq!(repository_path("https://github.com"), None);
        assert_eq!(percent_encode("group/sub app+="), "group%2Fsub%20app%2B%3D");
    }
}
