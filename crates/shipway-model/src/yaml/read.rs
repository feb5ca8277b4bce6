//! Reading YAML streams into [`Node`] trees with source positions.
//!
//! The parser is `saphyr-parser` (pure Rust, event based, with spans); this module turns its
//! events into resolved values the way Go's yaml.v3 decodes them for kustomize, and enforces
//! what kustomize users rely on: duplicate keys are errors, aliases are expanded with a
//! budget (no billion-laughs), merge keys (`<<`) work, and every limit is explicit.
//!
//! Alias expansion is bounded twice: by the number of nodes it adds, and by the bytes of
//! keys and strings it copies, relative to the size of the input. The node budget alone let
//! one large scalar aliased a few thousand times allocate gigabytes while adding only a few
//! thousand nodes.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::number::resolve_plain_v3;
use crate::value::{Entry, FileId, Mapping, Node, Pos, Value};

/// Explicit bounds on what one YAML stream may cost to read.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Most documents in one stream.
    pub max_documents: usize,
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Most nodes that alias expansion may add to one stream.
    pub max_alias_nodes: usize,
    /// How many bytes of keys and strings alias expansion may copy per byte of input (see
    /// [`Limits::alias_bytes_budget`]).
    pub alias_bytes_per_input_byte: usize,
    /// The smallest alias byte budget, however small the input.
    pub min_alias_bytes: usize,
    /// Whether a key repeated in one mapping replaces the earlier one instead of being an
    /// error. kustomize reads kustomization files this way (through JSON, where the last
    /// key wins) and resources the strict way (yaml.v3); off by default.
    pub duplicate_keys_keep_last: bool,
}

impl Limits {
    /// How many bytes of keys and strings alias expansion may copy in a stream of
    /// `input_len` bytes: `alias_bytes_per_input_byte` times the input, at least
    /// `min_alias_bytes`.
    pub fn alias_bytes_budget(&self, input_len: usize) -> usize {
        input_len
            .saturating_mul(self.alias_bytes_per_input_byte)
            .max(self.min_alias_bytes)
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 256 * 1024 * 1024,
            max_documents: 1_000_000,
            max_depth: 256,
            max_alias_nodes: 1_000_000,
            // Legitimate anchors (shared labels, resource blocks, env lists) repeat small
            // pieces a few times; sixteen times the file, or 16 MiB, is far above that and
            // far below what hurts.
            alias_bytes_per_input_byte: 16,
            min_alias_bytes: 16 * 1024 * 1024,
            duplicate_keys_keep_last: false,
        }
    }
}

