//! `sync`, `status` and `rollback` with `--server URL`: the same commands answered by a
//! running `shipway serve` through its JSON API, for people and CI jobs that have a token
//! but no kubeconfig or git push rights.
//!
//! A sync or rollback is queued by the server; the command then polls the app until the
//! server reports that its request (or a later one coalesced with it) has finished, so the
//! exit status means the same as a local `sync`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shipway_cli::{
    RemoteArgs, RollbackArgs, RolloutArgs, RolloutVerb, StatusArgs, StatusFormat, SyncArgs,
};

use super::ExitStatus;

/// How long one API call may take (a sync is waited for by polling, not in one call).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a queued sync is polled.
const POLL_EVERY: Duration = Duration::from_millis(300);

/// The largest API answer read.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// A `shipway serve` API endpoint and the token to call it with.
struct Remote {
    base: String,
    token: String,
    client: shipway_http::Client,
}

impl Remote {
    fn new(server: &str, args: &RemoteArgs) -> anyhow::Result<Remote> {
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server `{server}`: expected an http:// or https:// URL");
        }
        let token = token(args.token_file.as_deref())?;
        Ok(Remote {
            base,
            token,
            client: shipway_http::Client::new(),
        })
    }

    /// Calls `method path` and returns the JSON answer; a non-2xx answer is an error with
    /// the server's message.
    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let bytes = body.map(Value::to_string).unwrap_or_default();
        let headers = [
            (
                "authorization".to_string(),
                format!("Bearer {}", self.token),
            ),
            ("content-type".to_string(), "application/json".to_string()),
            (
                "user-agent".to_string(),
                concat!("shipway/", env!("CARGO_PKG_VERSION")).to_string(),
            ),
        ];
        let answer = self
            .client
            .send(
                method,
                &url,
                &headers,
                bytes.into_bytes(),
                CALL_TIMEOUT,
                MAX_ANSWER,
            )
            .await
            .map_err(|error| match error {
                shipway_http::Error::Unreachable(why) => {
                    anyhow::anyhow!("cannot reach shipway serve at {} ({why})", self.base)
                }
                shipway_http::Error::Timeout(secs) => anyhow::anyhow!(
                    "shipway serve at {} did not answer {method} {path} within {secs}s",
                    self.base
                ),
                shipway_http::Error::Invalid(why) => {
                    anyhow::anyhow!("--server: `{url}` is not a valid URL ({why})")
                }
            })?;
        let (status, body) = (answer.status, answer.body);
        let value: Value = serde_json::from_slice(&body).unwrap_or_else(
            |_| json!({"error": String::from_utf8_lossy(&body).trim().to_string()}),
        );
        if !(200..300).contains(&status) {
            let message = value["error"].as_str().unwrap_or("no message");
            bail!("shipway serve at {}: {message} (HTTP {status})", self.base);
        }
        Ok(value)
    }

    async fn app(&self, name: &str) -> anyhow::Result<Value> {
        self.call("GET", &format!("/api/v1/apps/{}", segment(name)), None)
            .await
    }

    /// Waits until the app's `completed.request` reaches `request`, printing each new
    /// operation phase; returns the app's summary then.
    async fn wait(&self, name: &str, request: u64, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        let mut shown = String::new();
        loop {
            let app = self.app(name).await?;
            if app["completed"]["request"].as_u64().unwrap_or(0) >= request {
                return Ok(app);
            }
            let operation = &app["operation"];
            if operation["phase"] == "Running" {
                let line = format!(
                    "app {name}: {}",
                    operation["message"].as_str().unwrap_or("running")
                );
                if line != shown {
                    eprintln!("{line}");
                    shown = line;
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "app {name}: the server had not finished request {request} after {}s",
                    timeout.as_secs()
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Reports how the request the app completed ended; `true` when it succeeded.
    fn outcome(name: &str, app: &Value) -> bool {
        if let Some(error) = app["completed"]["error"].as_str() {
            eprintln!("error: sync of app {name} failed: {error}");
            return false;
        }
        let operation = &app["operation"];
        let phase = operation["phase"].as_str().unwrap_or("Unknown");
        let message = operation["message"].as_str().unwrap_or("");
        let revision = operation["revision"].as_str().unwrap_or("");
        if phase == "Succeeded" {
            eprintln!(
                "synced app {name} at revision {}: {message}",
                short(revision)
            );
            true
        } else {
            eprintln!("error: sync of app {name} failed ({phase}): {message}");
            false
        }
    }
}

fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

/// An app name as one URL path segment.
fn segment(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The token: `--token-file`'s first word, else `SHIPWAY_TOKEN`, else the admin token a
/// `shipway serve` with the default state directory generated.
fn token(file: Option<&Path>) -> anyhow::Result<String> {
    let from_file = |path: &Path| -> anyhow::Result<String> {
        let text = fs_err::read_to_string(path)?;
        text.lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#'))
            .and_then(|line| line.split_whitespace().next())
            .map(str::to_string)
            .with_context(|| format!("{}: holds no token", path.display()))
    };
    if let Some(path) = file {
        return from_file(path);
    }
    if let Ok(token) = std::env::var("SHIPWAY_TOKEN")
        && !token.trim().is_empty()
    {
        return Ok(token.trim().to_string());
    }
    let generated: PathBuf = super::serve::default_state().join("admin-token");
    if generated.exists() {
        return from_file(&generated);
    }
    bail!(
        "--server needs an API token: give --token-file FILE or set SHIPWAY_TOKEN (serve writes \
         its generated admin token to {})",
        generated.display()
    )
}

/// The name an APP argument gives with `--server`.
fn app_name(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .map(str::to_string)
        .with_context(|| {
            format!(
                "with --server, APP is an app's name as `shipway serve` lists it, not `{}`",
                path.display()
            )
        })
}

/// `shipway sync --server URL APP…`: asks for a sync of each app in turn and waits for it.
pub(crate) fn sync(server: &str, args: &SyncArgs) -> anyhow::Result<ExitStatus> {
    if args.sandbox || args.plan.is_some() || args.no_prune {
        bail!(
            "--server syncs with the app's own policy on the server: --sandbox, --plan and --no-prune do not apply"
        );
    }
    let timeout = shipway_cluster::engine::parse_positive_duration("--timeout", &args.timeout)?;
    let names = args
        .apps
        .iter()
        .map(|path| app_name(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let remote = Remote::new(server, &args.remote)?;
    super::cluster::runtime()?.block_on(async {
        let mut status = ExitStatus::Success;
        let mut results = Vec::new();
        for name in &names {
            // Every app is asked for even when an earlier one failed; the exit status
            // reports any failure.
            let done = async {
                let answer = remote
                    .call(
                        "POST",
                        &format!("/api/v1/apps/{}/sync", segment(name)),
                        None,
                    )
                    .await?;
                let request = answer["request"].as_u64().unwrap_or(u64::MAX);
                eprintln!("sync of app {name} requested from {}", remote.base);
                remote.wait(name, request, timeout).await
            };
            match done.await {
                Ok(app) => {
                    let ok = Remote::outcome(name, &app);
                    if !ok {
                        status = ExitStatus::Failure;
                    }
                    results.push(json!({
                        "app": name,
                        "result": if ok { "synced" } else { "failed" },
                        "revision": app["operation"]["revision"],
                        "operation": app["operation"],
                        "error": app["completed"]["error"],
                    }));
                }
                Err(error) => {
                    eprintln!("error: sync of app {name}: {}", crate::error_line(&error));
                    results.push(
                        json!({"app": name, "result": "failed", "error": crate::error_line(&error)}),
                    );
                    status = ExitStatus::Failure;
                }
            }
        }
        if args.output == shipway_cli::SyncFormat::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"apps": results}))?
            );
        }
        Ok(status)
    })
}

/// `shipway status --server URL APP`: the app's status tree as the server last compared it.
pub(crate) fn status(server: &str, args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let name = app_name(&args.app)?;
    let remote = Remote::new(server, &args.remote)?;
    super::cluster::runtime()?.block_on(async {
        let app = remote.app(&name).await?;
        let resources = remote
            .call(
                "GET",
                &format!("/api/v1/apps/{}/resources", segment(&name)),
                None,
            )
            .await?;
        let status = json!({
            "app": name,
            "health": app["health"]["status"],
            "sync": app["sync"]["status"],
            "revision": app["sync"]["revision"],
            "operation": app["operation"],
            "condition": app["condition"],
            "objects": resources["resources"],
        });
        match args.output {
            StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&status)?),
            StatusFormat::Text => {
                let text = shipway_cluster::status::text(&status);
                if super::colour::enabled() {
                    print!("{}", super::colour::status(&text));
                } else {
                    print!("{text}");
                }
                if let Some(condition) = status["condition"].as_str() {
                    println!("condition: {condition}");
                }
            }
        }
        Ok(super::cluster::health_exit(
            status["health"].as_str().unwrap_or("Unknown"),
            status["sync"].as_str().unwrap_or("Unknown"),
        ))
    })
}

