//! Delivery against local HTTP receivers standing in for each service (nothing reaches the
//! internet): each service's payload shape, the Feishu, `DingTalk` and webhook signatures
//! checked with a separate computation of the published algorithms, retries and
//! `Retry-After`, giving up, and no duplicate after a restart mid-delivery.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use shipway_notify::{
    AppInfo, Config, Delivery, Destination, Event, EventKind, FailedObject, Notifier, Secrets,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap()
    }

    fn query(&self, key: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    }
}

/// `(status, extra headers, body)` for the n-th request (0-based).
type Script = dyn Fn(usize, &Received) -> (u16, Vec<(String, String)>, String) + Send + Sync;

/// A plain-HTTP receiver on 127.0.0.1; stops when dropped.
struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(
        script: impl Fn(usize, &Received) -> (u16, Vec<(String, String)>, String)
        + Send
        + Sync
        + 'static,
    ) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let task = tokio::spawn({
            let received = Arc::clone(&received);
            async move {
                loop {
                    let Ok((mut stream, _)) = listener.accept().await else {
                        return;
                    };
                    let received = Arc::clone(&received);
                    let script = Arc::clone(&script);
                    tokio::spawn(async move {
                        let Some(request) = read_request(&mut stream).await else {
                            return;
                        };
                        let index = {
                            let mut all = received.lock().unwrap();
                            all.push(request.clone());
                            all.len() - 1
                        };
                        let (status, headers, body) = script(index, &request);
                        let mut response = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (name, value) in headers {
                            let _ = write!(response, "{name}: {value}\r\n");
                        }
                        response.push_str("\r\n");
                        response.push_str(&body);
                        let _ = stream.write_all(response.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    });
                }
            }
        });
        Receiver {
            address,
            received,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        method,
        target,
        headers,
        body,
        at: Instant::now(),
    })
}

fn ok(body: &str) -> (u16, Vec<(String, String)>, String) {
    (200, vec![], body.to_string())
}

/// HMAC-SHA256, computed here with ring's primitive directly, not with the crate's code.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, message).as_ref().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Form-style percent decoding, enough for a base64 signature.
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn fast() -> Delivery {
    Delivery {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    }
}

fn app(annotations: &[(&str, &str)]) -> AppInfo {
    AppInfo {
        name: "shop".into(),
        namespace: "argocd".into(),
        project: "default".into(),
        repo_url: "https://github.com/acme/shop.git".into(),
        path: "deploy/prod".into(),
        target_revision: "main".into(),
        annotations: annotations
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        ..AppInfo::default()
    }
}

const SHA: &str = "4f2a9c1e0b7d3a5f6e8c9d0a1b2c3d4e5f6a7b8c";

fn failed_sync(app: AppInfo) -> Event {
    let mut event = Event::new(EventKind::Sync, app, SHA);
    event.phase = Some("Failed".into());
    event.sync_status = "OutOfSync".into();
    event.health = "Degraded".into();
    event.message = "not healthy after 60s".into();
    event.failed = vec![FailedObject {
        kind: "Deployment".into(),
        namespace: "shop".into(),
        name: "web".into(),
        reason: "ImagePullBackOff".into(),
    }];
    event
}

fn notifier(data: &Value, secrets: &Secrets, queue: Option<&std::path::Path>) -> Notifier {
    let config = Config::from_data(data, secrets, "notify.yaml").unwrap();
    Notifier::new(config, queue, fast()).unwrap()
}

async fn send(notifier: &Notifier, event: &Event) -> shipway_notify::Drained {
    let destinations = notifier.config().destinations(&event.app).unwrap();
    let queued = notifier.notify(event, &destinations).unwrap();
    assert!(queued.errors.is_empty(), "{:?}", queued.errors);
    notifier.drain(Duration::from_secs(20)).await.unwrap()
}

macro_rules! timed {
    ($body:expr) => {
        tokio::time::timeout(Duration::from_secs(60), $body)
            .await
            .expect("the test timed out")
    };
}

