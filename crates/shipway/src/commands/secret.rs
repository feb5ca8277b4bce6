//! `shipway secret keygen | encrypt | decrypt | edit | updatekeys`: SOPS files with age,
//! in the format the `sops` CLI reads and writes. Only `decrypt` prints plaintext, and only
//! on stdout or into the `-o` file (mode 0600); messages name files and recipients.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use shipway_cli::{SecretArgs, SecretCommand};
use shipway_secrets::config::{find_config, rule_for};
use shipway_secrets::{EncryptOptions, Format, Keyring, decrypt, encrypt, now_rfc3339};

use super::ExitStatus;

/// Runs one `shipway secret` subcommand.
pub(crate) fn secret(args: &SecretArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        SecretCommand::Keygen { output } => keygen(output.as_deref()),
        SecretCommand::Encrypt {
            file,
            age,
            in_place,
        } => encrypt_file(file, age, *in_place),
        SecretCommand::Decrypt { file, output } => decrypt_file(file, output.as_deref()),
        SecretCommand::Edit { file } => edit(file),
        SecretCommand::Updatekeys { file } => updatekeys(file),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The keyring sops would use; problems loading a source are printed as warnings only
/// when decryption then fails (as sops does), so they travel in the error's context.
fn keyring() -> Keyring {
    Keyring::discover(&env)
}

fn with_problems(err: shipway_secrets::Error, ring: &Keyring) -> anyhow::Error {
    let mut err = anyhow::Error::new(err);
    for problem in &ring.problems {
        err = err.context(format!("while loading identities: {problem}"));
    }
    err
}

fn absolute(file: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(file).with_context(|| format!("resolving `{}`", file.display()))
}

/// The options of the `.sops.yaml` rule for `file`, searched from the current directory.
fn config_options(file: &Path) -> anyhow::Result<Option<EncryptOptions>> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let Some(config) = find_config(&cwd) else {
        return Ok(None);
    };
    let text = fs_err::read_to_string(&config)?;
    Ok(Some(rule_for(&config, &text, &absolute(file)?)?))
}

/// Writes `bytes` to `path` with mode 0600 (plaintext or keys).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = fs_err::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    Ok(())
}

fn keygen(output: Option<&Path>) -> anyhow::Result<ExitStatus> {
    let (recipient, text) = shipway_secrets::keys::keygen(output, &now_rfc3339())?;
    if let Some(text) = text {
        print!("{}", text.expose());
    }
    eprintln!("Public key: {recipient}");
    Ok(ExitStatus::Success)
}

fn encrypt_file(file: &Path, age: &[String], in_place: bool) -> anyhow::Result<ExitStatus> {
    let plaintext = shipway_secrets::Secret::new(fs_err::read(file)?);
    let from_config = config_options(file);
    let options = if age.is_empty() {
        from_config?.ok_or_else(|| {
            anyhow::anyhow!(
                "`{}`: no recipients\n\nhint: pass `--age RECIPIENT`, or add a `.sops.yaml` with a creation rule for this file",
                file.display()
            )
        })?
    } else {
        // Flags replace the rule's keys but keep its selection rule, as in sops.
        let rule = from_config.ok().flatten().unwrap_or_default();
        EncryptOptions {
            key_groups: vec![age.to_vec()],
            ..rule
        }
    };
    let sealed = encrypt(file, Format::from_path(file), plaintext.expose(), &options)?;
    if in_place {
        fs_err::write(file, &sealed)?;
    } else {
        std::io::stdout().write_all(&sealed)?;
    }
    Ok(ExitStatus::Success)
}

fn decrypt_file(file: &Path, output: Option<&Path>) -> anyhow::Result<ExitStatus> {
    let bytes = fs_err::read(file)?;
    let ring = keyring();
    let doc = decrypt(file, Format::from_path(file), &bytes, &ring, true)
        .map_err(|e| with_problems(e, &ring))?;
    let plaintext = doc.plaintext(file)?;
    match output {
        Some(path) => write_private(path, plaintext.expose())?,
        None => std::io::stdout().write_all(plaintext.expose())?,
    }
    Ok(ExitStatus::Success)
}

fn edit(file: &Path) -> anyhow::Result<ExitStatus> {
    let encrypted = fs_err::read(file)?;
    let format = Format::from_path(file);
    let ring = keyring();
    let doc =
        decrypt(file, format, &encrypted, &ring, true).map_err(|e| with_problems(e, &ring))?;
    let before = doc.plaintext(file)?;
    // tempfile creates the file with mode 0600; the extension keeps the editor's syntax
    // mode. It is deleted when `temp` drops, also on every error path below.
    let suffix = file
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix("shipway-secret-")
        .suffix(&suffix)
        .tempfile()
        .context("creating the temporary file for the editor")?;
    temp.write_all(before.expose())?;
    temp.flush()?;
    let editor = env("EDITOR")
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(words)
        .arg(temp.path())
        .status()
        .with_context(|| format!("running the editor `{program}`"))?;
    if !status.success() {
        bail!(
            "the editor `{program}` failed ({status}); `{}` was not changed",
            file.display()
        );
    }
    let after = shipway_secrets::Secret::new(fs_err::read(temp.path())?);
    if after.expose() == before.expose() {
        eprintln!("`{}` has not changed", file.display());
        return Ok(ExitStatus::Success);
    }
    let sealed = doc.reencrypt(file, after.expose())?;
    fs_err::write(file, sealed)?;
    Ok(ExitStatus::Success)
}

fn updatekeys(file: &Path) -> anyhow::Result<ExitStatus> {
    let Some(options) = config_options(file)? else {
        bail!(
            "`{}`: no `.sops.yaml` in the current directory or its parents\n\nhint: `updatekeys` re-wraps the data key for the recipients a creation rule names",
            file.display()
        );
    };
    let encrypted = fs_err::read(file)?;
    let format = Format::from_path(file);
    let ring = keyring();
    // Only the data key is needed, as in sops: the values and MAC are not touched.
    let doc =
        decrypt(file, format, &encrypted, &ring, false).map_err(|e| with_problems(e, &ring))?;
    let old: Vec<&str> = doc
        .metadata
        .key_groups
        .iter()
        .flat_map(|g| g.age.iter().map(|k| k.recipient.as_str()))
        .collect();
    let new: Vec<&str> = options
        .key_groups
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if old == new {
        eprintln!(
            "`{}`: the recipients are already {}",
            file.display(),
            new.join(", ")
        );
        return Ok(ExitStatus::Success);
    }
    let sealed = doc.rewrap(file, &encrypted, &options.key_groups)?;
    fs_err::write(file, sealed)?;
    for r in new.iter().filter(|r| !old.contains(r)) {
        eprintln!("+ {r}");
    }
    for r in old.iter().filter(|r| !new.contains(r)) {
        eprintln!("- {r}");
    }
    eprintln!("`{}`: data key re-wrapped", file.display());
    Ok(ExitStatus::Success)
}
