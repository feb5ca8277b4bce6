//! `references/in-cluster-url`: URLs and `host:port` strings in container environment
//! variables and ConfigMaps that name a Service which is not there or lacks the port.

use std::collections::HashSet;

use shipway_model::Node;

use crate::Ctx;
use crate::context::{effective_namespace, namespace_of};
use crate::rules::references::pod_refs::seq;
use crate::rules::references::services::{Lookup, PortRef, lookup_service};
use crate::rules::{Check, Rule, rule};
use crate::workload::{containers, pod_template};

rule! {
    /// ## What it checks
    /// Container `env[].value`s and ConfigMap `data` values, scanned for addresses of
    /// in-cluster Services:
    /// - `http(s)://SERVICE.NAMESPACE.svc.cluster.local:PORT/…` and `SERVICE.NAMESPACE.svc:PORT`
    ///   always;
    /// - `SERVICE.NAMESPACE:PORT` only when `SERVICE` is the name of a Service in the input or
    ///   `NAMESPACE` is a namespace named in the input;
    /// - `SERVICE:PORT` (in the referrer's namespace) only when `SERVICE` is the name of a
    ///   Service in the input,
    ///
    /// so that `localhost:8080` and external hosts are left alone.
    ///
    /// A URL without a port uses its scheme's (80 for `http`, 443 for `https`). The Service
    /// must be in the input (or declared in the configuration's `external` list) and expose
    /// that port as its `port`; the `targetPort` does not count, since clients connect to the
    /// Service port.
    ///
    /// ## Why it matters
    /// A renamed Service or a changed port breaks every client that has the address written
    /// into its configuration, and nothing fails until the client tries to connect.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    /// - name: API_URL
    ///   value: http://api.shop.svc.cluster.local:8080/v1   # Service api exposes 80
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    ///   value: http://api.shop.svc.cluster.local/v1
    /// ```
    ///
    /// ## Options
    /// `external` in the configuration file, with `ports`.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/>
    pub static IN_CLUSTER_URL = {
        code: "references/in-cluster-url",
        summary: "An in-cluster address names a missing Service or port",
        severity: Warning,
        status: Preview,
        check: Check::Global(in_cluster_url),
    };
}

fn in_cluster_url(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    let service_names: HashSet<&str> = ctx
        .of_kind("Service")
        .map(crate::context::name_of)
        .collect();
    // (object, path, text) of every value to scan.
    let mut values: Vec<(&Node, String, &str)> = Vec::new();
    for object in ctx.objects {
        if object.str_at(&["kind"]) == Some("ConfigMap") {
            for (key, value) in object
                .get("data")
                .and_then(Node::as_map)
                .into_iter()
                .flat_map(shipway_model::Mapping::iter)
            {
                if let Some(text) = value.as_str() {
                    values.push((object, format!("data[\"{key}\"]"), text));
                }
            }
        } else if let Some(pod) = pod_template(object) {
            for (list, index, container) in containers(pod.spec) {
                for (j, env) in seq(container.get("env")) {
                    if let Some(text) = env.str_at(&["value"]) {
                        let path = format!("{}.{list}[{index}].env[{j}].value", pod.spec_path);
                        values.push((object, path, text));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    for (object, path, text) in values {
        let referrer = namespace_of(object);
        for address in addresses(text) {
            let Some((service, namespace, form)) = target(address.host, referrer) else {
                continue;
            };
            let plausible = match form {
                Form::Qualified => true,
                Form::Namespaced => {
                    service_names.contains(service) || ctx.knows_namespace(namespace)
                }
                // The referrer's own namespace is always "known": only a Service name counts,
                // which keeps `localhost:8080` and the like out.
                Form::Bare => service_names.contains(service),
            };
            if !plausible {
                continue;
            }
            let message = match lookup_service(
                ctx,
                object,
                namespace,
                service,
                Some(PortRef::Number(address.port)),
            ) {
                Lookup::Found => continue,
                // The address is shown as host and port only: the token may carry credentials
                // (`postgres://user:password@…`) that must not end up in a report.
                Lookup::MissingService => format!(
                    "`{}:{}` names Service `{service}` in namespace `{}`, which is not in the input and not declared in `external`",
                    address.host,
                    address.port,
                    effective_namespace(namespace)
                ),
                Lookup::MissingPort => format!(
                    "`{}:{}` uses port {} but Service `{service}` in namespace `{}` does not expose it as a `port`",
                    address.host,
                    address.port,
                    address.port,
                    effective_namespace(namespace)
                ),
            };
            found.push((object, path.clone(), message));
        }
    }
    for (object, path, message) in found {
        ctx.report(rule, object, &path, message);
    }
}

/// A network address found in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address<'t> {
    /// The host, lower-case DNS labels.
    pub(crate) host: &'t str,
    /// The port, explicit or the scheme's default.
    pub(crate) port: i64,
}

/// Every `scheme://[user@]host[:port][/…]` and `host:port` in `text`. Tokens are split at
/// whitespace, quotes and list punctuation; `key=value` tokens are read from after the `=`.
/// Hosts must be DNS names (lower-case letters, digits, `-`, `.`) with at least one letter,
/// which leaves out IP addresses and most prose.
pub(crate) fn addresses(text: &str) -> Vec<Address<'_>> {
    let separators = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '"' | '\'' | '(' | ')' | '<' | '>' | '[' | ']' | '{' | '}' | '`'
            )
    };
    let mut out = Vec::new();
    for token in text.split(separators).filter(|t| !t.is_empty()) {
        let (default_port, rest) = match token.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = scheme.rsplit('=').next().unwrap_or(scheme);
                let port = match scheme {
                    "http" | "ws" => Some(80),
                    "https" | "wss" => Some(443),
                    _ => None,
                };
                (port, rest)
            }
            None => (None, token.rsplit('=').next().unwrap_or(token)),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => {
                if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                match port.parse::<i64>() {
                    Ok(port) if (1..=65535).contains(&port) => (host, port),
                    _ => continue,
                }
            }
            None => match default_port {
                Some(port) => (authority, port),
                None => continue,
            },
        };
        let valid = !host.is_empty()
            && !host.starts_with(['.', '-'])
            && !host.ends_with(['.', '-'])
            && !host.contains("..")
            && host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && host.bytes().any(|b| b.is_ascii_lowercase());
        if valid {
            out.push(Address { host, port });
        }
    }
    out
}