/// `shipway rollback --server URL APP`: the server commits the rollback, pushes it and
/// syncs; this waits for that sync.
pub(crate) fn rollback(server: &str, args: &RollbackArgs) -> anyhow::Result<ExitStatus> {
    if args.push.push || args.message.is_some() {
        bail!(
            "--server commits and pushes the rollback on the server: --push and --message do not apply"
        );
    }
    let name = app_name(Path::new(&args.target))?;
    let remote = Remote::new(server, &args.remote)?;
    let body = match &args.to {
        Some(commit) => json!({"to": commit}),
        None => json!({"steps": args.steps}),
    };
    super::cluster::runtime()?.block_on(async {
        let done = remote
            .call(
                "POST",
                &format!("/api/v1/apps/{}/rollback", segment(&name)),
                Some(&body),
            )
            .await?;
        println!(
            "Rolled back app {name}: commit {} restores {} (abandoned {}, not applied automatically again)",
            short(done["commit"].as_str().unwrap_or("")),
            short(done["restored"].as_str().unwrap_or("")),
            short(done["abandoned"].as_str().unwrap_or("")),
        );
        let Some(request) = done["request"].as_u64() else {
            return Ok(ExitStatus::Success);
        };
        let app = remote
            .wait(&name, request, Duration::from_secs(600))
            .await?;
        Ok(if Remote::outcome(&name, &app) {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    })
}

/// `shipway rollout VERB APP [ROLLOUT] --server URL`: the same through serve's API.
pub(crate) fn rollout(server: &str, args: &RolloutArgs) -> anyhow::Result<ExitStatus> {
    let name = app_name(&args.app)?;
    let remote = Remote::new(server, &args.remote)?;
    let verb = match args.verb {
        RolloutVerb::Status => None,
        RolloutVerb::Promote => Some("promote"),
        RolloutVerb::Abort => Some("abort"),
        RolloutVerb::Retry => Some("retry"),
        RolloutVerb::Pause => Some("pause"),
    };
    super::cluster::runtime()?.block_on(async {
        let answer = match verb {
            None => {
                remote
                    .call(
                        "GET",
                        &format!("/api/v1/apps/{}/rollouts", segment(&name)),
                        None,
                    )
                    .await?
            }
            Some(verb) => {
                let Some(rollout) = &args.rollout else {
                    bail!("with --server, name the Rollout: shipway rollout {verb} {name} ROLLOUT");
                };
                remote
                    .call(
                        "POST",
                        &format!(
                            "/api/v1/apps/{}/rollouts/{}/{verb}",
                            segment(&name),
                            segment(rollout)
                        ),
                        Some(&json!({"full": args.full})),
                    )
                    .await?
            }
        };
        let list: Vec<Value> = answer["rollouts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| args.rollout.as_deref().is_none_or(|r| d["rollout"] == r))
            .collect();
        if list.is_empty() {
            bail!(
                "app {name} has no Rollout{}",
                args.rollout
                    .as_deref()
                    .map(|r| format!(" named `{r}`"))
                    .unwrap_or_default()
            );
        }
        super::cluster::print_rollouts(&list, args.output)?;
        Ok(
            if verb.is_none() && list.iter().any(|d| d["phase"] != "Healthy") {
                ExitStatus::NotReady
            } else {
                ExitStatus::Success
            },
        )
    })
}
