//! Colour for `plan` and `status` text (and `sync`'s summary lines) on a terminal, as `check` has: the same ANSI codes,
//! off when stdout is not a terminal or `NO_COLOR` is set (<https://no-color.org>).
//!
//! The text is built without colour (it is what tests and pipes see) and painted line by
//! line from its shape, so the two can never disagree about the content.

use std::io::IsTerminal as _;

const GREEN: &str = "32";
const YELLOW: &str = "33";
const RED: &str = "31";
const MAGENTA: &str = "35";

/// Whether stdout gets colour.
pub(crate) fn enabled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether stderr gets colour (sync's summary lines).
fn stderr_enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `synced`, green on a terminal's stderr.
pub(crate) fn stderr_synced() -> String {
    if stderr_enabled() {
        paint(GREEN, "synced")
    } else {
        "synced".into()
    }
}

/// `error:`, red on a terminal's stderr.
pub(crate) fn stderr_error() -> String {
    if stderr_enabled() {
        paint(RED, "error:")
    } else {
        "error:".into()
    }
}

fn paint(code: &str, text: &str) -> String {
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A plan's text: `+ create` green, `~ update` yellow, `- delete` red, `! replace-required`
/// magenta, and the field lines of a diff by their sign.
pub(crate) fn plan(text: &str) -> String {
    paint_lines(text, |line| {
        let trimmed = line.trim_start();
        let code = if line.starts_with("+ ") || trimmed.starts_with("+ ") {
            GREEN
        } else if line.starts_with("~ ") || trimmed.starts_with("~ ") {
            YELLOW
        } else if line.starts_with("- ") || trimmed.starts_with("- ") {
            RED
        } else if line.starts_with("! ") || line.starts_with("prune refused") {
            MAGENTA
        } else {
            return None;
        };
        Some(code)
    })
}

/// A status tree: each line's health word (its last column) by severity.
pub(crate) fn status(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, newline) = line
            .strip_suffix('\n')
            .map_or((line, ""), |body| (body, "\n"));
        let painted = [
            ("Healthy", GREEN),
            ("Progressing", YELLOW),
            ("Suspended", YELLOW),
            ("Degraded", RED),
            ("Missing", RED),
            ("OutOfSync", YELLOW),
        ]
        .iter()
        .find_map(|(word, code)| {
            // The health column ends the line or precedes its message (`Degraded: …`).
            let at = body
                .rfind(&format!(" {word}: "))
                .or_else(|| {
                    body.ends_with(&format!(" {word}"))
                        .then(|| body.len() - word.len() - 1)
                })
                .or_else(|| body.find(&format!(": {word},")).map(|i| i + 1))?;
            let start = at + 1;
            let end = start + word.len();
            Some(format!(
                "{}{}{}",
                &body[..start],
                paint(code, &body[start..end]),
                &body[end..]
            ))
        });
        out.push_str(painted.as_deref().unwrap_or(body));
        out.push_str(newline);
    }
    out
}

fn paint_lines(text: &str, choose: impl Fn(&str) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, newline) = line
            .strip_suffix('\n')
            .map_or((line, ""), |body| (body, "\n"));
        match choose(body) {
            Some(code) if !body.is_empty() => out.push_str(&paint(code, body)),
            _ => out.push_str(body),
        }
        out.push_str(newline);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_lines_are_painted_by_their_sign_and_text_is_unchanged() {
        let text = "Plan for app web: 1 to create\n\n+ create Deployment a/b\n~ update ConfigMap a/c\n  ~ data.x: 1 → 2\n- delete Secret a/d\n";
        let painted = plan(text);
        assert!(
            painted.contains("\x1b[32m+ create Deployment a/b\x1b[0m"),
            "{painted:?}"
        );
        assert!(
            painted.contains("\x1b[33m  ~ data.x: 1 → 2\x1b[0m"),
            "{painted:?}"
        );
        assert!(
            painted.contains("\x1b[31m- delete Secret a/d\x1b[0m"),
            "{painted:?}"
        );
        assert!(painted.starts_with("Plan for app web: 1 to create\n"));
        let stripped = painted
            .replace("\x1b[32m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, text);
    }

    #[test]
    fn status_health_words_are_painted() {
        let text = "app web: Degraded, OutOfSync (2 objects)\n  Deployment a/web      Synced     Degraded: Pod a/web-1 ImagePullBackOff\n  Service a/web         Synced     Healthy\n";
        let painted = status(text);
        assert!(
            painted.contains("app web: \x1b[31mDegraded\x1b[0m, OutOfSync"),
            "{painted:?}"
        );
        assert!(
            painted.contains("Synced     \x1b[31mDegraded\x1b[0m: Pod"),
            "{painted:?}"
        );
        assert!(
            painted.ends_with("Synced     \x1b[32mHealthy\x1b[0m\n"),
            "{painted:?}"
        );
    }
}
