//! The expression language of Argo Rollouts' `successCondition` and `failureCondition`: the
//! subset of expr-lang that Argo Rollouts' documented examples use, evaluated over a
//! measurement's `result`.
//!
//! Supported: number, string (`'…'` or `"…"`), `true`/`false`/`nil` literals; `result`;
//! member access `a.b`, indexing `a[0]` (negative counts from the end); `+ - * / %`,
//! unary `-` and `!`/`not`; `== != < <= > >=`; `&&`/`and`, `||`/`or` (short-circuit);
//! `c ? a : b`; `in` on lists and maps; and the functions `len`, `isNaN`, `isInf`,
//! `isNil`, `default`, `asInt`, `asFloat`, `abs`, `ceil`, `floor`, `round`, `max`, `min`,
//! `sum`, `mean`, `all`, `any`, `none`, `one`, `filter`, `map`, `count` — the predicate
//! functions take `#` (the element) and `.field` (a field of it), with or without braces:
//! `all(result, # < 1000)`, `all(xs, {asFloat(.value) >= 9900})`.
//!
//! As in Argo Rollouts, `isNil(x)` and `default(x, d)` look at `result` itself whatever
//! their first argument, and the whole expression must be a boolean. Indexing past the end
//! of a list is an error that says the result is empty or too short, never Go's "index out
//! of range".

use std::collections::BTreeMap;
use std::fmt;

/// A value an expression works on: what a metric provider returns, and every intermediate.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// Every number is a float, as Prometheus results are (NaN and ±Inf included).
    Number(f64),
    /// A string.
    String(String),
    /// A list (a Prometheus vector is a list of its samples' values).
    List(Vec<Value>),
    /// A map (a JSON object from the web provider).
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// A JSON value as an expression value.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Number(_) => "float",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