#[tokio::test]
async fn feishu_card_is_signed_as_published() {
    timed!(async {
        let receiver = Receiver::start(|_, _| ok(r#"{"code":0,"msg":"success","data":{}}"#)).await;
        let mut secrets = Secrets::none();
        secrets.insert("feishu-secret", "fs-secret-value");
        let data = json!({
            "service.feishu": format!("url: {}\nsecret: $feishu-secret\n", receiver.url("/open-apis/bot/v2/hook/hook-token")),
            "context": "argocdUrl: https://cd.example\n",
        });
        let notifier = notifier(&data, &secrets, None);
        let before = jiff::Timestamp::now().as_second();
        let drained = send(
            &notifier,
            &failed_sync(app(&[(
                "notifications.argoproj.io/subscribe.on-sync-failed.feishu",
                "",
            )])),
        )
        .await;
        assert_eq!(drained.delivered, 1, "{drained:?}");
        let requests = receiver.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), "/open-apis/bot/v2/hook/hook-token");
        let body = request.json();
        assert_eq!(body["msg_type"], "interactive");
        let card = &body["card"];
        assert_eq!(card["header"]["title"]["tag"], "plain_text");
        assert_eq!(card["header"]["title"]["content"], "Sync of shop failed");
        assert_eq!(card["header"]["template"], "red");
        let markdown = card["elements"][0]["content"].as_str().unwrap();
        assert_eq!(card["elements"][0]["tag"], "markdown");
        assert!(markdown.contains(&format!("Revision: {SHA}")), "{markdown}");
        assert!(
            markdown.contains("- Deployment/web: ImagePullBackOff"),
            "{markdown}"
        );
        assert_eq!(
            card["elements"][1]["actions"][0]["url"],
            "https://cd.example/applications/shop"
        );
        // The published algorithm: key = "<timestamp>\n<secret>", message empty, base64.
        let timestamp = body["timestamp"].as_str().unwrap();
        let seconds: i64 = timestamp.parse().unwrap();
        assert!(seconds >= before && seconds <= before + 60, "{timestamp}");
        let expected = b64(&hmac_sha256(
            format!("{timestamp}\nfs-secret-value").as_bytes(),
            b"",
        ));
        assert_eq!(body["sign"], expected);
    });
}

