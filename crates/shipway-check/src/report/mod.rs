//! Printing findings: `text` for people, `json` for scripts, `sarif` for code-scanning
//! dashboards, `junit` for CI test reports, `github` for workflow annotations.
//!
//! Reporters are pure: they get the findings, the file names behind positions and, for
//! `text`, a way to fetch source lines, and return a string.
//!
//! Text that came from the inputs (object names, values quoted in messages, file names,
//! source lines) goes through [`shipway_model::text::escape_control`] in the formats that
//! reach a terminal or a log (`text`, `github`); the structured formats escape it their own
//! way. Source lines holding a Secret's values are masked ([`SecretLines`]).

mod github;
mod json;
mod junit;
mod sarif;
mod secrets;
mod text;

use std::path::Path;

use shipway_model::{Finding, ObjectRef, Severity, SourceMap};

pub use secrets::{SecretLines, mask};

/// A path with `.` and `..` folded lexically, for display: a `..` after a symbolic link
/// would resolve elsewhere on disk, which only matters for repositories that link
/// directories into each other.
pub fn tidy(path: &Path) -> String {
    use std::path::Component;
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                _ => parts.push(component),
            },
            other => parts.push(other),
        }
    }
    let folded: std::path::PathBuf = parts.iter().collect();
    folded.display().to_string()
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grouped by file, with excerpts.
    Text,
    /// The documented JSON shape.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// `JUnit` XML.
    Junit,
    /// GitHub workflow commands.
    Github,
}

/// What was checked, for summaries and for reports that list passing objects.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Every object, with the file it came from.
    pub objects: Vec<(ObjectRef, Option<String>)>,
}

/// Everything a reporter needs.
pub struct Report<'a> {
    /// The findings, in order.
    pub findings: &'a [Finding],
    /// File names behind positions.
    pub sources: &'a SourceMap,
    /// What was checked.
    pub checked: &'a Checked,
    /// Colour for `text`.
    pub color: bool,
    /// Source lines for `text` excerpts: `(file, 1-based line)`.
    pub source_line: &'a dyn Fn(&Path, u32) -> Option<String>,
    /// Lines whose excerpts are masked because they hold a Secret's values.
    pub secret_lines: &'a SecretLines,
}

impl Report<'_> {
    /// The file of a finding, as printed: `..` folded away, so that a file reached through
    /// an overlay (`overlays/prod/../../base/app.yaml`) reads as `base/app.yaml`.
    fn file(&self, finding: &Finding) -> Option<String> {
        self.sources.path(finding.pos.file).map(tidy)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Prints the report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => text::render(self),
            Format::Json => json::render(self),
            Format::Sarif => sarif::render(self),
            Format::Junit => junit::render(self),
            Format::Github => github::render(self),
        }
    }
}
