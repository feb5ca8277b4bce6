//! Metric providers of `AnalysisTemplate` metrics: `prometheus` (an instant query against
//! the HTTP API), `web` (a GET whose JSON answer is picked by a kubectl-style
//! `jsonPath`) and the plugin `shipway.dev/pod-metrics` (the pods' own `/metrics`:
//! [`crate::pod_metrics`]). Each returns the [`Value`] the conditions see, and the
//! resolved query for messages. The `job` provider is asynchronous and judged without
//! conditions: [`crate::jobs`].

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value as Json;

use crate::expr::Value;

/// The providers' HTTP client: shipway's one client.
pub type Http = shipway_http::Client;

/// The largest answer a provider reads.
const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// GETs `url` with `headers`; the body of a 2xx answer, else an error naming the URL.
async fn get(
    http: &Http,
    url: &str,
    headers: &[(String, String)],
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let answer = http
        .send("GET", url, headers, Vec::new(), timeout, MAX_ANSWER)
        .await
        .map_err(|e| match e {
            shipway_http::Error::Unreachable(why) => format!("cannot reach {url} ({why})"),
            shipway_http::Error::Timeout(secs) => format!("{url} did not answer within {secs}s"),
            shipway_http::Error::Invalid(why) => format!("`{url}` is not a valid URL: {why}"),
        })?;
    if !answer.is_success() {
        let text = String::from_utf8_lossy(&answer.body);
        return Err(format!(
            "{url} answered HTTP {}: {}",
            answer.status,
            text.chars().take(200).collect::<String>()
        ));
    }
    Ok(answer.body.to_vec())
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A measurement: the value for the conditions, and what was asked (for messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// What the conditions see as `result`.
    pub result: Value,
    /// The resolved query or URL.
    pub query: String,
}

/// Measures a metric's `provider` (its JSON, arguments already substituted) for a run in
/// `namespace`: the providers that read the cluster use `client`.
pub async fn measure_in(
    client: &kube::Client,
    http: &Http,
    namespace: &str,
    provider: &Json,
) -> Result<Measured, String> {
    if let Some(plugins) = provider.get("plugin") {
        let Some((name, config)) = plugins.as_object().and_then(|p| p.iter().next()) else {
            return Err("the plugin provider names no plugin".into());
        };
        if name != crate::pod_metrics::PLUGIN {
            return Err(format!(
                "the metric plugin `{name}` is not supported by shipway (it has `{}`)",
                crate::pod_metrics::PLUGIN
            ));
        }
        return crate::pod_metrics::measure(client, namespace, config).await;
    }
    measure(http, provider).await
}

/// Measures a metric's `provider` (its JSON, arguments already substituted) with the
/// providers that need nothing of the cluster.
pub async fn measure(http: &Http, provider: &Json) -> Result<Measured, String> {
    if let Some(prometheus) = provider.get("prometheus") {
        let address = prometheus
            .get("address")
            .and_then(Json::as_str)
            .ok_or("the prometheus provider needs an `address`")?
            .trim_end_matches('/');
        let query = prometheus
            .get("query")
            .and_then(Json::as_str)
            .ok_or("the prometheus provider needs a `query`")?;
        let timeout = prometheus
            .get("timeout")
            .and_then(Json::as_u64)
            .unwrap_or(30);
        let url = format!("{address}/api/v1/query?query={}", percent_encode(query));
        let body = get(http, &url, &[], Duration::from_secs(timeout)).await?;
        let answer: Json = serde_json::from_slice(&body).map_err(|e| {
            format!("Prometheus at {address} answered something that is not JSON: {e}")
        })?;
        let result = prometheus_result(&answer)?;
        return Ok(Measured {
            result,
            query: query.to_string(),
        });
    }
    if let Some(web) = provider.get("web") {
        let url = web
            .get("url")
            .and_then(Json::as_str)
            .ok_or("the web provider needs a `url`")?;
        let headers: Vec<(String, String)> = web
            .get("headers")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|h| {
                Some((
                    h.get("key")?.as_str()?.to_string(),
                    h.get("value")?.as_str()?.to_string(),
                ))
            })
            .collect();
        let timeout = web
            .get("timeoutSeconds")
            .and_then(Json::as_u64)
            .unwrap_or(10);
        let body = get(http, url, &headers, Duration::from_secs(timeout)).await?;
        let result = match serde_json::from_slice::<Json>(&body) {
            Ok(json) => {
                let path = web.get("jsonPath").and_then(Json::as_str).unwrap_or("{$}");
                Value::from_json(&json_path(&json, path)?)
            }
            Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
        };
        return Ok(Measured {
            result,
            query: url.to_string(),
        });
    }
    let kind = provider
        .as_object()
        .and_then(|p| p.keys().next().cloned())
        .unwrap_or_else(|| "none".into());
    Err(format!(
        "the `{kind}` metric provider is not supported by shipway (it supports prometheus, web, job and the plugin {})",
        crate::pod_metrics::PLUGIN
    ))
}

