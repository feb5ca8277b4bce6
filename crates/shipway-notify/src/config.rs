//! The notification configuration in Argo CD's vocabulary: the `data` of the
//! `argocd-notifications-cm` `ConfigMap` (or the `ConfigMap` itself, or a file holding it and the
//! `argocd-notifications-secret` Secret), with `$name` secret references resolved.
//!
//! Keys: `service.<type>` and `service.<type>.<name>`, `template.<name>`, `trigger.<name>`,
//! `defaultTriggers`, `defaultTriggers.<service>`, `subscriptions` and `context`. Values are
//! YAML text as in the `ConfigMap`, or (in a file of shipway's) YAML mappings and lists
//! directly. Subscriptions come from the ``ConfigMap``'s `subscriptions` and from an app's
//! `notifications.argoproj.io/subscribe.<trigger>.<service>: r1;r2`,
//! `notifications.argoproj.io/subscribe.<service>` and `notifications.argoproj.io/subscriptions`
//! annotations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::catalog;
use crate::event::AppInfo;
use crate::expr::Expression;
use crate::template::{Template, TemplateError};

/// A configuration that could not be used. Never holds a secret's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The YAML is malformed.
    #[error("{file}:{line}: {message}")]
    Yaml {
        /// The file (or `ConfigMap/<name>`).
        file: String,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// A key's value is not what it must be.
    #[error("{file}: `{key}`: {message}")]
    Invalid {
        /// The file (or `ConfigMap/<name>`).
        file: String,
        /// The configuration key (`service.slack`, `trigger.on-sync-failed`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A template does not parse.
    #[error("{file}: {source}")]
    Template {
        /// The file.
        file: String,
        /// The template error, naming the template.
        #[source]
        source: TemplateError,
    },
}

/// Secret values for `$name` references: a Secret's `data` (base64) or `stringData`, then
/// the environment.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, String>,
    environment: bool,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: a value must never reach a log.
        f.debug_struct("Secrets")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .field("environment", &self.environment)
            .finish()
    }
}

impl Secrets {
    /// No secrets, and no environment.
    pub fn none() -> Secrets {
        Secrets::default()
    }

    /// Secrets that fall back to environment variables: `$slack-token` reads
    /// `slack-token`, then `SLACK_TOKEN`.
    pub fn with_environment() -> Secrets {
        Secrets {
            values: BTreeMap::new(),
            environment: true,
        }
    }

    /// Adds a value (later ones win).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// Adds a Secret object's `data` (base64) and `stringData`. `source` names it in errors.
    pub fn add_secret_object(&mut self, object: &Value, source: &str) -> Result<(), ConfigError> {
        if let Some(data) = object.get("data").and_then(Value::as_object) {
            for (key, value) in data {
                let text = value.as_str().unwrap_or_default();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| ConfigError::Invalid {
                        file: source.to_string(),
                        key: format!("data.{key}"),
                        message: "is not base64 of UTF-8 text".into(),
                    })?;
                self.values.insert(key.clone(), decoded);
            }
        }
        if let Some(data) = object.get("stringData").and_then(Value::as_object) {
            for (key, value) in data {
                self.values
                    .insert(key.clone(), value.as_str().unwrap_or_default().to_string());
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<String> {
        if let Some(value) = self.values.get(name) {
            return Some(value.clone());
        }
        if self.environment {
            let upper: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            return std::env::var(name).or_else(|_| std::env::var(upper)).ok();
        }
        None
    }
}

/// The kinds of service shipway sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// Feishu/Lark custom bot (`service.feishu`, `service.lark`).
    Feishu,
    /// Slack (`service.slack`): incoming webhook (`url`) or `chat.postMessage` (`token`).
    Slack,
    /// `DingTalk` custom robot (`service.dingtalk`).
    DingTalk,
    /// `WeCom` group robot (`service.wecom`).
    WeCom,
    /// Microsoft Teams workflow webhook (`service.teams`, `service.teams-workflows`).
    Teams,
    /// A generic webhook (`service.webhook.<name>`).
    Webhook,
    /// GitHub commit and deployment statuses (`service.github`).
    GitHub,
    /// GitLab commit status (`service.gitlab`).
    GitLab,
}

impl ServiceKind {
    fn from_type(kind: &str) -> Option<ServiceKind> {
        Some(match kind {
            "feishu" | "lark" => ServiceKind::Feishu,
            "slack" => ServiceKind::Slack,
            "dingtalk" => ServiceKind::DingTalk,
            "wecom" => ServiceKind::WeCom,
            "teams" | "teams-workflows" => ServiceKind::Teams,
            "webhook" => ServiceKind::Webhook,
            "github" => ServiceKind::GitHub,
            "gitlab" => ServiceKind::GitLab,
            _ => return None,
        })
    }

