//! Round trips through every store with fixtures made by shipway itself, the selection
//! rules, edits that keep the data key, tamper and wrong-key errors, and interop with
//! Debian's `age` CLI (skipped visibly when `age` is not installed).

use std::path::Path;
use std::process::Command;

use shipway_secrets::{
    Decrypted, EncryptOptions, ErrorKind, Format, Identity, Keyring, Rule, decrypt, encrypt,
};

const CANARY: &str = "canary-9f3b2c";

fn options(identity: &Identity, rule: Option<Rule>) -> EncryptOptions {
    EncryptOptions {
        key_groups: vec![vec![identity.recipient()]],
        rule,
        mac_only_encrypted: false,
    }
}

fn ring(identity: &Identity) -> Keyring {
    Keyring::new(vec![Identity::X25519(match identity {
        Identity::X25519(i) => i.clone(),
        Identity::PostQuantum(_) => unreachable!("tests use X25519"),
    })])
}

fn round_trip(name: &str, format: Format, plain: &[u8]) -> (Vec<u8>, Decrypted) {
    let id = Identity::generate();
    let path = Path::new(name);
    let sealed = encrypt(path, format, plain, &options(&id, None)).unwrap();
    let text = String::from_utf8_lossy(&sealed);
    assert!(!text.contains(CANARY), "{text}");
    let doc = decrypt(path, format, &sealed, &ring(&id), true).unwrap();
    assert_eq!(
        String::from_utf8_lossy(doc.plaintext(path).unwrap().expose()),
        String::from_utf8_lossy(plain)
    );
    (sealed, doc)
}

#[test]
fn yaml_round_trip_keeps_order_types_and_documents() {
    let plain = format!(
        "zeta: {CANARY}\nalpha:\n    num: 5\n    f: 1.5\n    b: true\n    list:\n        - one\n        - two: 2\n          three: x\n    multi: |\n        line one\n        line two\n    quoted key: \"yes\"\n    empty: \"\"\n    none: null\n---\nsecond: doc\n"
    );
    let (sealed, doc) = round_trip("s.yaml", Format::Yaml, plain.as_bytes());
    let text = String::from_utf8(sealed).unwrap();
    assert!(
        text.contains("type:int]") && text.contains("type:float]") && text.contains("type:bool]"),
        "{text}"
    );
    assert_eq!(
        text.matches("\nsops:\n").count(),
        2,
        "metadata in every document: {text}"
    );
    assert_eq!(doc.tree.branches.len(), 2);
}

#[test]
fn json_round_trip() {
    let plain = format!(
        "{{\n\t\"b\": \"{CANARY}\",\n\t\"a\": [\n\t\t1,\n\t\t\"x\\u003cy\"\n\t],\n\t\"n\": null\n}}\n"
    );
    round_trip("s.json", Format::Json, plain.as_bytes());
}

#[test]
fn dotenv_round_trip() {
    let plain = format!("KEY={CANARY}\nMULTI=a\\nb\nEMPTY=\n");
    let (sealed, _) = round_trip("s.env", Format::Dotenv, plain.as_bytes());
    let text = String::from_utf8(sealed).unwrap();
    assert!(
        text.contains("\nsops_age__list_0__map_recipient=age1"),
        "{text}"
    );
    assert!(text.contains("\nsops_mac=ENC[AES256_GCM,"), "{text}");
}

#[test]
fn binary_round_trip_keeps_raw_bytes() {
    let mut plain = CANARY.as_bytes().to_vec();
    plain.extend_from_slice(&[0, 255, 13, 10]);
    let (sealed, _) = round_trip("s.bin", Format::Binary, &plain);
    assert!(
        String::from_utf8(sealed)
            .unwrap()
            .contains("\"data\": \"ENC[AES256_GCM,")
    );
}

