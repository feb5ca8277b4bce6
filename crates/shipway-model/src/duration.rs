//! Go durations (`90s`, `5m`, `1h30m`, `500ms`), the form Argo CD, Argo Rollouts, Flux and
//! kubectl flags write them in: one parser for every crate. A bare number is seconds
//! (Argo CD's and Argo Rollouts' default unit).

use std::time::Duration;

/// Parses a Go duration as Argo CD's backoff fields take it (`5s`, `3m`, `1h30m`,
/// `500ms`); a bare number is seconds, Argo CD's default unit.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = |why: &str| format!("invalid duration `{text}`: {why}");
    let rest = text.trim();
    if rest.is_empty() {
        return Err(bad("empty"));
    }
    if rest.bytes().all(|b| b.is_ascii_digit()) {
        return rest
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| bad("too large"));
    }
    if rest.starts_with('-') {
        return Err(bad("negative"));
    }
    let mut rest = rest.strip_prefix('+').unwrap_or(rest);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut seconds = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad("missing unit (ns, us, ms, s, m, h)"))?;
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(bad("expected a number"));
        }
        let value: f64 = number.parse().map_err(|_| bad("expected a number"))?;
        rest = &rest[digits..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .into_iter()
            .find(|u| rest.starts_with(u))
            .ok_or_else(|| bad("unknown unit (ns, us, ms, s, m, h)"))?;
        rest = &rest[unit.len()..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            _ => 3600.0,
        };
        seconds += value * scale;
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| bad("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_and_bare_seconds() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("720h0m0s"), Ok(Duration::from_secs(720 * 3600)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert!(parse("soon").is_err());
        assert!(parse("-5s").is_err());
        assert!(parse("5").is_ok() && parse("5x").is_err());
    }
}
