//! The `shipway.dev/pod-metrics` provider, for clusters without Prometheus: it reads the
//! pods' own `/metrics` pages and returns one number (or a list) for the conditions. It is
//! written under Argo Rollouts' metric plugin mechanism, so the template stays a valid
//! Argo manifest (Argo itself would need a plugin of that name registered):
//!
//! ```yaml
//! provider:
//!   plugin:
//!     shipway.dev/pod-metrics:
//!       selector: {app: web, rollouts-pod-template-hash: "{{args.hash}}"}
//!       metric: http_requests_total      # the samples summed in each pod
//!       labels: {code: "500"}            # optional: only samples with these label values
//!       over: {metric: http_requests_total}  # optional: divided by these (labels optional)
//!       aggregate: max                   # sum (default), avg, max, min or list
//!       port: 8080                       # optional: default the pod's first containerPort
//!       path: /metrics                   # optional
//!       timeoutSeconds: 5                # optional (default 5)
//! ```
//!
//! Each selected pod (Running, not being deleted, in the run's namespace) gives one value:
//! the sum of its samples named `metric` whose labels include `labels`, divided, with
//! `over`, by the sum of the samples `over` selects the same way (its `metric` defaults to
//! `metric`). A pod whose divisor is 0 (no traffic yet) gives no value. `aggregate`
//! combines the pods' values; `list` returns them as a list, as a Prometheus vector is. No
//! pods, or no values, is "no data" (`NaN`, or `[]` for `list`), which the conditions
//! judge Inconclusive unless they test for it. Values are read as the page has them:
//! counters count since the pod started, so for a canary's new pods they cover its whole
//! life. A pod is reached through the API server's proxy (`pods/{name}:{port}/proxy/…`),
//! so shipway needs no route to pod IPs, only the `pods/proxy` permission.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value as Json;

use crate::exposition::{self, Sample};
use crate::expr::Value;
use crate::providers::Measured;

/// The plugin's key under `provider.plugin`.
pub const PLUGIN: &str = "shipway.dev/pod-metrics";

/// The largest `/metrics` page read.
const MAX_PAGE: usize = 4 * 1024 * 1024;

/// How the pods' values are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Avg,
    Max,
    Min,
    List,
}

/// A selection of samples: a metric name and label values they must have.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    metric: String,
    labels: BTreeMap<String, String>,
}

impl Series {
    fn sum(&self, samples: &[Sample]) -> f64 {
        samples
            .iter()
            .filter(|s| {
                s.name == self.metric
                    && self
                        .labels
                        .iter()
                        .all(|(k, v)| s.label(k).unwrap_or("") == v)
            })
            .map(|s| s.value)
            .sum()
    }
}

impl std::fmt::Display for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.metric)?;
        if !self.labels.is_empty() {
            let labels: Vec<String> = self
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={}", Json::String(v.clone())))
                .collect();
            write!(f, "{{{}}}", labels.join(","))?;
        }
        Ok(())
    }
}

/// The provider's configuration, read from the plugin's JSON.
#[derive(Debug, Clone, PartialEq)]
struct Query {
    selector: BTreeMap<String, String>,
    series: Series,
    over: Option<Series>,
    aggregate: Aggregate,
    port: Option<u16>,
    path: String,
    timeout: Duration,
}

fn string_map(value: Option<&Json>, field: &str) -> Result<BTreeMap<String, String>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(BTreeMap::new());
    };
    let map = value
        .as_object()
        .ok_or_else(|| format!("{PLUGIN}: `{field}` must be a mapping of label names to values"))?;
    map.iter()
        .map(|(k, v)| match v {
            Json::String(s) => Ok((k.clone(), s.clone())),
            Json::Number(n) => Ok((k.clone(), n.to_string())),
            Json::Bool(b) => Ok((k.clone(), b.to_string())),
            _ => Err(format!("{PLUGIN}: `{field}.{k}` must be a string")),
        })
        .collect()
}

const FIELDS: &[&str] = &[
    "selector",
    "metric",
    "labels",
    "over",
    "aggregate",
    "port",
    "path",
    "timeoutSeconds",
];