    /// The type's name in `service.<type>`, and the template block it reads.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Feishu => "feishu",
            ServiceKind::Slack => "slack",
            ServiceKind::DingTalk => "dingtalk",
            ServiceKind::WeCom => "wecom",
            ServiceKind::Teams => "teams",
            ServiceKind::Webhook => "webhook",
            ServiceKind::GitHub => "github",
            ServiceKind::GitLab => "gitlab",
        }
    }
}

/// One configured service, its secret references resolved.
#[derive(Clone)]
pub struct Service {
    /// The name subscriptions use (`slack`, or `mattermost` for `service.slack.mattermost`).
    pub name: String,
    /// What it is.
    pub kind: ServiceKind,
    /// Its settings, with `$name` replaced by the secret.
    pub settings: Map<String, Value>,
    /// The values that came from secrets, and every URL: removed from any error text.
    pub(crate) sensitive: Vec<String>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A string setting.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `text` with every secret value and URL of this service replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in &self.sensitive {
            if value.len() >= 4 {
                out = out.replace(value.as_str(), "***");
            }
        }
        out
    }
}

/// One condition of a trigger.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The source text of `when`.
    pub when_text: String,
    /// `when`.
    pub when: Expression,
    /// `oncePer`, when given.
    pub once_per: Option<Expression>,
    /// The templates to send, in order.
    pub send: Vec<String>,
}

/// A subscription of the ``ConfigMap``'s `subscriptions`.
#[derive(Debug, Clone)]
struct CmSubscription {
    recipients: Vec<(String, String)>,
    triggers: Vec<String>,
    selector: Vec<(String, String)>,
}

/// Where one notification goes: a trigger, a service and a recipient.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Destination {
    /// The trigger's name.
    pub trigger: String,
    /// The service's name.
    pub service: String,
    /// The recipient (a channel, a `recipientUrls` key, or empty).
    pub recipient: String,
}

/// The whole configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where it was read from, for messages.
    pub source: String,
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    templates: BTreeMap<String, Value>,
    triggers: BTreeMap<String, Vec<Condition>>,
    default_triggers: Vec<String>,
    default_triggers_by_service: BTreeMap<String, Vec<String>>,
    subscriptions: Vec<CmSubscription>,
    /// `context`: values templates read as `.context` (`argocdUrl`).
    pub context: BTreeMap<String, String>,
}

const ANNOTATION_PREFIX: &str = "notifications.argoproj.io/subscribe.";
const SUBSCRIPTIONS_ANNOTATION: &str = "notifications.argoproj.io/subscriptions";