impl fmt::Display for Value {
    /// How a measurement's value is recorded: numbers as Go prints them, lists as `[a,b]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write_number(f, *n),
            Value::String(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_number(f: &mut fmt::Formatter<'_>, n: f64) -> fmt::Result {
    if n.is_nan() {
        f.write_str("NaN")
    } else if n.is_infinite() {
        f.write_str(if n > 0.0 { "+Inf" } else { "-Inf" })
    } else if n.fract() == 0.0 && n.abs() < 1e15 {
        write!(f, "{}", n as i64)
    } else {
        write!(f, "{n}")
    }
}

/// Why an expression could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (in `{expression}`)")]
pub struct ExprError {
    /// What went wrong.
    pub message: String,
    /// The expression.
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    String(String),
    Ident(String),
    Hash,
    Op(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_')
            {
                // An exponent's sign belongs to the number.
                if matches!(chars[i], 'e' | 'E') && matches!(chars.get(i + 1), Some('+' | '-')) {
                    i += 1;
                }
                i += 1;
            }
            let literal: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let number = literal
                .parse::<f64>()
                .map_err(|_| format!("`{literal}` is not a number"))?;
            tokens.push(Token::Number(number));
        } else if c == '\'' || c == '"' {
            let quote = c;
            i += 1;
            let mut out = String::new();
            loop {
                match chars.get(i) {
                    None => return Err("a string is not closed".into()),
                    Some('\\') => {
                        let escaped = chars.get(i + 1).ok_or("a string ends in `\\`")?;
                        out.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => *other,
                        });
                        i += 2;
                    }
                    Some(ch) if *ch == quote => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        out.push(*ch);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::String(out));
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == '#' {
            tokens.push(Token::Hash);
            i += 1;
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = ["==", "!=", "<=", ">=", "&&", "||", "??"]
                .into_iter()
                .find(|op| *op == two);
            if let Some(op) = op {
                tokens.push(Token::Op(op));
                i += 2;
                continue;
            }
            let op = match c {
                '+' => "+",
                '-' => "-",
                '*' => "*",
                '/' => "/",
                '%' => "%",
                '<' => "<",
                '>' => ">",
                '!' => "!",
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                '{' => "{",
                '}' => "}",
                ',' => ",",
                '.' => ".",
                '?' => "?",
                ':' => ":",
                other => return Err(format!("unexpected character `{other}`")),
            };
            tokens.push(Token::Op(op));
            i += 1;
        }
    }
    Ok(tokens)
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Literal(Value),
    Result,
    /// `#`: the element in a predicate.
    Element,
    Member(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
    Call(String, Vec<Node>),
    Unary(&'static str, Box<Node>),
    Binary(&'static str, Box<Node>, Box<Node>),
    Ternary(Box<Node>, Box<Node>, Box<Node>),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek() == Some(&Token::Op(match_op(op))) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(w)) if w == word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(format!("expected `{op}`"))
        }
    }

    fn expression(&mut self) -> Result<Node, String> {
        let condition = self.or()?;
        if self.eat("?") {
            let then = self.expression()?;
            self.expect(":")?;
            let otherwise = self.expression()?;
            return Ok(Node::Ternary(
                Box::new(condition),
                Box::new(then),
                Box::new(otherwise),
            ));
        }
        Ok(condition)
    }

    fn or(&mut self) -> Result<Node, String> {
        let mut left = self.and()?;
        while self.eat("||") || self.eat_word("or") {
            let right = self.and()?;
            left = Node::Binary("||", Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, String> {
        let mut left = self.comparison()?;
        while self.eat("&&") || self.eat_word("and") {
            let right = self.comparison()?;
            left = Node::Binary("&&", Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Node, String> {
        let left = self.additive()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(op) {
                let right = self.additive()?;
                return Ok(Node::Binary(match_op(op), Box::new(left), Box::new(right)));
            }
        }
        if self.eat_word("in") {
            let right = self.additive()?;
            return Ok(Node::Binary("in", Box::new(left), Box::new(right)));
        }
        if matches!(self.peek(), Some(Token::Ident(w)) if w == "not")
            && matches!(self.tokens.get(self.at + 1), Some(Token::Ident(w)) if w == "in")
        {
            self.at += 2;
            let right = self.additive()?;
            let inside = Node::Binary("in", Box::new(left), Box::new(right));
            return Ok(Node::Unary("!", Box::new(inside)));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Node, String> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat("+") {
                "+"
            } else if self.eat("-") {
                "-"
            } else {
                return Ok(left);
            };
            let right = self.multiplicative()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Node, String> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat("*") {
                "*"
            } else if self.eat("/") {
                "/"
            } else if self.eat("%") {
                "%"
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Node, String> {
        if self.eat("!") || self.eat_word("not") {
            return Ok(Node::Unary("!", Box::new(self.unary()?)));
        }
        if self.eat("-") {
            return Ok(Node::Unary("-", Box::new(self.unary()?)));
        }
        if self.eat("+") {
            return self.unary();
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Node, String> {
        let mut node = self.primary()?;
        loop {
            if self.eat(".") {
                match self.next() {
                    Some(Token::Ident(name)) => node = Node::Member(Box::new(node), name),
                    _ => return Err("expected a field name after `.`".into()),
                }
            } else if self.eat("[") {
                let index = self.expression()?;
                self.expect("]")?;
                node = Node::Index(Box::new(node), Box::new(index));
            } else {
                return Ok(node);
            }
        }
    }

    fn primary(&mut self) -> Result<Node, String> {
        match self.next() {
            Some(Token::Number(n)) => Ok(Node::Literal(Value::Number(n))),
            Some(Token::String(s)) => Ok(Node::Literal(Value::String(s))),
            Some(Token::Hash) => Ok(Node::Element),
            Some(Token::Op("(")) => {
                let inner = self.expression()?;
                self.expect(")")?;
                Ok(inner)
            }
            // `.field` inside a predicate is `#.field`.
            Some(Token::Op(".")) => match self.next() {
                Some(Token::Ident(name)) => Ok(Node::Member(Box::new(Node::Element), name)),
                _ => Err("expected a field name after `.`".into()),
            },
            Some(Token::Op("[")) => {
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        items.push(self.expression()?);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Node::Call("$list".into(), items))
            }
            Some(Token::Ident(word)) => match word.as_str() {
                "true" => Ok(Node::Literal(Value::Bool(true))),
                "false" => Ok(Node::Literal(Value::Bool(false))),
                "nil" => Ok(Node::Literal(Value::Nil)),
                "result" => Ok(Node::Result),
                "NaN" => Ok(Node::Literal(Value::Number(f64::NAN))),
                _ if self.eat("(") => {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            if self.eat("{") {
                                // A predicate in braces: `{# <= 0.01}`.
                                let body = self.expression()?;
                                self.expect("}")?;
                                args.push(body);
                            } else {
                                args.push(self.expression()?);
                            }
                            if self.eat(")") {
                                break;
                            }
                            self.expect(",")?;
                        }
                    }
                    Ok(Node::Call(word, args))
                }
                _ => Err(format!("unknown name `{word}` (the result is `result`)")),
            },
            Some(Token::Op(op)) => Err(format!("unexpected `{op}`")),
            None => Err("the expression ends too early".into()),
        }
    }
}

/// The `'static` spelling of an operator, so tokens compare by value.
fn match_op(op: &str) -> &'static str {
    const OPS: [&str; 26] = [
        "==", "!=", "<=", ">=", "&&", "||", "??", "+", "-", "*", "/", "%", "<", ">", "!", "(", ")",
        "[", "]", "{", "}", ",", ".", "?", ":", "in",
    ];
    OPS.into_iter().find(|o| *o == op).unwrap_or("?")
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Expression {
    text: String,
    root: Node,
}

impl Expression {
    /// Compiles `text`.
    pub fn parse(text: &str) -> Result<Expression, ExprError> {
        let error = |message: String| ExprError {
            message,
            expression: text.to_string(),
        };
        let tokens = tokenize(text).map_err(error)?;
        let mut parser = Parser { tokens, at: 0 };
        let root = parser.expression().map_err(error)?;
        if parser.at < parser.tokens.len() {
            return Err(error(format!(
                "unexpected {:?} after the expression",
                parser.tokens[parser.at]
            )));
        }
        Ok(Expression {
            text: text.to_string(),
            root,
        })
    }

    /// Evaluates the condition over `result`; it must be a boolean.
    pub fn evaluate(&self, result: &Value) -> Result<bool, ExprError> {
        let scope = Scope {
            result,
            element: None,
        };
        match eval(&self.root, &scope) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(ExprError {
                message: format!(
                    "the condition gives {} `{other}`, not true or false",
                    other.type_name()
                ),
                expression: self.text.clone(),
            }),
            Err(message) => Err(ExprError {
                message,
                expression: self.text.clone(),
            }),
        }
    }
}

struct Scope<'a> {
    result: &'a Value,
    element: Option<&'a Value>,
}

fn number(value: &Value, what: &str) -> Result<f64, String> {
    match value {
        Value::Number(n) => Ok(*n),
        other => Err(format!(
            "{what} needs a number, got {} `{other}`",
            other.type_name()
        )),
    }
}

fn boolean(value: &Value, what: &str) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(format!(
            "{what} needs true or false, got {} `{other}`",
            other.type_name()
        )),
    }
}

fn list<'v>(value: &'v Value, what: &str) -> Result<&'v [Value], String> {
    match value {
        Value::List(items) => Ok(items),
        other => Err(format!(
            "{what} needs a list, got {} `{other}`",
            other.type_name()
        )),
    }
}

fn eval(node: &Node, scope: &Scope<'_>) -> Result<Value, String> {
    match node {
        Node::Literal(value) => Ok(value.clone()),
        Node::Result => Ok(scope.result.clone()),
        Node::Element => scope
            .element
            .cloned()
            .ok_or_else(|| "`#` is only meaningful inside all(), any(), filter()…".into()),
        Node::Member(target, name) => match eval(target, scope)? {
            Value::Map(map) => Ok(map.get(name).cloned().unwrap_or(Value::Nil)),
            Value::Nil => Err(format!("`.{name}` of nil (the result has no such field)")),
            other => Err(format!("`.{name}` of a {} `{other}`", other.type_name())),
        },
        Node::Index(target, index) => {
            let target = eval(target, scope)?;
            let index = eval(index, scope)?;
            match (&target, &index) {
                (Value::List(items), Value::Number(i)) => {
                    let len = items.len() as i64;
                    let i = *i as i64;
                    let at = if i < 0 { len + i } else { i };
                    if at < 0 || at >= len {
                        return Err(if items.is_empty() {
                            format!(
                                "the result is empty (no value at [{i}]); guard with `len(result) > 0`"
                            )
                        } else {
                            format!("the result has {len} value(s), none at [{i}]")
                        });
                    }
                    Ok(items[at as usize].clone())
                }
                (Value::Map(map), Value::String(key)) => {
                    Ok(map.get(key).cloned().unwrap_or(Value::Nil))
                }
                _ => Err(format!(
                    "cannot index a {} with a {}",
                    target.type_name(),
                    index.type_name()
                )),
            }
        }
        Node::Unary(op, inner) => {
            let value = eval(inner, scope)?;
            match *op {
                "!" => Ok(Value::Bool(!boolean(&value, "`!`")?)),
                _ => Ok(Value::Number(-number(&value, "`-`")?)),
            }
        }
        Node::Binary(op, left, right) => binary(op, left, right, scope),
        Node::Ternary(condition, then, otherwise) => {
            if boolean(&eval(condition, scope)?, "`? :`")? {
                eval(then, scope)
            } else {
                eval(otherwise, scope)
            }
        }
        Node::Call(name, args) => call(name, args, scope),
    }
}

fn binary(op: &str, left: &Node, right: &Node, scope: &Scope<'_>) -> Result<Value, String> {
    match op {
        "&&" => {
            if !boolean(&eval(left, scope)?, "`&&`")? {
                return Ok(Value::Bool(false));
            }
            return Ok(Value::Bool(boolean(&eval(right, scope)?, "`&&`")?));
        }
        "||" => {
            if boolean(&eval(left, scope)?, "`||`")? {
                return Ok(Value::Bool(true));
            }
            return Ok(Value::Bool(boolean(&eval(right, scope)?, "`||`")?));
        }
        _ => {}
    }
    let a = eval(left, scope)?;
    let b = eval(right, scope)?;
    let what = format!("`{op}`");
    Ok(match op {
        "==" => Value::Bool(equal(&a, &b)),
        "!=" => Value::Bool(!equal(&a, &b)),
        "<" | "<=" | ">" | ">=" => {
            let ordering = match (&a, &b) {
                (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
                _ => number(&a, &what)?.partial_cmp(&number(&b, &what)?),
            };
            // NaN compares false with everything, as in Go.
            Value::Bool(ordering.is_some_and(|o| match op {
                "<" => o.is_lt(),
                "<=" => o.is_le(),
                ">" => o.is_gt(),
                _ => o.is_ge(),
            }))
        }
        "+" => match (&a, &b) {
            (Value::String(x), Value::String(y)) => Value::String(format!("{x}{y}")),
            _ => Value::Number(number(&a, &what)? + number(&b, &what)?),
        },
        "-" => Value::Number(number(&a, &what)? - number(&b, &what)?),
        "*" => Value::Number(number(&a, &what)? * number(&b, &what)?),
        "/" => Value::Number(number(&a, &what)? / number(&b, &what)?),
        "%" => Value::Number(number(&a, &what)? % number(&b, &what)?),
        "in" => match &b {
            Value::List(items) => Value::Bool(items.iter().any(|item| equal(item, &a))),
            Value::Map(map) => match &a {
                Value::String(key) => Value::Bool(map.contains_key(key)),
                _ => Value::Bool(false),
            },
            other => {
                return Err(format!(
                    "`in` needs a list or map, got {}",
                    other.type_name()
                ));
            }
        },
        other => return Err(format!("unknown operator `{other}`")),
    })
}

#[allow(
    clippy::float_cmp,
    reason = "expr-lang's `==` is exact float equality; conditions compare to exact values"
)]
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y,
        _ => a == b,
    }
}

