//! An `argoproj.io/v1alpha1` Rollout read from its JSON: the fields shipway acts on, and
//! a clear error for every field it does not support (so a manifest is never half
//! understood). The error names the field's path; `shipway check` adds file and line.

use std::time::Duration;

use serde_json::Value;

use crate::canary::{CanaryScale, Step};
use crate::replicas::IntOrPercent;

/// Why a Rollout cannot be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Rollout {name}: `{field}`: {message}")]
pub struct SpecError {
    /// The Rollout.
    pub name: String,
    /// The field, as a path (`spec.strategy.canary.steps[2].experiment`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A step analysis or background analysis: `templates` and `args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisRef {
    /// `templates[].templateName`, with `clusterScope`.
    pub templates: Vec<(String, bool)>,
    /// `args[]`: name and value (`valueFrom.podTemplateHashValue` is `Latest`/`Stable`
    /// in the second element as `@Latest`/`@Stable`).
    pub args: Vec<(String, String)>,
}

/// `strategy.canary.analysis`: a background analysis, run from `startingStep` until the
/// rollout is promoted or aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackgroundAnalysis {
    /// `templates` and `args`.
    pub analysis: AnalysisRef,
    /// `startingStep` (default 0): the step index from which it runs.
    pub starting_step: u32,
}

/// The canary strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    /// The steps.
    pub steps: Vec<Step>,
    /// The analysis of each `analysis` step, by step index.
    pub step_analyses: Vec<(usize, AnalysisRef)>,
    /// `stableService`.
    pub stable_service: Option<String>,
    /// `canaryService`.
    pub canary_service: Option<String>,
    /// `maxSurge` (default `"25%"`).
    pub max_surge: IntOrPercent,
    /// `maxUnavailable` (default `"25%"`).
    pub max_unavailable: IntOrPercent,
    /// `trafficRouting.plugins["argoproj-labs/gatewayAPI"]`: the Gateway API `HTTPRoute`s
    /// whose backend weights follow the steps, and their namespace (default the Rollout's).
    pub http_routes: Option<Routes>,
    /// `trafficRouting.nginx`: the NGINX Ingress router.
    pub nginx: Option<crate::nginx::Nginx>,
    /// `analysis`: the background analysis.
    pub background: Option<BackgroundAnalysis>,
}

impl Canary {
    /// Whether a traffic router moves the traffic (so the canary is sized by weight and
    /// stable keeps every replica).
    pub fn routed(&self) -> bool {
        self.http_routes.is_some() || self.nginx.is_some()
    }
}

/// The blue-green strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlueGreen {
    /// `activeService` (required).
    pub active_service: String,
    /// `previewService`.
    pub preview_service: Option<String>,
    /// `autoPromotionEnabled` (default true).
    pub auto_promotion: bool,
    /// `autoPromotionSeconds` (0: none).
    pub auto_promotion_seconds: u64,
    /// `prePromotionAnalysis`.
    pub pre_analysis: Option<AnalysisRef>,
    /// `postPromotionAnalysis`.
    pub post_analysis: Option<AnalysisRef>,
    /// `scaleDownDelaySeconds` (default 30).
    pub scale_down_delay: u64,
    /// `abortScaleDownDelaySeconds` (default 30; 0 keeps the aborted pods).
    pub abort_scale_down_delay: u64,
}

/// What shipway reads of a Rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.generation`.
    pub generation: i64,
    /// `spec.replicas` (default 1).
    pub replicas: u32,
    /// `spec.selector.matchLabels`.
    pub selector: serde_json::Map<String, Value>,
    /// `spec.template`; with a `workloadRef`, `Null` until the controller resolves it
    /// from the Deployment.
    pub template: Value,
    /// `spec.workloadRef`: the Deployment the pod template comes from.
    pub workload_ref: Option<crate::workload::WorkloadRef>,
    /// `spec.minReadySeconds`.
    pub min_ready_seconds: u32,
    /// `spec.paused`.
    pub paused: bool,
    /// `spec.strategy.canary` (empty, without steps, for a blue-green Rollout).
    pub canary: Canary,
    /// `spec.strategy.blueGreen`, for a blue-green Rollout.
    pub blue_green: Option<BlueGreen>,
}