impl Config {
    /// Reads a file: the ``ConfigMap``'s `data` as a mapping, the `ConfigMap`, or several YAML
    /// documents of which one is the `ConfigMap` and others Secrets (added to `secrets`).
    pub fn load(path: &Path, mut secrets: Secrets) -> Result<Config, ConfigError> {
        let text = fs_err::read_to_string(path)?;
        let file = path.display().to_string();
        let documents = shipway_model::yaml::parse_stream(
            &text,
            shipway_model::FileId(0),
            &shipway_model::yaml::Limits::default(),
        )
        .map_err(|e| ConfigError::Yaml {
            file: file.clone(),
            line: e.line,
            message: e.message,
        })?;
        let documents: Vec<Value> = documents
            .iter()
            .map(shipway_model::Node::to_json)
            .filter(|d| !d.is_null())
            .collect();
        let mut data = None;
        for document in &documents {
            match document.get("kind").and_then(Value::as_str) {
                Some("Secret") => secrets.add_secret_object(document, &file)?,
                Some("ConfigMap") => {
                    data = Some(document.get("data").cloned().unwrap_or(Value::Null));
                }
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        file,
                        key: "kind".into(),
                        message: format!("a `{other}` is neither the ConfigMap nor a Secret"),
                    });
                }
                None => data = Some(document.clone()),
            }
        }
        let data = data.unwrap_or(Value::Object(Map::new()));
        Config::from_data(&data, &secrets, &file)
    }

    /// Builds the configuration from a ``ConfigMap``'s `data` (or an equivalent mapping).
    pub fn from_data(data: &Value, secrets: &Secrets, source: &str) -> Result<Config, ConfigError> {
        let Some(data) = data.as_object() else {
            return Err(ConfigError::Invalid {
                file: source.into(),
                key: "data".into(),
                message: "must be a mapping of configuration keys".into(),
            });
        };
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            file: source.into(),
            key: key.into(),
            message,
        };
        let mut config = Config {
            source: source.to_string(),
            ..Config::default()
        };
        for (key, value) in data {
            let value = yaml_value(value).map_err(|m| invalid(key, m))?;
            if let Some(rest) = key.strip_prefix("service.") {
                let parts: Vec<&str> = rest.split('.').collect();
                let (kind_name, name) = match parts.as_slice() {
                    [kind] => (*kind, *kind),
                    [kind, name] => (*kind, *name),
                    _ => {
                        return Err(invalid(
                            key,
                            "has more than three dot-separated parts".into(),
                        ));
                    }
                };
                let kind = ServiceKind::from_type(kind_name).ok_or_else(|| {
                    invalid(
                        key,
                        format!(
                            "unknown service type `{kind_name}` (supported: feishu, lark, slack, dingtalk, wecom, teams, teams-workflows, webhook, github, gitlab)"
                        ),
                    )
                })?;
                let Value::Object(settings) = value else {
                    return Err(invalid(key, "must be a mapping of settings".into()));
                };
                let mut sensitive = Vec::new();
                let settings = resolve(Value::Object(settings), secrets, &mut sensitive)
                    .map_err(|m| invalid(key, m))?;
                let Value::Object(settings) = settings else {
                    return Err(invalid(key, "must be a mapping of settings".into()));
                };
                collect_urls(&Value::Object(settings.clone()), &mut sensitive);
                let service = Service {
                    name: name.to_string(),
                    kind,
                    settings,
                    sensitive,
                };
                crate::service::validate(&service).map_err(|m| invalid(key, m))?;
                config.services.insert(name.to_string(), service);
            } else if let Some(name) = key.strip_prefix("template.") {
                validate_template(name, &value).map_err(|error| ConfigError::Template {
                    file: source.to_string(),
                    source: error,
                })?;
                config.templates.insert(name.to_string(), value);
            } else if let Some(name) = key.strip_prefix("trigger.") {
                let conditions = parse_trigger(&value).map_err(|m| invalid(key, m))?;
                config.triggers.insert(name.to_string(), conditions);
            } else if key == "defaultTriggers" {
                config.default_triggers = string_list(&value).map_err(|m| invalid(key, m))?;
            } else if let Some(service) = key.strip_prefix("defaultTriggers.") {
                config.default_triggers_by_service.insert(
                    service.to_string(),
                    string_list(&value).map_err(|m| invalid(key, m))?,
                );
            } else if key == "subscriptions" {
                config.subscriptions =
                    parse_cm_subscriptions(&value).map_err(|m| invalid(key, m))?;
            } else if key == "context" {
                let Value::Object(map) = value else {
                    return Err(invalid(key, "must be a mapping of strings".into()));
                };
                for (k, v) in map {
                    config.context.insert(k, scalar(&v));
                }
            } else {
                return Err(invalid(
                    key,
                    "unknown key (expected service.*, template.*, trigger.*, defaultTriggers, subscriptions or context)".into(),
                ));
            }
        }
        // Every template a trigger sends must exist, built-in or configured.
        for name in config.trigger_names() {
            for condition in config.trigger(&name).unwrap_or_default() {
                for template in &condition.send {
                    if config.template(template).is_none() {
                        return Err(invalid(
                            &format!("trigger.{name}"),
                            format!("sends template `{template}`, which is not defined"),
                        ));
                    }
                }
            }
        }
        Ok(config)
    }

    /// The trigger's conditions: the configured ones, else the built-in ones.
    pub fn trigger(&self, name: &str) -> Option<Vec<Condition>> {
        if let Some(conditions) = self.triggers.get(name) {
            return Some(conditions.clone());
        }
        let (_, when, once_per, template) = catalog::TRIGGERS.iter().find(|t| t.0 == name)?;
        Some(vec![Condition {
            when_text: (*when).to_string(),
            when: Expression::parse(when).ok()?,
            once_per: Expression::parse(once_per).ok(),
            send: vec![(*template).to_string()],
        }])
    }

    /// Every trigger name known: built-in and configured.
    pub fn trigger_names(&self) -> BTreeSet<String> {
        catalog::TRIGGERS
            .iter()
            .map(|t| t.0.to_string())
            .chain(self.triggers.keys().cloned())
            .collect()
    }

    /// A template's definition: the configured one, else the built-in one.
    pub fn template(&self, name: &str) -> Option<Value> {
        self.templates
            .get(name)
            .cloned()
            .or_else(|| catalog::template(name))
    }

    /// The destinations of an app: its annotations, then the ``ConfigMap``'s subscriptions that
    /// select it, de-duplicated. Unknown services or triggers are errors, naming the
    /// annotation.
    pub fn destinations(&self, app: &AppInfo) -> Result<Vec<Destination>, String> {
        let mut out = BTreeSet::new();
        let mut add = |trigger: &str, service: &str, recipient: &str| -> Result<(), String> {
            if !self.services.contains_key(service) {
                return Err(format!(
                    "service `{service}` is not configured in {}",
                    self.source
                ));
            }
            if self.trigger(trigger).is_none() {
                return Err(format!("trigger `{trigger}` is not defined"));
            }
            out.insert(Destination {
                trigger: trigger.to_string(),
                service: service.to_string(),
                recipient: recipient.to_string(),
            });
            Ok(())
        };
        for (key, value) in &app.annotations {
            if key == SUBSCRIPTIONS_ANNOTATION {
                let parsed = shipway_model::yaml::parse_one(value)
                    .map_err(|e| format!("annotation `{key}`: {e}"))?
                    .to_json();
                for item in parsed.as_array().into_iter().flatten() {
                    let triggers = string_list(item.get("trigger").unwrap_or(&Value::Null))
                        .map_err(|m| format!("annotation `{key}`: {m}"))?;
                    for destination in item
                        .get("destinations")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let service = destination
                            .get("service")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let recipients =
                            string_list(destination.get("recipients").unwrap_or(&Value::Null))
                                .map_err(|m| format!("annotation `{key}`: {m}"))?;
                        let triggers = if triggers.is_empty() {
                            self.defaults_for(service)
                        } else {
                            triggers.clone()
                        };
                        for trigger in &triggers {
                            for recipient in &recipients {
                                add(trigger, service, recipient)
                                    .map_err(|m| format!("annotation `{key}`: {m}"))?;
                            }
                        }
                    }
                }
                continue;
            }
            let Some(rest) = key.strip_prefix(ANNOTATION_PREFIX) else {
                continue;
            };
            let recipients: Vec<&str> = value.split(';').map(str::trim).collect();
            let (triggers, service) = match rest.split_once('.') {
                // The trigger may itself contain dots in Argo CD; the service is the last part.
                Some(_) => {
                    let (trigger, service) = rest.rsplit_once('.').unwrap_or((rest, ""));
                    (vec![trigger.to_string()], service)
                }
                None => (self.defaults_for(rest), rest),
            };
            for trigger in &triggers {
                for recipient in &recipients {
                    add(trigger, service, recipient)
                        .map_err(|m| format!("annotation `{key}`: {m}"))?;
                }
            }
        }
        for subscription in &self.subscriptions {
            let selected = subscription
                .selector
                .iter()
                .all(|(k, v)| app.labels.get(k) == Some(v));
            if !selected {
                continue;
            }
            for (service, recipient) in &subscription.recipients {
                let triggers = if subscription.triggers.is_empty() {
                    self.defaults_for(service)
                } else {
                    subscription.triggers.clone()
                };
                for trigger in &triggers {
                    add(trigger, service, recipient)
                        .map_err(|m| format!("`subscriptions`: {m}"))?;
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    fn defaults_for(&self, service: &str) -> Vec<String> {
        self.default_triggers_by_service
            .get(service)
            .cloned()
            .unwrap_or_else(|| self.default_triggers.clone())
    }
}

/// A `ConfigMap` value: YAML text parsed, or already structured.
fn yaml_value(value: &Value) -> Result<Value, String> {
    match value {
        Value::String(text) => {
            let node = shipway_model::yaml::parse_one(text).map_err(|e| format!("{e}"))?;
            Ok(node.to_json())
        }
        other => Ok(other.clone()),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn string_list(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "must be a list of strings".to_string())
            })
            .collect(),
        _ => Err("must be a list of strings".into()),
    }
}

