//! Conformance with Flux's own SOPS test data (files made by the real sops 3.9), read from
//! `../shared/conformance/sops/flux-testdata` beside the repository. When the directory is
//! absent the tests are reported as ignored (not `ok`), unless `SHIPWAY_SOPS_REQUIRED=1` is
//! set, in which case absence is a failure. (libtest-mimic: `harness = false`.)

use std::path::{Path, PathBuf};

use shipway_secrets::{ErrorKind, Format, Keyring, decrypt};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sops/flux-testdata")
}

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let dir = fixtures();
    let present = dir.is_dir();
    let required = std::env::var("SHIPWAY_SOPS_REQUIRED").as_deref() == Ok("1");
    if !present && !required {
        eprintln!(
            "SKIPPED: {} is absent (set SHIPWAY_SOPS_REQUIRED=1 to fail instead)",
            dir.display()
        );
    }
    let trial = |name: &'static str, body: fn(&Path)| {
        let dir = dir.clone();
        libtest_mimic::Trial::test(name, move || {
            if !dir.is_dir() {
                return Err(
                    format!("SHIPWAY_SOPS_REQUIRED=1 but {} is absent", dir.display()).into(),
                );
            }
            std::panic::catch_unwind(|| body(&dir)).map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_else(|| "panicked".into())
                    .into()
            })
        })
        .with_ignored_flag(!present && !required)
    };
    let trials = vec![
        trial(
            "every_age_fixture_decrypts_with_its_mac",
            every_age_fixture_decrypts_with_its_mac,
        ),
        trial(
            "pgp_is_refused_naming_the_key_type_and_wrong_keys_name_the_recipient",
            pgp_is_refused_naming_the_key_type_and_wrong_keys_name_the_recipient,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn keyring(dir: &Path, files: &[&str]) -> Keyring {
    let mut ring = Keyring::default();
    for f in files {
        let text = fs_err::read_to_string(dir.join("keys").join(f)).unwrap();
        ring.add_text(f, &text);
    }
    assert!(ring.problems.is_empty(), "{:?}", ring.problems);
    ring
}

fn open(dir: &Path, file: &str, format: Format, keys: &[&str]) -> String {
    let path = dir.join(file);
    let bytes = fs_err::read(&path).unwrap();
    let doc =
        decrypt(&path, format, &bytes, &keyring(dir, keys), true).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(doc.plaintext(&path).unwrap().expose().clone()).unwrap()
}

fn every_age_fixture_decrypts_with_its_mac(dir: &Path) {
    let age = &["age.txt"][..];
    let yaml = open(dir, "algorithms/age.yaml", Format::Yaml, age);
    assert!(yaml.contains("stringData:\n    key: value\n"), "{yaml}");
    let pq = open(dir, "algorithms/age-pq.yaml", Format::Yaml, &["age-pq.txt"]);
    assert!(pq.contains("key: value\n"), "{pq}");
    assert_eq!(
        open(dir, "envs/env.env", Format::Dotenv, age),
        "key=value\n"
    );
    assert_eq!(
        open(dir, "component/env.env", Format::Dotenv, age),
        "key=value\n"
    );
    assert_eq!(
        open(dir, "remote/env.env", Format::Dotenv, age),
        "key=value\n"
    );
    assert_eq!(open(dir, "files/file.txt", Format::Binary, age), "value");
    let m1 = open(dir, "patches/merge1.yaml", Format::Yaml, age);
    assert!(m1.contains("key: merge1\n"), "{m1}");
    let m2 = open(dir, "patches/merge2.yaml", Format::Yaml, age);
    assert!(m2.contains("merge2: merge2\n"), "{m2}");
    let global = open(dir, "global/secret.yaml", Format::Yaml, &["age-global.txt"]);
    assert!(global.contains("global-value"), "{global}");
}

fn pgp_is_refused_naming_the_key_type_and_wrong_keys_name_the_recipient(dir: &Path) {
    let path = dir.join("algorithms/pgp.yaml");
    let bytes = fs_err::read(&path).unwrap();
    let err = decrypt(
        &path,
        Format::Yaml,
        &bytes,
        &keyring(dir, &["age.txt"]),
        true,
    )
    .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::UnsupportedKeyType { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("PGP"), "{err}");
    let path = dir.join("algorithms/age.yaml");
    let bytes = fs_err::read(&path).unwrap();
    let err = decrypt(
        &path,
        Format::Yaml,
        &bytes,
        &keyring(dir, &["age-global.txt"]),
        true,
    )
    .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::NoMatchingKey { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29"),
        "{err}"
    );
}
