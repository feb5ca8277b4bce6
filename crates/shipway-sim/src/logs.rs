//! `GET …/pods/{name}/log`: what `kubectl logs` prints for a simulated container.
//!
//! Simulated containers run no process, so their log is a few deterministic lines derived
//! from the pod (when the container started, the ports it listens on, whether it is ready,
//! how it exited), stamped with the times in its status. The query options kubectl sends
//! are honoured: `container` (required when the pod has several, with the real message),
//! `tailLines`, `timestamps`, `previous` (the last terminated run of a restarted container)
//! and `limitBytes`. `follow` answers the lines there are and ends the stream at once: the
//! log of a simulated container never grows, so there is nothing to wait for.

use serde_json::Value;

use crate::error::ApiError;

/// Options of the log request, from its query.
#[derive(Debug, Default)]
pub(crate) struct LogOptions<'a> {
    /// `container`.
    pub(crate) container: Option<&'a str>,
    /// `tailLines`.
    pub(crate) tail_lines: Option<usize>,
    /// `timestamps=true`.
    pub(crate) timestamps: bool,
    /// `previous=true`.
    pub(crate) previous: bool,
    /// `limitBytes`.
    pub(crate) limit_bytes: Option<usize>,
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The log text of a container of `pod`, or the error a real server gives (400 for a
/// container that has not started or does not exist).
pub(crate) fn pod_log(pod: &Value, options: &LogOptions<'_>) -> Result<String, ApiError> {
    let pod_name = text(pod, "/metadata/name");
    let containers: Vec<&Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let names: Vec<&str> = containers.iter().map(|c| text(c, "/name")).collect();
    let container = match options.container {
        Some(wanted) => containers
            .iter()
            .find(|c| text(c, "/name") == wanted)
            .copied()
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "container {wanted} is not valid for pod {pod_name}"
                ))
            })?,
        None => match containers.as_slice() {
            [only] => only,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    names.join(" ")
                )));
            }
        },
    };
    let container_name = text(container, "/name");
    let status = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|list| list.iter().find(|s| text(s, "/name") == container_name));
    let (state, run) = if options.previous {
        let last = status.and_then(|s| s.pointer("/lastState/terminated"));
        let Some(last) = last else {
            return Err(ApiError::BadRequest(format!(
                "previous terminated container \"{container_name}\" in pod \"{pod_name}\" not found"
            )));
        };
        (last, Run::Terminated)
    } else {
        match status.and_then(|s| s.get("state")) {
            Some(state) if state.get("running").is_some() => (&state["running"], Run::Running),
            Some(state) if state.get("terminated").is_some() => {
                (&state["terminated"], Run::Terminated)
            }
            other => {
                let reason = other
                    .and_then(|s| s.pointer("/waiting/reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("ContainerCreating");
                return Err(ApiError::BadRequest(format!(
                    "container \"{container_name}\" in pod \"{pod_name}\" is waiting to start: {reason}"
                )));
            }
        }
    };
    let started = text(state, "/startedAt");
    let image = text(container, "/image");
    let mut lines: Vec<(String, String)> = vec![(
        started.to_owned(),
        format!(
            "shipway sandbox: simulated container \"{container_name}\" started from image \"{image}\""
        ),
    )];
    for port in container
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let number = port
            .get("containerPort")
            .map(ToString::to_string)
            .unwrap_or_default();
        let protocol = match text(port, "/protocol") {
            "" => "TCP",
            other => other,
        };
        lines.push((
            started.to_owned(),
            format!(
                "listening on 0.0.0.0:{number}/{}",
                protocol.to_ascii_lowercase()
            ),
        ));
    }
    let ready = status.and_then(|s| s.get("ready")).and_then(Value::as_bool) == Some(true);
    match run {
        Run::Running if ready => lines.push((started.to_owned(), "ready".to_owned())),
        Run::Running => {}
        Run::Terminated => lines.push((
            text(state, "/finishedAt").to_owned(),
            format!(
                "exiting with code {}",
                state.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
            ),
        )),
    }
    if let Some(tail) = options.tail_lines {
        let skip = lines.len().saturating_sub(tail);
        lines.drain(..skip);
    }
    let mut out = String::new();
    for (at, line) in lines {
        if options.timestamps {
            // RFC 3339 with nanoseconds, as the kubelet stamps each line.
            let stamp = at
                .strip_suffix('Z')
                .map_or(at.clone(), |base| format!("{base}.000000000Z"));
            out.push_str(&stamp);
            out.push(' ');
        }
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(limit) = options.limit_bytes
        && out.len() > limit
    {
        let mut end = limit;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    Ok(out)
}

/// Which run of the container the log is of.
#[derive(Debug, Clone, Copy)]
enum Run {
    Running,
    Terminated,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{LogOptions, pod_log};

    fn pod(state: &serde_json::Value, ready: bool) -> serde_json::Value {
        json!({"metadata": {"name": "web-1"}, "spec": {"containers": [{"name": "main",
                "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}]},
            "status": {"containerStatuses": [{"name": "main", "ready": ready, "state": state,
                "lastState": {"terminated": {"exitCode": 1, "startedAt": "2026-01-01T00:00:00Z",
                    "finishedAt": "2026-01-01T00:00:01Z"}}}]}})
    }

    #[test]
    fn running_containers_log_their_start_ports_and_readiness() {
        let running = pod(
            &json!({"running": {"startedAt": "2026-01-01T00:00:05Z"}}),
            true,
        );
        assert_eq!(
            pod_log(&running, &LogOptions::default()).unwrap(),
            "shipway sandbox: simulated container \"main\" started from image \"nginx:1.27\"\nlistening on 0.0.0.0:8080/tcp\nready\n"
        );
        let tail = LogOptions {
            tail_lines: Some(1),
            timestamps: true,
            ..LogOptions::default()
        };
        assert_eq!(
            pod_log(&running, &tail).unwrap(),
            "2026-01-01T00:00:05.000000000Z ready\n"
        );
        let previous = LogOptions {
            previous: true,
            tail_lines: Some(1),
            ..LogOptions::default()
        };
        assert_eq!(
            pod_log(&running, &previous).unwrap(),
            "exiting with code 1\n"
        );
    }

    #[test]
    fn waiting_and_unknown_containers_are_errors() {
        let waiting = pod(&json!({"waiting": {"reason": "ContainerCreating"}}), false);
        assert_eq!(
            pod_log(&waiting, &LogOptions::default())
                .unwrap_err()
                .to_string(),
            "container \"main\" in pod \"web-1\" is waiting to start: ContainerCreating"
        );
        let other = LogOptions {
            container: Some("sidecar"),
            ..LogOptions::default()
        };
        assert_eq!(
            pod_log(&waiting, &other).unwrap_err().to_string(),
            "container sidecar is not valid for pod web-1"
        );
    }
}