fn call(name: &str, args: &[Node], scope: &Scope<'_>) -> Result<Value, String> {
    let arity = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "{name}() takes {n} argument(s), got {}",
                args.len()
            ))
        }
    };
    let arg = |i: usize| eval(&args[i], scope);
    match name {
        "$list" => Ok(Value::List(
            args.iter()
                .map(|a| eval(a, scope))
                .collect::<Result<_, _>>()?,
        )),
        "len" => {
            arity(1)?;
            Ok(Value::Number(match arg(0)? {
                Value::List(items) => items.len() as f64,
                Value::Map(map) => map.len() as f64,
                Value::String(s) => s.chars().count() as f64,
                other => return Err(format!("len() of a {}", other.type_name())),
            }))
        }
        "isNaN" => {
            arity(1)?;
            Ok(Value::Bool(number(&arg(0)?, "isNaN()")?.is_nan()))
        }
        "isInf" => {
            arity(1)?;
            Ok(Value::Bool(number(&arg(0)?, "isInf()")?.is_infinite()))
        }
        // As Argo Rollouts defines them: about `result`, whatever the first argument.
        "isNil" => {
            arity(1)?;
            Ok(Value::Bool(matches!(scope.result, Value::Nil)))
        }
        "default" => {
            arity(2)?;
            if matches!(scope.result, Value::Nil) {
                arg(1)
            } else {
                Ok(scope.result.clone())
            }
        }
        "asInt" | "asFloat" => {
            arity(1)?;
            let value = match arg(0)? {
                Value::Number(n) => n,
                Value::String(s) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("{name}(): `{s}` is not a number"))?,
                other => return Err(format!("{name}() of a {}", other.type_name())),
            };
            Ok(Value::Number(if name == "asInt" {
                value.trunc()
            } else {
                value
            }))
        }
        "abs" | "ceil" | "floor" | "round" => {
            arity(1)?;
            let n = number(&arg(0)?, name)?;
            Ok(Value::Number(match name {
                "abs" => n.abs(),
                "ceil" => n.ceil(),
                "floor" => n.floor(),
                _ => n.round(),
            }))
        }
        "max" | "min" | "sum" | "mean" => {
            let values: Vec<f64> = if args.len() == 1 {
                match arg(0)? {
                    Value::List(items) => items
                        .iter()
                        .map(|v| number(v, name))
                        .collect::<Result<_, _>>()?,
                    other => vec![number(&other, name)?],
                }
            } else {
                args.iter()
                    .map(|a| number(&eval(a, scope)?, name))
                    .collect::<Result<_, _>>()?
            };
            if values.is_empty() && name != "sum" {
                return Err(format!("{name}() of an empty result"));
            }
            Ok(Value::Number(match name {
                "max" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "min" => values.iter().copied().fold(f64::INFINITY, f64::min),
                "sum" => values.iter().sum(),
                _ => values.iter().sum::<f64>() / values.len() as f64,
            }))
        }
        "all" | "any" | "none" | "one" | "filter" | "map" | "count" => {
            arity(2)?;
            let items = arg(0)?;
            let items = list(&items, &format!("{name}()"))?;
            let mut outcomes = Vec::with_capacity(items.len());
            for item in items {
                let inner = Scope {
                    result: scope.result,
                    element: Some(item),
                };
                outcomes.push(eval(&args[1], &inner)?);
            }
            let truths = || {
                outcomes
                    .iter()
                    .map(|v| boolean(v, &format!("{name}()'s predicate")))
                    .collect::<Result<Vec<bool>, String>>()
            };
            Ok(match name {
                "all" => Value::Bool(truths()?.into_iter().all(|b| b)),
                "any" => Value::Bool(truths()?.into_iter().any(|b| b)),
                "none" => Value::Bool(!truths()?.into_iter().any(|b| b)),
                "one" => Value::Bool(truths()?.into_iter().filter(|b| *b).count() == 1),
                "count" => Value::Number(truths()?.into_iter().filter(|b| *b).count() as f64),
                "filter" => Value::List(
                    items
                        .iter()
                        .zip(truths()?)
                        .filter(|(_, keep)| *keep)
                        .map(|(item, _)| item.clone())
                        .collect(),
                ),
                _ => Value::List(outcomes),
            })
        }
        other => Err(format!("unknown function `{other}()`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_on(text: &str, result: &Value) -> Result<bool, ExprError> {
        Expression::parse(text)?.evaluate(result)
    }

    fn vector(values: &[f64]) -> Value {
        Value::List(values.iter().map(|v| Value::Number(*v)).collect())
    }

    #[test]
    fn the_documented_conditions_evaluate_as_in_argo_rollouts() {
        let good = vector(&[0.97]);
        assert!(eval_on("result[0] >= 0.95", &good).unwrap());
        assert!(!eval_on("result[0] >= 0.99", &good).unwrap());
        assert!(eval_on("len(result) == 0 || result[0] >= 0.95", &vector(&[])).unwrap());
        assert!(!eval_on("len(result) > 0 && result[0] < 0.9", &vector(&[])).unwrap());
        assert!(eval_on("all(result, # < 1000)", &vector(&[10.0, 999.0])).unwrap());
        assert!(!eval_on("all(result, {# <= 0.01})", &vector(&[0.0, 0.02])).unwrap());
        assert!(eval_on("max(result) < 5", &vector(&[1.0, 4.0])).unwrap());
        assert!(eval_on("isNaN(result) || result >= 0.95", &Value::Number(f64::NAN)).unwrap());
        assert!(eval_on("default(result, 0) < 0.05", &Value::Nil).unwrap());
        assert!(
            eval_on(
                "result == 'true' ? true : false",
                &Value::String("true".into())
            )
            .unwrap()
        );
        let json =
            Value::from_json(&serde_json::json!({"data": {"successPercent": 0.99, "ok": true}}));
        assert!(
            eval_on(
                "result.data.successPercent > 0.95 and result.data.ok",
                &json
            )
            .unwrap()
        );
        let rows = Value::from_json(&serde_json::json!([{"value": "9950"}, {"value": "9990"}]));
        assert!(eval_on("all(result, {asFloat(.value) >= 9900})", &rows).unwrap());
        assert!(eval_on("isInf(result[0])", &vector(&[f64::INFINITY])).unwrap());
        assert!(eval_on("'a' in ['a', 'b'] && not ('c' in ['a'])", &Value::Nil).unwrap());
        assert!(eval_on("1e-3 < 0.01 && 2 * 3 - 1 == 5 && 7 % 4 == 3", &Value::Nil).unwrap());
    }

    #[test]
    fn an_empty_result_is_a_readable_error_not_an_index_panic() {
        let error = eval_on("result[0] >= 0.95", &vector(&[])).unwrap_err();
        assert!(error.message.contains("the result is empty"), "{error}");
        assert!(error.to_string().contains("result[0] >= 0.95"), "{error}");
    }

    #[test]
    fn bad_expressions_and_non_boolean_results_are_errors() {
        assert!(Expression::parse("result[0] >=").is_err());
        assert!(
            Expression::parse("resutl > 1")
                .unwrap_err()
                .message
                .contains("unknown name")
        );
        assert!(Expression::parse("'open").is_err());
        assert!(
            eval_on("result[0]", &vector(&[1.0]))
                .unwrap_err()
                .message
                .contains("not true or false")
        );
        assert!(
            eval_on("isNaN(result)", &vector(&[1.0])).is_err(),
            "isNaN of a vector"
        );
        assert!(eval_on("frobnicate(result)", &Value::Nil).is_err());
    }

    #[test]
    fn nan_compares_false_and_values_print_as_recorded() {
        assert!(!eval_on("result[0] > 0.5", &vector(&[f64::NAN])).unwrap());
        assert!(!eval_on("result[0] <= 0.5", &vector(&[f64::NAN])).unwrap());
        assert_eq!(vector(&[0.5, 2.0, f64::NAN]).to_string(), "[0.5,2,NaN]");
    }

    proptest::proptest! {
        #[test]
        fn comparisons_agree_with_rust(a in -1e6f64..1e6, b in -1e6f64..1e6) {
            let result = vector(&[a, b]);
            proptest::prop_assert_eq!(eval_on("result[0] < result[1]", &result).unwrap(), a < b);
            proptest::prop_assert_eq!(eval_on("result[0] + result[1] >= result[1] + result[0]", &result).unwrap(), true);
            proptest::prop_assert_eq!(eval_on("max(result) >= min(result)", &result).unwrap(), true);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}") {
            if let Ok(expression) = Expression::parse(&text) {
                let _ = expression.evaluate(&vector(&[1.0]));
            }
        }
    }
}
