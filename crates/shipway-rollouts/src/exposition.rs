//! The Prometheus text exposition format (version 0.0.4, and the sample lines `OpenMetrics`
//! shares with it), read into samples: what a pod's own `/metrics` page says, for the
//! `shipway.dev/pod-metrics` provider. Comments (`# HELP`, `# TYPE`, `# EOF`) and blank
//! lines are skipped; a sample is `name{label="value",…} value [timestamp]`, label values
//! with the escapes `\\`, `\"` and `\n`, values as Go's `ParseFloat` reads them (`NaN`,
//! `+Inf`, `-Inf` included). No crate in the workspace parses this format (the
//! `prometheus-client` crate only writes it), and the grammar is small.

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (`http_requests_total`, `…_bucket`).
    pub name: String,
    /// The labels, in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// A value as Prometheus writes it.
fn number(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// Parses an exposition page; an error names the (1-based) line and what is wrong there.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let sample = parse_line(line).map_err(|why| format!("line {}: {why}", index + 1))?;
        samples.push(sample);
    }
    Ok(samples)
}

fn parse_line(line: &str) -> Result<Sample, String> {
    let mut chars = line.char_indices().peekable();
    let mut name = String::new();
    match chars.peek() {
        Some(&(_, c)) if is_name_start(c) => {}
        _ => return Err("a sample starts with a metric name".into()),
    }
    while let Some(&(_, c)) = chars.peek() {
        if !is_name_char(c) {
            break;
        }
        name.push(c);
        chars.next();
    }
    let mut labels = Vec::new();
    if let Some(&(_, '{')) = chars.peek() {
        chars.next();
        loop {
            while chars
                .peek()
                .is_some_and(|(_, c)| c.is_whitespace() || *c == ',')
            {
                chars.next();
            }
            match chars.peek() {
                Some(&(_, '}')) => {
                    chars.next();
                    break;
                }
                None => return Err(format!("`{name}`: the labels are not closed with `}}`")),
                _ => {}
            }
            let mut label = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if !is_name_char(c) {
                    break;
                }
                label.push(c);
                chars.next();
            }
            if label.is_empty() || label.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(format!("`{name}`: a label name is missing or invalid"));
            }
            if chars.next().map(|(_, c)| c) != Some('=') {
                return Err(format!("`{name}`: label `{label}` has no `=`"));
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!(
                    "`{name}`: the value of label `{label}` is not in double quotes"
                ));
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    None => {
                        return Err(format!(
                            "`{name}`: the value of label `{label}` is not closed"
                        ));
                    }
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some(other) => {
                            // Prometheus keeps an unknown escape as written.
                            value.push('\\');
                            value.push(other);
                        }
                        None => {
                            return Err(format!(
                                "`{name}`: the value of label `{label}` is not closed"
                            ));
                        }
                    },
                    Some(c) => value.push(c),
                }
            }
            labels.push((label, value));
        }
    }
    let rest = match chars.peek() {
        Some(&(at, _)) => &line[at..],
        None => "",
    };
    let mut fields = rest.split_whitespace();
    let value_text = fields
        .next()
        .ok_or_else(|| format!("`{name}` has no value"))?;
    let value =
        number(value_text).ok_or_else(|| format!("`{name}`: `{value_text}` is not a number"))?;
    if let Some(timestamp) = fields.next()
        && timestamp.parse::<f64>().is_err()
    {
        return Err(format!("`{name}`: `{timestamp}` is not a timestamp"));
    }
    if let Some(extra) = fields.next() {
        return Err(format!("`{name}`: unexpected `{extra}` after the value"));
    }
    Ok(Sample {
        name,
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_labels_and_special_values_are_read() {
        let page = "# HELP http_requests_total Total.\n# TYPE http_requests_total counter\n\
            http_requests_total{code=\"200\",method=\"GET\"} 90\n\
            http_requests_total{code=\"500\",method=\"GET\",} 10 1700000000000\n\
            \n\
            up 1\n\
            odd{path=\"a\\\"b\\\\c\\nd\"} +Inf\n\
            gauge{} -Inf\n\
            nothing NaN\n\
            sci 1.5e-3\n\
            # EOF\n";
        let samples = parse(page).unwrap();
        assert_eq!(samples.len(), 7);
        assert_eq!(samples[0].name, "http_requests_total");
        assert_eq!(samples[0].label("code"), Some("200"));
        assert!((samples[0].value - 90.0).abs() < f64::EPSILON);
        assert_eq!(samples[1].label("method"), Some("GET"));
        assert!((samples[1].value - 10.0).abs() < f64::EPSILON);
        assert!(samples[2].labels.is_empty());
        assert_eq!(samples[3].label("path"), Some("a\"b\\c\nd"));
        assert!(samples[3].value.is_infinite() && samples[3].value > 0.0);
        assert!(samples[4].value.is_infinite() && samples[4].value < 0.0);
        assert!(samples[5].value.is_nan());
        assert!((samples[6].value - 0.0015).abs() < 1e-12);
    }

    #[test]
    fn the_simulators_page_parses() {
        // The shape shipway-sim's pods serve (counter and histogram).
        let page = "# TYPE http_request_duration_seconds histogram\n\
            http_request_duration_seconds_bucket{le=\"0.005\"} 0\n\
            http_request_duration_seconds_bucket{le=\"+Inf\"} 100\n\
            http_request_duration_seconds_sum 5.2\n\
            http_request_duration_seconds_count 100\n";
        let samples = parse(page).unwrap();
        assert_eq!(samples[1].label("le"), Some("+Inf"));
        assert_eq!(samples[3].name, "http_request_duration_seconds_count");
    }

    #[test]
    fn malformed_lines_are_errors_naming_the_line() {
        for (page, expected) in [
            (
                "ok 1\n{code=\"1\"} 2\n",
                "line 2: a sample starts with a metric name",
            ),
            (
                "m{code=\"1\" 2\n",
                "line 1: `m`: a label name is missing or invalid",
            ),
            ("m{code=1} 2\n", "not in double quotes"),
            ("m{code=\"1\"}\n", "`m` has no value"),
            ("m abc\n", "`abc` is not a number"),
            ("m 1 2 3\n", "unexpected `3`"),
            ("m{code=\"1\"", "not closed"),
            ("m{=\"1\"} 1", "label name is missing"),
        ] {
            let error = parse(page).unwrap_err();
            assert!(error.contains(expected), "{page:?}: {error}");
        }
    }
}