/// Replaces `$name` (`[\w-]+`) in every string with the secret; a missing one is an error
/// naming the reference.
fn resolve(value: Value, secrets: &Secrets, sensitive: &mut Vec<String>) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => {
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(at) = rest.find('$') {
                out.push_str(&rest[..at]);
                let after = &rest[at + 1..];
                let len = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(after.len());
                if len == 0 {
                    out.push('$');
                    rest = after;
                    continue;
                }
                let name = &after[..len];
                let secret = secrets.get(name).ok_or_else(|| {
                    format!("secret `${name}` is not in the Secret or the environment")
                })?;
                sensitive.push(secret.clone());
                out.push_str(&secret);
                rest = &after[len..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| resolve(i, secrets, sensitive))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, resolve(v, secrets, sensitive)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other,
    })
}

/// Every string that looks like a URL: their tokens (`access_token`, `key`, `sig`, the
/// hook path) are secrets too.
fn collect_urls(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            out.push(s.clone());
            if let Some((_, query)) = s.split_once('?') {
                for pair in query.split('&') {
                    if let Some((_, v)) = pair.split_once('=') {
                        out.push(v.to_string());
                    }
                }
            }
            if let Some(last) = s.split('?').next().and_then(|p| p.rsplit('/').next()) {
                out.push(last.to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_urls(i, out)),
        Value::Object(map) => map.values().for_each(|v| collect_urls(v, out)),
        _ => {}
    }
}

