//! Property tests for the YAML reader and emitter: no input makes the reader panic, and
//! whatever the emitter prints reads back as the value it was given.
//!
//! The round trip is the contract the renderer relies on: kustomize prints a resource, a
//! later stage (or `kubectl apply`) reads it again, and the two must agree. The generators
//! lean towards the scalars where YAML's type resolution is subtle (`yes`, `0644`, `1e3`,
//! `~`, leading indicators, line breaks) because uniform random text rarely hits them.
//!
//! Alias expansion is bounded relative to the input: whatever a stream of anchors and
//! aliases reads as, its keys and strings add up to at most the input plus the alias byte
//! budget for an input of that size.

use std::fmt::Write as _;

use proptest::prelude::*;

use super::{Limits, parse_one, parse_stream, to_kustomize_yaml};
use crate::value::{FileId, Mapping, Node, Value};

/// Scalars that YAML resolves to something other than a plain string, or that need quoting
/// or a block style to survive.
const TRICKY: &[&str] = &[
    "",
    " ",
    "~",
    "null",
    "Null",
    "true",
    "False",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "0",
    "-0",
    "+1",
    "0644",
    "0x1F",
    "0b101",
    "1e3",
    "1.5",
    ".5",
    ".inf",
    "-.inf",
    ".nan",
    "<<",
    "1_000",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "- x",
    "? x",
    ": x",
    "x: y",
    "#x",
    "x #y",
    "&a",
    "*a",
    "!tag",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "'",
    "\"",
    "[x]",
    "{x}",
    "x,y",
    "a\nb",
    "a\n",
    "\n",
    "a\n\nb\n",
    " a",
    "a ",
    "a\tb",
    "\ta",
    "a\r\nb",
    "é",
    "\u{85}",
    "\u{2028}",
    "\u{feff}x",
    "\u{7f}",
    "\u{1}",
];

/// Strings for keys and values: YAML-sensitive words, printable text and arbitrary text.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(TRICKY).prop_map(str::to_string),
        3 => "[a-zA-Z0-9 _.:/#'\"-]{0,16}",
        2 => "[ -~\t\n]{0,24}",
        1 => any::<String>(),
    ]
}

/// Finite floats. Integral values are excluded on purpose: kustomize's output goes through
/// Go's `encoding/json`, which prints `2.0` as `2`, so such a float reads back as an integer
/// exactly as it does after `kubectl kustomize`.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        (-1.0e6..1.0e6f64),
        Just(1.0e-7),
        Just(-2.5e300),
    ]
    .prop_filter("finite and not integral", |f| {
        f.is_finite() && f.fract() != 0.0
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => any::<i64>().prop_map(Value::Int),
        1 => ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::Uint),
        1 => float().prop_map(Value::Float),
        6 => string().prop_map(Value::Str),
    ]
}

/// Values up to four levels deep with at most eight children per collection.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone().prop_map(Node::new), 0..8).prop_map(Value::Seq),
            proptest::collection::vec((string(), inner.prop_map(Node::new)), 0..8).prop_map(
                |entries| {
                    let mut map = Mapping::new();
                    for (key, node) in entries {
                        map.insert(key, node);
                    }
                    Value::Map(map)
                }
            ),
        ]
    })
}

/// Bytes of keys and strings in a tree.
fn text_bytes(node: &Node) -> usize {
    match &node.value {
        Value::Str(text) => text.len(),
        Value::Seq(items) => items.iter().map(text_bytes).sum(),
        Value::Map(map) => map
            .entries
            .iter()
            .map(|e| e.key.len() + text_bytes(&e.value))
            .sum(),
        _ => 0,
    }
}

/// A stream of anchors and aliases: a scalar (or mapping) of `size` bytes anchored as `a0`,
/// then `levels` sequences each holding `fan_out` aliases to the previous level (the
/// billion-laughs shape), `extra` aliases to the top level, and an alias used as a key.
fn alias_stream(size: usize, levels: usize, fan_out: usize, extra: usize, map: bool) -> String {
    let base = "x".repeat(size);
    let mut text = if map {
        format!("a0: &a0 {{{base}: {base}}}\n")
    } else {
        format!("a0: &a0 {base}\n")
    };
    for level in 1..=levels {
        let refs = vec![format!("*a{}", level - 1); fan_out].join(", ");
        let _ = writeln!(text, "a{level}: &a{level} [{refs}]");
    }
    for i in 0..extra {
        let _ = writeln!(text, "e{i}: *a{levels}");
    }
    if !map {
        // An alias used as a key copies its text too.
        text.push_str("keys:\n  *a0 : 1\n");
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Keys and strings produced from a stream are at most the input plus the alias byte
    /// budget, however the anchors and aliases are arranged; beyond it the reader refuses
    /// with an error naming an alias's line.
    #[test]
    fn alias_expansion_is_bounded_by_the_input_size(
        size in 0usize..4096,
        levels in 0usize..4,
        fan_out in 1usize..12,
        extra in 0usize..64,
        map in any::<bool>(),
        ratio in 1usize..32,
        floor in prop_oneof![Just(0usize), 0usize..65536],
    ) {
        let text = alias_stream(size, levels, fan_out, extra, map);
        let limits = Limits {
            alias_bytes_per_input_byte: ratio,
            min_alias_bytes: floor,
            ..Limits::default()
        };
        let budget = limits.alias_bytes_budget(text.len());
        match parse_stream(&text, FileId(0), &limits) {
            Ok(docs) => {
                let produced: usize = docs.iter().map(text_bytes).sum();
                prop_assert!(
                    produced <= text.len() + budget,
                    "{produced} bytes from a {}-byte input, budget {budget}", text.len()
                );
            }
            Err(e) => {
                prop_assert!(e.message.contains("aliases expand"), "{e}");
                prop_assert!(e.line >= 2, "{e}");
            }
        }
    }

    /// Arbitrary text is either read or rejected with an error.
    #[test]
    fn parse_stream_never_panics(text in any::<String>()) {
        let _ = parse_stream(&text, FileId(0), &Limits::default());
    }

    /// Text made of YAML's indicator characters, which reaches far more parser states than
    /// uniform random text.
    #[test]
    fn parse_stream_never_panics_on_yaml_like_text(
        text in "([-?:,\\[\\]{}#&*!|>'\"%@` \t\n]|[a-z0-9]|\n  |---\n|\\.\\.\\.\n){0,64}"
    ) {
        if let Ok(docs) = parse_stream(&text, FileId(0), &Limits::default()) {
            for doc in &docs {
                let _ = to_kustomize_yaml(doc);
            }
        }
    }

    /// What the emitter prints reads back as the same value.
    #[test]
    fn emitted_yaml_round_trips(value in value()) {
        let node = Node::new(value);
        let text = to_kustomize_yaml(&node).expect("finite floats always print");
        let back = parse_one(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert!(back.same_value(&node), "printed:\n{text}\nread back: {back:?}");
    }
}
