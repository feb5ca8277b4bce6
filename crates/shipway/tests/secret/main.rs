//! `shipway secret` and decryption at sync time as a user runs them: the real binary, a
//! `shipway sandbox` process over HTTP, and `kubectl` reading back what was applied.
//!
//! - Flux's own SOPS test data (made by the real sops) from
//!   `../shared/conformance/sops/flux-testdata`, when present: every age case through
//!   `secret decrypt` and through `plan`/`sync`. Absent, the test prints "skipped" unless
//!   `SHIPWAY_SOPS_REQUIRED=1`, which makes absence a failure.
//! - Files made by shipway itself: keygen, encrypt, edit, updatekeys, and a canary value
//!   searched for in every output and file of a plan/sync run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

const CANARY: &str = "canary-7d1e5a0b";

/// A sandbox process; killed when dropped.
struct Sandbox {
    child: Child,
    kubeconfig: PathBuf,
}

impl Sandbox {
    fn start(dir: &Path) -> Sandbox {
        let kubeconfig = dir.join("kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_shipway"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut banner).unwrap();
        std::thread::spawn(move || for _ in stdout.lines() {});
        Sandbox { child, kubeconfig }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs shipway with a clean key environment: only `keys` (the `SOPS_AGE_KEY` value)
/// and the home and config directories under `home`.
fn shipway(home: &Path, keys: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shipway"));
    command
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .current_dir(home);
    if let Some(keys) = keys {
        command.env("SOPS_AGE_KEY", keys);
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn kubectl_json(sandbox: &Sandbox, home: &Path, args: &[&str]) -> Value {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&sandbox.kubeconfig)
        .args(args)
        .args(["-o", "json"])
        .env("HOME", home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn decode(value: &Value) -> String {
    use std::io::Write;
    // kubectl prints Secret data as base64; `base64 -d` keeps this test free of a decoder.
    let mut child = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_str().unwrap_or_default().as_bytes())
        .unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

fn flux_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sops/flux-testdata")
}

/// A test whose panic is its failure message.
fn trial(
    name: &'static str,
    body: impl FnOnce() + Send + std::panic::UnwindSafe + 'static,
) -> libtest_mimic::Trial {
    libtest_mimic::Trial::test(name, move || {
        std::panic::catch_unwind(body).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "panicked".into())
                .into()
        })
    })
}

/// libtest-mimic (`harness = false`): the Flux conformance test shows as ignored, not `ok`,
/// when its fixtures are absent (and fails when `SHIPWAY_SOPS_REQUIRED=1`).
fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let flux = flux_fixtures();
    let present = flux.is_dir();
    let required = std::env::var("SHIPWAY_SOPS_REQUIRED").as_deref() == Ok("1");
    if !present && !required {
        eprintln!(
            "SKIPPED: {} is absent (set SHIPWAY_SOPS_REQUIRED=1 to fail instead)",
            flux.display()
        );
    }
    let trials = vec![
        trial(
            "flux_fixtures_decrypt_through_secret_decrypt_and_sync",
            move || {
                assert!(
                    flux.is_dir(),
                    "SHIPWAY_SOPS_REQUIRED=1 but {} is absent",
                    flux.display()
                );
                flux_fixtures_decrypt_through_secret_decrypt_and_sync(&flux);
            },
        )
        .with_ignored_flag(!present && !required),
        trial(
            "keygen_encrypt_edit_updatekeys_and_a_canary_that_never_leaks",
            keygen_encrypt_edit_updatekeys_and_a_canary_that_never_leaks,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn flux_fixtures_decrypt_through_secret_decrypt_and_sync(flux: &Path) {
    let flux = flux.to_path_buf();
    let home = TempDir::new().unwrap();
    let keys: String = ["age.txt", "age-pq.txt", "age-global.txt"]
        .iter()
        .map(|f| std::fs::read_to_string(flux.join("keys").join(f)).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let decrypt = |file: &str| {
        let path = flux.join(file).display().to_string();
        let out = shipway(home.path(), Some(&keys), &["secret", "decrypt", &path]);
        assert!(out.status.success(), "{file}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(decrypt("algorithms/age.yaml").contains("stringData:\n    key: value\n"));
    assert!(decrypt("algorithms/age-pq.yaml").contains("    key: value\n"));
    assert_eq!(decrypt("envs/env.env"), "key=value\n");
    assert_eq!(decrypt("component/env.env"), "key=value\n");
    assert_eq!(decrypt("remote/env.env"), "key=value\n");
    assert_eq!(decrypt("files/file.txt"), "value");
    assert!(decrypt("patches/merge1.yaml").contains("    key: merge1\n"));
    assert!(decrypt("patches/merge2.yaml").contains("    merge2: merge2\n"));
    assert!(decrypt("global/secret.yaml").contains("global-value"));
    // PGP is refused, naming the file and the key type.
    let pgp = flux.join("algorithms/pgp.yaml").display().to_string();
    let out = shipway(home.path(), Some(&keys), &["secret", "decrypt", &pgp]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pgp.yaml`") && stderr.contains("PGP"),
        "{stderr}"
    );

    // The whole tree (without `remote/`, which needs a remote resource, and PGP), as one
    // app planned and synced into a sandbox; the copy lives in the test's temp dir.
    let app = home.path().join("flux");
    copy_dir(&flux, &app);
    std::fs::remove_dir_all(app.join("remote")).unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: sops-\nresources:\n- algorithms\n- envs\n- files\n- patches\n- inside\n- global\ncomponents:\n- ./component\n",
    )
    .unwrap();
    std::fs::write(
        app.join("algorithms/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: algo-\nresources:\n- age.yaml\n- age-pq.yaml\n- vault.yaml\n",
    )
    .unwrap();
    let sandbox = Sandbox::start(home.path());
    let kubeconfig = sandbox.kubeconfig.display().to_string();
    let app_arg = app.display().to_string();
    let plan = shipway(
        home.path(),
        Some(&keys),
        &["plan", &app_arg, "--kubeconfig", &kubeconfig, "-o", "json"],
    );
    assert!(plan.status.success(), "{}", text(&plan));
    for value in ["merge1", "global-value"] {
        assert!(
            !String::from_utf8_lossy(&plan.stdout).contains(value),
            "{}",
            text(&plan)
        );
    }
    let sync = shipway(
        home.path(),
        Some(&keys),
        &["sync", &app_arg, "--kubeconfig", &kubeconfig],
    );
    assert!(sync.status.success(), "{}", text(&sync));
    let secrets = kubectl_json(&sandbox, home.path(), &["get", "secrets", "-n", "default"]);
    let configmaps = kubectl_json(
        &sandbox,
        home.path(),
        &["get", "configmaps", "-n", "default"],
    );
    let find = |list: &Value, name: &str| -> Value {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{name} not applied: {list}"))
            .clone()
    };
    for name in [
        "sops-algo-age",
        "sops-algo-age-pq",
        "sops-algo-vault",
        "sops-component",
        "sops-envs-secret",
        "sops-files-secret",
        "sops-inside-secret",
    ] {
        assert_eq!(
            decode(&find(&secrets, name)["data"]["key"]),
            "value",
            "{name}"
        );
    }
    let patched = find(&secrets, "sops-patches-secret");
    assert_eq!(decode(&patched["data"]["key"]), "merge1");
    assert_eq!(decode(&patched["data"]["merge2"]), "merge2");
    assert_eq!(
        decode(&find(&secrets, "sops-global-age-secret")["data"]["key"]),
        "global-value"
    );
    for name in ["sops-envs-configmap", "sops-files-configmap"] {
        assert_eq!(find(&configmaps, name)["data"]["key"], "value", "{name}");
    }
}

/// Writes an executable editor script that runs `body` with the file as `$1`.
fn editor(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            files_under(&entry.path(), out);
        } else if entry.file_type().unwrap().is_file() {
            out.push(entry.path());
        }
    }
}

fn keygen_encrypt_edit_updatekeys_and_a_canary_that_never_leaks() {
    let home = TempDir::new().unwrap();
    let h = home.path();
    // Keys: one in the default key file (as sops finds it), one more for updatekeys.
    let key_dir = h.join("config/sops/age");
    std::fs::create_dir_all(&key_dir).unwrap();
    let key_file = key_dir.join("keys.txt");
    let out = shipway(
        h,
        None,
        &["secret", "keygen", "-o", key_file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let recipient = stderr
        .trim()
        .strip_prefix("Public key: ")
        .unwrap()
        .to_string();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = shipway(h, None, &["secret", "keygen"]);
    let second_key = String::from_utf8(out.stdout).unwrap();
    let second = String::from_utf8_lossy(&out.stderr)
        .trim()
        .trim_start_matches("Public key: ")
        .to_string();
    assert!(
        second_key.contains(&format!("# public key: {second}\nAGE-SECRET-KEY-1")),
        "{second_key}"
    );

    // An app whose Secret is encrypted by a `.sops.yaml` rule.
    let app = h.join("shop");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        h.join(".sops.yaml"),
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {recipient}\n"),
    )
    .unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\nresources:\n- secret.yaml\n",
    )
    .unwrap();
    let secret = app.join("secret.yaml");
    std::fs::write(
        &secret,
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {CANARY}\n"),
    )
    .unwrap();
    let secret_arg = secret.display().to_string();
    let out = shipway(h, None, &["secret", "encrypt", "-i", &secret_arg]);
    assert!(out.status.success(), "{}", text(&out));
    let sealed = std::fs::read_to_string(&secret).unwrap();
    assert!(
        !sealed.contains(CANARY) && sealed.contains("name: db"),
        "{sealed}"
    );
    let out = shipway(h, None, &["secret", "decrypt", &secret_arg]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(CANARY),
        "{}",
        text(&out)
    );

    // A failing editor changes nothing.
    // The editor scripts live outside the searched directory: one of them holds the canary.
    let scripts = TempDir::new().unwrap();
    let failing = editor(scripts.path(), "fail.sh", "exit 3");
    let out = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(["secret", "edit", &secret_arg])
        .env("HOME", h)
        .env("XDG_CONFIG_HOME", h.join("config"))
        .env("EDITOR", &failing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("was not changed"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), sealed);
    // An editor that adds a key: the data key and `enc` stay, `name` stays clear.
    let adding = editor(
        scripts.path(),
        "add.sh",
        &format!("printf '    user: {CANARY}-user\\n' >> \"$1\""),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_shipway"))
        .args(["secret", "edit", &secret_arg])
        .env("HOME", h)
        .env("XDG_CONFIG_HOME", h.join("config"))
        .env("EDITOR", &adding)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let edited = std::fs::read_to_string(&secret).unwrap();
    let enc = |s: &str| s[s.find("enc: |").unwrap()..s.find("lastmodified").unwrap()].to_string();
    assert_eq!(
        enc(&sealed),
        enc(&edited),
        "same data key, same wrapped key"
    );
    assert!(
        edited.contains("    user: ENC[AES256_GCM,") && !edited.contains(CANARY),
        "{edited}"
    );

    // Plan, save the plan, sync it, plan again, status: outputs and files hold no value.
    let sandbox = Sandbox::start(h);
    let kubeconfig = sandbox.kubeconfig.display().to_string();
    let app_arg = app.display().to_string();
    let plan_file = h.join("plan.json").display().to_string();
    let mut outputs = vec![
        shipway(h, None, &["plan", &app_arg, "--kubeconfig", &kubeconfig]),
        shipway(
            h,
            None,
            &[
                "plan",
                &app_arg,
                "--kubeconfig",
                &kubeconfig,
                "-o",
                "json",
                "--out",
                &plan_file,
            ],
        ),
    ];
    outputs.push(shipway(
        h,
        None,
        &[
            "sync",
            &app_arg,
            "--kubeconfig",
            &kubeconfig,
            "--plan",
            &plan_file,
        ],
    ));
    std::fs::write(&secret, std::fs::read_to_string(&secret).unwrap()).unwrap();
    outputs.push(shipway(
        h,
        None,
        &["plan", &app_arg, "--kubeconfig", &kubeconfig],
    ));
    outputs.push(shipway(
        h,
        None,
        &[
            "status",
            &app_arg,
            "--kubeconfig",
            &kubeconfig,
            "-o",
            "json",
        ],
    ));
    for out in &outputs {
        assert!(out.status.success(), "{}", text(out));
        assert!(!text(out).contains(CANARY), "{}", text(out));
    }
    assert!(
        String::from_utf8_lossy(&outputs[0].stdout).contains("Secret"),
        "{}",
        text(&outputs[0])
    );
    // The value did reach the cluster: the search above could have found it.
    let live = kubectl_json(&sandbox, h, &["get", "secret", "db", "-n", "default"]);
    assert_eq!(decode(&live["data"]["password"]), CANARY);
    assert_eq!(decode(&live["data"]["user"]), format!("{CANARY}-user"));
    let mut files = Vec::new();
    files_under(h, &mut files);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let hit = bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes());
        assert!(!hit, "the canary is in {}", file.display());
    }

    // updatekeys: the rule now names the second recipient; the first key no longer opens it.
    std::fs::write(
        h.join(".sops.yaml"),
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {second}\n"),
    )
    .unwrap();
    let out = shipway(h, None, &["secret", "updatekeys", &secret_arg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("+ {second}")),
        "{}",
        text(&out)
    );
    let out = shipway(h, None, &["secret", "decrypt", &secret_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("secret.yaml`") && stderr.contains(&second),
        "{stderr}"
    );
    let out = shipway(h, Some(&second_key), &["secret", "decrypt", &secret_arg]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(CANARY),
        "{}",
        text(&out)
    );

    // Without any key, sync refuses rather than applying ciphertext.
    std::fs::remove_file(&key_file).unwrap();
    let out = shipway(h, None, &["sync", &app_arg, "--kubeconfig", &kubeconfig]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no age identity"),
        "{}",
        text(&out)
    );
}
