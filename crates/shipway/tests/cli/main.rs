//! The command line itself, as a new user meets it: help, version, completions, and what
//! happens when the output pipe closes early.

use std::fmt::Write as _;
use std::io::Read as _;
use std::process::{Command, Stdio};

fn shipway(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn help_starts_with_the_product_and_version_names_the_commit() {
    let help = shipway(&["--help"]);
    assert!(help.status.success());
    assert!(
        stdout(&help).starts_with("A `GitOps` delivery engine for Kubernetes"),
        "{}",
        stdout(&help)
    );
    let version = stdout(&shipway(&["--version"]));
    let commit = version
        .trim()
        .strip_prefix(concat!("shipway ", env!("CARGO_PKG_VERSION"), " (commit "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected version line {version:?}"));
    let hash = commit.trim_end_matches("-modified");
    assert!(
        hash == "unknown" || (hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())),
        "{version:?}"
    );
    // `status --help` documents its own output, not the plan's.
    let status = stdout(&shipway(&["status", "--help"]));
    assert!(status.contains("\"objects\""), "{status}");
    assert!(!status.contains("\"changes\""), "{status}");
}

#[test]
fn completions_are_written_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "_shipway()"),
        ("zsh", "#compdef shipway"),
        ("fish", "complete -c shipway"),
    ] {
        let output = shipway(&["completion", shell]);
        assert!(output.status.success(), "{shell}");
        let text = stdout(&output);
        assert!(text.contains(marker), "{shell}: {text}");
        assert!(text.contains("release"), "{shell} completes subcommands");
    }
    assert_eq!(
        shipway(&["completion", "powershell"]).status.code(),
        Some(2)
    );
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    // Far more output than a pipe holds (a finding or more per Pod), so a write after the
    // reader is gone fails; `shipway check … | head` exited 101 with a panic here.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::new();
    for i in 0..600 {
        let _ = write!(
            yaml,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\nspec:\n  containers:\n  - name: c\n    image: nginx\n---\n"
        );
    }
    std::fs::write(dir.path().join("pods.yaml"), yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .arg("check")
        .arg(dir.path().join("pods.yaml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_ne!(status.code(), Some(101), "no panic: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "quiet: {stderr}");
}

#[test]
fn a_dead_api_server_is_one_clear_line_naming_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\nusers: [{{name: u, user: {{}}}}]\ncontexts: [{{name: x, context: {{cluster: c, user: u, namespace: default}}}}]\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
    )
    .unwrap();
    let output = shipway(&[
        "plan",
        app.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot reach the cluster at http://127.0.0.1:{port} (connection refused"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
