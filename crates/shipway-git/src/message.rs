//! Commit messages of releases, promotions and rollbacks, and the history read back from
//! them. Pure: the git layer runs `git log` and hands its output here.
//!
//! The machine-readable part is a block of git trailers, the last paragraph of the message:
//!
//! ```text
//! Shipway-Kind: release
//! Shipway-Environment: staging
//! Shipway-Path: overlays/staging/kustomization.yaml
//! Shipway-Image: api ghcr.io/acme/api:1.4 -> ghcr.io/acme/api:1.5
//! Shipway-Failed-Release: 3f2c…   (rollbacks: each abandoned release)
//! ```
//!
//! History asks git itself for the trailers (`%(trailers:only,unfold)`), so a subject or body
//! that happens to contain `Shipway-Kind:` lines is never mistaken for a record.

use std::fmt::Write as _;

use crate::edit::ImageEdit;

/// What a shipway commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `shipway release`.
    Release,
    /// `shipway promote`.
    Promote,
    /// `shipway rollback`.
    Rollback,
}

impl Kind {
    /// The trailer and JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Release => "release",
            Kind::Promote => "promote",
            Kind::Rollback => "rollback",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        match s {
            "release" => Some(Kind::Release),
            "promote" => Some(Kind::Promote),
            "rollback" => Some(Kind::Rollback),
            _ => None,
        }
    }
}

/// Everything a shipway commit records.
#[derive(Debug, Clone)]
pub struct Record {
    /// What the commit does.
    pub kind: Kind,
    /// The environment name, when the target was one.
    pub environment: Option<String>,
    /// The kustomization file, relative to the repository root.
    pub file: String,
    /// The images, before and after (unchanged ones are left out of the message).
    pub images: Vec<ImageEdit>,
    /// Rollbacks: the commits of the abandoned releases.
    pub failed: Vec<String>,
    /// Promotions: the environment (or directory) the images came from.
    pub promoted_from: Option<String>,
}

/// The history-facing name of an unset reference.
const NONE: &str = "(none)";

/// The commit message for `record`: a subject and body (`message`'s first line and the
/// rest, else a generated subject), one line per image, and the trailers.
pub fn commit_message(record: &Record, message: Option<&str>) -> String {
    let target = record.environment.as_deref().unwrap_or(&record.file);
    let changed: Vec<&ImageEdit> = record.images.iter().filter(|e| e.changed()).collect();
    let generated = {
        let names: Vec<&str> = changed.iter().map(|e| e.name.as_str()).collect();
        match (record.kind, &record.promoted_from) {
            (Kind::Promote, Some(from)) => {
                format!("promote {from} to {target}: {}", names.join(", "))
            }
            (Kind::Rollback, _) if names.is_empty() => format!("rollback {target}"),
            (kind, _) => format!("{} {target}: {}", kind.as_str(), names.join(", ")),
        }
    };
    let (subject, body) = split_message(message.unwrap_or_default());
    let subject = if subject.is_empty() {
        generated
    } else {
        subject.to_owned()
    };
    let mut out = format!("{subject}\n\n");
    if !body.is_empty() {
        // The body stays above the image lines and the trailers, so the trailers remain
        // the last paragraph and history never reads the body as a record.
        let _ = write!(out, "{body}\n\n");
    }
    for e in &changed {
        let before = e
            .before
            .as_ref()
            .map_or(NONE.to_owned(), |b| b.reference(&e.name));
        let _ = writeln!(
            out,
            "- {}: {before} → {}",
            e.name,
            e.after.reference(&e.name)
        );
    }
    if !record.failed.is_empty() {
        let _ = writeln!(out, "- marks as failed: {}", record.failed.join(", "));
    }
    if !changed.is_empty() || !record.failed.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "Shipway-Kind: {}", record.kind.as_str());
    if let Some(env) = &record.environment {
        let _ = writeln!(out, "Shipway-Environment: {env}");
    }
    let _ = writeln!(out, "Shipway-Path: {}", record.file);
    if let Some(from) = &record.promoted_from {
        let _ = writeln!(out, "Shipway-Promoted-From: {from}");
    }
    for e in &changed {
        let before = e
            .before
            .as_ref()
            .map_or(NONE.to_owned(), |b| b.reference(&e.name));
        let _ = writeln!(
            out,
            "Shipway-Image: {} {before} -> {}",
            e.name,
            e.after.reference(&e.name)
        );
    }
    for commit in &record.failed {
        let _ = writeln!(out, "Shipway-Failed-Release: {commit}");
    }
    out
}

