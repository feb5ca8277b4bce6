//! `-o json`: `{"findings":[…],"summary":{"objects":N,"errors":N,"warnings":N}}`.
//!
//! The report is serialised straight from borrowed structs: building a `serde_json::Value`
//! tree first cost more memory than the findings themselves on large inputs.

use serde::Serialize;
use shipway_model::Severity;

use super::Report;

#[derive(Serialize)]
struct Out<'a> {
    findings: Vec<FindingOut<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: &'a str,
    severity: &'static str,
    object: Option<ObjectOut<'a>>,
    file: Option<String>,
    line: u32,
    path: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct ObjectOut<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct Summary {
    objects: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
}

pub(super) fn render(report: &Report<'_>) -> String {
    let out = Out {
        findings: report
            .findings
            .iter()
            .map(|f| FindingOut {
                rule: &f.rule,
                severity: f.severity.as_str(),
                object: f.object.as_ref().map(|o| ObjectOut {
                    api_version: &o.api_version,
                    kind: &o.kind,
                    namespace: &o.namespace,
                    name: &o.name,
                }),
                file: report.file(f),
                line: f.pos.line,
                path: &f.path,
                message: &f.message,
            })
            .collect(),
        summary: Summary {
            objects: report.checked.objects.len(),
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            infos: report.count(Severity::Info),
        },
    };
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
    text.push('\n');
    text
}
