//! `shipway sandbox` as a user runs it: the real binary in the foreground, the real
//! `kubectl` against the kubeconfig it writes, SIGTERM for a clean stop, and `--state` to
//! keep the objects across runs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A running sandbox and the first line it printed.
struct Sandbox {
    child: Child,
    banner: String,
}

impl Sandbox {
    fn start(dir: &Path, extra: &[&str]) -> Sandbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shipway"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(dir.join("kubeconfig"))
            .args(extra)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        Sandbox { child, banner }
    }

    /// Sends SIGTERM and returns the exit success and stderr.
    fn stop(mut self) -> (bool, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr)
                    .unwrap();
                return (status.success(), stderr);
            }
            assert!(
                Instant::now() < deadline,
                "the sandbox did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn kubectl(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .args(args)
        .env("HOME", dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn sandbox_serves_kubectl_stops_cleanly_and_keeps_state() {
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.display().to_string();
    let sandbox = Sandbox::start(dir.path(), &["--nodes", "3", "--state", &state_arg]);
    assert!(
        sandbox
            .banner
            .starts_with("shipway sandbox: simulated Kubernetes v1.32 API on http://127.0.0.1:")
            && sandbox.banner.contains("(3 nodes)"),
        "{}",
        sandbox.banner
    );
    let (ok, nodes) = kubectl(dir.path(), &["get", "nodes", "-o", "name"]);
    assert!(ok, "{nodes}");
    assert_eq!(nodes.lines().count(), 3, "{nodes}");
    let (ok, created) = kubectl(
        dir.path(),
        &["create", "configmap", "kept", "--from-literal=a=1"],
    );
    assert!(ok, "{created}");
    let (ok, stderr) = sandbox.stop();
    assert!(ok, "{stderr}");
    assert!(stderr.contains("state saved to"), "{stderr}");
    assert!(state.is_file());

    let again = Sandbox::start(dir.path(), &["--state", &state_arg]);
    let (ok, data) = kubectl(
        dir.path(),
        &["get", "configmap", "kept", "-o", "jsonpath={.data.a}"],
    );
    assert!(ok && data == "1", "{data}");
    let (ok, stderr) = again.stop();
    assert!(ok, "{stderr}");
}

#[test]
fn sandbox_bad_input_names_what_is_wrong() {
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "not json").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .arg("--kubeconfig-out")
        .arg(dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("state.json: not a sandbox state file"),
        "{stderr}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(["sandbox", "--listen", "not-an-address"])
        .arg("--kubeconfig-out")
        .arg(dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot listen on not-an-address"),
        "{stderr}"
    );
}
