//! `-o text`: findings grouped by file, each with `line:column`, severity, rule, the object
//! and message, and the source line it points at. Colour only when asked (the caller
//! decides from the terminal and `NO_COLOR`).
//!
//! Everything taken from the inputs is escaped, and a source line holding a Secret's
//! values shows `***` in their place.

use std::fmt::Write as _;
use std::path::Path;

use shipway_model::Severity;
use shipway_model::text::escape_control;

use super::{Report, mask};

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
            let name = escape_control(file.as_deref().unwrap_or("<input>"));
            let _ = writeln!(out, "{}", paint("1", &name));
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
            escape_control(&f.headline())
        );
        if let Some(file) = &file
            && f.pos.line > 0
            && let Some(line) = (report.source_line)(Path::new(file), f.pos.line)
        {
            let line = if report.secret_lines.contains(f.pos) {
                mask(&line)
            } else {
                line
            };
            let _ = writeln!(out, "    | {}", escape_control(line.trim_end()));
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use shipway_model::yaml::{Limits, parse_stream};
    use shipway_model::{FileId, Finding, ObjectRef, Pos, Severity, SourceMap};

    use super::super::{Checked, Format, Report, SecretLines};

    /// The text report of `findings` about `yaml`, read as `in.yaml`.
    fn text(yaml: &str, findings: &[Finding]) -> String {
        let mut sources = SourceMap::new();
        let file = sources.add(Path::new("in.yaml"));
        let objects = parse_stream(yaml, file, &Limits::default()).unwrap();
        let secret_lines = SecretLines::of(&objects);
        let source_line =
            |_: &Path, line: u32| yaml.lines().nth(line as usize - 1).map(str::to_string);
        Report {
            findings,
            sources: &sources,
            checked: &Checked::default(),
            color: false,
            source_line: &source_line,
            secret_lines: &secret_lines,
        }
        .render(Format::Text)
    }

    fn finding(kind: &str, name: &str, line: u32, message: &str) -> Finding {
        Finding {
            rule: "test/rule".into(),
            severity: Severity::Error,
            object: Some(ObjectRef {
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: String::new(),
                name: name.into(),
            }),
            pos: Pos {
                file: FileId(0),
                line,
                col: 3,
            },
            path: String::new(),
            message: message.into(),
        }
    }

    #[test]
    fn control_characters_from_the_input_are_escaped() {
        let yaml = "kind: ConfigMap\nmetadata: {name: \"a\\e[2Jb\"}\n";
        let out = text(
            yaml,
            &[finding(
                "ConfigMap",
                "a\x1b[2Jb",
                2,
                "`x` is `\x1b]0;t\x07`",
            )],
        );
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
        assert!(
            out.contains("ConfigMap a\\u{1b}[2Jb: `x` is `\\u{1b}]0;t\\u{7}`"),
            "{out}"
        );
    }

    #[test]
    fn excerpts_of_secret_values_are_masked() {
        let yaml = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  token: c2VjcmV0\nstringData: {password: hunter2}\n";
        let out = text(
            yaml,
            &[
                finding("Secret", "s", 5, "bad token"),
                finding("Secret", "s", 6, "bad password"),
                finding("Secret", "s", 3, "bad name"),
            ],
        );
        assert!(
            !out.contains("c2VjcmV0") && !out.contains("hunter2"),
            "{out}"
        );
        assert!(out.contains("    |   token: ***\n"), "{out}");
        assert!(out.contains("    | stringData: ***\n"), "{out}");
        assert!(out.contains("    | metadata: {name: s}\n"), "{out}");
    }
}
