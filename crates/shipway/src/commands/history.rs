//! `shipway history`: an environment's releases, promotions and rollbacks, newest first, read
//! from the trailers of git commits.
//!
//! Authors and trailer values are whatever a commit says, so the text output escapes their
//! control characters; the JSON output leaves escaping to JSON.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context;
use shipway_cli::{HistoryArgs, HistoryFormat};
use shipway_model::text::escape_control;

use super::ExitStatus;
use super::release::open;

/// Prints the target's history as text or JSON on stdout.
pub(crate) fn history(args: &HistoryArgs) -> anyhow::Result<ExitStatus> {
    let (repo, _, target) = open(&args.target)?;
    let entries = shipway_git::ops::history(&repo, &target)
        .with_context(|| format!("reading the history of `{}`", target.label()))?;
    let mut out = String::new();
    match args.output {
        HistoryFormat::Json => {
            let entries: Vec<serde_json::Value> = entries
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "commit": e.commit,
                        "time": e.time,
                        "author": e.author,
                        "kind": e.kind.as_str(),
                        "images": e.images.iter().map(|i| serde_json::json!({
                            "name": i.name,
                            "from": i.from,
                            "to": i.to,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            out = serde_json::to_string_pretty(&serde_json::json!({ "entries": entries }))?;
            out.push('\n');
        }
        HistoryFormat::Text => {
            for e in &entries {
                let short = e.commit.get(..12).unwrap_or(&e.commit);
                let _ = writeln!(
                    out,
                    "{}  {}  {:<8}  {}",
                    escape_control(short),
                    escape_control(&e.time),
                    e.kind.as_str(),
                    escape_control(&e.author)
                );
                for i in &e.images {
                    let from = i.from.as_deref().unwrap_or("(none)");
                    let _ = writeln!(
                        out,
                        "    {}: {} → {}",
                        escape_control(&i.name),
                        escape_control(from),
                        escape_control(&i.to)
                    );
                }
                for f in &e.failed {
                    let _ = writeln!(out, "    marks failed: {}", escape_control(f));
                }
            }
            if entries.is_empty() {
                eprintln!("`{}` has no releases yet", target.label());
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(ExitStatus::Success)
}
