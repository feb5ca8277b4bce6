//! Text from inputs made safe to print: object names, messages quoting field values, commit
//! subjects and authors go to terminals and CI logs, where a raw escape sequence could
//! rewrite the screen, hide lines or forge output.
//!
//! Every layer that prints such text calls [`escape_control`] on it, so there is one rule
//! for what is escaped and how it looks.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character (C0, DEL and C1, line breaks and tabs included) and
/// every bidirectional formatting character written as a Rust escape: `\n`, `\t`, `\r`,
/// `\u{1b}`, `\u{202e}`. Text without any comes back borrowed.
///
/// Line breaks are escaped too because this is for values that must stay on their line:
/// a name holding `\n` would otherwise print a line of its own choosing. Text that is
/// meant to span lines is escaped line by line.
///
/// ```
/// use shipway_model::text::escape_control;
/// assert_eq!(escape_control("web"), "web");
/// assert_eq!(escape_control("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
/// ```
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            // `escape_default` writes `\n`, `\r`, `\t` and `\u{…}` for the rest, which is
            // unambiguous and reads the same on every terminal.
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Control characters, and the bidirectional overrides and isolates that reorder what a
/// terminal shows (the "Trojan Source" characters).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_and_keeps_the_rest() {
        assert!(matches!(escape_control("api:1.0 → 2.0"), Cow::Borrowed(_)));
        assert_eq!(escape_control("\x1b]0;title\x07"), "\\u{1b}]0;title\\u{7}");
        assert_eq!(escape_control("a\tb\r\n"), "a\\tb\\r\\n");
        assert_eq!(escape_control("\u{7f}\u{9b}"), "\\u{7f}\\u{9b}");
        assert_eq!(escape_control("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape_control("héllo"), "héllo");
    }
}
