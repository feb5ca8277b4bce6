//! Helpers shared by the command-line tests of `render` and `check`: the YAML alias bomb
//! (issue 10: one 1 MiB scalar aliased 3,000 times) and running the binary under a time
//! bound, so a regression fails the test instead of taking the machine's memory.

use std::path::Path;
use std::process::Command;

/// Writes `dir/bomb.yaml`: a `ConfigMap` of about 1 MiB whose one 1 MiB value is aliased
/// 3,000 times (3 GiB once expanded), and a kustomization naming it.
pub(crate) fn write_alias_bomb(dir: &Path) {
    use std::fmt::Write as _;
    let mut text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  k0: &big {}\n",
        "x".repeat(1024 * 1024)
    );
    for i in 1..=3000 {
        let _ = writeln!(text, "  k{i}: *big");
    }
    std::fs::write(dir.join("bomb.yaml"), text).unwrap();
    std::fs::write(dir.join("kustomization.yaml"), "resources:\n- bomb.yaml\n").unwrap();
}

/// Runs `shipway ARGS` with stdout discarded and fails the test if it has not exited
/// within `seconds`: `(exit code, stderr)`.
pub(crate) fn shipway_within(seconds: u64, args: &[&std::ffi::OsStr]) -> (i32, String) {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(seconds) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("shipway {args:?} still running after {seconds}s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(stderr.path()).unwrap(),
    )
}
