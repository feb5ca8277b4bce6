//! The comment-preserving editor of a kustomization's `images:` list.
//!
//! Re-emitting the YAML would lose comments, quoting, key order and blank lines, so the
//! editor splices instead: `saphyr-parser` reports the span of every scalar, and only the
//! bytes of the values that change are replaced. Added fields and entries copy the
//! indentation, line ending and collection style (block or flow) found around them; a file
//! without a final newline keeps not having one. Pure: text in, text out, no I/O.

use std::fmt::Write as _;

use saphyr_parser::{Event, Parser, ScalarStyle};
use shipway_model::Value;
use shipway_model::yaml::number::resolve_plain_v3;

use crate::image::{Field, ImageChange, ImageState};

/// A kustomization that the editor cannot edit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The text is not valid YAML.
    #[error("line {line} column {col}: {message}")]
    Yaml {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The parser's message.
        message: String,
    },
    /// The document, `images:` or one of its entries has the wrong shape.
    #[error("line {line}: {message}")]
    Shape {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A change names an image with no `images:` entry, and adding was not allowed.
    #[error("no `images:` entry is named `{name}` (entries: {})", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownImage {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
}

/// One image's state before and after an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEdit {
    /// The entry name.
    pub name: String,
    /// The entry before, or `None` when the edit added it.
    pub before: Option<ImageState>,
    /// The entry after.
    pub after: ImageState,
}

impl ImageEdit {
    /// Whether the entry changed.
    pub fn changed(&self) -> bool {
        self.before.as_ref() != Some(&self.after)
    }
}

/// Applies `changes` to the `images:` list of a kustomization's text and returns the new text
/// and each image's state before and after. When `add` is false, a change naming an image
/// that has no entry is an [`EditError::UnknownImage`]. Every byte outside the changed values
/// is kept.
pub fn edit_images(
    text: &str,
    changes: &[ImageChange],
    add: bool,
) -> Result<(String, Vec<ImageEdit>), EditError> {
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(body) => ("\u{feff}", body),
        None => ("", text),
    };
    let doc = Doc::parse(body)?;
    let mut splices: Vec<Splice> = Vec::new();
    let mut edits = Vec::new();
    let mut new_entries: Vec<(String, ImageState)> = Vec::new();
    let entries = doc.entries()?;
    for change in changes {
        let existing = entries
            .iter()
            .find(|(name, _, _)| *name == change.name)
            .map(|(_, state, node)| (state.clone(), *node));
        if let Some((before, node)) = existing {
            let after = apply(&before, change);
            if after != before {
                doc.edit_entry(node, &before, &after, &mut splices)?;
            }
            edits.push(ImageEdit {
                name: change.name.clone(),
                before: Some(before),
                after,
            });
        } else if add {
            let after = apply(&ImageState::default(), change);
            new_entries.push((change.name.clone(), after.clone()));
            edits.push(ImageEdit {
                name: change.name.clone(),
                before: None,
                after,
            });
        } else {
            return Err(EditError::UnknownImage {
                name: change.name.clone(),
                known: entries.iter().map(|(n, _, _)| n.clone()).collect(),
            });
        }
    }
    if !new_entries.is_empty() {
        doc.add_entries(&new_entries, &mut splices)?;
    }
    let mut out = body.to_owned();
    // Right to left, so earlier offsets stay valid; at equal offsets an insertion goes
    // before a removal that ends there (both were computed on the original text).
    splices.sort_by(|a, b| b.start.cmp(&a.start).then(b.end.cmp(&a.end)));
    for s in &splices {
        out.replace_range(s.start..s.end, &s.text);
    }
    Ok((format!("{bom}{out}"), edits))
}

/// Reads the `images:` entries of a kustomization's text: name and state, in file order.
pub fn read_images(text: &str) -> Result<Vec<(String, ImageState)>, EditError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = Doc::parse(body)?;
    Ok(doc
        .entries()?
        .into_iter()
        .map(|(name, state, _)| (name, state))
        .collect())
}