impl Query {
    fn from_json(config: &Json) -> Result<Query, String> {
        let map = config
            .as_object()
            .ok_or_else(|| format!("{PLUGIN}: the plugin's configuration must be a mapping"))?;
        if let Some(other) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(format!(
                "{PLUGIN}: unknown field `{other}` (it reads {})",
                FIELDS.join(", ")
            ));
        }
        let selector = string_map(map.get("selector"), "selector")?;
        if selector.is_empty() {
            return Err(format!(
                "{PLUGIN}: `selector` must name the pods' labels (for a canary, the Rollout's selector and `rollouts-pod-template-hash`)"
            ));
        }
        let metric = map
            .get("metric")
            .and_then(Json::as_str)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| format!("{PLUGIN}: `metric` (a metric name) is required"))?
            .to_string();
        let over = match map.get("over").filter(|o| !o.is_null()) {
            None => None,
            Some(over) => {
                let Some(fields) = over.as_object() else {
                    return Err(format!(
                        "{PLUGIN}: `over` must be a mapping with `metric` and/or `labels`"
                    ));
                };
                if let Some(other) = fields.keys().find(|k| *k != "metric" && *k != "labels") {
                    return Err(format!(
                        "{PLUGIN}: unknown field `over.{other}` (it reads metric, labels)"
                    ));
                }
                Some(Series {
                    metric: fields
                        .get("metric")
                        .and_then(Json::as_str)
                        .unwrap_or(&metric)
                        .to_string(),
                    labels: string_map(fields.get("labels"), "over.labels")?,
                })
            }
        };
        let aggregate = match map.get("aggregate").and_then(Json::as_str) {
            None | Some("sum") => Aggregate::Sum,
            Some("avg") => Aggregate::Avg,
            Some("max") => Aggregate::Max,
            Some("min") => Aggregate::Min,
            Some("list") => Aggregate::List,
            Some(other) => {
                return Err(format!(
                    "{PLUGIN}: aggregate `{other}` is not one of sum, avg, max, min, list"
                ));
            }
        };
        let port = match map.get("port") {
            None | Some(Json::Null) => None,
            Some(port) => Some(
                port.as_u64()
                    .or_else(|| port.as_str().and_then(|p| p.parse().ok()))
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{PLUGIN}: `port` must be a port number"))?,
            ),
        };
        let path = map
            .get("path")
            .and_then(Json::as_str)
            .unwrap_or("/metrics")
            .to_string();
        if !path.starts_with('/') {
            return Err(format!("{PLUGIN}: `path` must start with `/`"));
        }
        let timeout = Duration::from_secs(
            map.get("timeoutSeconds")
                .and_then(Json::as_u64)
                .unwrap_or(5)
                .max(1),
        );
        Ok(Query {
            selector,
            series: Series {
                metric,
                labels: string_map(map.get("labels"), "labels")?,
            },
            over,
            aggregate,
            port,
            path,
            timeout,
        })
    }

    /// What was asked, for messages: `errors / total of pods app=web (max over 2 pods)`.
    fn describe(&self, pods: usize) -> String {
        let mut text = self.series.to_string();
        if let Some(over) = &self.over {
            let _ = write!(text, " / {over}");
        }
        let selector: Vec<String> = self
            .selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let aggregate = match self.aggregate {
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Max => "max",
            Aggregate::Min => "min",
            Aggregate::List => "list",
        };
        let _ = write!(
            text,
            " of pods {} ({aggregate} over {pods} pod{})",
            selector.join(","),
            if pods == 1 { "" } else { "s" }
        );
        text
    }

    /// One pod's value from its page (`None`: the divisor is 0).
    fn value_of(&self, samples: &[Sample]) -> Option<f64> {
        let value = self.series.sum(samples);
        match &self.over {
            None => Some(value),
            Some(over) => {
                let divisor = over.sum(samples);
                (divisor != 0.0).then(|| value / divisor)
            }
        }
    }

    /// The pods' values combined.
    fn combine(&self, values: &[f64]) -> Value {
        match self.aggregate {
            Aggregate::List => Value::List(values.iter().map(|v| Value::Number(*v)).collect()),
            _ if values.is_empty() => Value::Number(f64::NAN),
            Aggregate::Sum => Value::Number(values.iter().sum()),
            Aggregate::Avg => Value::Number(values.iter().sum::<f64>() / values.len() as f64),
            Aggregate::Max => {
                Value::Number(values.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            }
            Aggregate::Min => Value::Number(values.iter().copied().fold(f64::INFINITY, f64::min)),
        }
    }
}

