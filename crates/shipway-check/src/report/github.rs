//! `-o github`: one workflow command per finding (`::error file=…,line=…,title=…::…`),
//! which GitHub Actions turns into annotations on the pull request. The job log shows the
//! commands as they are, so text from the inputs has its control characters escaped.

use std::fmt::Write as _;

use shipway_model::Severity;
use shipway_model::text::escape_control;

use super::Report;

/// Escapes a workflow command's data or property, as the runner expects, after escaping
/// control characters (line breaks would otherwise end the command early).
fn escape(text: &str, property: bool) -> String {
    let mut out = escape_control(text).replace('%', "%25");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

pub(super) fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    for f in report.findings {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(file) = report.file(f) {
            props.push(format!("file={}", escape(&file, true)));
            if f.pos.line > 0 {
                props.push(format!("line={}", f.pos.line));
            }
        }
        props.push(format!("title={}", escape(&f.rule, true)));
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            props.join(","),
            escape(&f.headline(), false)
        );
    }
    out
}