/// A message's subject (its first non-blank line, trimmed) and body (the lines after it,
/// with trailing spaces and surrounding blank lines removed, as `git commit` would).
fn split_message(message: &str) -> (&str, String) {
    let mut lines = message.lines().skip_while(|l| l.trim().is_empty());
    let subject = lines.next().unwrap_or_default().trim();
    let body: Vec<&str> = lines.map(str::trim_end).collect();
    let start = body
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(body.len());
    let end = body
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |i| i + 1);
    (subject, body[start..end].join("\n"))
}

/// One image of a history entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryImage {
    /// The entry name.
    pub name: String,
    /// The reference before, `None` when the entry was added.
    pub from: Option<String>,
    /// The reference after.
    pub to: String,
}

/// One release, promotion or rollback read from git history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The full commit hash.
    pub commit: String,
    /// The author time, ISO 8601 with the author's offset.
    pub time: String,
    /// The author name.
    pub author: String,
    /// What the commit did.
    pub kind: Kind,
    /// The images, before and after.
    pub images: Vec<HistoryImage>,
    /// Rollbacks: the releases marked failed.
    pub failed: Vec<String>,
}

/// The `git log` format [`parse_log`] reads, used with `-z`: fields separated by the unit
/// separator, the trailers last so nothing after them can be confused with a field.
pub const LOG_FORMAT: &str = "--format=%H%x1f%aI%x1f%aN%x1f%(trailers:only,unfold)";

/// Reads `git log -z` output in [`LOG_FORMAT`], keeping the shipway commits that record
/// `file`, newest first as git gives them.
pub fn parse_log(output: &str, file: &str) -> Vec<HistoryEntry> {
    let mut entries = Vec::new();
    for record in output.split('\0') {
        let mut fields = record.splitn(4, '\u{1f}');
        let (Some(commit), Some(time), Some(author), Some(trailers)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mut kind = None;
        let mut path = None;
        let mut images = Vec::new();
        let mut failed = Vec::new();
        for line in trailers.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "Shipway-Kind" => kind = Kind::parse(value),
                "Shipway-Path" => path = Some(value),
                "Shipway-Failed-Release" => failed.push(value.to_owned()),
                "Shipway-Image" => {
                    if let Some(image) = parse_image(value) {
                        images.push(image);
                    }
                }
                _ => {}
            }
        }
        if let (Some(kind), Some(path)) = (kind, path)
            && path == file
        {
            entries.push(HistoryEntry {
                commit: commit.trim().to_owned(),
                time: time.to_owned(),
                author: author.to_owned(),
                kind,
                images,
                failed,
            });
        }
    }
    entries
}

fn parse_image(value: &str) -> Option<HistoryImage> {
    let (name, rest) = value.split_once(' ')?;
    let (from, to) = rest.split_once(" -> ")?;
    Some(HistoryImage {
        name: name.to_owned(),
        from: (from != NONE).then(|| from.to_owned()),
        to: to.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageState;

    #[test]
    fn messages_round_trip_through_the_log_format() {
        let record = Record {
            kind: Kind::Rollback,
            environment: Some("prod".into()),
            file: "overlays/prod/kustomization.yaml".into(),
            images: vec![ImageEdit {
                name: "api".into(),
                before: Some(ImageState {
                    new_tag: Some("3".into()),
                    ..ImageState::default()
                }),
                after: ImageState {
                    new_tag: Some("2".into()),
                    ..ImageState::default()
                },
            }],
            failed: vec!["abc".into()],
            promoted_from: None,
        };
        let message = commit_message(
            &record,
            Some("  Back out 3  \n\nThe canary failed:\n  p99 latency doubled.   \n\n"),
        );
        insta::assert_snapshot!(message, @r"
        Back out 3

        The canary failed:
          p99 latency doubled.

        - api: api:3 → api:2
        - marks as failed: abc

        Shipway-Kind: rollback
        Shipway-Environment: prod
        Shipway-Path: overlays/prod/kustomization.yaml
        Shipway-Image: api api:3 -> api:2
        Shipway-Failed-Release: abc
        ");
        // What `git log -z` prints for it (trailers only), plus a commit of another file.
        let log = "c1\u{1f}2026-01-01T00:00:00+00:00\u{1f}Ann\u{1f}Shipway-Kind: rollback\nShipway-Path: overlays/prod/kustomization.yaml\nShipway-Image: api api:3 -> api:2\nShipway-Failed-Release: abc\n\0c0\u{1f}t\u{1f}Bob\u{1f}Shipway-Kind: release\nShipway-Path: other\n";
        let entries = parse_log(log, "overlays/prod/kustomization.yaml");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].kind, Kind::Rollback);
        assert_eq!(entries[0].failed, ["abc"]);
        assert_eq!(
            entries[0].images,
            [HistoryImage {
                name: "api".into(),
                from: Some("api:3".into()),
                to: "api:2".into()
            }]
        );
    }
}
