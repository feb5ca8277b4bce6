//! `-o text`: findings grouped by file, each with `line:column`, severity, rule, the object
//! and message, and the source line it points at. Colour only when asked (the caller
//! decides from the terminal and `NO_COLOR`).

use std::fmt::Write as _;
use std::path::Path;

use shipway_model::Severity;

use super::Report;

pub(super) fn render(report: &Report<'_>) -> String {
    let paint = |code: &str, text: &str| {
        if report.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let mut current: Option<Option<String>> = None;
    for f in report.findings {
        let file = report.file(f);
        if current.as_ref() != Some(&file) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", paint("1", file.as_deref().unwrap_or("<input>")));
            current = Some(file.clone());
        }
        let severity = match f.severity {
            Severity::Error => paint("31", "error"),
            Severity::Warning => paint("33", "warning"),
            Severity::Info => paint("36", "info"),
        };
        let _ = writeln!(
            out,
            "  {}:{}  {severity}  {}  {}",
            f.pos.line,
            f.pos.col,
            paint("2", &f.rule),
            f.headline()
        );
        if let Some(file) = &file
            && f.pos.line > 0
            && let Some(line) = (report.source_line)(Path::new(file), f.pos.line)
        {
            let _ = writeln!(out, "    | {}", line.trim_end());
        }
    }
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    if !report.findings.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} objects checked: {errors} error{}, {warnings} warning{}",
        report.checked.objects.len(),
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    );
    out
}
