//! The subset of jq that `ignoreDifferences.jqPathExpressions` accepts: path expressions
//! that pick the fields to ignore, which is all Argo CD users write there in practice.
//!
//! Supported, as a pipeline of stages separated by `|`:
//!
//! - paths: `.` (identity), `.a.b`, `.a."key.with.dots"`, `.a["key.with.dots"]`,
//!   `.["a"]`, `.a[]` (every list item or map value), `.a[N]` and `.a[-N]`, each step
//!   optionally followed by `?` (accepted and ignored: missing fields never fail here);
//! - `select(COND)` where `COND` combines comparisons `PATH == LITERAL` /
//!   `PATH != LITERAL` (either side first) with `and`, `or` and parentheses; literals are
//!   JSON strings, integers, `true`, `false` and `null`.
//!
//! Examples: `.spec.replicas`, `.metadata.annotations."example.com/x"`,
//! `.spec.template.spec.initContainers[] | select(.name == "injected-init-container")`.
//! Anything else (functions, `//`, recursion `..`, arithmetic, regexes) is rejected with an
//! error naming the expression and the column, never silently ignored.
//!
//! Evaluation is lenient where jq would fail on a missing field: a path through something
//! absent or of another type selects nothing, because an ignore rule must not break the
//! diff of an object that lacks the field.

use serde_json::Value;

use super::DiffError;
use super::ignore::Step;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Expression {
    /// The text, for errors.
    text: String,
    /// The pipeline.
    stages: Vec<Stage>,
}

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    /// Follow a path from every current location.
    Path(Vec<PathStep>),
    /// Keep the locations whose value satisfies the condition.
    Select(Condition),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum PathStep {
    /// `.name`, `."name"`, `["name"]`.
    Field(String),
    /// `[N]`, negative from the end.
    Index(i64),
    /// `[]`.
    Iterate,
}

/// A `select` condition.
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    /// Any alternative holds.
    Or(Vec<Condition>),
    /// Every part holds.
    And(Vec<Condition>),
    /// `PATH == LITERAL` (`equal`) or `PATH != LITERAL`.
    Compare {
        path: Vec<PathStep>,
        equal: bool,
        literal: Value,
    },
}

/// A token and the 1-based column it starts at.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Dot,
    Ident(String),
    Str(String),
    Int(i64),
    LBracket,
    RBracket,
    LParen,
    RParen,
    Pipe,
    Equal,
    NotEqual,
    Question,
    End,
}

/// Parses `text`, or names what is outside the subset.
pub(super) fn parse(text: &str) -> Result<Expression, DiffError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        text,
        tokens,
        at: 0,
    };
    let mut stages = vec![parser.stage()?];
    while parser.peek() == &Token::Pipe {
        parser.at += 1;
        stages.push(parser.stage()?);
    }
    if parser.peek() != &Token::End {
        return Err(
            parser.error("unexpected input; only paths, `|` and `select(...)` are supported")
        );
    }
    Ok(Expression {
        text: text.to_owned(),
        stages,
    })
}

impl Expression {
    /// The locations the expression selects in `root`, for removal.
    pub(super) fn locations(&self, root: &Value) -> Result<Vec<Vec<Step>>, DiffError> {
        let mut current = vec![Vec::new()];
        for stage in &self.stages {
            current = match stage {
                Stage::Path(steps) => current
                    .into_iter()
                    .flat_map(|location| follow(root, location, steps))
                    .collect(),
                Stage::Select(condition) => current
                    .into_iter()
                    .filter(|location| value_at(root, location).is_some_and(|v| condition.holds(v)))
                    .collect(),
            };
        }
        if current.iter().any(Vec::is_empty) {
            return Err(DiffError::JqExpression {
                expression: self.text.clone(),
                column: 1,
                reason: "it selects the whole object, which cannot be ignored".into(),
            });
        }
        Ok(current)
    }
}

impl Condition {
    /// Whether `value` satisfies the condition. A path that selects nothing compares as
    /// `null`, as in jq.
    fn holds(&self, value: &Value) -> bool {
        match self {
            Self::Or(parts) => parts.iter().any(|part| part.holds(value)),
            Self::And(parts) => parts.iter().all(|part| part.holds(value)),
            Self::Compare {
                path,
                equal,
                literal,
            } => {
                let found = values(value, path);
                if found.is_empty() {
                    (&Value::Null == literal) == *equal
                } else {
                    found.iter().any(|found| (*found == literal) == *equal)
                }
            }
        }
    }
}

