//! Go's number formatting and YAML scalar resolution, as kustomize's output path applies them.
//!
//! kustomize prints every resource by turning it into JSON (Go `encoding/json`) and back into
//! YAML with `sigs.k8s.io/yaml` (a go-yaml v2 fork). Numbers and the quoting of strings are
//! decided along that path, so this module reproduces its three steps: yaml.v3's resolution
//! of plain scalars on input, `encoding/json`'s float format, and yaml.v2's resolution and
//! `strconv.FormatFloat(f, 'g', -1, 64)` on output.

use crate::value::Value;

/// Formats `f` like Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (negative, digits, exp) = shortest_digits(f);
    let sign = if negative { "-" } else { "" };
    // Go: "%e is used if the exponent is less than -4 or greater than or equal to the
    // precision; if precision was the shortest possible, use precision 6 for this decision".
    if (-4..6).contains(&exp) {
        format_f(sign, &digits, exp)
    } else {
        format_e(sign, &digits, exp)
    }
}

/// Formats `f` like Go's `encoding/json` does for a float64.
pub fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (negative, digits, exp) = shortest_digits(f);
        let sign = if negative { "-" } else { "" };
        let mut s = format_e(sign, &digits, exp);
        // encoding/json cleans up e-09 to e-9.
        let n = s.len();
        if n >= 4 && &s[n - 4..n - 1] == "e-0" {
            s.remove(n - 2);
        }
        s
    } else {
        let (negative, digits, exp) = shortest_digits(f);
        let sign = if negative && f != 0.0 { "-" } else { "" };
        if f == 0.0 {
            return if f.is_sign_negative() {
                "-0".into()
            } else {
                "0".into()
            };
        }
        format_f(sign, &digits, exp)
    }
}

