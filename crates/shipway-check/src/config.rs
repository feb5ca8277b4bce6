//! The repository configuration of `shipway check` (`--config FILE`):
//!
//! ```yaml
//! disable: [reliability/missing-spread]         # rules or families off everywhere
//! ignore:                                      # rules off for some objects
//! - rules: [references/missing-secret]
//!   kind: Deployment
//!   namespace: legacy
//!   name: old-app
//! external:                                    # objects managed elsewhere
//! - {kind: Secret, namespace: apps, name: tls-cert}
//! - {kind: Service, namespace: monitoring, name: prometheus, ports: [9090]}
//! ```

use shipway_model::{Node, Value};

use crate::context::{effective_namespace, matches_code, name_of, namespace_of};

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{message} (line {line})")]
pub struct ConfigError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub line: u32,
}

/// An object declared as managed elsewhere: references to it resolve.
#[derive(Debug, Clone, Default)]
pub struct External {
    /// Kind.
    pub kind: String,
    /// Namespace (`""`: any).
    pub namespace: String,
    /// Name (`*`: every object of the kind in the namespace).
    pub name: String,
    /// Ports a Service exposes (for port references and in-cluster URLs).
    pub ports: Vec<i64>,
}

/// One `ignore:` entry.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    /// Rule ids or families.
    pub rules: Vec<String>,
    /// Kind the object must have (any when empty).
    pub kind: String,
    /// Namespace (any when empty).
    pub namespace: String,
    /// Name (any when empty).
    pub name: String,
}

/// The configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Rules or families turned off.
    pub disable: Vec<String>,
    /// Per-object suppressions.
    pub ignore: Vec<Ignore>,
    /// Objects managed elsewhere.
    pub external: Vec<External>,
}

impl Config {
    /// Reads the configuration document.
    pub fn from_node(node: &Node) -> Result<Config, ConfigError> {
        let err = |n: &Node, message: &str| ConfigError {
            message: message.to_string(),
            line: n.pos.line,
        };
        let mut config = Config::default();
        let Some(map) = node.as_map() else {
            if node.value.is_null() {
                return Ok(config);
            }
            return Err(err(node, "the configuration must be a mapping"));
        };
        let strings = |n: &Node| -> Result<Vec<String>, ConfigError> {
            n.as_seq()
                .ok_or_else(|| err(n, "expected a list of strings"))?
                .iter()
                .map(|s| {
                    s.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| err(s, "expected a string"))
                })
                .collect()
        };
        let text = |n: &Node, key: &str| n.str_at(&[key]).unwrap_or("").to_string();
        for (key, value) in map.iter() {
            match key {
                "disable" => config.disable = strings(value)?,
                "ignore" => {
                    for item in value
                        .as_seq()
                        .ok_or_else(|| err(value, "expected a list"))?
                    {
                        config.ignore.push(Ignore {
                            rules: item
                                .get("rules")
                                .map(strings)
                                .transpose()?
                                .unwrap_or_default(),
                            kind: text(item, "kind"),
                            namespace: text(item, "namespace"),
                            name: text(item, "name"),
                        });
                    }
                }
                "external" => {
                    for item in value
                        .as_seq()
                        .ok_or_else(|| err(value, "expected a list"))?
                    {
                        let ports = item
                            .get("ports")
                            .and_then(Node::as_seq)
                            .map(|p| {
                                p.iter()
                                    .filter_map(|n| match n.value {
                                        Value::Int(i) => Some(i),
                                        _ => None,
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        config.external.push(External {
                            kind: text(item, "kind"),
                            namespace: text(item, "namespace"),
                            name: text(item, "name"),
                            ports,
                        });
                    }
                }
                other => {
                    return Err(err(
                        value,
                        &format!("unknown key `{other}` (expected disable, ignore or external)"),
                    ));
                }
            }
        }
        Ok(config)
    }

    /// Whether a rule is turned off everywhere.
    pub fn is_disabled(&self, code: &str) -> bool {
        self.disable.iter().any(|d| matches_code(d, code))
    }

    /// Whether a rule is suppressed for `object`.
    pub fn ignores(&self, code: &str, object: &Node) -> bool {
        self.ignore.iter().any(|i| {
            i.rules.iter().any(|r| matches_code(r, code))
                && (i.kind.is_empty() || object.str_at(&["kind"]) == Some(i.kind.as_str()))
                && (i.namespace.is_empty()
                    || effective_namespace(namespace_of(object)) == i.namespace)
                && (i.name.is_empty() || name_of(object) == i.name)
        })
    }

    /// The external object of this kind and name in `namespace`, if declared.
    pub fn external(&self, kind: &str, namespace: &str, name: &str) -> Option<&External> {
        self.external.iter().find(|e| {
            e.kind == kind
                && (e.name == name || e.name == "*")
                && (e.namespace.is_empty()
                    || effective_namespace(&e.namespace) == effective_namespace(namespace))
        })
    }
}