const SPEC_FIELDS: &[&str] = &[
    "replicas",
    "selector",
    "template",
    "strategy",
    "minReadySeconds",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
    "workloadRef",
];

const CANARY_FIELDS: &[&str] = &[
    "steps",
    "stableService",
    "canaryService",
    "maxSurge",
    "maxUnavailable",
    "trafficRouting",
    "analysis",
];

const BLUE_GREEN_FIELDS: &[&str] = &[
    "activeService",
    "previewService",
    "autoPromotionEnabled",
    "autoPromotionSeconds",
    "prePromotionAnalysis",
    "postPromotionAnalysis",
    "scaleDownDelaySeconds",
    "abortScaleDownDelaySeconds",
];

/// The `HTTPRoute`s a Rollout's weights go to: their namespace (default the Rollout's)
/// and names.
pub type Routes = (Option<String>, Vec<String>);

/// The Gateway API plugin's key, as Argo Rollouts' plugin registry names it.
pub const GATEWAY_API_PLUGIN: &str = "argoproj-labs/gatewayAPI";

impl Rollout {
    /// Reads a live (or rendered) Rollout object.
    pub fn from_json(object: &Value) -> Result<Rollout, SpecError> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let error = |field: &str, message: &str| SpecError {
            name: name.clone(),
            field: field.to_string(),
            message: message.to_string(),
        };
        let unsupported = |field: &str| {
            error(
                field,
                "not supported by shipway's Rollout controller (it supports the canary strategy's setWeight, setCanaryScale, pause and analysis steps, stableService and canaryService, the Gateway API and NGINX Ingress routers, workloadRef, and the blue-green strategy)",
            )
        };
        let spec = object
            .get("spec")
            .and_then(Value::as_object)
            .ok_or_else(|| error("spec", "missing"))?;
        for field in spec.keys() {
            if !SPEC_FIELDS.contains(&field.as_str()) {
                return Err(unsupported(&format!("spec.{field}")));
            }
        }
        let replicas = match spec.get("replicas") {
            None | Some(Value::Null) => 1,
            Some(value) => value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| error("spec.replicas", "must be a whole number"))?,
        };
        let workload_ref = match spec.get("workloadRef") {
            None | Some(Value::Null) => None,
            Some(value) => Some(crate::workload::WorkloadRef::from_json(value, &error)?),
        };
        // With a workloadRef the selector may come from the Deployment (the controller
        // resolves it); an empty one here means "not given".
        let selector = match spec.get("selector").filter(|s| !s.is_null()) {
            None if workload_ref.is_some() => serde_json::Map::new(),
            None => return Err(error("spec.selector", "missing")),
            Some(selector) => {
                if let Some(other) = selector
                    .as_object()
                    .and_then(|s| s.keys().find(|k| *k != "matchLabels"))
                {
                    return Err(unsupported(&format!("spec.selector.{other}")));
                }
                selector
                    .get("matchLabels")
                    .and_then(Value::as_object)
                    .filter(|labels| !labels.is_empty())
                    .cloned()
                    .ok_or_else(|| error("spec.selector.matchLabels", "must not be empty"))?
            }
        };
        let template = if workload_ref.is_some() {
            // As Argo Rollouts: the template comes from the Deployment alone, so one
            // written here would be ignored — refused instead of half used.
            if !crate::workload::empty_template(spec.get("template")) {
                return Err(error(
                    "spec.template",
                    "must be empty when `spec.workloadRef` is set (the pod template comes from the Deployment)",
                ));
            }
            Value::Null
        } else {
            spec.get("template")
                .cloned()
                .ok_or_else(|| error("spec.template", "missing"))?
        };
        let strategy = spec
            .get("strategy")
            .and_then(Value::as_object)
            .ok_or_else(|| error("spec.strategy", "missing"))?;
        if strategy.contains_key("blueGreen") && strategy.contains_key("canary") {
            return Err(error(
                "spec.strategy",
                "names both `canary` and `blueGreen`: a Rollout has one strategy",
            ));
        }
        let blue_green = match strategy.get("blueGreen") {
            Some(value) => Some(blue_green(value, &error, &unsupported)?),
            None => None,
        };
        let empty = serde_json::Map::new();
        let canary = match strategy.get("canary") {
            Some(canary) => canary
                .as_object()
                .ok_or_else(|| error("spec.strategy.canary", "must be a mapping"))?,
            None if blue_green.is_some() => &empty,
            None => {
                return Err(error("spec.strategy", "needs `canary` or `blueGreen`"));
            }
        };
        for field in canary.keys() {
            if !CANARY_FIELDS.contains(&field.as_str()) {
                return Err(unsupported(&format!("spec.strategy.canary.{field}")));
            }
        }
        let mut steps = Vec::new();
        let mut step_analyses = Vec::new();
        let listed = canary
            .get("steps")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (index, step) in listed.iter().enumerate() {
            let at = format!("spec.strategy.canary.steps[{index}]");
            let Some(map) = step.as_object().filter(|m| m.len() == 1) else {
                return Err(error(&at, "a step has exactly one action"));
            };
            let (action, value) = map.iter().next().expect("one entry");
            steps.push(match action.as_str() {
                "setWeight" => Step::SetWeight(
                    value
                        .as_u64()
                        .filter(|w| *w <= 100)
                        .ok_or_else(|| error(&format!("{at}.setWeight"), "must be 0 to 100"))?
                        as u32,
                ),
                "pause" => Step::Pause(match value.get("duration") {
                    None | Some(Value::Null) => None,
                    Some(duration) => Some(parse_duration(duration).ok_or_else(|| {
                        error(
                            &format!("{at}.pause.duration"),
                            "must be seconds or a duration such as `30s` or `10m`",
                        )
                    })?),
                }),
                "analysis" => {
                    step_analyses.push((index, analysis_ref(value, &at, &error)?));
                    Step::Analysis
                }
                "setCanaryScale" => Step::SetCanaryScale(canary_scale(value, canary, &at, &error)?),
                other => return Err(unsupported(&format!("{at}.{other}"))),
            });
        }
        let fencepost = |field: &str| -> Result<IntOrPercent, SpecError> {
            match canary.get(field) {
                None | Some(Value::Null) => Ok(IntOrPercent::Percent(25.0)),
                Some(value) => IntOrPercent::from_json(value)
                    .map_err(|m| error(&format!("spec.strategy.canary.{field}"), &m)),
            }
        };
        let text = |field: &str| {
            canary
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let http_routes = http_routes(canary.get("trafficRouting"), &error, &unsupported)?;
        let background = background_analysis(canary.get("analysis"), steps.len(), &error)?;
        let nginx = match canary
            .get("trafficRouting")
            .and_then(|routing| routing.get("nginx"))
            .filter(|value| !value.is_null())
        {
            None => None,
            Some(value) => Some(crate::nginx::Nginx::from_json(
                value,
                "spec.strategy.canary.trafficRouting.nginx",
                &error,
            )?),
        };
        if (http_routes.is_some() || nginx.is_some())
            && (!canary.contains_key("stableService") || !canary.contains_key("canaryService"))
        {
            return Err(error(
                "spec.strategy.canary.trafficRouting",
                "traffic routing needs `stableService` and `canaryService`",
            ));
        }
        Ok(Rollout {
            namespace: object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string(),
            uid: object
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            generation: object
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            replicas,
            selector,
            template,
            workload_ref,
            min_ready_seconds: spec
                .get("minReadySeconds")
                .and_then(Value::as_u64)
                .unwrap_or(0) as u32,
            paused: spec.get("paused").and_then(Value::as_bool).unwrap_or(false),
            canary: Canary {
                steps,
                step_analyses,
                stable_service: text("stableService"),
                canary_service: text("canaryService"),
                max_surge: fencepost("maxSurge")?,
                max_unavailable: fencepost("maxUnavailable")?,
                http_routes,
                nginx,
                background,
            },
            blue_green,
            name,
        })
    }
}