#[test]
fn encrypted_regex_leaves_other_values_clear() {
    let id = Identity::generate();
    let path = Path::new("secret.yaml");
    let plain = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: {CANARY}\n"
    );
    let rule = Some(Rule::EncryptedRegex("^(data|stringData)$".into()));
    let sealed = String::from_utf8(
        encrypt(path, Format::Yaml, plain.as_bytes(), &options(&id, rule)).unwrap(),
    )
    .unwrap();
    assert!(sealed.contains("    name: db\n"), "{sealed}");
    assert!(sealed.contains("    password: ENC[AES256_GCM,"), "{sealed}");
    assert!(
        sealed.contains("    encrypted_regex: ^(data|stringData)$\n"),
        "{sealed}"
    );
    let suffix = Some(Rule::UnencryptedSuffix("_unencrypted".into()));
    let sealed = String::from_utf8(
        encrypt(
            path,
            Format::Yaml,
            b"a_unencrypted: clear\nb: hidden\n",
            &options(&id, suffix),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        sealed.contains("a_unencrypted: clear\n") && !sealed.contains("hidden"),
        "{sealed}"
    );
}

#[test]
fn mac_only_encrypted_lets_clear_values_change() {
    let id = Identity::generate();
    let path = Path::new("s.yaml");
    let mut opts = options(&id, Some(Rule::EncryptedRegex("^secret$".into())));
    opts.mac_only_encrypted = true;
    let sealed =
        String::from_utf8(encrypt(path, Format::Yaml, b"clear: a\nsecret: b\n", &opts).unwrap())
            .unwrap();
    assert!(sealed.contains("mac_only_encrypted: true"), "{sealed}");
    let edited = sealed.replace("clear: a", "clear: changed");
    decrypt(path, Format::Yaml, edited.as_bytes(), &ring(&id), true).unwrap();
    opts.mac_only_encrypted = false;
    let sealed =
        String::from_utf8(encrypt(path, Format::Yaml, b"clear: a\nsecret: b\n", &opts).unwrap())
            .unwrap();
    let edited = sealed.replace("clear: a", "clear: changed");
    let err = decrypt(path, Format::Yaml, edited.as_bytes(), &ring(&id), true).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::MacMismatch), "{err}");
}

#[test]
fn tampering_and_wrong_keys_are_named_without_values() {
    let id = Identity::generate();
    let path = Path::new("app/secret.yaml");
    let plain = format!("user: admin\npassword: {CANARY}\n");
    let sealed = String::from_utf8(
        encrypt(path, Format::Yaml, plain.as_bytes(), &options(&id, None)).unwrap(),
    )
    .unwrap();
    // Swap the two ciphertexts: each decrypts only under its own key path.
    let lines: Vec<&str> = sealed.lines().collect();
    let user = lines[0].trim_start_matches("user: ");
    let password = lines[1].trim_start_matches("password: ");
    let swapped = sealed
        .replacen(user, "@@", 1)
        .replacen(password, user, 1)
        .replacen("@@", password, 1);
    let err = decrypt(path, Format::Yaml, swapped.as_bytes(), &ring(&id), true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`app/secret.yaml`: the value at `user` does not decrypt (tampered, moved, or encrypted with another key)"
    );
    // A missing MAC.
    let no_mac: String = sealed
        .lines()
        .filter(|l| !l.trim_start().starts_with("mac:"))
        .flat_map(|l| [l, "\n"])
        .collect();
    let err = decrypt(path, Format::Yaml, no_mac.as_bytes(), &ring(&id), true).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::MissingMac), "{err}");
    // A changed `lastmodified` invalidates the MAC.
    let moved = sealed.replacen("lastmodified: \"20", "lastmodified: \"19", 1);
    let err = decrypt(path, Format::Yaml, moved.as_bytes(), &ring(&id), true).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::UndecryptableMac), "{err}");
    // The wrong identity.
    let err = decrypt(
        path,
        Format::Yaml,
        sealed.as_bytes(),
        &Keyring::new(vec![Identity::generate()]),
        true,
    )
    .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::NoMatchingKey { .. }), "{err}");
    assert!(err.to_string().contains(&id.recipient()), "{err}");
    // No identity at all.
    let err = decrypt(
        path,
        Format::Yaml,
        sealed.as_bytes(),
        &Keyring::default(),
        true,
    )
    .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::NoIdentities { .. }), "{err}");
    // Not a sops document.
    let err = decrypt(path, Format::Yaml, plain.as_bytes(), &ring(&id), true).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::NotSops { .. }), "{err}");
    for message in [err.to_string(), format!("{err:?}")] {
        assert!(!message.contains(CANARY), "{message}");
    }
}