fn apply(before: &ImageState, change: &ImageChange) -> ImageState {
    let field = |old: &Option<String>, f: &Field| match f {
        Field::Keep => old.clone(),
        Field::Set(v) => Some(v.clone()),
        Field::Remove => None,
    };
    ImageState {
        new_name: field(&before.new_name, &change.new_name),
        new_tag: field(&before.new_tag, &change.new_tag),
        digest: field(&before.digest, &change.digest),
    }
}

/// Replace `start..end` of the original text with `text`.
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

/// A parsed node with byte offsets into the text.
#[derive(Debug)]
enum Y {
    Scalar {
        value: String,
        style: ScalarStyle,
        start: usize,
        end: usize,
    },
    Seq {
        flow: bool,
        start: usize,
        end: usize,
        items: Vec<Y>,
    },
    Map {
        flow: bool,
        start: usize,
        end: usize,
        entries: Vec<(Y, Y)>,
    },
    Alias {
        start: usize,
        end: usize,
    },
}

impl Y {
    fn start(&self) -> usize {
        match self {
            Y::Scalar { start, .. }
            | Y::Seq { start, .. }
            | Y::Map { start, .. }
            | Y::Alias { start, .. } => *start,
        }
    }

    /// Where the node's text ends: a flow collection at its bracket, a block collection at
    /// the end of its last value.
    fn last_end(&self) -> usize {
        match self {
            Y::Scalar { end, .. }
            | Y::Alias { end, .. }
            | Y::Seq {
                flow: true, end, ..
            }
            | Y::Map {
                flow: true, end, ..
            } => *end,
            Y::Seq { items, start, .. } => items.last().map_or(*start, Y::last_end),
            Y::Map { entries, start, .. } => entries.last().map_or(*start, |(_, v)| v.last_end()),
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Y::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&Y> {
        match self {
            Y::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Doc<'a> {
    text: &'a str,
    root: Option<Y>,
    eol: &'static str,
}

impl<'a> Doc<'a> {
    fn parse(text: &'a str) -> Result<Doc<'a>, EditError> {
        let offsets: Option<Vec<usize>> = if text.is_ascii() {
            None
        } else {
            Some(
                text.char_indices()
                    .map(|(i, _)| i)
                    .chain(std::iter::once(text.len()))
                    .collect(),
            )
        };
        let byte = |char_index: usize| match &offsets {
            None => char_index.min(text.len()),
            Some(o) => o.get(char_index).copied().unwrap_or(text.len()),
        };
        let mut events = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Some(event) = parser.next_event() {
            let (event, span) = event.map_err(|e| EditError::Yaml {
                line: e.marker().line(),
                col: e.marker().col() + 1,
                message: e.info().to_owned(),
            })?;
            let is_end = matches!(event, Event::DocumentEnd | Event::StreamEnd);
            events.push((event, byte(span.start.index()), byte(span.end.index())));
            if is_end {
                break;
            }
        }
        let mut i = 0;
        while i < events.len()
            && matches!(
                events[i].0,
                Event::StreamStart | Event::DocumentStart(_) | Event::Nothing
            )
        {
            i += 1;
        }
        let root =
            if i < events.len() && !matches!(events[i].0, Event::DocumentEnd | Event::StreamEnd) {
                Some(build(text, &events, &mut i)?)
            } else {
                None
            };
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Ok(Doc { text, root, eol })
    }

    fn line_of(&self, pos: usize) -> usize {
        self.text[..pos].matches('\n').count() + 1
    }

    fn shape(&self, pos: usize, message: impl Into<String>) -> EditError {
        EditError::Shape {
            line: self.line_of(pos),
            message: message.into(),
        }
    }

    fn line_start(&self, pos: usize) -> usize {
        self.text[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The offset just after the line ending of the line holding `pos` (the text's length on
    /// a last line without one).
    fn next_line(&self, pos: usize) -> usize {
        self.text[pos..]
            .find('\n')
            .map_or(self.text.len(), |i| pos + i + 1)
    }

    fn col(&self, pos: usize) -> usize {
        self.text[self.line_start(pos)..pos].chars().count()
    }

    /// Text for inserting whole `lines` (each without a line ending) at `at`, a line start or
    /// the end of a last line that has no line ending, which stays without one.
    fn lines_at(&self, at: usize, lines: &[String]) -> String {
        let mut out = String::new();
        if at == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n') {
            for line in lines {
                out.push_str(self.eol);
                out.push_str(line);
            }
        } else {
            for line in lines {
                out.push_str(line);
                out.push_str(self.eol);
            }
        }
        out
    }

    fn images(&self) -> Result<Option<(&Y, &Y)>, EditError> {
        match &self.root {
            None => Ok(None),
            Some(root @ Y::Map { entries, .. }) => {
                let _ = root;
                Ok(entries
                    .iter()
                    .find(|(k, _)| k.as_str() == Some("images"))
                    .map(|(k, v)| (k, v)))
            }
            Some(other) => Err(self.shape(other.start(), "the kustomization is not a mapping")),
        }
    }

    fn entries(&self) -> Result<Vec<(String, ImageState, &Y)>, EditError> {
        let Some((_, images)) = self.images()? else {
            return Ok(Vec::new());
        };
        let items = match images {
            Y::Seq { items, .. } => items,
            Y::Scalar { value, .. } if is_null(value) => return Ok(Vec::new()),
            other => return Err(self.shape(other.start(), "`images` is not a list")),
        };
        let mut out = Vec::new();
        for item in items {
            if !matches!(item, Y::Map { .. }) {
                return Err(self.shape(item.start(), "an `images` entry is not a mapping"));
            }
            let Some(name) = item.get("name").and_then(Y::as_str) else {
                return Err(self.shape(item.start(), "an `images` entry has no `name`"));
            };
            let field = |key: &str| item.get(key).and_then(Y::as_str).map(str::to_owned);
            out.push((
                name.to_owned(),
                ImageState {
                    new_name: field("newName"),
                    new_tag: field("newTag"),
                    digest: field("digest"),
                },
                item,
            ));
        }
        Ok(out)
    }

    fn edit_entry(
        &self,
        item: &Y,
        before: &ImageState,
        after: &ImageState,
        splices: &mut Vec<Splice>,
    ) -> Result<(), EditError> {
        let Y::Map {
            flow,
            entries,
            start,
            end,
        } = item
        else {
            return Err(self.shape(item.start(), "an `images` entry is not a mapping"));
        };
        let mut added = Vec::new();
        for (key, old, new) in [
            ("newName", &before.new_name, &after.new_name),
            ("newTag", &before.new_tag, &after.new_tag),
            ("digest", &before.digest, &after.digest),
        ] {
            if old == new {
                continue;
            }
            let index = entries.iter().position(|(k, _)| k.as_str() == Some(key));
            match (index, new) {
                (Some(i), Some(value)) => {
                    let (_, v) = &entries[i];
                    let (style, s, e) = match v {
                        Y::Scalar {
                            style, start, end, ..
                        } => (*style, *start, *end),
                        other => {
                            return Err(
                                self.shape(other.start(), format!("`{key}` is not a scalar"))
                            );
                        }
                    };
                    // An empty plain scalar has an empty span right after the colon.
                    let text = if s == e && style == ScalarStyle::Plain {
                        format!(" {}", scalar(value, None, *flow))
                    } else {
                        scalar(value, Some(style), *flow)
                    };
                    splices.push(Splice {
                        start: s,
                        end: e,
                        text,
                    });
                }
                (Some(i), None) => splices.push(self.removal(entries, i, *flow)),
                (None, Some(value)) => added.push((key, value.clone())),
                (None, None) => {}
            }
        }
        if added.is_empty() {
            return Ok(());
        }
        if *flow {
            let mut text = String::new();
            for (key, value) in &added {
                if !entries.is_empty() || !text.is_empty() {
                    text.push_str(", ");
                }
                let _ = write!(text, "{key}: {}", scalar(value, None, true));
            }
            let at = entries.last().map_or(start + 1, |(_, v)| v.last_end());
            let _ = end;
            splices.push(Splice {
                start: at,
                end: at,
                text,
            });
        } else {
            let first_key = entries.first().map_or(*start, |(k, _)| k.start());
            let indent = " ".repeat(self.col(first_key));
            let lines: Vec<String> = added
                .iter()
                .map(|(key, value)| format!("{indent}{key}: {}", scalar(value, None, false)))
                .collect();
            let at = self.next_line(item.last_end());
            splices.push(Splice {
                start: at,
                end: at,
                text: self.lines_at(at, &lines),
            });
        }
        Ok(())
    }

    /// The splice that removes entry `i` of a mapping: its whole lines in block style when
    /// it has them to itself, else the key, value and one separating comma.
    fn removal(&self, entries: &[(Y, Y)], i: usize, flow: bool) -> Splice {
        let (key, value) = &entries[i];
        let key_start = key.start();
        let line_start = self.line_start(key_start);
        let alone_on_line = self.text[line_start..key_start].trim().is_empty();
        if !flow && alone_on_line {
            return Splice {
                start: line_start,
                end: self.next_line(value.last_end()),
                text: String::new(),
            };
        }
        if i > 0 {
            Splice {
                start: entries[i - 1].1.last_end(),
                end: value.last_end(),
                text: String::new(),
            }
        } else if let Some((next, _)) = entries.get(1) {
            Splice {
                start: key_start,
                end: next.start(),
                text: String::new(),
            }
        } else {
            Splice {
                start: key_start,
                end: value.last_end(),
                text: String::new(),
            }
        }
    }

    fn add_entries(
        &self,
        new: &[(String, ImageState)],
        splices: &mut Vec<Splice>,
    ) -> Result<(), EditError> {
        let flow_entry = |name: &str, state: &ImageState| {
            let mut s = format!("{{name: {}", scalar(name, None, true));
            for (key, v) in fields(state) {
                let _ = write!(s, ", {key}: {}", scalar(v, None, true));
            }
            s.push('}');
            s
        };
        let block_entry = |dash: &str, key_indent: &str, name: &str, state: &ImageState| {
            // The first key sits after the dash at the same column as the other keys.
            let gap = " ".repeat(key_indent.len().saturating_sub(dash.len() + 1).max(1));
            let mut lines = vec![format!("{dash}-{gap}name: {}", scalar(name, None, false))];
            for (key, v) in fields(state) {
                lines.push(format!("{key_indent}{key}: {}", scalar(v, None, false)));
            }
            lines
        };
        match self.images()? {
            Some((
                _,
                Y::Seq {
                    flow: true,
                    start,
                    items,
                    ..
                },
            )) => {
                let mut text = String::new();
                for (name, state) in new {
                    if !items.is_empty() || !text.is_empty() {
                        text.push_str(", ");
                    }
                    text.push_str(&flow_entry(name, state));
                }
                let at = items.last().map_or(start + 1, Y::last_end);
                splices.push(Splice {
                    start: at,
                    end: at,
                    text,
                });
            }
            Some((_, seq @ Y::Seq { items, .. })) => {
                let first = items.first().map_or(seq.start(), Y::start);
                let line_start = self.line_start(first);
                let dash_col = self.text[line_start..first]
                    .rfind('-')
                    .map_or(0, |i| self.text[line_start..line_start + i].chars().count());
                let key_col = match items.first() {
                    Some(Y::Map {
                        flow: false,
                        entries,
                        ..
                    }) if !entries.is_empty() => self.col(entries[0].0.start()),
                    _ => dash_col + 2,
                };
                let (dash, key_indent) = (" ".repeat(dash_col), " ".repeat(key_col));
                let lines: Vec<String> = new
                    .iter()
                    .flat_map(|(name, state)| block_entry(&dash, &key_indent, name, state))
                    .collect();
                let at = self.next_line(seq.last_end());
                splices.push(Splice {
                    start: at,
                    end: at,
                    text: self.lines_at(at, &lines),
                });
            }
            Some((
                key,
                Y::Scalar {
                    value, start, end, ..
                },
            )) if is_null(value) => {
                // `images:` with no value (or `~`/`null`): drop the null and put a block
                // list on the following lines, at the key's indentation as kustomize writes it.
                if start != end {
                    splices.push(Splice {
                        start: *start,
                        end: *end,
                        text: String::new(),
                    });
                }
                let dash = " ".repeat(self.col(key.start()));
                let key_indent = format!("{dash}  ");
                let lines: Vec<String> = new
                    .iter()
                    .flat_map(|(name, state)| block_entry(&dash, &key_indent, name, state))
                    .collect();
                // An empty value's span sits wherever the next token starts, so the new lines
                // go after the key's line instead.
                let at = if start == end {
                    self.next_line(key.last_end())
                } else {
                    self.next_line(*end)
                };
                splices.push(Splice {
                    start: at,
                    end: at,
                    text: self.lines_at(at, &lines),
                });
            }
            Some((_, other)) => return Err(self.shape(other.start(), "`images` is not a list")),
            None => {
                if let Some(Y::Map {
                    flow: true,
                    start,
                    entries,
                    ..
                }) = &self.root
                {
                    let list: Vec<String> = new.iter().map(|(n, s)| flow_entry(n, s)).collect();
                    let sep = if entries.is_empty() { "" } else { ", " };
                    let at = entries.last().map_or(start + 1, |(_, v)| v.last_end());
                    splices.push(Splice {
                        start: at,
                        end: at,
                        text: format!("{sep}images: [{}]", list.join(", ")),
                    });
                } else {
                    // Appended as a block at the end of the file, in kustomize's layout.
                    let mut lines = vec!["images:".to_owned()];
                    for (name, state) in new {
                        lines.extend(block_entry("", "  ", name, state));
                    }
                    let at = self.text.len();
                    splices.push(Splice {
                        start: at,
                        end: at,
                        text: self.lines_at(at, &lines),
                    });
                }
            }
        }
        Ok(())
    }
}

fn fields(state: &ImageState) -> impl Iterator<Item = (&'static str, &String)> {
    [
        ("newName", &state.new_name),
        ("newTag", &state.new_tag),
        ("digest", &state.digest),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
}

fn is_null(value: &str) -> bool {
    matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

/// `value` as a YAML scalar in `style` (the style of the value it replaces). A plain scalar
/// that YAML would read as something other than the same string (`1.10` is a float, `true`
/// a boolean) is double-quoted instead, as `kustomize edit set image` writes it.
fn scalar(value: &str, style: Option<ScalarStyle>, flow: bool) -> String {
    match style {
        Some(ScalarStyle::SingleQuoted) => format!("'{}'", value.replace('\'', "''")),
        Some(ScalarStyle::Plain) | None if plain_ok(value, flow) => value.to_owned(),
        _ => {
            let mut out = String::from("\"");
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if c.is_control() => {
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
    }
}

fn plain_ok(value: &str, flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    matches!(resolve_plain_v3(value), Value::Str(ref s) if s == value)
        && !"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && value.trim() == value
        && !value.chars().any(char::is_control)
        && (!flow || !value.contains([',', '[', ']', '{', '}']))
}

/// Builds the node starting at `events[*i]` and leaves `*i` after it.
fn build(text: &str, events: &[(Event<'_>, usize, usize)], i: &mut usize) -> Result<Y, EditError> {
    let shape = |pos: usize, message: &str| EditError::Shape {
        line: text[..pos.min(text.len())].matches('\n').count() + 1,
        message: message.to_owned(),
    };
    let Some((event, start, end)) = events.get(*i) else {
        return Err(shape(text.len(), "unexpected end of the document"));
    };
    *i += 1;
    let opens = |c: char| text[*start..].starts_with(c);
    match event {
        Event::Scalar(value, style, _, _) => Ok(Y::Scalar {
            value: value.to_string(),
            style: *style,
            start: *start,
            // The parser's end of a quoted scalar runs on over the spaces and comment after
            // it; the closing quote is found here instead.
            end: match style {
                ScalarStyle::SingleQuoted => quoted_end(text, *start, '\'', *end),
                ScalarStyle::DoubleQuoted => quoted_end(text, *start, '"', *end),
                _ => *end,
            },
        }),
        Event::Alias(_) => Ok(Y::Alias {
            start: *start,
            end: *end,
        }),
        Event::SequenceStart(..) => {
            let flow = opens('[');
            let mut items = Vec::new();
            loop {
                match events.get(*i) {
                    Some((Event::SequenceEnd, s, _)) => {
                        *i += 1;
                        let close = if flow { flow_close(text, *s, ']') } else { *s };
                        return Ok(Y::Seq {
                            flow,
                            start: *start,
                            end: close,
                            items,
                        });
                    }
                    Some(_) => items.push(build(text, events, i)?),
                    None => return Err(shape(*start, "unterminated list")),
                }
            }
        }
        Event::MappingStart(..) => {
            let flow = opens('{');
            let mut entries = Vec::new();
            loop {
                match events.get(*i) {
                    Some((Event::MappingEnd, s, _)) => {
                        *i += 1;
                        let close = if flow { flow_close(text, *s, '}') } else { *s };
                        return Ok(Y::Map {
                            flow,
                            start: *start,
                            end: close,
                            entries,
                        });
                    }
                    Some(_) => {
                        let key = build(text, events, i)?;
                        let value = build(text, events, i)?;
                        entries.push((key, value));
                    }
                    None => return Err(shape(*start, "unterminated mapping")),
                }
            }
        }
        _ => Err(shape(*start, "unexpected YAML event")),
    }
}

/// The offset just after the closing quote of the scalar opening at `start`.
fn quoted_end(text: &str, start: usize, quote: char, fallback: usize) -> usize {
    let mut chars = text[start..].char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            // `''` inside a single-quoted scalar is an escaped quote.
            if quote == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
                continue;
            }
            return start + i + c.len_utf8();
        }
    }
    fallback
}

/// The offset just after the closing bracket reported at `at`.
fn flow_close(text: &str, at: usize, bracket: char) -> usize {
    text[at..].find(bracket).map_or(at, |i| at + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageRef;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// The text with line endings made visible, so a snapshot shows CRLF and a missing final
    /// newline.
    fn visible(text: &str) -> String {
        let mut out = String::new();
        for line in text.split_inclusive('\n') {
            let (content, ending) = if let Some(c) = line.strip_suffix("\r\n") {
                (c, "␍␊")
            } else if let Some(c) = line.strip_suffix('\n') {
                (c, "␊")
            } else {
                (line, "⌁(no newline at end of file)")
            };
            let _ = writeln!(out, "{content}{ending}");
        }
        out
    }

    fn changed_lines(before: &str, after: &str) -> String {
        let a: Vec<&str> = before.split_inclusive('\n').collect();
        let b: Vec<&str> = after.split_inclusive('\n').collect();
        let mut out = String::new();
        // Same number of lines: only values changed, so list exactly the lines that differ.
        if a.len() == b.len() {
            for (x, y) in a.iter().zip(&b).filter(|(x, y)| x != y) {
                let _ = writeln!(out, "- {}", visible(x).trim_end_matches('\n'));
                let _ = writeln!(out, "+ {}", visible(y).trim_end_matches('\n'));
            }
            return out;
        }
        // Common prefix and suffix: what is left is the changed region.
        let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let suffix = a[prefix..]
            .iter()
            .rev()
            .zip(b[prefix..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        for line in &a[prefix..a.len() - suffix] {
            let _ = writeln!(out, "- {}", visible(line).trim_end_matches('\n'));
        }
        for line in &b[prefix..b.len() - suffix] {
            let _ = writeln!(out, "+ {}", visible(line).trim_end_matches('\n'));
        }
        out
    }

    /// Each fixture: file name, the `--image` arguments, whether adding is allowed.
    const CASES: &[(&str, &[&str], bool)] = &[
        ("block.yaml", &["api=ghcr.io/acme/api:1.5.0"], false),
        (
            "comments-everywhere.yaml",
            &["api:2.0.0", "worker:2.0.0"],
            false,
        ),
        ("crlf.yaml", &["api:v9", "cache=redis:7.4"], true),
        ("no-trailing-newline.yaml", &["api:1.1"], false),
        ("no-trailing-newline-add.yaml", &["worker:3"], true),
        ("images-absent.yaml", &["api=ghcr.io/acme/api:1.0.0"], true),
        ("flow-list.yaml", &["api:1.10", "db=postgres:16.4"], true),
        ("flow-entries.yaml", &["api:2", "web:digest"], false),
        (
            "quoted-tags.yaml",
            &["single:1.2", "double:v3", "plain:1.10", "number:true"],
            false,
        ),
        (
            "digests.yaml",
            &["api:1.1", "web@DIGEST", "both:7@DIGEST"],
            false,
        ),
        (
            "indented-list.yaml",
            &["api:1.1", "new=ghcr.io/acme/new:0.1"],
            true,
        ),
        ("flow-document.yaml", &["api=ghcr.io/acme/api:3.0.0"], true),
        ("images-empty.yaml", &["api:1.0"], true),
        ("unicode-bom.yaml", &["api:2"], false),
    ];

    #[test]
    fn fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/fixtures");
        for (file, images, add) in CASES {
            let text = fs_err::read_to_string(dir.join(file)).unwrap();
            let changes: Vec<ImageChange> = images
                .iter()
                .map(|i| {
                    let i = i.replace("@DIGEST", &format!("@{SHA}"));
                    let i = if i == "web:digest" {
                        format!("web@{SHA}")
                    } else {
                        i
                    };
                    ImageRef::parse(&i).unwrap().to_change()
                })
                .collect();
            let (out, edits) = edit_images(&text, &changes, *add).unwrap();
            // The result reads back as the edit says, and a second run changes nothing.
            let read = read_images(&out).unwrap();
            for e in &edits {
                let found = read.iter().find(|(n, _)| *n == e.name).unwrap();
                assert_eq!(found.1, e.after, "{file}: {}", e.name);
            }
            let (again, _) = edit_images(&out, &changes, false).unwrap();
            assert_eq!(again, out, "{file}: a second edit changed the text");
            assert!(shipway_model::yaml::parse_one(&out).is_ok(), "{file}");
            let mut snap = String::new();
            let _ = writeln!(snap, "images: {images:?} add: {add}");
            for e in &edits {
                let before = e
                    .before
                    .as_ref()
                    .map_or("(none)".to_owned(), |b| b.reference(&e.name));
                let _ = writeln!(
                    snap,
                    "{}: {before} -> {}",
                    e.name,
                    e.after.reference(&e.name)
                );
            }
            let _ = writeln!(snap, "--- changed lines");
            snap.push_str(&changed_lines(&text, &out));
            let _ = writeln!(snap, "--- result");
            snap.push_str(&visible(&out));
            insta::assert_snapshot!(file.trim_end_matches(".yaml"), snap);
        }
    }

    #[test]
    fn unknown_image_without_add_is_an_error() {
        let text = "images:\n- name: api\n  newTag: \"1\"\n";
        let change = ImageRef::parse("web:2").unwrap().to_change();
        let err = edit_images(text, &[change], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no `images:` entry is named `web` (entries: api)"
        );
    }

    #[test]
    fn bad_shapes_are_errors_with_lines() {
        let change = ImageRef::parse("api:2").unwrap().to_change();
        for (text, expected) in [
            ("images: api\n", "line 1: `images` is not a list"),
            ("- a\n", "line 1: the kustomization is not a mapping"),
            (
                "images:\n- newTag: x\n",
                "line 2: an `images` entry has no `name`",
            ),
            ("images: [\n", "line"),
        ] {
            let err = edit_images(text, std::slice::from_ref(&change), true).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn unchanged_values_leave_the_text_identical() {
        let text = "# c\r\nimages:   # list\r\n  - name: api # n\r\n    newTag: '1' # t\r\n";
        let change = ImageRef::parse("api:1").unwrap().to_change();
        let (out, edits) = edit_images(text, &[change], false).unwrap();
        assert_eq!(out, text);
        assert!(!edits[0].changed());
    }
}