/// A pause duration: a number (or numeric string) of seconds, or a Go duration, truncated
/// to seconds as Argo Rollouts does.
fn parse_duration(value: &Value) -> Option<Duration> {
    if let Some(seconds) = value.as_u64() {
        return Some(Duration::from_secs(seconds));
    }
    shipway_model::duration::parse(value.as_str()?)
        .ok()
        .map(|d| Duration::from_secs(d.as_secs()))
}

/// `trafficRouting`: `nginx` (read by [`crate::nginx::Nginx::from_json`]) and the Gateway
/// API plugin, `httpRoute`/`httpRoutes` and `namespace`.
fn http_routes(
    routing: Option<&Value>,
    error: &dyn Fn(&str, &str) -> SpecError,
    unsupported: &dyn Fn(&str) -> SpecError,
) -> Result<Option<Routes>, SpecError> {
    let at = "spec.strategy.canary.trafficRouting";
    let Some(routing) = routing.filter(|r| !r.is_null()) else {
        return Ok(None);
    };
    let Some(map) = routing.as_object() else {
        return Err(error(at, "must be a mapping"));
    };
    if let Some(other) = map.keys().find(|k| *k != "plugins" && *k != "nginx") {
        return Err(unsupported(&format!("{at}.{other}")));
    }
    if !map.contains_key("plugins") {
        return if map.get("nginx").is_some_and(|n| !n.is_null()) {
            Ok(None)
        } else {
            Err(error(
                at,
                "names no router (shipway supports `nginx` and `plugins`)",
            ))
        };
    }
    let plugins = map
        .get("plugins")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(other) = plugins.keys().find(|k| *k != GATEWAY_API_PLUGIN) {
        return Err(unsupported(&format!("{at}.plugins.{other}")));
    }
    let gateway = plugins
        .get(GATEWAY_API_PLUGIN)
        .ok_or_else(|| error(&format!("{at}.plugins"), "names no plugin"))?;
    for field in gateway.as_object().into_iter().flat_map(|m| m.keys()) {
        if !["httpRoute", "httpRoutes", "namespace"].contains(&field.as_str()) {
            return Err(unsupported(&format!(
                "{at}.plugins.{GATEWAY_API_PLUGIN}.{field}"
            )));
        }
    }
    let mut routes: Vec<String> = gateway
        .get("httpRoute")
        .and_then(Value::as_str)
        .map(str::to_string)
        .into_iter()
        .collect();
    for route in gateway
        .get("httpRoutes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = route.get("name").and_then(Value::as_str) {
            routes.push(name.to_string());
        }
    }
    if routes.is_empty() {
        return Err(error(
            &format!("{at}.plugins.{GATEWAY_API_PLUGIN}"),
            "needs `httpRoute` or `httpRoutes`",
        ));
    }
    Ok(Some((
        gateway
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_string),
        routes,
    )))
}