/// Measures the pods `config` selects in `namespace`.
pub async fn measure(
    client: &kube::Client,
    namespace: &str,
    config: &Json,
) -> Result<Measured, String> {
    let query = Query::from_json(config)?;
    let pods: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &crate::controller::resource("", "v1", "Pod", "pods"),
    );
    let selector: Vec<String> = query
        .selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let listed = pods
        .list(&ListParams::default().labels(&selector.join(",")))
        .await
        .map_err(|e| {
            format!(
                "listing the pods {} in {namespace}: {e}",
                selector.join(",")
            )
        })?;
    let mut running: Vec<Json> = listed
        .items
        .iter()
        .map(|p| serde_json::to_value(p).unwrap_or(Json::Null))
        .filter(|p| {
            p.pointer("/status/phase").and_then(Json::as_str) == Some("Running")
                && p.pointer("/metadata/deletionTimestamp").is_none()
        })
        .collect();
    // The same order every time, so a `list` result is comparable between measurements.
    running.sort_by(|a, b| {
        a.pointer("/metadata/name")
            .and_then(Json::as_str)
            .cmp(&b.pointer("/metadata/name").and_then(Json::as_str))
    });
    let mut values = Vec::new();
    for pod in &running {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .unwrap_or("");
        // Through the API server's proxy: reachable from wherever shipway runs, with its
        // credentials, as the smoke checks reach pods.
        let port = query.port.map(|p| p.to_string());
        let url = format!(
            "{}{}",
            crate::smoke::pod_proxy(namespace, pod, port.as_deref()),
            query.path
        );
        let (status, page) = crate::smoke::get_raw(client, &url, query.timeout, MAX_PAGE)
            .await
            .map_err(|why| format!("pod {name}: GET {url}: {why}"))?;
        if !(200..300).contains(&status) {
            return Err(format!("pod {name}: GET {url} answered HTTP {status}"));
        }
        let samples =
            exposition::parse(&page).map_err(|why| format!("pod {name}: {url}: {why}"))?;
        if let Some(value) = query.value_of(&samples) {
            values.push(value);
        }
    }
    Ok(Measured {
        result: query.combine(&values),
        query: query.describe(running.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn samples(page: &str) -> Vec<Sample> {
        exposition::parse(page).unwrap()
    }

    const PAGE: &str = "http_requests_total{code=\"200\",method=\"GET\"} 90\n\
        http_requests_total{code=\"500\",method=\"GET\"} 10\n";

    #[test]
    fn an_error_rate_is_the_matching_samples_over_all_of_them() {
        let query = Query::from_json(&json!({"selector": {"app": "web"},
            "metric": "http_requests_total", "labels": {"code": "500"}, "over": {}, "aggregate": "max"}))
        .unwrap();
        assert_eq!(query.value_of(&samples(PAGE)), Some(0.1));
        assert_eq!(
            query.value_of(&samples("http_requests_total{code=\"200\"} 0\n")),
            None
        );
        assert_eq!(
            query.describe(2),
            "http_requests_total{code=\"500\"} / http_requests_total of pods app=web (max over 2 pods)"
        );
        let total =
            Query::from_json(&json!({"selector": {"app": "web"}, "metric": "http_requests_total"}))
                .unwrap();
        assert_eq!(total.value_of(&samples(PAGE)), Some(100.0));
    }

    #[test]
    fn pods_values_are_combined_and_none_is_no_data() {
        let query = |aggregate: &str| {
            Query::from_json(
                &json!({"selector": {"app": "web"}, "metric": "m", "aggregate": aggregate}),
            )
            .unwrap()
        };
        let values = [0.1, 0.5, 0.3];
        assert_eq!(
            query("sum").combine(&values),
            Value::Number(0.1 + 0.5 + 0.3)
        );
        assert_eq!(query("max").combine(&values), Value::Number(0.5));
        assert_eq!(query("min").combine(&values), Value::Number(0.1));
        assert_eq!(query("avg").combine(&[1.0, 2.0, 6.0]), Value::Number(3.0));
        assert_eq!(
            query("list").combine(&[0.2]),
            Value::List(vec![Value::Number(0.2)])
        );
        assert!(crate::analysis::is_no_data(&query("max").combine(&[])));
        assert!(crate::analysis::is_no_data(&query("list").combine(&[])));
    }

    #[test]
    fn bad_configurations_are_named() {
        for (config, expected) in [
            (json!({"metric": "m"}), "`selector` must name"),
            (json!({"selector": {"app": "web"}}), "`metric`"),
            (
                json!({"selector": {"app": "web"}, "metric": "m", "aggregate": "p99"}),
                "aggregate `p99`",
            ),
            (
                json!({"selector": {"app": "web"}, "metric": "m", "port": 70000}),
                "`port`",
            ),
            (
                json!({"selector": {"app": "web"}, "metric": "m", "query": "x"}),
                "unknown field `query`",
            ),
            (
                json!({"selector": {"app": "web"}, "metric": "m", "over": {"labelz": {}}}),
                "over.labelz",
            ),
            (
                json!({"selector": ["app"], "metric": "m"}),
                "`selector` must be a mapping",
            ),
        ] {
            let error = Query::from_json(&config).unwrap_err();
            assert!(error.contains(expected), "{config}: {error}");
            assert!(error.starts_with(PLUGIN), "{error}");
        }
    }

    #[test]
    fn pods_are_reached_through_the_api_servers_proxy_at_their_port() {
        let pod = json!({"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b", "ports": [{"containerPort": 8080, "name": "http"}]}]}});
        assert_eq!(
            crate::smoke::pod_proxy("shop", &pod, None),
            "/api/v1/namespaces/shop/pods/p:8080/proxy"
        );
        assert_eq!(
            crate::smoke::pod_proxy("shop", &pod, Some("9090")),
            "/api/v1/namespaces/shop/pods/p:9090/proxy"
        );
        assert_eq!(
            crate::smoke::pod_proxy("shop", &pod, Some("http")),
            "/api/v1/namespaces/shop/pods/p:8080/proxy"
        );
        let portless = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}});
        assert_eq!(
            crate::smoke::pod_proxy("shop", &portless, None),
            "/api/v1/namespaces/shop/pods/p/proxy"
        );
    }
}
