//! `shipway explain RULE`: print a rule's documentation (the same text as its doc comment)
//! and the part of the severity model that applies to it; `shipway explain` lists the rules
//! and prints the whole model.

use anyhow::bail;
use shipway_cli::ExplainArgs;

use super::ExitStatus;

/// Prints the documentation of `args.rule`, or the list of rules.
pub(crate) fn explain(args: &ExplainArgs) -> anyhow::Result<ExitStatus> {
    let Some(code) = &args.rule else {
        for rule in shipway_check::RULES {
            println!("{:<45} {:<8} {}", rule.code, rule.severity, rule.summary);
        }
        println!("\n{}", shipway_check::severity::MODEL.trim_end());
        return Ok(ExitStatus::Success);
    };
    let Some(rule) = shipway_check::rules::find(code) else {
        bail!("no rule `{code}`\n\nhint: `shipway explain` lists every rule");
    };
    println!(
        "# {}\n\n{} (default severity: {})\n",
        rule.code, rule.summary, rule.severity
    );
    print!("{}", rule.markdown());
    if let Some(note) = shipway_check::severity::note(rule.code) {
        print!("\n{note}");
    }
    Ok(ExitStatus::Success)
}