/// How a host names a Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `SERVICE.NAMESPACE.svc` or `SERVICE.NAMESPACE.svc.cluster.local`: unambiguous.
    Qualified,
    /// `SERVICE.NAMESPACE`: could be an external two-label host.
    Namespaced,
    /// `SERVICE`, in the referrer's namespace: could be `localhost` or a sidecar.
    Bare,
}

/// The Service and namespace a host names, and in which form: `None` for hosts that cannot
/// be a Service.
pub(crate) fn target<'h>(host: &'h str, referrer: &'h str) -> Option<(&'h str, &'h str, Form)> {
    let (rest, qualified) = if let Some(rest) = host.strip_suffix(".svc.cluster.local") {
        (rest, true)
    } else if let Some(rest) = host.strip_suffix(".svc") {
        (rest, true)
    } else {
        (host, false)
    };
    let mut labels = rest.split('.');
    match (labels.next(), labels.next(), labels.next()) {
        (Some(service), Some(namespace), None) => Some((
            service,
            namespace,
            if qualified {
                Form::Qualified
            } else {
                Form::Namespaced
            },
        )),
        (Some(service), None, None) if !qualified => Some((service, referrer, Form::Bare)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<(&str, i64)> {
        addresses(text)
            .into_iter()
            .map(|a| (a.host, a.port))
            .collect()
    }

    #[test]
    fn urls_and_host_ports_are_found() {
        assert_eq!(
            hosts("http://api.shop.svc.cluster.local:8080/v1?x=1"),
            [("api.shop.svc.cluster.local", 8080)]
        );
        assert_eq!(hosts("https://api.shop.svc/"), [("api.shop.svc", 443)]);
        assert_eq!(
            hosts("postgres://user:secret@db.data:5432/app"),
            [("db.data", 5432)]
        );
        assert_eq!(
            hosts("redis:6379, cache.other:11211"),
            [("redis", 6379), ("cache.other", 11211)]
        );
        assert_eq!(hosts("--addr=queue:5672"), [("queue", 5672)]);
    }

    #[test]
    fn non_addresses_are_ignored() {
        assert!(hosts("10.0.0.1:80").is_empty());
        assert!(hosts("time is 12:30").is_empty());
        assert!(hosts("Host:Port and plain words").is_empty());
        assert!(
            hosts("postgres://db.data/app").is_empty(),
            "no port, no default"
        );
        assert!(hosts("x:99999").is_empty());
    }

    #[test]
    fn hosts_map_to_services() {
        assert_eq!(
            target("api.shop.svc.cluster.local", "web"),
            Some(("api", "shop", Form::Qualified))
        );
        assert_eq!(
            target("api.shop.svc", "web"),
            Some(("api", "shop", Form::Qualified))
        );
        assert_eq!(
            target("api.shop", "web"),
            Some(("api", "shop", Form::Namespaced))
        );
        assert_eq!(target("api", "web"), Some(("api", "web", Form::Bare)));
        assert_eq!(target("www.example.com", "web"), None);
        assert_eq!(target("a.b.c.svc", "web"), None);
    }
}
