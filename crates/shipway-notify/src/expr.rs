//! Trigger conditions: the part of expr-lang (the language of Argo CD's `when` and
//! `oncePer`) that notification triggers are written in, evaluated over the same JSON data
//! as templates.
//!
//! Supported: paths `app.status.health.status` (with `?.` accepted as `.`; a missing field
//! is `nil`), string literals in `'…'` or `"…"`, numbers, `true`, `false`, `nil`, lists
//! `['Error', 'Failed']`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `and`/`&&`,
//! `or`/`||`, `not`/`!`, and parentheses. Function and method calls (`time.Now()`) are not:
//! they are an error naming the trigger when the configuration is loaded.

use serde_json::Value;

use crate::template::{equal, truthy};

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    root: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Path(Vec<String>),
    Literal(Value),
    List(Vec<Expr>),
    Not(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Number(f64),
    Symbol(&'static str),
}

impl Expression {
    /// Parses `text`; the error says what is not supported.
    pub fn parse(text: &str) -> Result<Expression, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            position: 0,
        };
        let root = parser.or()?;
        if parser.position != parser.tokens.len() {
            return Err(format!(
                "unexpected `{}` in `{text}`",
                show(&parser.tokens[parser.position])
            ));
        }
        Ok(Expression { root })
    }

    /// The value of the expression over `data`.
    pub fn evaluate(&self, data: &Value) -> Value {
        eval(&self.root, data)
    }

    /// Whether the expression is true over `data` (a non-bool result is false, as in Argo CD).
    pub fn is_true(&self, data: &Value) -> bool {
        self.evaluate(data) == Value::Bool(true)
    }
}