/// Parses every string of a template definition, so a bad one fails at load time.
fn validate_template(name: &str, value: &Value) -> Result<(), TemplateError> {
    if !value.is_object() {
        return Err(TemplateError {
            template: name.to_string(),
            message: "must be a mapping (`message`, per-service blocks)".into(),
        });
    }
    walk_strings(value, &mut |path, text| {
        Template::parse(&template_path(name, path), text).map(|_| ())
    })
}

fn template_path(name: &str, path: &[String]) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{}", path.join("."))
    }
}

/// A visitor of a template definition's strings: their path and text.
type Visit<'a> = dyn FnMut(&[String], &str) -> Result<(), TemplateError> + 'a;

fn walk_strings(value: &Value, f: &mut Visit<'_>) -> Result<(), TemplateError> {
    fn go(value: &Value, path: &mut Vec<String>, f: &mut Visit<'_>) -> Result<(), TemplateError> {
        match value {
            Value::String(s) => f(path, s),
            Value::Object(map) => {
                for (k, v) in map {
                    path.push(k.clone());
                    go(v, path, f)?;
                    path.pop();
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    go(v, path, f)?;
                    path.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    go(value, &mut Vec::new(), f)
}

/// Renders a template definition: every string rendered over `data`.
pub(crate) fn render_template(
    name: &str,
    value: &Value,
    data: &Value,
) -> Result<Value, TemplateError> {
    fn go(
        name: &str,
        path: &mut Vec<String>,
        value: &Value,
        data: &Value,
    ) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) => {
                Value::String(Template::parse(&template_path(name, path), s)?.render(data)?)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    path.push(k.clone());
                    out.insert(k.clone(), go(name, path, v, data)?);
                    path.pop();
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    out.push(go(name, path, v, data)?);
                    path.pop();
                }
                Value::Array(out)
            }
            other => other.clone(),
        })
    }
    go(name, &mut Vec::new(), value, data)
}

