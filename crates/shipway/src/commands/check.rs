//! `shipway check`: load manifests (files, directories, kustomizations, stdin), check them
//! and print the findings in the chosen format.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use shipway_check::report::{Checked, Format, Report};
use shipway_cli::{CheckArgs, CheckFormat, FailOn};
use shipway_model::yaml::{Limits, parse_one, parse_stream};
use shipway_model::{Node, ObjectRef, Severity, SourceMap, Value};

use super::ExitStatus;

/// Objects read from every path, with the files behind their positions.
#[derive(Default)]
struct Loaded {
    objects: Vec<Node>,
    sources: SourceMap,
}

impl Loaded {
    fn add_stream(&mut self, path: &Path, text: &str) -> anyhow::Result<()> {
        let file = self.sources.add(path);
        let docs = parse_stream(text, file, &Limits::default())
            .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.message))?;
        for doc in docs {
            self.add_object(doc);
        }
        Ok(())
    }

    fn add_object(&mut self, doc: Node) {
        match &doc.value {
            Value::Null => {}
            Value::Map(map)
                if map
                    .get("kind")
                    .and_then(Node::as_str)
                    .is_some_and(|k| k.ends_with("List"))
                    && map.get("items").and_then(Node::as_seq).is_some() =>
            {
                for item in doc
                    .get("items")
                    .and_then(Node::as_seq)
                    .into_iter()
                    .flatten()
                {
                    self.objects.push(item.clone());
                }
            }
            _ => self.objects.push(doc),
        }
    }

    fn add_kustomization(&mut self, dir: &Path) -> anyhow::Result<()> {
        let output = shipway_render::render(dir, &shipway_render::Options::default())
            .with_context(|| format!("rendering `{}`", dir.display()))?;
        let table = self.sources.absorb(&output.sources);
        for mut object in output.objects {
            object.remap_files(&table);
            self.objects.push(object);
        }
        Ok(())
    }

    fn add_path(&mut self, path: &Path) -> anyhow::Result<()> {
        if path == Path::new("-") {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading standard input")?;
            return self.add_stream(Path::new("<stdin>"), &text);
        }
        let meta = fs_err::metadata(path)?;
        if meta.is_dir() {
            if shipway_render::kustomization::KUSTOMIZATION_FILE_NAMES
                .iter()
                .any(|n| path.join(n).is_file())
            {
                return self.add_kustomization(path);
            }
            let mut entries: Vec<PathBuf> = fs_err::read_dir(path)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect();
            entries.sort();
            for entry in entries {
                let is_yaml = entry
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
                if entry.is_dir() || is_yaml {
                    self.add_path(&entry)?;
                }
            }
            return Ok(());
        }
        let text = fs_err::read_to_string(path)?;
        self.add_stream(path, &text)
    }
}

/// Checks the manifests under `args.paths` and prints the findings.
pub(crate) fn check(args: &CheckArgs) -> ExitStatus {
    match run(args) {
        Ok(status) => status,
        Err(err) => {
            // Usage and I/O problems exit 2, unlike findings (1).
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitStatus::Usage
        }
    }
}

fn run(args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let mut loaded = Loaded::default();
    for path in &args.paths {
        loaded.add_path(path)?;
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
        let mut crds = Loaded::default();
        crds.add_path(dir)?;
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
    let report = Report {
        findings: &findings,
        sources: &loaded.sources,
        checked: &checked,
        color,
        source_line: &source_line,
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
