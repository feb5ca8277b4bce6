//! `shipway check`: load manifests (files, directories, kustomizations, stdin), check them
//! and print the findings in the chosen format.
//!
//! Directories are walked by [`load`], which keeps symbolic links inside the directory
//! given unless `--load-restrictor LoadRestrictionsNone`.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::Context;
use shipway_check::report::{Checked, Format, Report, SecretLines};
use shipway_cli::{CheckArgs, CheckFormat, FailOn, LoadRestrictor};
use shipway_cluster::app::Rendered;
use shipway_model::text::escape_control;
use shipway_model::yaml::parse_one;
use shipway_model::{ObjectRef, Severity};

use super::ExitStatus;

/// Adds the objects at `path` (files, directories, kustomizations: parsed and rendered by
/// the loader the sync engine's apps use), or standard input for `-`. Warnings go to
/// stderr.
fn add_path(
    loaded: &mut Rendered,
    path: &Path,
    restrictor: shipway_render::LoadRestrictor,
) -> anyhow::Result<()> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        loaded.add_stream(Path::new("<stdin>"), &text)?;
    } else {
        for warning in loaded.add_path_restricted(path, true, restrictor)? {
            eprintln!("warning: {}", escape_control(&warning));
        }
    }
    Ok(())
}

/// Checks the manifests under `args.paths` and prints the findings.
pub(crate) fn check(args: &CheckArgs) -> ExitStatus {
    match run(args) {
        Ok(status) => status,
        Err(err) => {
            // Usage and I/O problems exit 2, unlike findings (1).
            crate::print_error(&err);
            ExitStatus::Usage
        }
    }
}

fn run(args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let restrictor = match args.load_restrictor {
        LoadRestrictor::LoadRestrictionsRootOnly => shipway_render::LoadRestrictor::RootOnly,
        LoadRestrictor::LoadRestrictionsNone => shipway_render::LoadRestrictor::None,
    };
    let mut loaded = Rendered::default();
    for path in &args.paths {
        add_path(&mut loaded, path, restrictor)?;
    }
    let mut settings = shipway_check::Settings {
        kubernetes_version: args.kubernetes_version.clone(),
        pod_security: args.pod_security.clone(),
        ..shipway_check::Settings::default()
    };
    if let Some(path) = &args.config {
        let text = fs_err::read_to_string(path)?;
        let node = parse_one(&text)
            .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.message))?;
        settings.config = shipway_check::Config::from_node(&node)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    if let Some(dir) = &args.crd_dir {
        let mut crds = Rendered::default();
        add_path(&mut crds, dir, restrictor)?;
        settings.crds = crds.objects;
    }
    shipway_check::validate_settings(&settings)?;
    let findings = shipway_check::check(&loaded.objects, &loaded.sources, &settings);
    let checked = Checked {
        objects: loaded
            .objects
            .iter()
            .map(|o| {
                (
                    ObjectRef::of(o),
                    loaded
                        .sources
                        .path(o.pos.file)
                        .map(shipway_check::report::tidy),
                )
            })
            .collect(),
    };
    let color = args.output == CheckFormat::Text
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // Excerpts come from each file read once, not once per finding.
    let files: std::cell::RefCell<std::collections::HashMap<std::path::PathBuf, Option<String>>> =
        std::cell::RefCell::default();
    let source_line = |file: &Path, line: u32| -> Option<String> {
        let mut files = files.borrow_mut();
        let text = files
            .entry(file.to_path_buf())
            .or_insert_with(|| std::fs::read_to_string(file).ok())
            .as_deref()?;
        text.lines()
            .nth(line.checked_sub(1)? as usize)
            .map(str::to_string)
    };
    let secret_lines = SecretLines::of(&loaded.objects);
    let report = Report {
        findings: &findings,
        sources: &loaded.sources,
        checked: &checked,
        color,
        source_line: &source_line,
        secret_lines: &secret_lines,
    };
    let format = match args.output {
        CheckFormat::Text => Format::Text,
        CheckFormat::Json => Format::Json,
        CheckFormat::Sarif => Format::Sarif,
        CheckFormat::Junit => Format::Junit,
        CheckFormat::Github => Format::Github,
    };
    print!("{}", report.render(format));
    if args.capacity {
        let table = shipway_check::capacity::table(&loaded.objects);
        if format == Format::Text {
            print!("\n{table}");
        } else {
            eprint!("{table}");
        }
    }
    let threshold = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
    };
    Ok(if findings.iter().any(|f| f.severity >= threshold) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