/// Shortest round-trip decimal digits of `f` (non-zero, finite) and the decimal exponent of
/// the first digit.
fn shortest_digits(f: f64) -> (bool, String, i32) {
    // Rust's `{:e}` prints the shortest representation that round-trips, as Go's does.
    let text = format!("{:e}", f.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp = exponent.parse::<i32>().unwrap_or(0);
    (f.is_sign_negative(), digits, exp)
}

fn format_e(sign: &str, digits: &str, exp: i32) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

fn format_f(sign: &str, digits: &str, exp: i32) -> String {
    let mut out = String::from(sign);
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let point = point as usize;
        if digits.len() <= point {
            out.push_str(digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Whether `s` matches yaml's float syntax `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)` (underscores already removed by the caller).
/// `Err(true)` means the syntax was right but the value out of range.
fn go_parse_int(s: &str) -> Result<i64, bool> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint_body(body)?;
    if negative {
        if magnitude <= (i64::MAX as u64) + 1 {
            Ok((magnitude as i64).wrapping_neg())
        } else {
            Err(true)
        }
    } else {
        i64::try_from(magnitude).map_err(|_| true)
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
fn go_parse_uint(s: &str) -> Result<u64, bool> {
    go_parse_uint_body(s)
}

fn go_parse_uint_body(s: &str) -> Result<u64, bool> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(false);
    }
    let (radix, digits) = if b[0] == b'0' && b.len() > 1 {
        match b[1] {
            b'x' | b'X' => (16, &s[2..]),
            b'o' | b'O' => (8, &s[2..]),
            b'b' | b'B' => (2, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    if digits.is_empty() {
        return Err(false);
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for c in digits.chars() {
        let d = c.to_digit(radix).ok_or(false)?;
        match value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow { Err(true) } else { Ok(value) }
}

/// Resolves a plain (unquoted, untagged) scalar the way yaml.v3 does when decoding into
/// `interface{}` — which is how kustomize reads resources. `yes`/`no`/`on`/`off` stay strings
/// and timestamps stay strings; `0644` is octal (420).
pub fn resolve_plain_v3(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        "-0" | "-0.0" => return Value::Float(-0.0),
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' if is_yaml_style_float(s) => {
            if let Ok(f) = s.parse::<f64>() {
                return Value::Float(f);
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Ok(i) = go_parse_int(&plain) {
                return Value::Int(i);
            }
            if let Ok(u) = go_parse_uint(&plain) {
                return Value::Uint(u);
            }
            if is_yaml_style_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return Value::Float(f);
            }
        }
        _ => {}
    }
    Value::Str(s.to_string())
}

/// Whether yaml.v2 (the output side) would read `s`, unquoted, as something other than a
/// string; such strings must be quoted on output.
pub fn v2_needs_quotes(s: &str) -> bool {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "n"
        | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | ""
        | "~" | "null" | "Null" | "NULL" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
        | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | "<<" => return true,
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => go_parse_float_like(s),
        b'0'..=b'9' | b'+' | b'-' => {
            if is_go_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            match go_parse_int(&plain) {
                Ok(_) => return true,
                Err(range) => {
                    if go_parse_uint(&plain).is_ok() {
                        return true;
                    }
                    if is_yaml_style_float(&plain) {
                        return true;
                    }
                    if let Some(bits) = plain
                        .strip_prefix("0b")
                        .or_else(|| plain.strip_prefix("-0b"))
                        && !bits.is_empty()
                        && bits.bytes().all(|c| c == b'0' || c == b'1')
                    {
                        return true;
                    }
                    // yaml.v2 accepts out-of-range integers as big integers.
                    if range {
                        return true;
                    }
                }
            }
            is_base60_float(s)
        }
        _ => is_base60_float(s),
    }
}

/// Go's `strconv.ParseFloat` on strings starting with `.`: only the decimal forms can occur,
/// and Go accepts underscores only after a base prefix, so yaml's float pattern decides.
fn go_parse_float_like(s: &str) -> bool {
    is_yaml_style_float(s)
}

/// yaml.v2 quotes base-60 floats such as `1:20` for compatibility with YAML 1.1 parsers.
/// Its regex: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let first = b[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return false;
    }
    if !s.contains(':') {
        return false;
    }
    let mut i = 0;
    if b[i] == b'-' || b[i] == b'+' {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let len = i - start;
        if len == 0 {
            return false;
        }
        if len == 2 && b[start] > b'5' {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Whether `s` parses with one of yaml.v2's timestamp layouts (Go `time.Parse`):
/// `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`, `2006-1-2 15:4:5.999999999`, and
/// `2006-1-2`.
pub fn is_go_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: u32 = s[..4].parse().unwrap_or(0);
    let mut i = 5;
    let Some(month) = take_num(b, &mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = take_num(b, &mut i, 2) else {
        return false;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let separator = b[i];
    if separator != b'T' && separator != b't' && separator != b' ' {
        return false;
    }
    i += 1;
    let Some(hour) = take_num(b, &mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(minute) = take_num(b, &mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(second) = take_num(b, &mut i, 2) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if separator == b' ' {
        return i == b.len();
    }
    if i == b.len() {
        return false;
    }
    if b[i] == b'Z' {
        return i + 1 == b.len();
    }
    if b[i] != b'+' && b[i] != b'-' {
        return false;
    }
    let rest = &b[i + 1..];
    rest.len() == 5
        && rest[0].is_ascii_digit()
        && rest[1].is_ascii_digit()
        && rest[2] == b':'
        && rest[3].is_ascii_digit()
        && rest[4].is_ascii_digit()
}

fn take_num(b: &[u8], i: &mut usize, max: usize) -> Option<u32> {
    let start = *i;
    while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
        *i += 1;
    }
    if *i == start {
        return None;
    }
    std::str::from_utf8(&b[start..*i]).ok()?.parse().ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The text yaml.v2 prints for a number that went through JSON, given the JSON text.
pub fn v2_number_text(json: &str) -> String {
    let plain = json;
    if let Ok(i) = go_parse_int(plain) {
        return i.to_string();
    }
    if let Ok(u) = go_parse_uint(plain) {
        return u.to_string();
    }
    match plain.parse::<f64>() {
        Ok(f) => go_format_g(f),
        Err(_) => plain.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(go_format_g(0.5), "0.5");
        assert_eq!(go_format_g(1_234_567.5), "1.2345675e+06");
        assert_eq!(go_format_g(1e21), "1e+21");
        assert_eq!(go_format_g(1e-7), "1e-07");
        assert_eq!(go_format_g(0.0001), "0.0001");
        assert_eq!(go_format_g(0.00001), "1e-05");
        assert_eq!(go_format_g(123_456.0), "123456");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(3.0), "3");
        assert_eq!(go_json_float(1e20), "100000000000000000000");
        assert_eq!(v2_number_text("100000000000000000000"), "1e+20");
    }

    #[test]
    fn resolves_like_yaml_v3() {
        assert_eq!(resolve_plain_v3("0644"), Value::Int(420));
        assert_eq!(resolve_plain_v3("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain_v3("1_000"), Value::Int(1000));
        assert_eq!(resolve_plain_v3("yes"), Value::Str("yes".into()));
        assert_eq!(resolve_plain_v3("1.5"), Value::Float(1.5));
        // Not octal, but yaml.v3's float pattern matches it.
        assert_eq!(resolve_plain_v3("08"), Value::Float(8.0));
        assert_eq!(
            resolve_plain_v3("2001-12-14"),
            Value::Str("2001-12-14".into())
        );
        assert_eq!(resolve_plain_v3(""), Value::Null);
    }

    #[test]
    fn quotes_like_yaml_v2() {
        for s in [
            "yes",
            "on",
            "1",
            "1.5",
            "2001-12-14",
            "1:20",
            "0b101",
            "0x1F",
            "1e3",
            ".5",
        ] {
            assert!(v2_needs_quotes(s), "{s}");
        }
        for s in ["abc", "08x", "1.2.3", "v1", "2001-13-14", "-", "1:60"] {
            assert!(!v2_needs_quotes(s), "{s}");
        }
    }
}