/// A YAML stream that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {col}: {message}")]
pub struct YamlError {
    /// 1-based line of the problem.
    pub line: u32,
    /// 1-based column of the problem.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl YamlError {
    fn at(pos: Pos, message: impl Into<String>) -> YamlError {
        YamlError {
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }
}

/// Reads every document of a stream. Empty documents come back as [`Value::Null`] nodes.
pub fn parse_stream(text: &str, file: FileId, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    if text.len() > limits.max_bytes {
        // The whole input is at fault; it starts at line 1, and callers print `file:line`.
        return Err(YamlError {
            line: 1,
            col: 1,
            message: format!(
                "input is {} bytes, more than the limit of {} bytes",
                text.len(),
                limits.max_bytes
            ),
        });
    }
    let input_len = text.len();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Builder::new(file, limits, input_len).run(text)
}

/// Reads a stream that must hold exactly one document (tests and small inputs).
pub fn parse_one(text: &str) -> Result<Node, YamlError> {
    let mut docs = parse_stream(text, FileId::NONE, &Limits::default())?;
    match docs.len() {
        0 => Ok(Node::new(Value::Null)),
        1 => Ok(docs.remove(0)),
        // Point at the first document too many, which is where the reader should look.
        n => Err(YamlError {
            line: docs[1].pos.line.max(1),
            col: docs[1].pos.col.max(1),
            message: format!("expected one document, found {n}"),
        }),
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map(Box<MapFrame>),
}

struct MapFrame {
    map: Mapping,
    pos: Pos,
    anchor: usize,
    /// The key waiting for its value, with its position and whether it is a `<<` merge key.
    key: Option<(String, Pos, bool)>,
    /// Index of each key, once the mapping is large enough for scanning to hurt.
    index: Option<HashMap<String, usize>>,
    merges: Vec<Node>,
}

/// An anchored node and what one alias to it costs.
struct Anchored {
    node: Node,
    /// Nodes in the tree.
    nodes: usize,
    /// Bytes of keys and strings in the tree.
    bytes: usize,
}

impl Anchored {
    fn new(node: &Node) -> Anchored {
        let (nodes, bytes) = expansion_cost(node);
        Anchored {
            node: node.clone(),
            nodes,
            bytes,
        }
    }
}

/// Nodes, and bytes of keys and strings, in a tree: what copying it for an alias costs.
fn expansion_cost(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Str(text) => (1, text.len()),
        Value::Seq(items) => items.iter().fold((1, 0), |(nodes, bytes), item| {
            let (n, b) = expansion_cost(item);
            (nodes + n, bytes.saturating_add(b))
        }),
        Value::Map(map) => map.entries.iter().fold((1, 0), |(nodes, bytes), entry| {
            let (n, b) = expansion_cost(&entry.value);
            (
                nodes + n,
                bytes.saturating_add(b).saturating_add(entry.key.len()),
            )
        }),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Uint(_) | Value::Float(_) => (1, 0),
    }
}

struct Builder<'l> {
    file: FileId,
    limits: &'l Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: usize,
    /// Bytes of keys and strings copied by aliases so far.
    alias_bytes: usize,
    /// Size of the input, which the alias byte budget is relative to.
    input_len: usize,
    docs: Vec<Node>,
    root: Option<Node>,
    /// The input's length in characters when its last line holds text and has no line
    /// break: a block scalar that ends there lost its final break (see `run`).
    unterminated_end: Option<usize>,
}