/// The value at a location found by [`follow`].
fn value_at<'a>(root: &'a Value, location: &[Step]) -> Option<&'a Value> {
    location.iter().try_fold(root, |node, step| match step {
        Step::Key(key) => node.get(key.as_str()),
        Step::Index(index) => node.get(*index),
    })
}

/// The locations reached from `location` through `steps`.
fn follow(root: &Value, location: Vec<Step>, steps: &[PathStep]) -> Vec<Vec<Step>> {
    let mut current = vec![location];
    for step in steps {
        let mut next = Vec::new();
        for location in current {
            let Some(node) = value_at(root, &location) else {
                continue;
            };
            let mut extend = |step: Step| {
                let mut longer = location.clone();
                longer.push(step);
                next.push(longer);
            };
            match (step, node) {
                (PathStep::Field(key), Value::Object(map)) if map.contains_key(key) => {
                    extend(Step::Key(key.clone()));
                }
                (PathStep::Index(index), Value::Array(items)) => {
                    if let Some(index) = resolve_index(*index, items.len()) {
                        extend(Step::Index(index));
                    }
                }
                (PathStep::Iterate, Value::Array(items)) => {
                    (0..items.len()).for_each(|index| extend(Step::Index(index)));
                }
                (PathStep::Iterate, Value::Object(map)) => {
                    map.keys().for_each(|key| extend(Step::Key(key.clone())));
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// The values a relative path reaches from `node` (for `select`).
fn values<'a>(node: &'a Value, steps: &[PathStep]) -> Vec<&'a Value> {
    follow(node, Vec::new(), steps)
        .iter()
        .filter_map(|location| value_at(node, location))
        .collect()
}

/// A jq index (negative from the end) as a position in a list of `len` items.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let resolved = if index < 0 {
        len.checked_sub(usize::try_from(index.unsigned_abs()).ok()?)?
    } else {
        usize::try_from(index).ok()?
    };
    (resolved < len).then_some(resolved)
}

/// Splits the text into tokens with their columns.
fn lex(text: &str) -> Result<Vec<(Token, usize)>, DiffError> {
    let error = |column: usize, reason: &str| DiffError::JqExpression {
        expression: text.to_owned(),
        column,
        reason: reason.to_owned(),
    };
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let column = at + 1;
        let c = chars[at];
        let single = match c {
            '.' if chars.get(at + 1) == Some(&'.') => {
                return Err(error(column, "recursive descent `..` is not supported"));
            }
            '.' => Some(Token::Dot),
            '[' => Some(Token::LBracket),
            ']' => Some(Token::RBracket),
            '(' => Some(Token::LParen),
            ')' => Some(Token::RParen),
            '|' => Some(Token::Pipe),
            '?' => Some(Token::Question),
            _ => None,
        };
        if let Some(token) = single {
            tokens.push((token, column));
            at += 1;
            continue;
        }
        if c.is_whitespace() {
            at += 1;
        } else if (c == '=' || c == '!') && chars.get(at + 1) == Some(&'=') {
            tokens.push((
                if c == '=' {
                    Token::Equal
                } else {
                    Token::NotEqual
                },
                column,
            ));
            at += 2;
        } else if c == '"' {
            // A JSON string literal: find its end, honouring backslash escapes, and let the
            // JSON parser decode it.
            let mut end = at + 1;
            while end < chars.len() && chars[end] != '"' {
                end += if chars[end] == '\\' { 2 } else { 1 };
            }
            if end >= chars.len() {
                return Err(error(column, "unterminated string"));
            }
            let literal: String = chars[at..=end].iter().collect();
            let decoded: String = serde_json::from_str(&literal)
                .map_err(|_| error(column, "invalid escape in string"))?;
            tokens.push((Token::Str(decoded), column));
            at = end + 1;
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(at + 1).is_some_and(char::is_ascii_digit))
        {
            let mut end = at + 1;
            while end < chars.len() && chars[end].is_ascii_digit() {
                end += 1;
            }
            let digits: String = chars[at..end].iter().collect();
            let number = digits
                .parse()
                .map_err(|_| error(column, "integer out of range"))?;
            tokens.push((Token::Int(number), column));
            at = end;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut end = at + 1;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            tokens.push((Token::Ident(chars[at..end].iter().collect()), column));
            at = end;
        } else {
            return Err(error(column, &format!("`{c}` is not supported")));
        }
    }
    tokens.push((Token::End, chars.len() + 1));
    Ok(tokens)
}