#[tokio::test]
async fn dingtalk_is_signed_in_the_query() {
    timed!(async {
        let receiver = Receiver::start(|_, _| ok(r#"{"errcode":0,"errmsg":"ok"}"#)).await;
        let mut secrets = Secrets::none();
        secrets.insert("ding", "SEC0123456789abcdef");
        let data = json!({
            "service.dingtalk": format!("url: {}\nsecret: $ding\n", receiver.url("/robot/send?access_token=tok123")),
        });
        let notifier = notifier(&data, &secrets, None);
        let before = jiff::Timestamp::now().as_millisecond();
        let drained = send(
            &notifier,
            &failed_sync(app(&[(
                "notifications.argoproj.io/subscribe.on-sync-failed.dingtalk",
                "",
            )])),
        )
        .await;
        assert_eq!(drained.delivered, 1, "{drained:?}");
        let request = &receiver.requests()[0];
        assert_eq!(request.path(), "/robot/send");
        assert_eq!(request.query("access_token").as_deref(), Some("tok123"));
        let timestamp = request.query("timestamp").unwrap();
        let millis: i64 = timestamp.parse().unwrap();
        assert!(millis >= before && millis <= before + 60_000);
        // key = secret, message = "<timestamp>\n<secret>", base64 then URL-encoded.
        let expected = b64(&hmac_sha256(
            b"SEC0123456789abcdef",
            format!("{timestamp}\nSEC0123456789abcdef").as_bytes(),
        ));
        let sign = request.query("sign").unwrap();
        assert_eq!(url_decode(&sign), expected);
        assert!(
            !sign.contains('+') && !sign.contains('/') && !sign.contains('='),
            "{sign}"
        );
        let body = request.json();
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(body["markdown"]["title"], "Sync of shop failed");
        assert!(
            body["markdown"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Sync of shop failed\n")
        );
    });
}

#[tokio::test]
async fn slack_webhook_and_chat_post_message() {
    timed!(async {
        let hook = Receiver::start(|_, _| ok("ok")).await;
        let api = Receiver::start(|_, r| {
            let channel = r.json()["channel"].as_str().unwrap_or_default().to_string();
            ok(&format!(
                r#"{{"ok":true,"channel":"{channel}","ts":"1.2"}}"#
            ))
        })
        .await;
        let mut secrets = Secrets::none();
        secrets.insert("slack-token", "xoxb-secret-token");
        let data = json!({
            "service.slack": format!("token: $slack-token\napiURL: {}\nusername: shipway\nicon: \":rocket:\"\n", api.url("/api")),
            "service.slack.hook": format!("url: {}\n", hook.url("/services/T0/B0/XYZ")),
            "template.app-sync-failed": "message: \"{{.app.metadata.name}} failed\"\nslack:\n  attachments: |\n    [{\"color\": \"danger\", \"title\": \"{{.app.metadata.name}}\"}]\n",
        });
        let notifier = notifier(&data, &secrets, None);
        let drained = send(
            &notifier,
            &failed_sync(app(&[
                (
                    "notifications.argoproj.io/subscribe.on-sync-failed.slack",
                    "C01; C02",
                ),
                (
                    "notifications.argoproj.io/subscribe.on-sync-failed.hook",
                    "",
                ),
            ])),
        )
        .await;
        assert_eq!(drained.delivered, 3, "{drained:?}");
        let posts = api.requests();
        assert_eq!(posts.len(), 2);
        let mut channels: Vec<String> = posts
            .iter()
            .map(|p| p.json()["channel"].as_str().unwrap().to_string())
            .collect();
        channels.sort();
        assert_eq!(channels, ["C01", "C02"]);
        for post in &posts {
            assert_eq!(post.path(), "/api/chat.postMessage");
            assert_eq!(
                post.header("authorization"),
                Some("Bearer xoxb-secret-token")
            );
            let body = post.json();
            assert_eq!(body["text"], "shop failed");
            assert_eq!(body["username"], "shipway");
            assert_eq!(body["icon_emoji"], ":rocket:");
            assert_eq!(
                body["attachments"],
                json!([{"color": "danger", "title": "shop"}])
            );
        }
        let hooked = hook.requests();
        assert_eq!(hooked.len(), 1);
        let body = hooked[0].json();
        assert_eq!(body["text"], "shop failed");
        assert!(body.get("channel").is_none());
        assert!(hooked[0].header("authorization").is_none());
    });
}

#[tokio::test]
async fn wecom_and_teams_payloads() {
    timed!(async {
        let wecom = Receiver::start(|_, _| ok(r#"{"errcode":0,"errmsg":"ok"}"#)).await;
        let teams = Receiver::start(|_, _| (202, vec![], String::new())).await;
        let data = json!({
            "service.wecom": format!("url: {}\n", wecom.url("/cgi-bin/webhook/send?key=abc-key")),
            "service.teams": format!("recipientUrls:\n  ops: {}\n  dev: {}\n", teams.url("/workflows/ops"), teams.url("/workflows/dev")),
            "context": "argocdUrl: https://cd.example\n",
        });
        let notifier = notifier(&data, &Secrets::none(), None);
        let drained = send(
            &notifier,
            &failed_sync(app(&[
                (
                    "notifications.argoproj.io/subscribe.on-sync-failed.wecom",
                    "",
                ),
                (
                    "notifications.argoproj.io/subscribe.on-sync-failed.teams",
                    "ops;dev",
                ),
            ])),
        )
        .await;
        assert_eq!(drained.delivered, 3, "{drained:?}");
        let w = &wecom.requests()[0];
        assert_eq!(w.query("key").as_deref(), Some("abc-key"));
        let body = w.json();
        assert_eq!(body["msgtype"], "markdown");
        assert!(
            body["markdown"]["content"]
                .as_str()
                .unwrap()
                .contains("Sync of shop failed")
        );
        let mut paths: Vec<String> = teams
            .requests()
            .iter()
            .map(|r| r.path().to_string())
            .collect();
        paths.sort();
        assert_eq!(paths, ["/workflows/dev", "/workflows/ops"]);
        let body = teams.requests()[0].json();
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(
            card["$schema"],
            "http://adaptivecards.io/schemas/adaptive-card.json"
        );
        assert_eq!(card["body"][0]["type"], "TextBlock");
        assert_eq!(card["body"][0]["text"], "Sync of shop failed");
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(
            card["actions"][0]["url"],
            "https://cd.example/applications/shop"
        );
    });
}

#[tokio::test]
async fn generic_webhook_is_signed_with_hmac_of_the_body() {
    timed!(async {
        let receiver = Receiver::start(|_, _| (204, vec![], String::new())).await;
        let mut secrets = Secrets::none();
        secrets.insert("hook-secret", "whsec-0123");
        secrets.insert("ci-token", "ci-bearer-1");
        let data = json!({
            "service.webhook.ci": format!(
                "url: {}\nsecret: $hook-secret\nheaders:\n- name: Authorization\n  value: Bearer $ci-token\n",
                receiver.url("/hooks")
            ),
        });
        let notifier = notifier(&data, &secrets, None);
        let before = jiff::Timestamp::now().as_second();
        let drained = send(
            &notifier,
            &failed_sync(app(&[(
                "notifications.argoproj.io/subscribe.on-sync-failed.ci",
                "",
            )])),
        )
        .await;
        assert_eq!(drained.delivered, 1, "{drained:?}");
        let request = &receiver.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), "/hooks");
        assert_eq!(request.header("authorization"), Some("Bearer ci-bearer-1"));
        let timestamp: i64 = request
            .header("x-shipway-timestamp")
            .unwrap()
            .parse()
            .unwrap();
        assert!(timestamp >= before && timestamp <= before + 60);
        let digest =
            hmac_sha256(b"whsec-0123", &request.body)
                .iter()
                .fold(String::new(), |mut hex, b| {
                    let _ = write!(hex, "{b:02x}");
                    hex
                });
        assert_eq!(
            request.header("x-shipway-signature"),
            Some(format!("sha256={digest}").as_str())
        );
        assert!(request.header("x-shipway-delivery").is_some());
        let body = request.json();
        // The timestamp is inside the signed body too, so a replay cannot move it.
        assert_eq!(body["sentAt"], json!(timestamp));
        assert_eq!(body["app"], "shop");
        assert_eq!(body["trigger"], "on-sync-failed");
        assert_eq!(body["revision"], SHA);
        assert_eq!(body["event"]["phase"], "Failed");
        assert_eq!(body["event"]["failed"][0]["reason"], "ImagePullBackOff");
    });
}

#[tokio::test]
async fn github_commit_and_deployment_status_and_gitlab_status() {
    timed!(async {
        let github = Receiver::start(|_, r| {
            if r.path().ends_with("/deployments") {
                (201, vec![], r#"{"id":42}"#.into())
            } else {
                (201, vec![], "{}".into())
            }
        })
        .await;
        let gitlab = Receiver::start(|_, _| {
            (
                400,
                vec![],
                r#"{"message":"Cannot transition status via :run from :running"}"#.into(),
            )
        })
        .await;
        let mut secrets = Secrets::none();
        secrets.insert("gh", "ghp_token");
        secrets.insert("gl", "glpat-token");
        let data = json!({
            "service.github": format!("token: $gh\napiURL: {}\n", github.url("/api/v3")),
            "service.gitlab": format!("token: $gl\nurl: {}\n", gitlab.url("")),
            "template.app-deployed": "message: deployed\ngithub:\n  status:\n    state: success\n    label: shipway/{{.app.metadata.name}}\n    targetURL: https://cd.example/shop\n  deployment:\n    state: success\n    environment: production\n    environmentURL: https://shop.example\n    requiredContexts: []\ngitlab:\n  status:\n    state: running\n    name: shipway\n",
        });
        let notifier = notifier(&data, &secrets, None);
        let mut event = Event::new(
            EventKind::Sync,
            app(&[
                ("notifications.argoproj.io/subscribe.on-deployed.github", ""),
                ("notifications.argoproj.io/subscribe.on-deployed.gitlab", ""),
            ]),
            SHA,
        );
        event.phase = Some("Succeeded".into());
        event.health = "Healthy".into();
        let drained = send(&notifier, &event).await;
        assert_eq!(drained.delivered, 2, "{drained:?}");
        let calls = github.requests();
        let paths: Vec<&str> = calls.iter().map(Received::path).collect();
        assert_eq!(
            paths,
            [
                format!("/api/v3/repos/acme/shop/statuses/{SHA}").as_str(),
                "/api/v3/repos/acme/shop/deployments",
                "/api/v3/repos/acme/shop/deployments/42/statuses",
            ]
        );
        for call in &calls {
            assert_eq!(call.header("authorization"), Some("Bearer ghp_token"));
            assert_eq!(call.header("accept"), Some("application/vnd.github+json"));
            assert_eq!(call.header("x-github-api-version"), Some("2022-11-28"));
        }
        assert_eq!(
            calls[0].json(),
            json!({"state": "success", "context": "shipway/shop", "description": "deployed", "target_url": "https://cd.example/shop"})
        );
        assert_eq!(calls[1].json()["ref"], SHA);
        assert_eq!(calls[1].json()["environment"], "production");
        assert_eq!(calls[2].json()["state"], "success");
        assert_eq!(calls[2].json()["environment_url"], "https://shop.example");
        let status = &gitlab.requests()[0];
        assert_eq!(
            status.path(),
            format!("/api/v4/projects/acme%2Fshop/statuses/{SHA}")
        );
        assert_eq!(status.header("private-token"), Some("glpat-token"));
        assert_eq!(status.json()["state"], "running");
        assert_eq!(status.json()["name"], "shipway");
    });
}

#[tokio::test]
async fn retries_honour_retry_after_and_give_up_with_the_failure_recorded() {
    timed!(async {
        // 503, then 429 with Retry-After: 1 (seconds), then 429 with an HTTP date, then 200.
        let receiver = Receiver::start(|n, _| match n {
            0 => (503, vec![], "busy".into()),
            1 => (
                429,
                vec![("Retry-After".into(), "1".into())],
                "slow down".into(),
            ),
            2 => {
                let date = jiff::fmt::rfc2822::DateTimePrinter::new()
                    .timestamp_to_rfc9110_string(
                        &(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2)),
                    )
                    .unwrap();
                (429, vec![("Retry-After".into(), date)], "slow down".into())
            }
            _ => (200, vec![], "{}".into()),
        })
        .await;
        let data = json!({"service.webhook.ci": format!("url: {}\n", receiver.url("/retry"))});
        let config = Config::from_data(&data, &Secrets::none(), "notify.yaml").unwrap();
        let notifier = Notifier::new(
            config,
            None,
            Delivery {
                max_attempts: 5,
                ..fast()
            },
        )
        .unwrap();
        let drained = send(
            &notifier,
            &failed_sync(app(&[(
                "notifications.argoproj.io/subscribe.on-sync-failed.ci",
                "",
            )])),
        )
        .await;
        assert_eq!(drained.delivered, 1, "{drained:?}");
        let requests = receiver.requests();
        assert_eq!(requests.len(), 4);
        let gap = |i: usize| requests[i].at.duration_since(requests[i - 1].at);
        assert!(
            gap(1) < Duration::from_millis(900),
            "backoff after a 503: {:?}",
            gap(1)
        );
        assert!(
            gap(2) >= Duration::from_millis(950),
            "Retry-After: 1 was not honoured: {:?}",
            gap(2)
        );
        // An HTTP date two seconds ahead, at one-second resolution: at least one second.
        assert!(
            gap(3) >= Duration::from_millis(950),
            "Retry-After date was not honoured: {:?}",
            gap(3)
        );
        assert_eq!(notifier.queue().all().unwrap()[0].attempts, 4);

        // Always 500: given up after max_attempts, the failure recorded.
        let failing = Receiver::start(|_, _| (500, vec![], "internal error".into())).await;
        let data = json!({"service.webhook.ci": format!("url: {}\n", failing.url("/x"))});
        let notifier = notifier_with(&data, fast());
        let drained = send(
            &notifier,
            &failed_sync(app(&[(
                "notifications.argoproj.io/subscribe.on-sync-failed.ci",
                "",
            )])),
        )
        .await;
        assert_eq!(drained.delivered, 0);
        assert_eq!(drained.failed.len(), 1);
        assert_eq!(failing.requests().len(), 4);
        assert_eq!(
            drained.failed[0].2,
            "gave up after 4 attempts: HTTP 500: internal error"
        );

        // A 400 is a payload or configuration error: not retried.
        let refusing = Receiver::start(|_, _| (400, vec![], "bad request".into())).await;
        let data = json!({"service.webhook.ci": format!("url: {}\n", refusing.url("/x"))});
        let notifier = notifier_with(&data, fast());
        let drained = send(
            &notifier,
            &failed_sync(app(&[(
                "notifications.argoproj.io/subscribe.on-sync-failed.ci",
                "",
            )])),
        )
        .await;
        assert_eq!(refusing.requests().len(), 1);
        assert_eq!(drained.failed[0].2, "HTTP 400: bad request");
    });
}

fn notifier_with(data: &Value, delivery: Delivery) -> Notifier {
    let config = Config::from_data(data, &Secrets::none(), "notify.yaml").unwrap();
    Notifier::new(config, None, delivery).unwrap()
}

#[tokio::test]
async fn connection_errors_are_retried_and_errors_hold_no_secret() {
    timed!(async {
        // A port nobody listens on: bind, note it, close.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut secrets = Secrets::none();
        secrets.insert("token", "very-secret-hook-token");
        let data = json!({
            "service.feishu": format!("url: http://127.0.0.1:{port}/open-apis/bot/v2/hook/$token\n"),
        });
        let config = Config::from_data(&data, &secrets, "notify.yaml").unwrap();
        let notifier = Notifier::new(config, None, fast()).unwrap();
        let drained = send(
            &notifier,
            &failed_sync(app(&[(
                "notifications.argoproj.io/subscribe.on-sync-failed.feishu",
                "",
            )])),
        )
        .await;
        assert_eq!(drained.failed.len(), 1, "{drained:?}");
        let error = &drained.failed[0].2;
        assert!(error.starts_with("gave up after 4 attempts: "), "{error}");
        assert!(!error.contains("very-secret-hook-token"), "{error}");
        let row = &notifier.queue().all().unwrap()[0];
        assert_eq!(row.attempts, 4);
        assert!(
            !row.notification.to_string().contains("very-secret"),
            "the queue holds no secret"
        );

        // A Feishu business error under HTTP 200 is a failure, with the code.
        let receiver = Receiver::start(|_, _| ok(r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#)).await;
        let data =
            json!({"service.feishu": format!("url: {}\nsecret: s\n", receiver.url("/hook"))});
        let notifier = notifier_with(&data, fast());
        let drained = send(
            &notifier,
            &failed_sync(app(&[(
                "notifications.argoproj.io/subscribe.on-sync-failed.feishu",
                "",
            )])),
        )
        .await;
        assert_eq!(receiver.requests().len(), 1);
        assert!(
            drained.failed[0]
                .2
                .starts_with("Feishu answered code 19021"),
            "{:?}",
            drained.failed
        );
    });
}

#[tokio::test]
async fn a_restart_mid_delivery_neither_loses_nor_repeats() {
    timed!(async {
        let dir = tempfile::tempdir().unwrap();
        let queue = dir.path().join("history.db");
        // The first request succeeds; the others fail with 503 until the switch flips.
        let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let receiver = Receiver::start({
            let healthy = Arc::clone(&healthy);
            move |n, _| {
                if n == 0 || healthy.load(std::sync::atomic::Ordering::SeqCst) {
                    (200, vec![], "{}".into())
                } else {
                    (503, vec![], "down".into())
                }
            }
        })
        .await;
        let data = json!({
            "service.teams": format!(
                "recipientUrls:\n  a: {}\n  b: {}\n  c: {}\n",
                receiver.url("/a"), receiver.url("/b"), receiver.url("/c")
            ),
        });
        let event = failed_sync(app(&[(
            "notifications.argoproj.io/subscribe.on-sync-failed.teams",
            "a;b;c",
        )]));
        let delivery = Delivery {
            max_attempts: 50,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(50),
            ..fast()
        };
        {
            let first = notifier_with_queue(&data, &queue, delivery);
            let destinations = first.config().destinations(&event.app).unwrap();
            assert_eq!(first.notify(&event, &destinations).unwrap().queued, 3);
            // Deliver for a while: one delivered, two retrying; then the process "dies".
            let drained = first.drain(Duration::from_millis(400)).await.unwrap();
            assert_eq!((drained.delivered, drained.pending), (1, 2), "{drained:?}");
        }
        healthy.store(true, std::sync::atomic::Ordering::SeqCst);
        let second = notifier_with_queue(&data, &queue, delivery);
        // The controller sees the same event again after its restart: nothing new is queued.
        let destinations = second.config().destinations(&event.app).unwrap();
        let again = second.notify(&event, &destinations).unwrap();
        assert_eq!((again.queued, again.duplicates), (0, 3));
        let drained = second.drain(Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            (drained.delivered, drained.pending, drained.failed.len()),
            (3, 0, 0)
        );
        // Exactly one accepted request per recipient.
        let accepted: Vec<String> = receiver
            .requests()
            .iter()
            .enumerate()
            .filter(|(n, _)| *n == 0)
            .map(|(_, r)| r.path().to_string())
            .collect();
        assert_eq!(accepted.len(), 1);
        let all = receiver.requests();
        let delivered_paths = |path: &str| all.iter().filter(|r| r.path() == path).count();
        let first_path = all[0].path().to_string();
        assert_eq!(
            delivered_paths(&first_path),
            1,
            "the delivered one was not sent again"
        );
        // The other two: failures before the restart, then one success each after it.
        let after_restart: Vec<&Received> = all.iter().rev().take(2).collect();
        let mut last_paths: Vec<&str> = after_restart.iter().map(|r| r.path()).collect();
        last_paths.sort_unstable();
        let mut expected: Vec<&str> = ["/a", "/b", "/c"]
            .into_iter()
            .filter(|p| *p != first_path)
            .collect();
        expected.sort_unstable();
        assert_eq!(last_paths, expected);
        let third = notifier_with_queue(&data, &queue, delivery);
        let third_destinations = third.config().destinations(&event.app).unwrap();
        assert_eq!(third.notify(&event, &third_destinations).unwrap().queued, 0);
        let before = receiver.requests().len();
        third.drain(Duration::from_millis(200)).await.unwrap();
        assert_eq!(receiver.requests().len(), before, "nothing is sent twice");
    });
}

fn notifier_with_queue(data: &Value, queue: &std::path::Path, delivery: Delivery) -> Notifier {
    let config = Config::from_data(data, &Secrets::none(), "notify.yaml").unwrap();
    Notifier::new(config, Some(queue), delivery).unwrap()
}

#[tokio::test]
async fn each_trigger_fires_once_per_revision_and_only_when_its_condition_holds() {
    timed!(async {
        let receiver = Receiver::start(|_, _| (200, vec![], "{}".into())).await;
        let data = json!({"service.webhook.ci": format!("url: {}\n", receiver.url("/t"))});
        let notifier = notifier_with(&data, fast());
        let app = app(&[
            ("notifications.argoproj.io/subscribe.on-sync-running.ci", ""),
            (
                "notifications.argoproj.io/subscribe.on-sync-succeeded.ci",
                "",
            ),
            ("notifications.argoproj.io/subscribe.on-sync-failed.ci", ""),
            ("notifications.argoproj.io/subscribe.on-deployed.ci", ""),
            (
                "notifications.argoproj.io/subscribe.on-health-degraded.ci",
                "",
            ),
            ("notifications.argoproj.io/subscribe.on-release.ci", ""),
        ]);
        let destinations = notifier.config().destinations(&app).unwrap();
        let mut running = Event::new(EventKind::Sync, app.clone(), SHA);
        running.phase = Some("Running".into());
        running.health = "Progressing".into();
        let mut done = running.clone();
        done.phase = Some("Succeeded".into());
        done.health = "Healthy".into();
        let release = Event::new(EventKind::Release, app.clone(), "1111111");
        for event in [&running, &running, &done, &done, &release, &release] {
            notifier.notify(event, &destinations).unwrap();
        }
        let drained = notifier.drain(Duration::from_secs(10)).await.unwrap();
        assert_eq!(drained.delivered, 4, "{drained:?}");
        let mut triggers: Vec<String> = receiver
            .requests()
            .iter()
            .map(|r| r.json()["trigger"].as_str().unwrap().to_string())
            .collect();
        triggers.sort();
        assert_eq!(
            triggers,
            [
                "on-deployed",
                "on-release",
                "on-sync-running",
                "on-sync-succeeded"
            ]
        );
        let destination = Destination {
            trigger: "on-sync-failed".into(),
            service: "ci".into(),
            recipient: String::new(),
        };
        assert_eq!(notifier.notify(&done, &[destination]).unwrap().queued, 0);
    });
}