impl<'l> Builder<'l> {
    fn new(file: FileId, limits: &'l Limits, input_len: usize) -> Builder<'l> {
        Builder {
            file,
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            alias_bytes: 0,
            input_len,
            docs: Vec::new(),
            root: None,
            unterminated_end: None,
        }
    }

    fn pos(&self, span: &Span) -> Pos {
        Pos {
            file: self.file,
            line: span.start.line() as u32,
            col: span.start.col() as u32 + 1,
        }
    }

    fn run(mut self, text: &str) -> Result<Vec<Node>, YamlError> {
        self.unterminated_end = unterminated_end(text);
        let parser = Parser::new_from_str(text);
        for event in parser {
            let (event, span) = event.map_err(|e| YamlError {
                line: e.marker().line() as u32,
                col: e.marker().col() as u32 + 1,
                message: e.info().to_string(),
            })?;
            let pos = self.pos(&span);
            match event {
                Event::DocumentStart(_) => {
                    self.anchors.clear();
                    self.root = None;
                }
                Event::DocumentEnd => {
                    let root = self
                        .root
                        .take()
                        .unwrap_or_else(|| Node::at(Value::Null, pos));
                    if self.docs.len() >= self.limits.max_documents {
                        return Err(YamlError::at(
                            pos,
                            format!(
                                "more than {} documents in one stream",
                                self.limits.max_documents
                            ),
                        ));
                    }
                    self.docs.push(root);
                }
                Event::Scalar(text, style, anchor, tag) => {
                    if self.awaiting_key() {
                        // A copy sized to the key: the parser's own buffer keeps the capacity
                        // of its scanner (about 130 bytes a key), which was a third of the
                        // memory of a large input.
                        self.set_key(String::from(&*text), pos, style == ScalarStyle::Plain)?;
                        continue;
                    }
                    // go-yaml keeps a block scalar's final line break only when the input
                    // has one: `|` on the last line of a file without a newline reads as
                    // `|-`, where saphyr adds the break.
                    let at_unterminated_end = self
                        .unterminated_end
                        .is_some_and(|end| span.end.index() >= end);
                    let text = match style {
                        ScalarStyle::Literal | ScalarStyle::Folded if at_unterminated_end => {
                            text.strip_suffix('\n').unwrap_or(&text)
                        }
                        _ => &text,
                    };
                    let value = resolve_scalar(text, style, tag.as_deref())
                        .map_err(|m| YamlError::at(pos, m))?;
                    let node = Node::at(value, pos);
                    self.remember(anchor, &node);
                    self.complete(node)?;
                }
                Event::SequenceStart(anchor, _) => {
                    self.check_depth(pos)?;
                    if self.awaiting_key() {
                        return Err(YamlError::at(pos, "a sequence cannot be a mapping key"));
                    }
                    self.stack.push(Frame::Seq {
                        items: Vec::new(),
                        pos,
                        anchor,
                    });
                }
                Event::MappingStart(anchor, _) => {
                    self.check_depth(pos)?;
                    if self.awaiting_key() {
                        return Err(YamlError::at(pos, "a mapping cannot be a mapping key"));
                    }
                    self.stack.push(Frame::Map(Box::new(MapFrame {
                        map: Mapping::new(),
                        pos,
                        anchor,
                        key: None,
                        index: None,
                        merges: Vec::new(),
                    })));
                }
                Event::SequenceEnd => {
                    if let Some(Frame::Seq {
                        mut items,
                        pos,
                        anchor,
                    }) = self.stack.pop()
                    {
                        // Growth slack of every list and mapping of a large input adds up
                        // to a third of the tree's memory; trim it once the node is whole.
                        items.shrink_to_fit();
                        let node = Node::at(Value::Seq(items), pos);
                        self.remember(anchor, &node);
                        self.complete(node)?;
                    }
                }
                Event::MappingEnd => {
                    if let Some(Frame::Map(frame)) = self.stack.pop() {
                        let MapFrame {
                            mut map,
                            pos,
                            anchor,
                            merges,
                            ..
                        } = *frame;
                        apply_merges(&mut map, merges, pos)?;
                        map.entries.shrink_to_fit();
                        let node = Node::at(Value::Map(map), pos);
                        self.remember(anchor, &node);
                        self.complete(node)?;
                    }
                }
                Event::Alias(id) => {
                    let Some(anchored) = self.anchors.get(&id) else {
                        return Err(YamlError::at(pos, "unknown anchor"));
                    };
                    self.alias_nodes += anchored.nodes;
                    if self.alias_nodes > self.limits.max_alias_nodes {
                        return Err(YamlError::at(
                            pos,
                            format!(
                                "aliases expand to more than {} nodes; refusing to expand further",
                                self.limits.max_alias_nodes
                            ),
                        ));
                    }
                    // Checked before the copy is made, so the budget bounds what is
                    // allocated, not just what is kept.
                    self.alias_bytes = self.alias_bytes.saturating_add(anchored.bytes);
                    let budget = self.limits.alias_bytes_budget(self.input_len);
                    if self.alias_bytes > budget {
                        return Err(YamlError::at(
                            pos,
                            format!(
                                "aliases expand to more than {budget} bytes of keys and strings \
                                 ({} times the {}-byte input, at least {}); refusing to expand \
                                 further",
                                self.limits.alias_bytes_per_input_byte,
                                self.input_len,
                                self.limits.min_alias_bytes
                            ),
                        ));
                    }
                    let node = anchored.node.clone();
                    if self.awaiting_key() {
                        let Some(text) = node.value.scalar_text() else {
                            return Err(YamlError::at(
                                pos,
                                "an alias to a collection cannot be a mapping key",
                            ));
                        };
                        self.set_key(text, pos, false)?;
                    } else {
                        self.complete(node)?;
                    }
                }
                Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            }
        }
        Ok(self.docs)
    }

    fn check_depth(&self, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::at(
                pos,
                format!(
                    "collections nested deeper than {} levels",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, Anchored::new(node));
        }
    }

    fn awaiting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map(frame)) if frame.key.is_none())
    }

    fn set_key(&mut self, key: String, pos: Pos, plain: bool) -> Result<(), YamlError> {
        let Some(Frame::Map(frame)) = self.stack.last_mut() else {
            return Ok(());
        };
        let is_merge = plain && key == "<<";
        if !is_merge {
            let existing = match &frame.index {
                Some(index) => index.get(&key).copied(),
                None => frame.map.entries.iter().position(|e| e.key == key),
            };
            if let Some(i) = existing
                && self.limits.duplicate_keys_keep_last
            {
                // The later value wins: drop the earlier entry (the index, if any, is
                // rebuilt when the mapping next grows past its threshold).
                frame.map.entries.remove(i);
                frame.index = None;
            } else if let Some(existing) = existing.map(|i| &frame.map.entries[i]) {
                return Err(YamlError::at(
                    pos,
                    format!(
                        "mapping key {key:?} already defined at line {}",
                        existing.key_pos.line
                    ),
                ));
            }
        }
        frame.key = Some((key, pos, is_merge));
        Ok(())
    }

    fn complete(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map(frame)) => {
                let Some((key, key_pos, is_merge)) = frame.key.take() else {
                    return Err(YamlError::at(node.pos, "unexpected mapping key"));
                };
                if is_merge {
                    frame.merges.push(node);
                    return Ok(());
                }
                frame.map.entries.push(Entry {
                    key,
                    key_pos,
                    value: node,
                });
                let len = frame.map.entries.len();
                // Large mappings (generated data, big ConfigMaps) get a key index so the
                // duplicate check stays linear overall.
                if len > 32 {
                    let index = frame.index.get_or_insert_with(|| {
                        frame.map.entries[..len - 1]
                            .iter()
                            .enumerate()
                            .map(|(i, e)| (e.key.clone(), i))
                            .collect()
                    });
                    index.insert(frame.map.entries[len - 1].key.clone(), len - 1);
                }
            }
        }
        Ok(())
    }
}

