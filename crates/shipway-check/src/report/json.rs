//! `-o json`: `{"findings":[…],"summary":{"objects":N,"errors":N,"warnings":N}}`.

use serde_json::{Value, json};
use shipway_model::Severity;

use super::Report;

pub(super) fn render(report: &Report<'_>) -> String {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "object": f.object.as_ref().map(|o| json!({
                    "apiVersion": o.api_version,
                    "kind": o.kind,
                    "namespace": o.namespace,
                    "name": o.name,
                })),
                "file": report.file(f),
                "line": f.pos.line,
                "path": f.path,
                "message": f.message,
            })
        })
        .collect();
    let out = json!({
        "findings": findings,
        "summary": {
            "objects": report.checked.objects.len(),
            "errors": report.count(Severity::Error),
            "warnings": report.count(Severity::Warning),
            "infos": report.count(Severity::Info),
        },
    });
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
    text.push('\n');
    text
}
