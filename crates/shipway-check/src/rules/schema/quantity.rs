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