/// A recursive-descent parser over the tokens.
struct Parser<'a> {
    /// The expression, for errors.
    text: &'a str,
    /// Tokens, ending with [`Token::End`].
    tokens: Vec<(Token, usize)>,
    /// The next token.
    at: usize,
}

impl Parser<'_> {
    /// The next token, not consumed.
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)].0
    }

    /// An error at the next token's column, naming what is supported.
    fn error(&self, reason: &str) -> DiffError {
        DiffError::JqExpression {
            expression: self.text.to_owned(),
            column: self.tokens[self.at.min(self.tokens.len() - 1)].1,
            reason: format!(
                "{reason} (supported: .a.b, .a.\"k\", .a[\"k\"], .a[], .a[N], select(.k == \"v\" and/or ...), joined with |)"
            ),
        }
    }

    /// `select(...)` or a path.
    fn stage(&mut self) -> Result<Stage, DiffError> {
        match self.peek() {
            Token::Dot => Ok(Stage::Path(self.path()?)),
            Token::Ident(name) if name == "select" => {
                self.at += 1;
                self.expect(&Token::LParen, "expected `(` after select")?;
                let condition = self.condition()?;
                self.expect(&Token::RParen, "expected `)` closing select")?;
                Ok(Stage::Select(condition))
            }
            Token::Ident(name) => {
                let reason = format!("`{name}` is not supported");
                Err(self.error(&reason))
            }
            _ => Err(self.error("expected a path starting with `.` or `select(...)`")),
        }
    }

    /// Consumes `token` or fails with `reason`.
    fn expect(&mut self, token: &Token, reason: &str) -> Result<(), DiffError> {
        if self.peek() == token {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// A path starting at the current `.`.
    fn path(&mut self) -> Result<Vec<PathStep>, DiffError> {
        self.expect(&Token::Dot, "expected a path starting with `.`")?;
        let mut steps = Vec::new();
        // Right after the leading dot: a name, a bracket, or nothing (identity).
        match self.peek().clone() {
            Token::Ident(name) | Token::Str(name) => {
                self.at += 1;
                steps.push(PathStep::Field(name));
            }
            Token::LBracket => steps.push(self.bracket()?),
            _ => {}
        }
        loop {
            match self.peek() {
                Token::Dot => {
                    self.at += 1;
                    match self.peek().clone() {
                        Token::Ident(name) | Token::Str(name) => {
                            self.at += 1;
                            steps.push(PathStep::Field(name));
                        }
                        Token::LBracket => steps.push(self.bracket()?),
                        _ => return Err(self.error("expected a field name after `.`")),
                    }
                }
                Token::LBracket => steps.push(self.bracket()?),
                Token::Question => self.at += 1,
                _ => return Ok(steps),
            }
        }
    }

    /// `[]`, `[N]` or `["key"]`.
    fn bracket(&mut self) -> Result<PathStep, DiffError> {
        self.expect(&Token::LBracket, "expected `[`")?;
        let step = match self.peek().clone() {
            Token::RBracket => PathStep::Iterate,
            Token::Int(index) => {
                self.at += 1;
                PathStep::Index(index)
            }
            Token::Str(key) => {
                self.at += 1;
                PathStep::Field(key)
            }
            _ => return Err(self.error("expected `]`, an integer or a string inside `[...]`")),
        };
        self.expect(&Token::RBracket, "expected `]`")?;
        Ok(step)
    }

    /// `A or B or ...`.
    fn condition(&mut self) -> Result<Condition, DiffError> {
        let mut parts = vec![self.conjunction()?];
        while matches!(self.peek(), Token::Ident(word) if word == "or") {
            self.at += 1;
            parts.push(self.conjunction()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    /// `A and B and ...`.
    fn conjunction(&mut self) -> Result<Condition, DiffError> {
        let mut parts = vec![self.comparison()?];
        while matches!(self.peek(), Token::Ident(word) if word == "and") {
            self.at += 1;
            parts.push(self.comparison()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    /// `(COND)`, `PATH op LITERAL` or `LITERAL op PATH`.
    fn comparison(&mut self) -> Result<Condition, DiffError> {
        if self.peek() == &Token::LParen {
            self.at += 1;
            let condition = self.condition()?;
            self.expect(&Token::RParen, "expected `)`")?;
            return Ok(condition);
        }
        let (path, literal_first) = if self.peek() == &Token::Dot {
            (Some(self.path()?), None)
        } else {
            (None, Some(self.literal()?))
        };
        let equal = match self.peek() {
            Token::Equal => true,
            Token::NotEqual => false,
            _ => return Err(self.error("only `==` and `!=` comparisons are supported in select")),
        };
        self.at += 1;
        let (path, literal) = match (path, literal_first) {
            (Some(path), _) => (path, self.literal()?),
            (None, Some(literal)) => (self.path()?, literal),
            (None, None) => unreachable!("one side was parsed"),
        };
        Ok(Condition::Compare {
            path,
            equal,
            literal,
        })
    }

    /// A JSON string, an integer, `true`, `false` or `null`.
    fn literal(&mut self) -> Result<Value, DiffError> {
        let value = match self.peek().clone() {
            Token::Str(text) => Value::String(text),
            Token::Int(number) => Value::from(number),
            Token::Ident(word) if word == "true" => Value::Bool(true),
            Token::Ident(word) if word == "false" => Value::Bool(false),
            Token::Ident(word) if word == "null" => Value::Null,
            _ => {
                return Err(
                    self.error("expected a path or a literal (string, integer, true, false, null)")
                );
            }
        };
        self.at += 1;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ignore::remove_locations;
    use super::*;
    use serde_json::json;

    fn pod_template() -> Value {
        json!({"spec": {"template": {"spec": {
            "initContainers": [
                {"name": "injected-init-container", "image": "mesh-init:1"},
                {"name": "migrate", "image": "app:1"}
            ],
            "containers": [
                {"name": "web", "image": "web:1", "env": [{"name": "A", "value": "1"}]},
                {"name": "sidecar", "image": "proxy:1"}
            ]
        }}},
        "metadata": {"annotations": {"example.com/x": "1", "keep": "2"}}})
    }

    fn removed(expression: &str) -> Value {
        let mut object = pod_template();
        let locations = parse(expression).unwrap().locations(&object).unwrap();
        remove_locations(&mut object, locations);
        object
    }

    #[test]
    fn argo_examples() {
        let object = removed(
            ".spec.template.spec.initContainers[] | select(.name == \"injected-init-container\")",
        );
        assert_eq!(
            object["spec"]["template"]["spec"]["initContainers"],
            json!([{"name": "migrate", "image": "app:1"}])
        );
        let object = removed(".metadata.annotations.\"example.com/x\"");
        assert_eq!(object["metadata"]["annotations"], json!({"keep": "2"}));
        let object = removed(".metadata.annotations[\"example.com/x\"]");
        assert_eq!(object["metadata"]["annotations"], json!({"keep": "2"}));
        let object = removed(".spec.replicas");
        assert_eq!(object, pod_template());
    }

    #[test]
    fn pipes_indexes_and_conditions() {
        let object = removed(
            ".spec.template.spec.containers[] | select(.name == \"web\" or .name == \"x\") | .env[0]",
        );
        assert_eq!(
            object["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([])
        );
        let object = removed(".spec.template.spec.containers[-1].image");
        assert_eq!(
            object["spec"]["template"]["spec"]["containers"][1],
            json!({"name": "sidecar"})
        );
        let object = removed(
            ".spec.template.spec.containers[]? | select((.name != \"web\") and \"proxy:1\" == .image)",
        );
        assert_eq!(
            object["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // Every list item at once, highest index removed first.
        let object = removed(".spec.template.spec.containers[]");
        assert_eq!(object["spec"]["template"]["spec"]["containers"], json!([]));
        // select on a missing field compares as null.
        let object = removed(".spec.template.spec.containers[] | select(.ports == null) | .image");
        assert!(
            object["spec"]["template"]["spec"]["containers"][1]
                .get("image")
                .is_none()
        );
        // Missing and mistyped paths select nothing.
        assert_eq!(removed(".spec.nothing[].x"), pod_template());
        assert_eq!(removed(".spec.template[0]"), pod_template());
        assert_eq!(removed(".spec.template.spec.containers[7]"), pod_template());
    }

    #[test]
    fn unsupported_expressions_are_named() {
        for (text, column) in [
            (".spec | length", 9),
            ("del(.spec)", 1),
            (".spec..x", 6),
            (".spec[] | select(.name | test(\"x\"))", 24),
            (".a +", 4),
            (".a[", 4),
            (".a.\"x", 4),
            ("select(.a > 1)", 11),
            (".a.", 4),
        ] {
            match parse(text) {
                Err(DiffError::JqExpression {
                    expression,
                    column: at,
                    ..
                }) => {
                    assert_eq!(expression, text);
                    assert_eq!(at, column, "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        let whole = parse(".").unwrap().locations(&json!({})).unwrap_err();
        assert!(whole.to_string().contains("whole object"), "{whole}");
    }
}
