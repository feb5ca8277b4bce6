//! The subset of Go's `text/template` that Argo CD notification templates use, evaluated
//! over JSON data (`{{.app.metadata.name}}`, `{{if}}`, `{{range}}`, pipelines).
//!
//! Supported, exactly:
//!
//! - text and actions `{{ … }}`, with the trim markers `{{- ` and ` -}}`, and comments
//!   `{{/* … */}}`;
//! - operands: the dot `.`, fields `.a.b.c`, variables `$` and `$name` with fields
//!   (`$.context.argocdUrl`, `$item.name`), string literals `"…"` (escapes `\" \\ \n \t`) and
//!   `` `raw` ``, integers and decimals, `true`, `false`, `nil`, and parenthesised pipelines;
//! - pipelines `a | f b` (the value on the left becomes the last argument on the right), and
//!   `$x := pipeline` / `$x = pipeline` inside a block;
//! - `{{if p}}…{{else if p}}…{{else}}…{{end}}`, `{{with p}}…{{else}}…{{end}}`,
//!   `{{range p}}…{{else}}…{{end}}`, `{{range $v := p}}`, `{{range $i, $v := p}}` over lists
//!   (index) and maps (key, in sorted order);
//! - Go's functions `eq` (first argument against each of the others), `ne`, `lt`, `le`, `gt`,
//!   `ge`, `and`, `or`, `not`, `len`, `index`, `print`, `printf` (`%s %v %d %q %%`), and
//!   Sprig's `upper`, `lower`, `title`, `trim`, `trunc`, `default`, `quote`, `join`,
//!   `toJson`, `replace`, `contains`, `hasPrefix`, `hasSuffix`.
//!
//! A missing field is empty: `<no value>` when printed (as in Go), false in `if`, and also
//! empty when a deeper field is asked of it (where Go stops with an error). Anything else —
//! `call`, `template`, `define`, `block`, `break`, another function — is an error naming the
//! template and the construct, reported when the configuration is loaded.

use std::fmt::Write as _;

use serde_json::Value;

/// A template that could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template `{template}`: {message}")]
pub struct TemplateError {
    /// The template's name (`app-sync-failed`, or `app-sync-failed.slack.attachments`).
    pub template: String,
    /// What is wrong, naming the construct.
    pub message: String,
}