/// `strategy.canary.analysis`: `templates`, `args` and `startingStep` (within the steps).
fn background_analysis(
    value: Option<&Value>,
    steps: usize,
    error: &dyn Fn(&str, &str) -> SpecError,
) -> Result<Option<BackgroundAnalysis>, SpecError> {
    let at = "spec.strategy.canary";
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Some(map) = value.as_object() else {
        return Err(error(&format!("{at}.analysis"), "must be a mapping"));
    };
    let starting_step = match map.get("startingStep") {
        None | Some(Value::Null) => 0,
        Some(step) => step
            .as_u64()
            .and_then(|s| u32::try_from(s).ok())
            .filter(|s| (*s as usize) < steps.max(1))
            .ok_or_else(|| {
                error(
                    &format!("{at}.analysis.startingStep"),
                    &format!("must be a step index, 0 to {}", steps.saturating_sub(1)),
                )
            })?,
    };
    let mut rest = map.clone();
    rest.remove("startingStep");
    let analysis = analysis_ref(&Value::Object(rest), at, error)?;
    Ok(Some(BackgroundAnalysis {
        analysis,
        starting_step,
    }))
}

/// A `setCanaryScale` step. As Argo Rollouts: `replicas` wins over `weight`, and neither
/// means the traffic weight's share; it needs a traffic router (upstream's validation
/// refuses it without one, since a basic canary's traffic follows its pods).
fn canary_scale(
    value: &Value,
    canary: &serde_json::Map<String, Value>,
    at: &str,
    error: &dyn Fn(&str, &str) -> SpecError,
) -> Result<CanaryScale, SpecError> {
    let at = format!("{at}.setCanaryScale");
    if canary.get("trafficRouting").is_none_or(Value::is_null) {
        return Err(error(
            &at,
            "needs `trafficRouting` (without a router the traffic follows the pods, so the canary's scale is its weight)",
        ));
    }
    let map = value
        .as_object()
        .ok_or_else(|| error(&at, "must be a mapping"))?;
    if let Some(other) = map
        .keys()
        .find(|k| !["replicas", "weight", "matchTrafficWeight"].contains(&k.as_str()))
    {
        return Err(error(
            &format!("{at}.{other}"),
            "not supported by shipway's Rollout controller",
        ));
    }
    let number = |field: &str, limit: u64| -> Result<Option<u32>, SpecError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_u64()
                .filter(|n| *n <= limit)
                .map(|n| Some(n as u32))
                .ok_or_else(|| {
                    error(
                        &format!("{at}.{field}"),
                        if limit == 100 {
                            "must be 0 to 100"
                        } else {
                            "must be a whole number"
                        },
                    )
                }),
        }
    };
    if let Some(replicas) = number("replicas", u64::from(u32::MAX))? {
        return Ok(CanaryScale::Replicas(replicas));
    }
    if let Some(weight) = number("weight", 100)? {
        return Ok(CanaryScale::Weight(weight));
    }
    match map.get("matchTrafficWeight") {
        None | Some(Value::Null | Value::Bool(_)) => Ok(CanaryScale::MatchTrafficWeight),
        Some(_) => Err(error(
            &format!("{at}.matchTrafficWeight"),
            "must be true or false",
        )),
    }
}