fn show(token: &Token) -> String {
    match token {
        Token::Word(w) => w.clone(),
        Token::Str(s) => format!("'{s}'"),
        Token::Number(n) => n.to_string(),
        Token::Symbol(s) => (*s).to_string(),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        if c.is_whitespace() {
            i += 1;
        } else if let Some(symbol) = ["==", "!=", "<=", ">=", "&&", "||", "?."]
            .into_iter()
            .find(|s| *s == two)
        {
            tokens.push(Token::Symbol(if symbol == "?." { "." } else { symbol }));
            i += 2;
        } else if let Some(symbol) = ["<", ">", "!", "(", ")", "[", "]", ",", "."]
            .into_iter()
            .find(|s| s.starts_with(c))
        {
            tokens.push(Token::Symbol(symbol));
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated string in `{text}`")),
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        if let Some(&e) = chars.get(i + 1) {
                            s.push(e);
                        }
                        i += 1;
                    }
                    Some(&other) => s.push(other),
                }
                i += 1;
            }
            i += 1;
            tokens.push(Token::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(
                s.parse().map_err(|_| format!("bad number `{s}`"))?,
            ));
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected `{c}` in `{text}`"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(x)) if x == w)
    }

    fn symbol(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Token::Symbol(x)) if *x == s)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.word("or") || self.symbol("||") {
            self.position += 1;
            left = Expr::Binary(Op::Or, Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.word("and") || self.symbol("&&") {
            self.position += 1;
            left = Expr::Binary(Op::And, Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.word("not") || self.symbol("!") {
            self.position += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Token::Symbol("==")) => Op::Eq,
            Some(Token::Symbol("!=")) => Op::Ne,
            Some(Token::Symbol("<")) => Op::Lt,
            Some(Token::Symbol("<=")) => Op::Le,
            Some(Token::Symbol(">")) => Op::Gt,
            Some(Token::Symbol(">=")) => Op::Ge,
            Some(Token::Word(w)) if w == "in" => Op::In,
            Some(Token::Word(w))
                if w == "not"
                    && matches!(self.tokens.get(self.position + 1), Some(Token::Word(x)) if x == "in") =>
            {
                self.position += 1;
                Op::NotIn
            }
            _ => return Ok(left),
        };
        self.position += 1;
        let right = self.primary()?;
        Ok(Expr::Binary(op, Box::new(left), Box::new(right)))
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let Some(token) = self.peek().cloned() else {
            return Err("the condition ends too early".into());
        };
        self.position += 1;
        match token {
            Token::Str(s) => Ok(Expr::Literal(Value::String(s))),
            Token::Number(n) => Ok(Expr::Literal(
                serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            )),
            Token::Symbol("(") => {
                let inner = self.or()?;
                if !self.symbol(")") {
                    return Err("unclosed `(`".into());
                }
                self.position += 1;
                Ok(inner)
            }
            Token::Symbol("[") => {
                let mut items = Vec::new();
                while !self.symbol("]") {
                    items.push(self.or()?);
                    if self.symbol(",") {
                        self.position += 1;
                    } else if !self.symbol("]") {
                        return Err("expected `,` or `]` in a list".into());
                    }
                }
                self.position += 1;
                Ok(Expr::List(items))
            }
            Token::Word(w) => match w.as_str() {
                "true" => Ok(Expr::Literal(Value::Bool(true))),
                "false" => Ok(Expr::Literal(Value::Bool(false))),
                "nil" => Ok(Expr::Literal(Value::Null)),
                _ => {
                    let mut path = vec![w];
                    while self.symbol(".") {
                        self.position += 1;
                        match self.peek().cloned() {
                            Some(Token::Word(part)) => {
                                self.position += 1;
                                path.push(part);
                            }
                            _ => {
                                return Err(format!(
                                    "expected a field after `{}.`",
                                    path.join(".")
                                ));
                            }
                        }
                    }
                    if self.symbol("(") {
                        return Err(format!("calling `{}(…)` is not supported", path.join(".")));
                    }
                    Ok(Expr::Path(path))
                }
            },
            Token::Symbol(s) => Err(format!("unexpected `{s}`")),
        }
    }
}

fn eval(expr: &Expr, data: &Value) -> Value {
    match expr {
        Expr::Literal(v) => v.clone(),
        Expr::Path(path) => {
            let mut value = data;
            for part in path {
                value = value.get(part).unwrap_or(&Value::Null);
            }
            value.clone()
        }
        Expr::List(items) => Value::Array(items.iter().map(|i| eval(i, data)).collect()),
        Expr::Not(inner) => Value::Bool(!truthy(&eval(inner, data))),
        Expr::Binary(op, left, right) => {
            let l = eval(left, data);
            match op {
                Op::And => return Value::Bool(truthy(&l) && truthy(&eval(right, data))),
                Op::Or => return Value::Bool(truthy(&l) || truthy(&eval(right, data))),
                _ => {}
            }
            let r = eval(right, data);
            Value::Bool(match op {
                Op::Eq => equal(&l, &r),
                Op::Ne => !equal(&l, &r),
                Op::In | Op::NotIn => {
                    let found = match &r {
                        Value::Array(items) => items.iter().any(|i| equal(i, &l)),
                        Value::Object(map) => l.as_str().is_some_and(|k| map.contains_key(k)),
                        _ => false,
                    };
                    found == (*op == Op::In)
                }
                Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let ordering = match (&l, &r) {
                        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
                        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                        _ => None,
                    };
                    ordering.is_some_and(|o| match op {
                        Op::Lt => o.is_lt(),
                        Op::Le => o.is_le(),
                        Op::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    })
                }
                Op::And | Op::Or => false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn argo_catalog_conditions_evaluate() {
        let failed = json!({"app": {"status": {"operationState": {"phase": "Failed", "syncResult": {"revision": "abc"}}, "health": {"status": "Degraded"}}}});
        let running = json!({"app": {"status": {"operationState": {"phase": "Running"}}}});
        let cond = Expression::parse(
            "app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']",
        )
        .unwrap();
        assert!(cond.is_true(&failed));
        assert!(!cond.is_true(&running));
        assert!(!cond.is_true(&json!({"app": {}})));
        let once = Expression::parse("app.status.operationState?.syncResult?.revision").unwrap();
        assert_eq!(once.evaluate(&failed), json!("abc"));
        assert_eq!(once.evaluate(&running), Value::Null);
        let health =
            Expression::parse("app.status.health.status == \"Degraded\" && !(1 > 2)").unwrap();
        assert!(health.is_true(&failed));
        assert!(
            Expression::parse("'x' not in ['y']")
                .unwrap()
                .is_true(&json!({}))
        );
        // A non-bool result is not a trigger.
        assert!(!Expression::parse("app.status").unwrap().is_true(&failed));
    }

    #[test]
    fn calls_are_refused() {
        let error = Expression::parse("time.Now().Sub(x) > 5").unwrap_err();
        assert!(
            error.contains("calling `time.Now(…)` is not supported"),
            "{error}"
        );
        assert!(Expression::parse("a ==").is_err());
        assert!(Expression::parse("a b").is_err());
    }
}