/// A parsed template, ready to render many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    name: String,
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipeline),
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    With {
        pipeline: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    Range {
        key: Option<String>,
        value: Option<String>,
        pipeline: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Pipeline {
    /// `$x := …` declares, `$x = …` assigns.
    assign: Option<String>,
    commands: Vec<Vec<Operand>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `.a.b` (base `None`) or `$x.a.b` (base `Some("x")`, `$` itself is `"$"`).
    Field(Option<String>, Vec<String>),
    Literal(Value),
    Function(String),
    Sub(Pipeline),
}

const FUNCTIONS: &[&str] = &[
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "upper",
    "lower",
    "title",
    "trim",
    "trunc",
    "default",
    "quote",
    "join",
    "toJson",
    "replace",
    "contains",
    "hasPrefix",
    "hasSuffix",
];

impl Template {
    /// Parses `text` as the template `name`.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let error = |message: String| TemplateError {
            template: name.to_string(),
            message,
        };
        let items = split(text).map_err(error)?;
        let mut parser = Parser { items, position: 0 };
        let (nodes, end) = parser.block().map_err(error)?;
        if let Some(end) = end {
            return Err(error(format!("unexpected `{{{{{end}}}}}`")));
        }
        Ok(Template {
            name: name.to_string(),
            nodes,
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renders the template with `data` as the dot and as `$`.
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut scope = Scope {
            variables: vec![("$".to_string(), data.clone())],
        };
        render_nodes(&self.nodes, data, &mut scope, &mut out).map_err(|message| TemplateError {
            template: self.name.clone(),
            message,
        })?;
        Ok(out)
    }
}

/// Text and the inside of actions, after trim markers and comments are applied.
#[derive(Debug)]
enum Item {
    Text(String),
    Action(String),
}

fn split(text: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut before = &rest[..start];
        if trim_next {
            before = before.trim_start();
        }
        let after = &rest[start + 2..];
        let (trim_left, after) = match after.strip_prefix("- ") {
            Some(a) => (true, a),
            None => match after
                .strip_prefix("-\n")
                .or_else(|| after.strip_prefix("-\t"))
            {
                Some(a) => (true, a),
                None => (false, after),
            },
        };
        if trim_left {
            before = before.trim_end();
        }
        if !before.is_empty() {
            items.push(Item::Text(before.to_string()));
        }
        let end = find_close(after).ok_or_else(|| "unclosed action `{{`".to_string())?;
        let mut inside = &after[..end];
        trim_next = false;
        if inside.ends_with(" -") || inside.ends_with("\n-") || inside.ends_with("\t-") {
            inside = &inside[..inside.len() - 1];
            trim_next = true;
        } else if inside == "-" {
            inside = "";
            trim_next = true;
        }
        let inside = inside.trim();
        if inside.starts_with("/*") {
            if !inside.ends_with("*/") {
                return Err("unclosed comment `{{/*`".into());
            }
        } else {
            items.push(Item::Action(inside.to_string()));
        }
        rest = &after[end + 2..];
    }
    let last = if trim_next { rest.trim_start() } else { rest };
    if !last.is_empty() {
        items.push(Item::Text(last.to_string()));
    }
    Ok(items)
}

/// The offset of the `}}` that closes an action, skipping string literals.
fn find_close(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' && q == b'"' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => {
                if b == b'"' || b == b'`' {
                    quote = Some(b);
                } else if b == b'}' && bytes.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Number(f64),
    Ident(String),
    /// `.a.b`, or `.` alone (empty path).
    Field(Vec<String>),
    /// `$x.a.b`: name, path.
    Variable(String, Vec<String>),
    Pipe,
    Open,
    Close,
    Declare,
    Assign,
    Comma,
}

fn tokenize(action: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = action.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let path = |chars: &[char], i: &mut usize| -> Vec<String> {
        let mut parts = Vec::new();
        while *i < chars.len() && chars[*i] == '.' {
            *i += 1;
            let start = *i;
            while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
                *i += 1;
            }
            if *i == start {
                break;
            }
            parts.push(chars[start..*i].iter().collect());
        }
        parts
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                tokens.push(Token::Pipe);
                i += 1;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Declare);
                i += 2;
            }
            '=' => {
                tokens.push(Token::Assign);
                i += 1;
            }
            '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err("unterminated string literal".into());
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let Some(&e) = chars.get(i) else {
                                return Err("unterminated string literal".into());
                            };
                            i += 1;
                            text.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '\\' => '\\',
                                '"' => '"',
                                other => {
                                    return Err(format!("unsupported escape `\\{other}`"));
                                }
                            });
                        }
                        c => text.push(c),
                    }
                }
                tokens.push(Token::Str(text));
            }
            '`' => {
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|&c| c == '`') else {
                    return Err("unterminated raw string".into());
                };
                tokens.push(Token::Str(chars[start..start + len].iter().collect()));
                i = start + len + 1;
            }
            '.' => {
                let mut j = i;
                let parts = path(&chars, &mut j);
                if parts.is_empty() {
                    j = i + 1;
                }
                tokens.push(Token::Field(parts));
                i = j;
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = if j == start {
                    "$".into()
                } else {
                    chars[start..j].iter().collect()
                };
                let parts = path(&chars, &mut j);
                tokens.push(Token::Variable(name, parts));
                i = j;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let number = text
                    .parse::<f64>()
                    .map_err(|_| format!("bad number `{text}`"))?;
                tokens.push(Token::Number(number));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if chars.get(i) == Some(&'.') {
                    return Err(format!(
                        "`{word}.…` (a method or package call) is not supported"
                    ));
                }
                tokens.push(Token::Ident(word));
            }
            other => return Err(format!("unexpected character `{other}`")),
        }
    }
    Ok(tokens)
}

struct Parser {
    items: Vec<Item>,
    position: usize,
}