fn parse_trigger(value: &Value) -> Result<Vec<Condition>, String> {
    let Value::Array(items) = value else {
        return Err("must be a YAML list of conditions (`- when: …` / `send: […]`)".into());
    };
    items
        .iter()
        .map(|item| {
            let when_text = item
                .get("when")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let when = if when_text.trim().is_empty() {
                // Argo CD: an empty condition is false.
                Expression::parse("false")?
            } else {
                Expression::parse(&when_text).map_err(|m| format!("`when`: {m}"))?
            };
            let once_per = match item.get("oncePer").and_then(Value::as_str) {
                Some(text) if !text.trim().is_empty() => {
                    Some(Expression::parse(text).map_err(|m| format!("`oncePer`: {m}"))?)
                }
                _ => None,
            };
            let send = string_list(item.get("send").unwrap_or(&Value::Null))
                .map_err(|m| format!("`send` {m}"))?;
            if send.is_empty() {
                return Err("a condition sends no template (`send`)".into());
            }
            Ok(Condition {
                when_text,
                when,
                once_per,
                send,
            })
        })
        .collect()
}

fn parse_cm_subscriptions(value: &Value) -> Result<Vec<CmSubscription>, String> {
    let Value::Array(items) = value else {
        return Err("must be a list".into());
    };
    items
        .iter()
        .map(|item| {
            let recipients = string_list(item.get("recipients").unwrap_or(&Value::Null))?
                .into_iter()
                .map(|r| match r.split_once(':') {
                    Some((s, r)) => (s.trim().to_string(), r.trim().to_string()),
                    None => (r.trim().to_string(), String::new()),
                })
                .collect();
            let triggers = string_list(item.get("triggers").unwrap_or(&Value::Null))?;
            let mut selector = Vec::new();
            if let Some(text) = item.get("selector").and_then(Value::as_str) {
                for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let Some((k, v)) = part.split_once('=') else {
                        return Err(format!(
                            "selector `{part}`: only `key=value` terms are supported"
                        ));
                    };
                    selector.push((
                        k.trim().trim_end_matches('=').to_string(),
                        v.trim().to_string(),
                    ));
                }
            }
            Ok(CmSubscription {
                recipients,
                triggers,
                selector,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(data: &Value, secrets: &Secrets) -> Result<Config, ConfigError> {
        Config::from_data(data, secrets, "notify.yaml")
    }

    #[test]
    fn configmap_vocabulary_and_secret_references() {
        let mut secrets = Secrets::none();
        secrets.insert("slack-token", "xoxb-123456");
        let data = json!({
            "service.slack": "token: $slack-token\nusername: shipway\n",
            "service.webhook.ci": "url: https://ci.example/hook\nheaders:\n- name: Authorization\n  value: Bearer $slack-token\n",
            "template.my": "message: \"{{.app.metadata.name}}\"\n",
            "trigger.on-mine": "- when: app.status.health.status == 'Healthy'\n  send: [my]\n",
            "defaultTriggers": "- on-sync-failed\n- on-deployed\n",
            "context": "argocdUrl: https://cd.example\n",
        });
        let config = config(&data, &secrets).unwrap();
        assert_eq!(config.services["slack"].get("token"), Some("xoxb-123456"));
        assert_eq!(config.services["ci"].kind, ServiceKind::Webhook);
        assert_eq!(
            config.services["ci"].settings["headers"][0]["value"],
            json!("Bearer xoxb-123456")
        );
        assert!(!format!("{:?}", config.services["slack"]).contains("xoxb"));
        assert!(config.trigger("on-mine").is_some());
        assert!(config.trigger("on-sync-failed").is_some(), "built-in");
        assert_eq!(config.context["argocdUrl"], "https://cd.example");
        let app = AppInfo {
            name: "shop".into(),
            annotations: [
                (
                    "notifications.argoproj.io/subscribe.on-sync-failed.slack".to_string(),
                    "ops; dev".to_string(),
                ),
                (
                    "notifications.argoproj.io/subscribe.ci".to_string(),
                    String::new(),
                ),
            ]
            .into(),
            ..AppInfo::default()
        };
        let destinations = config.destinations(&app).unwrap();
        let listed: Vec<String> = destinations
            .iter()
            .map(|d| format!("{}:{}:{}", d.trigger, d.service, d.recipient))
            .collect();
        assert_eq!(
            listed,
            [
                "on-deployed:ci:",
                "on-sync-failed:ci:",
                "on-sync-failed:slack:dev",
                "on-sync-failed:slack:ops"
            ]
        );
    }

    #[test]
    fn errors_name_the_key_and_never_the_secret() {
        let error = config(
            &json!({"service.slack": "token: $missing"}),
            &Secrets::none(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "notify.yaml: `service.slack`: secret `$missing` is not in the Secret or the environment"
        );
        let error = config(&json!({"service.pager": "url: x"}), &Secrets::none()).unwrap_err();
        assert!(
            error.to_string().contains("unknown service type `pager`"),
            "{error}"
        );
        let error = config(
            &json!({"template.bad": "message: \"{{call .x}}\""}),
            &Secrets::none(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "notify.yaml: template `bad.message`: `call` is not supported"
        );
        let error = config(
            &json!({"trigger.t": "- when: time.Now() > 1\n  send: [app-deployed]"}),
            &Secrets::none(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`trigger.t`: `when`: calling `time.Now(…)`"),
            "{error}"
        );
        let error = config(
            &json!({"trigger.t": "- when: 'true'\n  send: [nope]"}),
            &Secrets::none(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("sends template `nope`, which is not defined"),
            "{error}"
        );
    }

    #[test]
    fn secret_objects_decode_base64() {
        let mut secrets = Secrets::none();
        secrets
            .add_secret_object(
                &json!({"data": {"k": "c2VjcmV0"}, "stringData": {"s": "plain"}}),
                "s.yaml",
            )
            .unwrap();
        assert_eq!(secrets.get("k").as_deref(), Some("secret"));
        assert_eq!(secrets.get("s").as_deref(), Some("plain"));
        assert!(!format!("{secrets:?}").contains("secret\""));
        assert!(
            secrets
                .add_secret_object(&json!({"data": {"k": "!!"}}), "s.yaml")
                .is_err()
        );
    }
}