/// Applies `<<` merge keys: explicit keys win, and among merged mappings the earlier wins.
fn apply_merges(map: &mut Mapping, merges: Vec<Node>, pos: Pos) -> Result<(), YamlError> {
    for merge in merges {
        let sources: Vec<Node> = match merge.value {
            Value::Map(_) => vec![merge],
            Value::Seq(items) => items,
            _ => {
                return Err(YamlError::at(
                    pos,
                    "map merge requires map or sequence of maps as the value",
                ));
            }
        };
        for source in sources {
            let Value::Map(source) = source.value else {
                return Err(YamlError::at(
                    pos,
                    "map merge requires map or sequence of maps as the value",
                ));
            };
            for entry in source.entries {
                if !map.contains_key(&entry.key) {
                    map.entries.push(entry);
                }
            }
        }
    }
    Ok(())
}

/// The input's length in characters when its last line holds more than blanks and ends
/// without a line break; `None` otherwise (the common case, decided without counting).
fn unterminated_end(text: &str) -> Option<usize> {
    let last_line = text.rsplit(['\n', '\r']).next()?;
    if last_line.trim_matches([' ', '\t']).is_empty() {
        return None;
    }
    Some(text.chars().count())
}

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        let core = tag.is_yaml_core_schema() || tag.handle == "!!";
        if !core {
            // yaml.v3 keeps scalars with application tags as strings.
            return Ok(Value::Str(text.to_string()));
        }
        return match tag.suffix.as_str() {
            "str" | "binary" | "timestamp" => Ok(Value::Str(text.to_string())),
            "null" => Ok(Value::Null),
            "bool" | "int" | "float" => {
                let value = resolve_plain_v3(text);
                let ok = match (tag.suffix.as_str(), &value) {
                    ("bool", Value::Bool(_))
                    | ("int", Value::Int(_) | Value::Uint(_))
                    | ("float", Value::Float(_)) => true,
                    ("float", Value::Int(i)) => return Ok(Value::Float(*i as f64)),
                    _ => false,
                };
                if ok {
                    Ok(value)
                } else {
                    Err(format!("cannot decode {text:?} as a !!{}", tag.suffix))
                }
            }
            other => Err(format!("unsupported tag !!{other}")),
        };
    }
    Ok(match style {
        ScalarStyle::Plain => resolve_plain_v3(text),
        _ => Value::Str(text.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_types() {
        let docs = parse_stream(
            "a: 1\nb:\n  c: \"x\"\n---\n- 0644\n",
            FileId(3),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        let c = docs[0].get_path(&["b", "c"]).unwrap();
        assert_eq!(c.pos.line, 3);
        assert_eq!(c.pos.file, FileId(3));
        assert_eq!(docs[1].as_seq().unwrap()[0].value, Value::Int(420));
    }

    /// go-yaml reads `|` and `>` on a file's last, unterminated line as if stripped; a
    /// final newline keeps the break, and `|-` is unchanged.
    #[test]
    fn a_block_scalar_at_an_unterminated_end_has_no_final_break() {
        let value = |text: &str| {
            parse_one(text)
                .unwrap()
                .get_path(&["s"])
                .unwrap()
                .value
                .clone()
        };
        let s = |v: &str| Value::Str(v.to_string());
        assert_eq!(value("s: |\n  a\n  b"), s("a\nb"));
        assert_eq!(value("s: >\n  a\n  b"), s("a b"));
        assert_eq!(value("s: |+\n  a"), s("a"));
        assert_eq!(value("s: |-\n  a"), s("a"));
        assert_eq!(value("s: |\n  a\n"), s("a\n"));
        assert_eq!(value("s: |\n  a\nt: x"), s("a\n"));
        let docs = parse_stream("s: |\n  a\n---\nu: |\n  b", FileId(0), &Limits::default());
        let docs = docs.unwrap();
        assert_eq!(docs[0].get_path(&["s"]).unwrap().value, s("a\n"));
        assert_eq!(docs[1].get_path(&["u"]).unwrap().value, s("b"));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_one("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("already defined at line 1"), "{err}");
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            let refs = vec![format!("*a{p}"); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n").to_string());
        }
        let err = parse_one(&text).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{err}");
    }

    /// One 1 MiB scalar aliased 3,000 times added only 3,000 nodes, under the node budget,
    /// while copying 3 GiB of text.
    #[test]
    fn one_large_scalar_aliased_many_times_is_bounded_by_bytes() {
        use std::fmt::Write as _;
        let mut text = format!("k0: &big {}\n", "x".repeat(1024 * 1024));
        for i in 1..=3000 {
            let _ = writeln!(text, "k{i}: *big");
        }
        let err = parse_one(&text).unwrap_err();
        assert!(err.message.contains("bytes of keys and strings"), "{err}");
        // The budget is 16 MiB (16 times the 1 MiB input): the 17th alias, on line 18,
        // crosses it.
        assert_eq!((err.line, err.col), (18, 6), "{err}");
    }

    #[test]
    fn repeated_keys_are_an_error_unless_the_last_is_asked_to_win() {
        let text = "a: 1\nb: 2\na: 3\n";
        let err = parse_stream(text, FileId(0), &Limits::default()).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let limits = Limits {
            duplicate_keys_keep_last: true,
            ..Limits::default()
        };
        let docs = parse_stream(text, FileId(0), &limits).unwrap();
        let map = docs[0].as_map().unwrap();
        let keys: Vec<&str> = map.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert!(matches!(map.entries[1].value.value, crate::Value::Int(3)));
    }

    #[test]
    fn the_alias_byte_budget_scales_with_the_input() {
        let limits = Limits {
            alias_bytes_per_input_byte: 4,
            min_alias_bytes: 0,
            ..Limits::default()
        };
        // 100 bytes of anchored text in a ~130-byte file: three aliases fit under 4 × 130,
        // six do not.
        let base = format!("a: &a {}\n", "y".repeat(100));
        let three = format!("{base}b: [*a, *a, *a]\n");
        assert!(parse_stream(&three, FileId(0), &limits).is_ok());
        let six = format!("{base}b: [*a, *a, *a, *a, *a, *a]\n");
        let err = parse_stream(&six, FileId(0), &limits).unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }

    #[test]
    fn an_input_over_the_size_limit_names_line_1() {
        let limits = Limits {
            max_bytes: 4,
            ..Limits::default()
        };
        let err = parse_stream("a: 12345\n", FileId(0), &limits).unwrap_err();
        assert_eq!((err.line, err.col), (1, 1), "{err}");
        assert!(
            err.message.contains("more than the limit of 4 bytes"),
            "{err}"
        );
        let err = parse_one("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn merge_keys() {
        let node = parse_one("base: &b {x: 1, y: 2}\nobj:\n  <<: *b\n  y: 3\n").unwrap();
        assert_eq!(node.get_path(&["obj", "x"]).unwrap().value, Value::Int(1));
        assert_eq!(node.get_path(&["obj", "y"]).unwrap().value, Value::Int(3));
    }

    #[test]
    fn depth_is_bounded() {
        let text = "[".repeat(300) + &"]".repeat(300);
        assert!(parse_one(&text).is_err());
    }
}