impl Parser {
    /// Nodes up to an `else…` or `end` (returned as its action text), or the end of input.
    fn block(&mut self) -> Result<(Vec<Node>, Option<String>), String> {
        let mut nodes = Vec::new();
        while self.position < self.items.len() {
            let index = self.position;
            self.position += 1;
            let action = match &self.items[index] {
                Item::Text(text) => {
                    nodes.push(Node::Text(text.clone()));
                    continue;
                }
                Item::Action(action) => action.clone(),
            };
            let (keyword, rest) = match action.split_once(char::is_whitespace) {
                Some((k, r)) => (k, r.trim()),
                None => (action.as_str(), ""),
            };
            match keyword {
                "end" | "else" => return Ok((nodes, Some(action.clone()))),
                "if" => nodes.push(self.if_node(rest)?),
                "with" => {
                    let pipeline = parse_pipeline(rest)?;
                    let (body, end) = self.block()?;
                    let otherwise = self.otherwise(end.as_deref(), "with")?;
                    nodes.push(Node::With {
                        pipeline,
                        body,
                        otherwise,
                    });
                }
                "range" => nodes.push(self.range_node(rest)?),
                "template" | "define" | "block" | "break" | "continue" => {
                    return Err(format!("`{{{{{keyword}}}}}` is not supported"));
                }
                _ => nodes.push(Node::Action(parse_pipeline(&action)?)),
            }
        }
        Ok((nodes, None))
    }

    fn if_node(&mut self, condition: &str) -> Result<Node, String> {
        let mut branches = vec![];
        let mut condition = parse_pipeline(condition)?;
        loop {
            let (body, end) = self.block()?;
            branches.push((condition, body));
            match end.as_deref() {
                Some("end") => {
                    return Ok(Node::If {
                        branches,
                        otherwise: vec![],
                    });
                }
                Some("else") => {
                    let (otherwise, end) = self.block()?;
                    if end.as_deref() != Some("end") {
                        return Err("`{{if}}` without `{{end}}`".into());
                    }
                    return Ok(Node::If {
                        branches,
                        otherwise,
                    });
                }
                Some(other) => match other.strip_prefix("else if ") {
                    Some(next) => condition = parse_pipeline(next)?,
                    None => return Err(format!("unexpected `{{{{{other}}}}}` in `{{{{if}}}}`")),
                },
                None => return Err("`{{if}}` without `{{end}}`".into()),
            }
        }
    }

    fn range_node(&mut self, rest: &str) -> Result<Node, String> {
        let (mut key, mut value) = (None, None);
        let mut expression = rest;
        if let Some((declaration, pipeline)) = rest.split_once(":=") {
            let names: Vec<&str> = declaration.split(',').map(str::trim).collect();
            let variable = |n: &str| -> Result<String, String> {
                n.strip_prefix('$')
                    .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_alphanumeric() || c == '_'))
                    .map(str::to_string)
                    .ok_or_else(|| format!("bad range variable `{n}`"))
            };
            match names.as_slice() {
                [v] => value = Some(variable(v)?),
                [k, v] => {
                    key = Some(variable(k)?);
                    value = Some(variable(v)?);
                }
                _ => return Err(format!("bad range declaration `{declaration}`")),
            }
            expression = pipeline;
        }
        let pipeline = parse_pipeline(expression)?;
        let (body, end) = self.block()?;
        let otherwise = self.otherwise(end.as_deref(), "range")?;
        Ok(Node::Range {
            key,
            value,
            pipeline,
            body,
            otherwise,
        })
    }

    fn otherwise(&mut self, end: Option<&str>, what: &str) -> Result<Vec<Node>, String> {
        match end {
            Some("end") => Ok(vec![]),
            Some("else") => {
                let (otherwise, end) = self.block()?;
                if end.as_deref() == Some("end") {
                    Ok(otherwise)
                } else {
                    Err(format!("`{{{{{what}}}}}` without `{{{{end}}}}`"))
                }
            }
            Some(other) => Err(format!("unexpected `{{{{{other}}}}}` in `{{{{{what}}}}}`")),
            None => Err(format!("`{{{{{what}}}}}` without `{{{{end}}}}`")),
        }
    }
}

fn parse_pipeline(text: &str) -> Result<Pipeline, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("empty action `{{}}`".into());
    }
    let mut position = 0;
    let pipeline = pipeline_tokens(&tokens, &mut position, true)?;
    if position != tokens.len() {
        return Err(format!("unexpected `)` in `{text}`"));
    }
    Ok(pipeline)
}