/// `strategy.blueGreen`.
fn blue_green(
    value: &Value,
    error: &dyn Fn(&str, &str) -> SpecError,
    unsupported: &dyn Fn(&str) -> SpecError,
) -> Result<BlueGreen, SpecError> {
    let at = "spec.strategy.blueGreen";
    let map = value
        .as_object()
        .ok_or_else(|| error(at, "must be a mapping"))?;
    for field in map.keys() {
        if !BLUE_GREEN_FIELDS.contains(&field.as_str()) {
            return Err(unsupported(&format!("{at}.{field}")));
        }
    }
    let text = |field: &str| map.get(field).and_then(Value::as_str).map(str::to_string);
    let seconds = |field: &str, default: u64| match map.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => value.as_u64().ok_or_else(|| {
            error(
                &format!("{at}.{field}"),
                "must be a whole number of seconds",
            )
        }),
    };
    let analysis = |field: &str| match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => analysis_ref_at(value, &format!("{at}.{field}"), error).map(Some),
    };
    let active_service = text("activeService")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            error(
                &format!("{at}.activeService"),
                "missing: blue-green needs the Service that takes the traffic",
            )
        })?;
    let preview_service = text("previewService");
    if preview_service.as_deref() == Some(active_service.as_str()) {
        return Err(error(
            &format!("{at}.previewService"),
            "must differ from `activeService`",
        ));
    }
    Ok(BlueGreen {
        active_service,
        preview_service,
        auto_promotion: map
            .get("autoPromotionEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        auto_promotion_seconds: seconds("autoPromotionSeconds", 0)?,
        pre_analysis: analysis("prePromotionAnalysis")?,
        post_analysis: analysis("postPromotionAnalysis")?,
        scale_down_delay: seconds("scaleDownDelaySeconds", 30)?,
        abort_scale_down_delay: seconds("abortScaleDownDelaySeconds", 30)?,
    })
}

/// A step's or the background `analysis` under `at`.
fn analysis_ref(
    value: &Value,
    at: &str,
    error: &dyn Fn(&str, &str) -> SpecError,
) -> Result<AnalysisRef, SpecError> {
    analysis_ref_at(value, &format!("{at}.analysis"), error)
}

