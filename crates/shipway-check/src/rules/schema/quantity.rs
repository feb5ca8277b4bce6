//! Kubernetes resource quantities (`resource.Quantity`): what the API server parses.

/// Whether `text` is a valid quantity: an optional sign, a decimal number, and an optional
/// binary (`Ki`…`Ei`), decimal (`n`, `u`, `m`, `k`, `M`…`E`) or exponent (`e3`) suffix.
/// `512mb`, `1 Gi` and `1.5.0` are not quantities.
pub fn is_quantity(text: &str) -> bool {
    let s = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits_end);
    let mut parts = number.split('.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    if parts.next().is_some() || (whole.is_empty() && fraction.is_none_or(str::is_empty)) {
        return false;
    }
    match suffix {
        "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti"
        | "Pi" | "Ei" => true,
        exp => {
            let Some(rest) = exp.strip_prefix(['e', 'E']) else {
                return false;
            };
            let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_quantity;

    #[test]
    fn quantities_follow_the_api_grammar() {
        for ok in [
            "1", "0.5", ".5", "250m", "512Mi", "1Gi", "2e3", "1E-2", "+1", "100k", "3.",
        ] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in [
            "512mb", "1 Gi", "1.5.0", "", "Gi", "1gi", "1e", "abc", "1KB",
        ] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }
}

/// The value of a quantity as a number of base units (cores, bytes, objects): `250m` is
/// 0.25, `1Ki` 1024. `None` when `text` is not a quantity.
pub fn parse_quantity(text: &str) -> Option<f64> {
    if !is_quantity(text) {
        return None;
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        exp => 10f64.powi(exp[1..].parse::<i32>().ok()?),
    };
    Some(value * factor)
}

#[cfg(test)]
mod parse_tests {
    use super::parse_quantity;

    #[test]
    fn values_in_base_units() {
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("1Ki"), Some(1024.0));
        assert_eq!(parse_quantity("2e3"), Some(2000.0));
        assert_eq!(parse_quantity("512mb"), None);
    }
}