fn pipeline_tokens(tokens: &[Token], position: &mut usize, top: bool) -> Result<Pipeline, String> {
    let mut assign = None;
    if let (Some(Token::Variable(name, path)), Some(Token::Declare | Token::Assign)) =
        (tokens.get(*position), tokens.get(*position + 1))
    {
        if !top || !path.is_empty() {
            return Err(format!("bad assignment to `${name}`"));
        }
        assign = Some(name.clone());
        *position += 2;
    }
    let mut commands = Vec::new();
    let mut command = Vec::new();
    while let Some(token) = tokens.get(*position) {
        *position += 1;
        match token {
            Token::Pipe => {
                if command.is_empty() {
                    return Err("missing command before `|`".into());
                }
                commands.push(std::mem::take(&mut command));
            }
            Token::Close => {
                if top {
                    return Err("unexpected `)`".into());
                }
                *position -= 1;
                break;
            }
            Token::Open => {
                let sub = pipeline_tokens(tokens, position, false)?;
                if tokens.get(*position) != Some(&Token::Close) {
                    return Err("unclosed `(`".into());
                }
                *position += 1;
                command.push(Operand::Sub(sub));
            }
            Token::Str(s) => command.push(Operand::Literal(Value::String(s.clone()))),
            Token::Number(n) => command.push(Operand::Literal(number(*n))),
            Token::Field(path) => command.push(Operand::Field(None, path.clone())),
            Token::Variable(name, path) => {
                command.push(Operand::Field(Some(name.clone()), path.clone()));
            }
            Token::Ident(word) => match word.as_str() {
                "true" => command.push(Operand::Literal(Value::Bool(true))),
                "false" => command.push(Operand::Literal(Value::Bool(false))),
                "nil" => command.push(Operand::Literal(Value::Null)),
                name if FUNCTIONS.contains(&name) => {
                    command.push(Operand::Function(name.to_string()));
                }
                "call" => return Err("`call` is not supported".into()),
                other => return Err(format!("function `{other}` is not supported")),
            },
            Token::Declare | Token::Assign | Token::Comma => {
                return Err("unexpected `:=`, `=` or `,`".into());
            }
        }
    }
    if command.is_empty() {
        return Err("missing command".into());
    }
    commands.push(command);
    for command in commands.iter().skip(1) {
        if !matches!(command.first(), Some(Operand::Function(_))) {
            return Err("after `|` must come a function".into());
        }
    }
    Ok(Pipeline { assign, commands })
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

struct Scope {
    variables: Vec<(String, Value)>,
}

impl Scope {
    fn get(&self, name: &str) -> Result<&Value, String> {
        self.variables
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("undefined variable `${name}`"))
    }
}

fn render_nodes(
    nodes: &[Node],
    dot: &Value,
    scope: &mut Scope,
    out: &mut String,
) -> Result<(), String> {
    let depth = scope.variables.len();
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Action(pipeline) => {
                let value = eval_pipeline(pipeline, dot, scope)?;
                if let Some(name) = &pipeline.assign {
                    scope.variables.push((name.clone(), value));
                } else {
                    print_value(&value, out);
                }
            }
            Node::If {
                branches,
                otherwise,
            } => {
                let mut done = false;
                for (condition, body) in branches {
                    if truthy(&eval_pipeline(condition, dot, scope)?) {
                        render_nodes(body, dot, scope, out)?;
                        done = true;
                        break;
                    }
                }
                if !done {
                    render_nodes(otherwise, dot, scope, out)?;
                }
            }
            Node::With {
                pipeline,
                body,
                otherwise,
            } => {
                let value = eval_pipeline(pipeline, dot, scope)?;
                if truthy(&value) {
                    render_nodes(body, &value, scope, out)?;
                } else {
                    render_nodes(otherwise, dot, scope, out)?;
                }
            }
            Node::Range {
                key,
                value,
                pipeline,
                body,
                otherwise,
            } => {
                let list = eval_pipeline(pipeline, dot, scope)?;
                let entries: Vec<(Value, Value)> = match &list {
                    Value::Array(items) => items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (Value::from(i), v.clone()))
                        .collect(),
                    Value::Object(map) => {
                        let mut keys: Vec<&String> = map.keys().collect();
                        keys.sort();
                        keys.into_iter()
                            .map(|k| (Value::String(k.clone()), map[k].clone()))
                            .collect()
                    }
                    Value::Null => Vec::new(),
                    other => {
                        return Err(format!("range can't iterate over {}", type_name(other)));
                    }
                };
                if entries.is_empty() {
                    render_nodes(otherwise, dot, scope, out)?;
                }
                for (k, v) in entries {
                    let mark = scope.variables.len();
                    if let Some(name) = key {
                        scope.variables.push((name.clone(), k));
                    }
                    if let Some(name) = value {
                        scope.variables.push((name.clone(), v.clone()));
                    }
                    render_nodes(body, &v, scope, out)?;
                    scope.variables.truncate(mark);
                }
            }
        }
    }
    scope.variables.truncate(depth);
    Ok(())
}

