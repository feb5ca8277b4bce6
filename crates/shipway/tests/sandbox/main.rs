//! `shipway sandbox` as a user runs it: the real binary in the foreground, the real
//! `kubectl` against the kubeconfig it writes, SIGTERM for a clean stop, and `--state` to
//! keep the objects across runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A running sandbox and the banner it printed.
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
        // The banner ends with the line saying how long the sandbox runs.
        let mut banner = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        while stdout.read_line(&mut banner).unwrap() > 0 && !banner.contains("until Ctrl-C") {}
        Sandbox { child, banner }
    }

    /// The `host:port` the banner names.
    fn address(&self) -> String {
        let rest = self
            .banner
            .split("http://")
            .nth(1)
            .unwrap_or_else(|| panic!("no address in {:?}", self.banner));
        rest.split_whitespace().next().unwrap().to_owned()
    }

    /// Sends SIGTERM and returns the exit success and stderr.
    fn stop(self) -> (bool, String) {
        self.stop_within(Duration::from_secs(20))
    }

    /// Sends SIGTERM and waits up to `bound` for the exit.
    fn stop_within(mut self, bound: Duration) -> (bool, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + bound;
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

/// One request on its own connection; returns the whole response.
fn http(address: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
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
    // Issue 17: the banner says how to use the sandbox, and the sandbox keeps running.
    let kubeconfig = dir.path().join("kubeconfig");
    for expected in [
        format!("export KUBECONFIG={}", kubeconfig.display()),
        "kubectl get nodes".to_owned(),
        format!("http://{}/shipway/prometheus/http-sd", sandbox.address()),
        "The sandbox runs until Ctrl-C.".to_owned(),
    ] {
        assert!(
            sandbox.banner.contains(&expected),
            "{expected} missing:\n{}",
            sandbox.banner
        );
    }
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

/// Regression: a watch whose client reads nothing, or a connection that sent half a
/// request header, kept SIGTERM from stopping the sandbox, and its state was never saved.
#[test]
fn sandbox_stops_on_sigterm_whatever_the_clients_do() {
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.display().to_string();
    let sandbox = Sandbox::start(dir.path(), &["--state", &state_arg]);
    let address = sandbox.address();
    // 8 MB of ConfigMaps: more than the sockets of an unread watch hold.
    for index in 0..16 {
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big-{index}"}},"data":{{"blob":"{}"}}}}"#,
            "x".repeat(512 * 1024)
        );
        let response = http(
            &address,
            &format!(
                "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        );
        assert!(
            response.starts_with("HTTP/1.1 201"),
            "{}",
            &response[..200.min(response.len())]
        );
    }
    let mut watch = TcpStream::connect(&address).unwrap();
    watch
        .write_all(b"GET /api/v1/configmaps?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut status = [0_u8; 12];
    watch.read_exact(&mut status).unwrap();
    assert_eq!(
        &status, b"HTTP/1.1 200",
        "the watch is open and left unread"
    );
    let mut half = TcpStream::connect(&address).unwrap();
    half.write_all(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nAcc")
        .unwrap();
    let (ok, stderr) = sandbox.stop_within(Duration::from_secs(10));
    assert!(ok, "{stderr}");
    assert!(stderr.contains("state saved to"), "{stderr}");
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains("big-15"), "the state holds the objects");
    drop((watch, half));
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