/// An analysis (`templates`, `args`) at the field path `at`.
fn analysis_ref_at(
    value: &Value,
    at: &str,
    error: &dyn Fn(&str, &str) -> SpecError,
) -> Result<AnalysisRef, SpecError> {
    let templates = value
        .get("templates")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| error(&format!("{at}.templates"), "needs at least one template"))?
        .iter()
        .map(|t| {
            let name = t
                .get("templateName")
                .and_then(Value::as_str)
                .ok_or_else(|| error(&format!("{at}.templates[].templateName"), "missing"))?;
            Ok((
                name.to_string(),
                t.get("clusterScope")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ))
        })
        .collect::<Result<Vec<_>, SpecError>>()?;
    let mut args = Vec::new();
    for arg in value
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = arg
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| error(&format!("{at}.args[].name"), "missing"))?;
        let value = if let Some(value) = arg.get("value").and_then(Value::as_str) {
            value.to_string()
        } else if let Some(which) = arg
            .pointer("/valueFrom/podTemplateHashValue")
            .and_then(Value::as_str)
        {
            format!("@{which}")
        } else {
            return Err(error(
                &format!("{at}.args[{name}]"),
                "needs `value` or `valueFrom.podTemplateHashValue` (fieldRef is not supported yet)",
            ));
        };
        args.push((name.to_string(), value));
    }
    for field in value.as_object().into_iter().flat_map(|m| m.keys()) {
        if !["templates", "args"].contains(&field.as_str()) {
            return Err(error(
                &format!("{at}.{field}"),
                "not supported by shipway's Rollout controller",
            ));
        }
    }
    Ok(AnalysisRef { templates, args })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[allow(
        clippy::needless_pass_by_value,
        reason = "test helper fed json! literals"
    )]
    fn rollout(strategy: Value) -> Value {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "generation": 2},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}},
                "strategy": strategy}})
    }

    #[test]
    fn a_canary_rollout_is_read_with_its_steps() {
        let r = Rollout::from_json(&rollout(json!({"canary": {
            "stableService": "web-stable", "canaryService": "web-canary", "maxSurge": "1",
            "steps": [{"setWeight": 20}, {"pause": {"duration": "1m"}}, {"pause": {}},
                {"analysis": {"templates": [{"templateName": "success-rate"}],
                    "args": [{"name": "service", "value": "web"}, {"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}},
                {"pause": {"duration": 30}}]}})))
        .unwrap();
        assert_eq!(r.replicas, 4);
        assert_eq!(
            r.canary.steps,
            vec![
                Step::SetWeight(20),
                Step::Pause(Some(Duration::from_secs(60))),
                Step::Pause(None),
                Step::Analysis,
                Step::Pause(Some(Duration::from_secs(30))),
            ]
        );
        assert_eq!(r.canary.step_analyses[0].0, 3);
        assert_eq!(
            r.canary.step_analyses[0].1.args[1],
            ("hash".into(), "@Latest".into())
        );
        assert_eq!(r.canary.max_surge, IntOrPercent::Percent(1.0));
        assert_eq!(r.canary.stable_service.as_deref(), Some("web-stable"));
    }

    #[test]
    fn a_blue_green_rollout_is_read_with_argo_rollouts_defaults() {
        let bg = Rollout::from_json(&rollout(json!({"blueGreen": {"activeService": "web",
            "previewService": "web-preview",
            "prePromotionAnalysis": {"templates": [{"templateName": "smoke"}]}}})))
        .unwrap()
        .blue_green
        .unwrap();
        assert_eq!(bg.active_service, "web");
        assert_eq!(bg.preview_service.as_deref(), Some("web-preview"));
        assert!(bg.auto_promotion);
        assert_eq!(
            (
                bg.auto_promotion_seconds,
                bg.scale_down_delay,
                bg.abort_scale_down_delay
            ),
            (0, 30, 30)
        );
        assert_eq!(
            bg.pre_analysis.unwrap().templates,
            vec![("smoke".to_string(), false)]
        );
        assert!(bg.post_analysis.is_none());
        let error = Rollout::from_json(&rollout(json!({"blueGreen": {"previewService": "p"}})))
            .unwrap_err();
        assert_eq!(error.field, "spec.strategy.blueGreen.activeService");
        let error = Rollout::from_json(&rollout(
            json!({"blueGreen": {"activeService": "a", "previewService": "a"}}),
        ))
        .unwrap_err();
        assert_eq!(error.field, "spec.strategy.blueGreen.previewService");
        let error = Rollout::from_json(&rollout(json!({"blueGreen": {"activeService": "a",
            "postPromotionAnalysis": {"templates": []}}})))
        .unwrap_err();
        assert_eq!(
            error.field,
            "spec.strategy.blueGreen.postPromotionAnalysis.templates"
        );
        let error = Rollout::from_json(&rollout(
            json!({"blueGreen": {"activeService": "a"}, "canary": {}}),
        ))
        .unwrap_err();
        assert_eq!(error.field, "spec.strategy");
    }

    #[test]
    fn nginx_routing_and_set_canary_scale_steps_are_read() {
        let r = Rollout::from_json(&rollout(json!({"canary": {
            "stableService": "web-stable", "canaryService": "web-canary",
            "trafficRouting": {"nginx": {"stableIngress": "edge"}},
            "steps": [{"setCanaryScale": {"replicas": 3}}, {"setCanaryScale": {"weight": 40}},
                {"setCanaryScale": {"matchTrafficWeight": true}}, {"setCanaryScale": {"replicas": 1, "weight": 90}}]}})))
        .unwrap();
        assert!(r.canary.routed());
        assert_eq!(
            r.canary.nginx.as_ref().unwrap().stable_ingresses,
            vec!["edge".to_string()]
        );
        assert_eq!(
            r.canary.nginx.as_ref().unwrap().annotation_prefix,
            "nginx.ingress.kubernetes.io"
        );
        assert_eq!(
            r.canary.steps,
            vec![
                Step::SetCanaryScale(CanaryScale::Replicas(3)),
                Step::SetCanaryScale(CanaryScale::Weight(40)),
                Step::SetCanaryScale(CanaryScale::MatchTrafficWeight),
                Step::SetCanaryScale(CanaryScale::Replicas(1)),
            ],
            "replicas wins over weight, as upstream"
        );
        // Without a router, upstream's validation refuses setCanaryScale.
        let error = Rollout::from_json(&rollout(
            json!({"canary": {"steps": [{"setWeight": 10}, {"setCanaryScale": {"replicas": 1}}]}}),
        ))
        .unwrap_err();
        assert_eq!(error.field, "spec.strategy.canary.steps[1].setCanaryScale");
        assert!(error.message.contains("trafficRouting"), "{error}");
        let error = Rollout::from_json(&rollout(
            json!({"canary": {"stableService": "s", "canaryService": "c",
            "trafficRouting": {"nginx": {"stableIngress": "edge"}},
            "steps": [{"setCanaryScale": {"weight": 101}}]}}),
        ))
        .unwrap_err();
        assert_eq!(
            error.field,
            "spec.strategy.canary.steps[0].setCanaryScale.weight"
        );
        let error = Rollout::from_json(&rollout(json!({"canary": {
            "trafficRouting": {"nginx": {"stableIngress": "edge"}}}})))
        .unwrap_err();
        assert!(error.message.contains("stableService"), "{error}");
    }

    #[test]
    fn a_workload_ref_needs_no_template_or_selector() {
        let mut object = rollout(json!({"canary": {"steps": [{"setWeight": 50}]}}));
        let spec = object["spec"].as_object_mut().unwrap();
        spec.remove("template");
        spec.remove("selector");
        spec.insert(
            "workloadRef".into(),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "scaleDown": "onsuccess"}),
        );
        let r = Rollout::from_json(&object).unwrap();
        assert_eq!(
            r.workload_ref,
            Some(crate::workload::WorkloadRef {
                name: "web".into(),
                scale_down: crate::workload::ScaleDown::OnSuccess
            })
        );
        assert!(r.template.is_null() && r.selector.is_empty());
        let mut with_template = object.clone();
        with_template["spec"]["template"] = json!({"metadata": {"labels": {"app": "web"}}});
        let error = Rollout::from_json(&with_template).unwrap_err();
        assert_eq!(error.field, "spec.template");
        let mut replica_set = object.clone();
        replica_set["spec"]["workloadRef"]["kind"] = "ReplicaSet".into();
        assert_eq!(
            Rollout::from_json(&replica_set).unwrap_err().field,
            "spec.workloadRef.kind"
        );
        let mut bad = object.clone();
        bad["spec"]["workloadRef"]["scaleDown"] = "always".into();
        assert_eq!(
            Rollout::from_json(&bad).unwrap_err().field,
            "spec.workloadRef.scaleDown"
        );
        let mut plain = object;
        plain["spec"].as_object_mut().unwrap().remove("workloadRef");
        assert_eq!(
            Rollout::from_json(&plain).unwrap_err().field,
            "spec.selector"
        );
    }

    #[test]
    fn a_background_analysis_is_read_with_its_starting_step() {
        let r = Rollout::from_json(&rollout(json!({"canary": {
            "analysis": {"templates": [{"templateName": "error-rate"}], "startingStep": 1,
                "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]},
            "steps": [{"setWeight": 20}, {"pause": {}}]}})))
        .unwrap();
        let background = r.canary.background.unwrap();
        assert_eq!(background.starting_step, 1);
        assert_eq!(
            background.analysis.templates,
            vec![("error-rate".into(), false)]
        );
        assert_eq!(
            background.analysis.args,
            vec![("hash".into(), "@Latest".into())]
        );
        let error = Rollout::from_json(&rollout(json!({"canary": {
            "analysis": {"templates": [{"templateName": "t"}], "startingStep": 2},
            "steps": [{"setWeight": 20}]}})))
        .unwrap_err();
        assert_eq!(error.field, "spec.strategy.canary.analysis.startingStep");
        let error =
            Rollout::from_json(&rollout(json!({"canary": {"analysis": {"templates": []}}})))
                .unwrap_err();
        assert_eq!(error.field, "spec.strategy.canary.analysis.templates");
        let error = Rollout::from_json(&rollout(json!({"canary": {
            "analysis": {"templates": [{"templateName": "t"}], "dryRun": [{"metricName": ".*"}]}}})))
        .unwrap_err();
        assert_eq!(error.field, "spec.strategy.canary.analysis.dryRun");
    }

    #[test]
    fn unsupported_fields_are_named() {
        let error =
            Rollout::from_json(&rollout(json!({"canary": {"steps": [{"experiment": {}}]}})))
                .unwrap_err();
        assert_eq!(error.field, "spec.strategy.canary.steps[0].experiment");
        assert!(error.to_string().contains("not supported"), "{error}");
        let error =
            Rollout::from_json(&rollout(json!({"canary": {"trafficRouting": {"smi": {}}}})))
                .unwrap_err();
        assert_eq!(error.field, "spec.strategy.canary.trafficRouting.smi");
        let routed = Rollout::from_json(&rollout(json!({"canary": {"stableService": "s", "canaryService": "c",
            "trafficRouting": {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "web", "namespace": "edge"}}}}})))
        .unwrap();
        assert_eq!(
            routed.canary.http_routes,
            Some((Some("edge".into()), vec!["web".into()]))
        );
        let error = Rollout::from_json(&rollout(json!({"canary": {"trafficRouting": {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "web"}}}}}))).unwrap_err();
        assert!(error.message.contains("stableService"), "{error}");
        let error = Rollout::from_json(&rollout(
            json!({"blueGreen": {"activeService": "a", "previewReplicaCount": 1}}),
        ))
        .unwrap_err();
        assert_eq!(error.field, "spec.strategy.blueGreen.previewReplicaCount");
        let error = Rollout::from_json(&rollout(
            json!({"canary": {"steps": [{"pause": {"duration": "soon"}}]}}),
        ))
        .unwrap_err();
        assert_eq!(error.field, "spec.strategy.canary.steps[0].pause.duration");
    }
}