fn eval_pipeline(pipeline: &Pipeline, dot: &Value, scope: &Scope) -> Result<Value, String> {
    let mut last: Option<Value> = None;
    for command in &pipeline.commands {
        last = Some(eval_command(command, dot, scope, last)?);
    }
    Ok(last.unwrap_or(Value::Null))
}

fn eval_command(
    command: &[Operand],
    dot: &Value,
    scope: &Scope,
    piped: Option<Value>,
) -> Result<Value, String> {
    match command {
        [Operand::Function(name), args @ ..] => {
            let mut values = args
                .iter()
                .map(|a| eval_operand(a, dot, scope))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(p) = piped {
                values.push(p);
            }
            call(name, &values)
        }
        [single] if piped.is_none() => eval_operand(single, dot, scope),
        [first, ..] => Err(format!(
            "`{}` is not a function and can't take arguments",
            describe(first)
        )),
        [] => Err("missing command".into()),
    }
}

fn describe(operand: &Operand) -> String {
    match operand {
        Operand::Field(None, path) => format!(".{}", path.join(".")),
        Operand::Field(Some(v), path) if path.is_empty() => format!("${v}"),
        Operand::Field(Some(v), path) => format!("${v}.{}", path.join(".")),
        Operand::Literal(v) => v.to_string(),
        Operand::Function(f) => f.clone(),
        Operand::Sub(_) => "(…)".into(),
    }
}

fn eval_operand(operand: &Operand, dot: &Value, scope: &Scope) -> Result<Value, String> {
    match operand {
        Operand::Field(base, path) => {
            let mut value = match base {
                None => dot,
                Some(name) if name == "$" => scope.get("$")?,
                Some(name) => scope.get(name)?,
            };
            for part in path {
                value = match value {
                    Value::Object(map) => map.get(part).unwrap_or(&Value::Null),
                    Value::Null => &Value::Null,
                    other => {
                        return Err(format!(
                            "can't evaluate field `{part}` in {}",
                            type_name(other)
                        ));
                    }
                };
            }
            Ok(value.clone())
        }
        Operand::Literal(v) => Ok(v.clone()),
        Operand::Function(name) => call(name, &[]),
        Operand::Sub(pipeline) => eval_pipeline(pipeline, dot, scope),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nil",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Go's truth: false, 0, "", nil and empty lists and maps are false.
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "`{name}` takes {n} argument(s), got {}",
            args.len()
        ))
    }
}

/// Equality as Go's `eq` on basic kinds: numbers by value, otherwise JSON equality.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn order(name: &str, a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .ok_or_else(|| format!("`{name}`: incomparable numbers")),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "`{name}`: can't compare {} with {}",
            type_name(a),
            type_name(b)
        )),
    }
}

fn text(value: &Value) -> String {
    let mut out = String::new();
    print_value(value, &mut out);
    out
}

fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    let string = |i: usize| -> String { args.get(i).map(text).unwrap_or_default() };
    Ok(match name {
        "eq" => {
            if args.len() < 2 {
                return Err("`eq` takes at least 2 arguments".into());
            }
            Value::Bool(args[1..].iter().any(|b| equal(&args[0], b)))
        }
        "ne" => {
            arity(name, args, 2)?;
            Value::Bool(!equal(&args[0], &args[1]))
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(name, args, 2)?;
            let o = order(name, &args[0], &args[1])?;
            Value::Bool(match name {
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        "and" => args
            .iter()
            .find(|v| !truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|v| truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "not" => {
            arity(name, args, 1)?;
            Value::Bool(!truthy(&args[0]))
        }
        "len" => {
            arity(name, args, 1)?;
            Value::from(match &args[0] {
                Value::String(s) => s.len(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                Value::Null => 0,
                other => return Err(format!("`len` of {}", type_name(other))),
            })
        }
        "index" => {
            let Some((first, keys)) = args.split_first() else {
                return Err("`index` takes at least 1 argument".into());
            };
            let mut value = first.clone();
            for key in keys {
                value = match (&value, key) {
                    (Value::Array(a), Value::Number(n)) => n
                        .as_u64()
                        .and_then(|i| a.get(i as usize))
                        .cloned()
                        .ok_or_else(|| format!("`index`: {n} out of range"))?,
                    (Value::Object(m), Value::String(k)) => {
                        m.get(k).cloned().unwrap_or(Value::Null)
                    }
                    (Value::Null, _) => Value::Null,
                    (v, k) => {
                        return Err(format!("`index` of {} by {}", type_name(v), type_name(k)));
                    }
                };
            }
            value
        }
        "print" => {
            // Go's Sprint: a space between operands when neither is a string.
            let mut out = String::new();
            for (i, v) in args.iter().enumerate() {
                if i > 0 && !v.is_string() && !args[i - 1].is_string() {
                    out.push(' ');
                }
                print_value(v, &mut out);
            }
            Value::String(out)
        }
        "printf" => Value::String(printf(args)?),
        "upper" => {
            arity(name, args, 1)?;
            Value::String(string(0).to_uppercase())
        }
        "lower" => {
            arity(name, args, 1)?;
            Value::String(string(0).to_lowercase())
        }
        "title" => {
            arity(name, args, 1)?;
            let mut out = String::new();
            let mut start = true;
            for c in string(0).chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = c.is_whitespace();
            }
            Value::String(out)
        }
        "trim" => {
            arity(name, args, 1)?;
            Value::String(string(0).trim().to_string())
        }
        "trunc" => {
            arity(name, args, 2)?;
            let n = args[0]
                .as_i64()
                .ok_or_else(|| "`trunc` takes a length first".to_string())?;
            let s = string(1);
            let count = s.chars().count() as i64;
            Value::String(if n >= 0 {
                s.chars().take(n as usize).collect()
            } else {
                s.chars().skip((count + n).max(0) as usize).collect()
            })
        }
        "default" => {
            arity(name, args, 2)?;
            if truthy(&args[1]) {
                args[1].clone()
            } else {
                args[0].clone()
            }
        }
        "quote" => Value::String(
            args.iter()
                .map(|v| format!("{:?}", text(v)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "join" => {
            arity(name, args, 2)?;
            let sep = string(0);
            match &args[1] {
                Value::Array(items) => {
                    Value::String(items.iter().map(text).collect::<Vec<_>>().join(&sep))
                }
                Value::Null => Value::String(String::new()),
                other => Value::String(text(other)),
            }
        }
        "toJson" => {
            arity(name, args, 1)?;
            Value::String(args[0].to_string())
        }
        "replace" => {
            arity(name, args, 3)?;
            Value::String(string(2).replace(&string(0), &string(1)))
        }
        "contains" => {
            arity(name, args, 2)?;
            Value::Bool(string(1).contains(&string(0)))
        }
        "hasPrefix" => {
            arity(name, args, 2)?;
            Value::Bool(string(1).starts_with(&string(0)))
        }
        "hasSuffix" => {
            arity(name, args, 2)?;
            Value::Bool(string(1).ends_with(&string(0)))
        }
        other => return Err(format!("function `{other}` is not supported")),
    })
}

fn printf(args: &[Value]) -> Result<String, String> {
    let Some((Value::String(format), rest)) = args.split_first() else {
        return Err("`printf` takes a format string first".into());
    };
    let mut out = String::new();
    let mut rest = rest.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') | None => out.push('%'),
            Some(verb @ ('s' | 'v' | 'd' | 'q')) => {
                let value = rest.next().unwrap_or(&Value::Null);
                match verb {
                    'q' => {
                        let _ = write!(out, "{:?}", text(value));
                    }
                    'd' => match value.as_f64() {
                        Some(n) => {
                            let _ = write!(out, "{}", n.trunc() as i64);
                        }
                        None => {
                            let _ = write!(out, "%!d({})", text(value));
                        }
                    },
                    _ => print_value(value, &mut out),
                }
            }
            Some(other) => return Err(format!("`printf` verb `%{other}` is not supported")),
        }
    }
    Ok(out)
}

/// Prints a value as Go's `text/template` prints an `interface{}` from decoded JSON.
fn print_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("<no value>"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                print_value(&map[key], out);
            }
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn render(text: &str, data: &Value) -> Result<String, TemplateError> {
        Template::parse("t", text)?.render(data)
    }

    #[test]
    fn fields_conditions_and_ranges_render_as_go_does() {
        let data = json!({
            "app": {"metadata": {"name": "shop"}, "status": {"sync": {"status": "Synced"}}},
            "context": {"argocdUrl": "https://cd.example"},
            "failed": [{"kind": "Deployment", "name": "api", "reason": "ImagePullBackOff"},
                       {"kind": "Job", "name": "migrate", "reason": "BackoffLimitExceeded"}],
        });
        let text = "{{.app.metadata.name}} is {{if eq .app.status.sync.status \"Synced\" \"Unknown\"}}ok{{else}}bad{{end}}\n\
            {{- range $i, $f := .failed}}\n{{$i}}. {{$f.kind}}/{{.name}}: {{$f.reason | lower}}{{end}}\n\
            {{$.context.argocdUrl}}/applications/{{.app.metadata.name}}{{/* a comment */}}";
        assert_eq!(
            render(text, &data).unwrap(),
            "shop is ok\n0. Deployment/api: imagepullbackoff\n1. Job/migrate: backofflimitexceeded\nhttps://cd.example/applications/shop"
        );
    }

    #[test]
    fn missing_fields_are_empty_and_print_as_go() {
        let data = json!({"app": {}});
        assert_eq!(
            render("{{.app.status.health.status}}", &data).unwrap(),
            "<no value>"
        );
        assert_eq!(
            render(
                "{{if .app.status}}x{{else if not .app.status}}y{{end}}",
                &data
            )
            .unwrap(),
            "y"
        );
        assert_eq!(
            render("{{.app.nope | default \"none\"}}", &data).unwrap(),
            "none"
        );
        assert_eq!(
            render("{{range .items}}x{{else}}empty{{end}}", &data).unwrap(),
            "empty"
        );
    }

    #[test]
    fn functions_and_trim_markers() {
        let data = json!({"n": 3, "s": "abcdef", "l": ["a", "b"], "m": {"b": 2, "a": 1}});
        assert_eq!(
            render(
                "{{ printf \"%s-%d-%q\" .s .n \"x\" }} {{ trunc 3 .s | upper }} {{join \", \" .l}}",
                &data
            )
            .unwrap(),
            "abcdef-3-\"x\" ABC a, b"
        );
        assert_eq!(render("a  {{- \"b\" -}}  c", &data).unwrap(), "abc");
        assert_eq!(
            render("{{.m}} {{.l}} {{len .l}}", &data).unwrap(),
            "map[a:1 b:2] [a b] 2"
        );
        assert_eq!(
            render(
                "{{with .m}}{{.a}}{{end}} {{if and (gt .n 2) (ne .s \"x\")}}yes{{end}}",
                &data
            )
            .unwrap(),
            "1 yes"
        );
        assert_eq!(
            render("{{$x := .n}}{{$x}}{{index .l 1}}{{index .m \"b\"}}", &data).unwrap(),
            "3b2"
        );
        assert_eq!(
            render("{{toJson .l}} {{replace \"a\" \"z\" \"banana\"}}", &data).unwrap(),
            "[\"a\",\"b\"] bznznz"
        );
    }

    #[test]
    fn unsupported_constructs_name_the_template() {
        for (text, wanted) in [
            ("{{call .time.Now}}", "`call` is not supported"),
            ("{{template \"x\" .}}", "`{{template}}` is not supported"),
            ("{{sha256sum .x}}", "function `sha256sum` is not supported"),
            ("{{if .x}}y", "`{{if}}` without `{{end}}`"),
            ("{{end}}", "unexpected `{{end}}`"),
            ("{{.x", "unclosed action `{{`"),
            (
                "{{time.Now}}",
                "(a method or package call) is not supported",
            ),
        ] {
            let error = Template::parse("app-sync-failed", text).unwrap_err();
            assert_eq!(error.template, "app-sync-failed");
            assert!(error.message.contains(wanted), "{text}: {error}");
            assert!(
                error
                    .to_string()
                    .starts_with("template `app-sync-failed`: ")
            );
        }
        let error = render("{{.s.x}}", &json!({"s": "text"})).unwrap_err();
        assert!(
            error
                .message
                .contains("can't evaluate field `x` in a string"),
            "{error}"
        );
    }
}
