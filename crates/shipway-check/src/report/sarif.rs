//! `-o sarif`: SARIF 2.1.0, the format code-scanning services read.

use serde_json::{Value, json};
use shipway_model::Severity;

use super::Report;
use crate::rules::RULES;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub(super) fn render(report: &Report<'_>) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "shortDescription": {"text": r.summary},
                "help": {"text": r.markdown(), "markdown": r.markdown()},
                "defaultConfiguration": {"level": level(r.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": f.headline()},
            });
            if let Some(index) = RULES.iter().position(|r| r.code == f.rule) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(file) = report.file(f) {
                let mut physical = json!({"artifactLocation": {"uri": file}});
                if f.pos.line > 0 {
                    physical["region"] = json!({"startLine": f.pos.line});
                }
                result["locations"] = json!([{"physicalLocation": physical}]);
            }
            result
        })
        .collect();
    let out = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "shipway",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/shipway",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&out).unwrap_or_default();
    text.push('\n');
    text
}