/// Prometheus' answer as Argo Rollouts reads it: a scalar is a number, a vector a list of
/// its samples' values (one per series, even for one series), a matrix all its values.
pub fn prometheus_result(answer: &Json) -> Result<Value, String> {
    if answer.get("status").and_then(Json::as_str) != Some("success") {
        return Err(format!(
            "Prometheus refused the query: {}",
            answer
                .get("error")
                .and_then(Json::as_str)
                .unwrap_or("no error message")
        ));
    }
    let data = &answer["data"];
    let sample = |pair: &Json| -> Value {
        let text = pair.get(1).and_then(Json::as_str).unwrap_or("NaN");
        Value::Number(match text {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or(f64::NAN),
        })
    };
    match data.get("resultType").and_then(Json::as_str) {
        Some("scalar") => Ok(sample(&data["result"])),
        Some("vector") => Ok(Value::List(
            data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|series| sample(&series["value"]))
                .collect(),
        )),
        Some("matrix") => Ok(Value::List(
            data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|series| {
                    series["values"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(sample)
                        .collect::<Vec<_>>()
                })
                .collect(),
        )),
        other => Err(format!(
            "Prometheus answered a result of type {} (shipway reads scalar, vector and matrix)",
            other.unwrap_or("none")
        )),
    }
}

/// A kubectl-style `JSONPath` of the simple form `{$.a.b[0].c}` (`{$}` is the whole value).
pub fn json_path(value: &Json, path: &str) -> Result<Json, String> {
    let inner = path
        .trim()
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path)
        .trim();
    let rest = inner
        .strip_prefix('$')
        .ok_or_else(|| format!("jsonPath `{path}` must start with `$`"))?;
    let mut node = value;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&next) = chars.peek() {
                    if next == '.' || next == '[' {
                        break;
                    }
                    name.push(next);
                    chars.next();
                }
                node = node
                    .get(&name)
                    .ok_or_else(|| format!("jsonPath `{path}`: no field `{name}` in the answer"))?;
            }
            '[' => {
                let mut index = String::new();
                for next in chars.by_ref() {
                    if next == ']' {
                        break;
                    }
                    index.push(next);
                }
                let i: usize = index
                    .parse()
                    .map_err(|_| format!("jsonPath `{path}`: `[{index}]` is not an index"))?;
                node = node
                    .get(i)
                    .ok_or_else(|| format!("jsonPath `{path}`: no element [{i}] in the answer"))?;
            }
            other => return Err(format!("jsonPath `{path}`: unexpected `{other}`")),
        }
    }
    Ok(node.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prometheus_answers_read_as_argo_rollouts_reads_them() {
        let vector = json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"pod": "a"}, "value": [1.0, "0.97"]}, {"metric": {"pod": "b"}, "value": [1.0, "NaN"]}]}});
        let Value::List(values) = prometheus_result(&vector).unwrap() else {
            panic!()
        };
        assert_eq!(values[0], Value::Number(0.97));
        assert!(matches!(values[1], Value::Number(n) if n.is_nan()));
        let empty = json!({"status": "success", "data": {"resultType": "vector", "result": []}});
        assert_eq!(prometheus_result(&empty).unwrap(), Value::List(vec![]));
        let scalar =
            json!({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "+Inf"]}});
        assert_eq!(
            prometheus_result(&scalar).unwrap(),
            Value::Number(f64::INFINITY)
        );
        let matrix = json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"values": [[1, "1"], [2, "2"]]}, {"values": [[1, "3"]]}]}});
        assert_eq!(
            prometheus_result(&matrix).unwrap(),
            Value::List(vec![
                Value::Number(1.0),
                Value::Number(2.0),
                Value::Number(3.0)
            ])
        );
        let error = json!({"status": "error", "error": "parse error at char 5"});
        assert!(
            prometheus_result(&error)
                .unwrap_err()
                .contains("parse error")
        );
    }

    #[test]
    fn json_paths_pick_fields_and_elements() {
        let answer = json!({"data": {"ok": true, "items": [{"rate": 0.5}]}});
        assert_eq!(json_path(&answer, "{$.data.ok}").unwrap(), json!(true));
        assert_eq!(
            json_path(&answer, "{$.data.items[0].rate}").unwrap(),
            json!(0.5)
        );
        assert_eq!(json_path(&answer, "{$}").unwrap(), answer);
        assert!(
            json_path(&answer, "{$.data.missing}")
                .unwrap_err()
                .contains("no field `missing`")
        );
    }
}
