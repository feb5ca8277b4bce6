//! `-o junit`: one test case per object checked, failing with one `<failure>` per error or
//! warning finding; info findings go to the case's output.

use std::fmt::Write as _;

use shipway_model::{Finding, Severity};

use super::Report;

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

pub(super) fn render(report: &Report<'_>) -> String {
    let failing = |f: &&Finding| f.severity >= Severity::Warning;
    let failures = report.findings.iter().filter(failing).count();
    let mut cases = String::new();
    let mut loose: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.object.is_none())
        .collect();
    for (object, file) in &report.checked.objects {
        let mine: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.object.as_ref() == Some(object))
            .collect();
        let _ = write!(
            cases,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(file.as_deref().unwrap_or("-")),
            xml(&object.to_string())
        );
        if mine.is_empty() {
            cases.push_str("/>\n");
            continue;
        }
        cases.push_str(">\n");
        let mut notes = String::new();
        for f in mine {
            if f.severity >= Severity::Warning {
                let _ = writeln!(
                    cases,
                    "      <failure type=\"{}\" message=\"{}\">{}:{} {} [{}] {}</failure>",
                    xml(&f.rule),
                    xml(&f.message),
                    xml(&report.file(f).unwrap_or_default()),
                    f.pos.line,
                    f.severity,
                    xml(&f.rule),
                    xml(&f.message)
                );
            } else {
                let _ = writeln!(notes, "{} [{}] {}", f.severity, f.rule, f.message);
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(cases, "      <system-out>{}</system-out>", xml(&notes));
        }
        cases.push_str("    </testcase>\n");
    }
    loose.retain(|f| f.severity >= Severity::Warning);
    for f in loose {
        let _ = writeln!(
            cases,
            "    <testcase classname=\"{}\" name=\"{}\">\n      <failure type=\"{}\" message=\"{}\"/>\n    </testcase>",
            xml(&report.file(f).unwrap_or_default()),
            xml(&f.rule),
            xml(&f.rule),
            xml(&f.message)
        );
    }
    let tests = report.checked.objects.len()
        + report
            .findings
            .iter()
            .filter(|f| f.object.is_none() && f.severity >= Severity::Warning)
            .count();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"shipway check\" tests=\"{tests}\" failures=\"{failures}\">\n  <testsuite name=\"shipway check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n</testsuites>\n"
    )
}