#[test]
fn reencrypt_keeps_the_data_key_and_unchanged_ciphertexts() {
    let id = Identity::generate();
    let path = Path::new("s.yaml");
    let sealed = String::from_utf8(
        encrypt(path, Format::Yaml, b"a: one\nb: two\n", &options(&id, None)).unwrap(),
    )
    .unwrap();
    let doc = decrypt(path, Format::Yaml, sealed.as_bytes(), &ring(&id), true).unwrap();
    let again = String::from_utf8(doc.reencrypt(path, b"a: one\nb: changed\n").unwrap()).unwrap();
    let first_line = |s: &str| s.lines().next().unwrap().to_string();
    assert_eq!(
        first_line(&sealed),
        first_line(&again),
        "unchanged value keeps its ciphertext"
    );
    let doc2 = decrypt(path, Format::Yaml, again.as_bytes(), &ring(&id), true).unwrap();
    assert!(Decrypted::same_data_key(&doc, &doc2));
    let other = Identity::generate();
    let rewrapped = doc2
        .rewrap(path, again.as_bytes(), &[vec![other.recipient()]])
        .unwrap();
    let doc3 = decrypt(path, Format::Yaml, &rewrapped, &ring(&other), true).unwrap();
    assert!(Decrypted::same_data_key(&doc2, &doc3));
    assert!(decrypt(path, Format::Yaml, &rewrapped, &ring(&id), true).is_err());
}

fn have_age() -> bool {
    let ok = Command::new("age")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: the `age` CLI is not installed");
    }
    ok
}

#[test]
fn interop_with_the_age_cli() {
    if !have_age() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // age-keygen's identity read by shipway.
    let key_file = dir.path().join("key.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut keyring = Keyring::default();
    keyring.add_text("key.txt", &fs_err::read_to_string(&key_file).unwrap());
    assert_eq!(keyring.identities.len(), 1);
    let recipient = keyring.identities[0].recipient();
    // A sops document encrypted by shipway to that recipient, the data key opened by `age`.
    let path = Path::new("s.yaml");
    let opts = EncryptOptions {
        key_groups: vec![vec![recipient.clone()]],
        ..Default::default()
    };
    let sealed = encrypt(path, Format::Yaml, b"k: v\n", &opts).unwrap();
    let doc = decrypt(path, Format::Yaml, &sealed, &keyring, true).unwrap();
    let enc = &doc.metadata.key_groups[0].age[0].enc;
    let enc_file = dir.path().join("enc.age");
    fs_err::write(&enc_file, enc).unwrap();
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key_file)
        .arg(&enc_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 32, "the data key");
    // Something `age -r` encrypted, opened by shipway's identity from `secret keygen`.
    let id = Identity::generate();
    let plain_file = dir.path().join("plain");
    fs_err::write(&plain_file, b"0123456789abcdef0123456789abcdef").unwrap();
    let out = Command::new("age")
        .arg("-a")
        .arg("-r")
        .arg(id.recipient())
        .arg(&plain_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let armored = String::from_utf8(out.stdout).unwrap();
    let key_text = id.key_file("2026-01-01T00:00:00Z");
    let ids = shipway_secrets::keys::parse_identities(key_text.expose()).unwrap();
    let age_key_file = dir.path().join("shipway.key");
    fs_err::write(&age_key_file, key_text.expose()).unwrap();
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&age_key_file)
        .output_with_stdin(armored.as_bytes());
    assert_eq!(
        out, b"0123456789abcdef0123456789abcdef",
        "age reads shipway's key file"
    );
    assert_eq!(ids.len(), 1);
}

trait StdinExt {
    fn output_with_stdin(&mut self, input: &[u8]) -> Vec<u8>;
}

impl StdinExt for Command {
    fn output_with_stdin(&mut self, input: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut child = self
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap().stdout
    }
}
