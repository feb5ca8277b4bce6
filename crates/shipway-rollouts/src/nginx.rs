//! The NGINX Ingress traffic router, as Argo Rollouts' `rollout/trafficrouting/nginx`
//! drives it: for each stable `Ingress`, a canary `Ingress` `<rollout>-<stable>-canary`
//! copied from it — only the rules with a backend on `stableService`, those backends
//! switched to `canaryService`, TLS and the ingress class kept — that carries
//! `<prefix>/canary: "true"` and `<prefix>/canary-weight: "<weight>"`, so ingress-nginx
//! sends that share of the requests to the canary. [`Nginx::from_json`] reads
//! `trafficRouting.nginx`, [`canary_ingress`] builds the desired canary `Ingress` (pure),
//! and the controller calls [`stable_ingresses`] (before anything is changed, so a missing
//! `Ingress` is an invalid spec) and [`set_weight`].
//!
//! Only `networking.k8s.io/v1` Ingresses are read (`extensions/v1beta1` is gone since
//! Kubernetes 1.22), and `trafficRouting.maxTrafficWeight` is not supported: weights are
//! out of 100.

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Map, Value, json};

use crate::rollout::{Rollout, SpecError};

/// The annotation prefix ingress-nginx reads, unless `annotationPrefix` says otherwise.
pub const DEFAULT_PREFIX: &str = "nginx.ingress.kubernetes.io";

/// Kubernetes' limit on an object name, and the suffix of a canary `Ingress`'s name.
const NAME_LIMIT: usize = 253;
const CANARY_SUFFIX: &str = "-canary";

/// `trafficRouting.nginx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nginx {
    /// `stableIngresses`, or the one `stableIngress` (Argo Rollouts uses the list when it is
    /// given).
    pub stable_ingresses: Vec<String>,
    /// `annotationPrefix` (default [`DEFAULT_PREFIX`]).
    pub annotation_prefix: String,
    /// `additionalIngressAnnotations`: set on the canary `Ingress`, each key under the
    /// prefix unless it already starts with it.
    pub additional_annotations: Vec<(String, String)>,
    /// `canaryIngressAnnotations`: set verbatim, winning over the additional ones.
    pub canary_annotations: Vec<(String, String)>,
}

const FIELDS: &[&str] = &[
    "stableIngress",
    "stableIngresses",
    "annotationPrefix",
    "additionalIngressAnnotations",
    "canaryIngressAnnotations",
];

impl Nginx {
    /// Reads `trafficRouting.nginx`; `at` is its path, `error` builds the Rollout's
    /// [`SpecError`] for a field.
    pub(crate) fn from_json(
        value: &Value,
        at: &str,
        error: &dyn Fn(&str, &str) -> SpecError,
    ) -> Result<Nginx, SpecError> {
        let map = value
            .as_object()
            .ok_or_else(|| error(at, "must be a mapping"))?;
        if let Some(other) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(error(
                &format!("{at}.{other}"),
                "not supported by shipway's Rollout controller",
            ));
        }
        let text = |field: &str| -> Result<Option<String>, SpecError> {
            match map.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(error(&format!("{at}.{field}"), "must be a name")),
            }
        };
        let stable_ingresses = match map.get("stableIngresses") {
            None | Some(Value::Null) => text("stableIngress")?.into_iter().collect(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|name| {
                    name.as_str()
                        .filter(|n| !n.is_empty())
                        .map(str::to_string)
                        .ok_or_else(|| {
                            error(&format!("{at}.stableIngresses"), "must be a list of names")
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(error(
                    &format!("{at}.stableIngresses"),
                    "must be a list of names",
                ));
            }
        };
        if stable_ingresses.is_empty() {
            return Err(error(at, "needs `stableIngress` or `stableIngresses`"));
        }
        let annotations = |field: &str| -> Result<Vec<(String, String)>, SpecError> {
            let Some(value) = map.get(field).filter(|v| !v.is_null()) else {
                return Ok(Vec::new());
            };
            value
                .as_object()
                .ok_or_else(|| error(&format!("{at}.{field}"), "must be a mapping of strings"))?
                .iter()
                .map(|(key, value)| {
                    value
                        .as_str()
                        .map(|v| (key.clone(), v.to_string()))
                        .ok_or_else(|| {
                            error(
                                &format!("{at}.{field}.{key}"),
                                "must be a string (quote numbers and booleans)",
                            )
                        })
                })
                .collect()
        };
        Ok(Nginx {
            stable_ingresses,
            annotation_prefix: text("annotationPrefix")?.unwrap_or_else(|| DEFAULT_PREFIX.into()),
            additional_annotations: annotations("additionalIngressAnnotations")?,
            canary_annotations: annotations("canaryIngressAnnotations")?,
        })
    }
}

/// The canary `Ingress`'s name for a stable one: `<rollout>-<stable>-canary`, the first
/// part cut so the whole fits Kubernetes' 253 characters (names are ASCII).
pub fn canary_ingress_name(rollout: &str, stable: &str) -> String {
    let mut prefix = format!("{rollout}-{stable}");
    prefix.truncate(NAME_LIMIT - CANARY_SUFFIX.len());
    prefix.push_str(CANARY_SUFFIX);
    prefix
}

/// The desired canary `Ingress` for the stable `Ingress` `stable` at `weight` percent:
/// its name, namespace, annotations, owner (the Rollout) and spec. An error (the message
/// names the `Ingress` and the Service) when no rule has a backend on `stableService`.
pub fn canary_ingress(
    rollout: &Rollout,
    nginx: &Nginx,
    stable: &Value,
    weight: u32,
) -> Result<Value, String> {
    let stable_name = stable
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let stable_service = rollout.canary.stable_service.as_deref().unwrap_or("");
    let canary_service = rollout.canary.canary_service.as_deref().unwrap_or("");
    let mut rules = Vec::new();
    for rule in stable
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut rule = rule.clone();
        let mut uses_stable = false;
        for path in rule
            .pointer_mut("/http/paths")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(service) = path.pointer_mut("/backend/service/name")
                && service == stable_service
            {
                *service = canary_service.into();
                uses_stable = true;
            }
        }
        // As Argo Rollouts: a rule not routed to the stable Service has no canary.
        if uses_stable {
            rules.push(rule);
        }
    }
    if rules.is_empty() {
        return Err(format!(
            "Ingress `{}/{stable_name}` has no rule with a backend on the stable Service `{stable_service}`",
            rollout.namespace
        ));
    }
    let mut spec = Map::new();
    spec.insert("rules".into(), Value::Array(rules));
    for field in ["tls", "ingressClassName"] {
        if let Some(value) = stable
            .pointer(&format!("/spec/{field}"))
            .filter(|v| !v.is_null())
        {
            spec.insert(field.into(), value.clone());
        }
    }
    let prefix = &nginx.annotation_prefix;
    let mut annotations = Map::new();
    // ingress-nginx needs the canary in the same class as the stable Ingress; no other
    // annotation of the stable one matters to a canary.
    if let Some(class) = stable
        .pointer("/metadata/annotations/kubernetes.io~1ingress.class")
        .filter(|v| v.is_string())
    {
        annotations.insert("kubernetes.io/ingress.class".into(), class.clone());
    }
    for (key, value) in &nginx.additional_annotations {
        let key = if key.starts_with(prefix.as_str()) {
            key.clone()
        } else {
            format!("{prefix}/{key}")
        };
        annotations.insert(key, value.as_str().into());
    }
    for (key, value) in &nginx.canary_annotations {
        annotations.insert(key.clone(), value.as_str().into());
    }
    annotations.insert(format!("{prefix}/canary"), "true".into());
    annotations.insert(format!("{prefix}/canary-weight"), weight.to_string().into());
    Ok(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": canary_ingress_name(&rollout.name, stable_name),
            "namespace": rollout.namespace,
            "annotations": annotations,
            "ownerReferences": [crate::controller::owner_reference(rollout)],
        },
        "spec": spec,
    }))
}

/// The merge patch that brings the live canary `Ingress` `current` to `desired`, or `None`
/// when it is there already. Annotations other controllers added stay (Argo Rollouts
/// #1070); spec fields the desired one lacks are removed.
pub fn canary_patch(current: &Value, desired: &Value) -> Option<Value> {
    let mut annotations = Map::new();
    let live = current
        .pointer("/metadata/annotations")
        .and_then(Value::as_object);
    for (key, value) in desired
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if live.and_then(|l| l.get(key)) != Some(value) {
            annotations.insert(key.clone(), value.clone());
        }
    }
    let mut spec = Map::new();
    let live_spec = current.get("spec").and_then(Value::as_object);
    let desired_spec = desired.get("spec").and_then(Value::as_object);
    for (key, value) in desired_spec.into_iter().flatten() {
        if live_spec.and_then(|l| l.get(key)) != Some(value) {
            spec.insert(key.clone(), value.clone());
        }
    }
    for key in live_spec.into_iter().flatten().map(|(k, _)| k) {
        if desired_spec.is_none_or(|d| !d.contains_key(key)) {
            spec.insert(key.clone(), Value::Null);
        }
    }
    if annotations.is_empty() && spec.is_empty() {
        return None;
    }
    let mut patch = Map::new();
    if !annotations.is_empty() {
        patch.insert("metadata".into(), json!({"annotations": annotations}));
    }
    if !spec.is_empty() {
        patch.insert("spec".into(), Value::Object(spec));
    }
    Some(Value::Object(patch))
}

/// Why the canary `Ingresses` could not be set.
#[derive(Debug)]
pub(crate) enum IngressError {
    /// A call to the API server failed.
    Api(kube::Error),
    /// The spec does not fit the cluster: a stable `Ingress` is missing or has no backend on
    /// `stableService`, or the canary's name is taken by another object's `Ingress`.
    Invalid(String),
}

fn ingresses(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        namespace,
        &crate::controller::resource("networking.k8s.io", "v1", "Ingress", "ingresses"),
    )
}

/// Reads every stable `Ingress` of the Rollout and checks that a canary can be built from
/// it, as Argo Rollouts validates them before it changes anything.
pub(crate) async fn stable_ingresses(
    client: &kube::Client,
    rollout: &Rollout,
    nginx: &Nginx,
) -> Result<Vec<Value>, IngressError> {
    let api = ingresses(client, &rollout.namespace);
    let mut out = Vec::new();
    for name in &nginx.stable_ingresses {
        let object = api
            .get_opt(name)
            .await
            .map_err(IngressError::Api)?
            .ok_or_else(|| {
                IngressError::Invalid(format!(
                    "Rollout {}: `spec.strategy.canary.trafficRouting.nginx`: stable Ingress `{}/{name}` not found",
                    rollout.name, rollout.namespace
                ))
            })?;
        let object = serde_json::to_value(&object)
            .map_err(|e| IngressError::Api(kube::Error::SerdeError(e)))?;
        canary_ingress(rollout, nginx, &object, 0).map_err(|message| {
            IngressError::Invalid(format!(
                "Rollout {}: `spec.strategy.canary.trafficRouting.nginx`: {message}",
                rollout.name
            ))
        })?;
        out.push(object);
    }
    Ok(out)
}

/// Creates or updates the canary `Ingress` of each stable one at `weight`. It is never
/// deleted (Argo Rollouts #4751): after promotion it stays at weight 0.
pub(crate) async fn set_weight(
    client: &kube::Client,
    rollout: &Rollout,
    nginx: &Nginx,
    stables: &[Value],
    weight: u32,
) -> Result<(), IngressError> {
    let api = ingresses(client, &rollout.namespace);
    for stable in stables {
        let desired = canary_ingress(rollout, nginx, stable, weight).map_err(|message| {
            IngressError::Invalid(format!("Rollout {}: {message}", rollout.name))
        })?;
        let name = desired["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let Some(current) = api.get_opt(&name).await.map_err(IngressError::Api)? else {
            let object: DynamicObject = serde_json::from_value(desired)
                .map_err(|e| IngressError::Api(kube::Error::SerdeError(e)))?;
            api.create(&PostParams::default(), &object)
                .await
                .map_err(IngressError::Api)?;
            continue;
        };
        let current = serde_json::to_value(&current)
            .map_err(|e| IngressError::Api(kube::Error::SerdeError(e)))?;
        let controlled = current
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|owners| {
                owners.iter().any(|o| {
                    o["uid"] == rollout.uid.as_str() && o["controller"] == Value::Bool(true)
                })
            });
        if !controlled {
            return Err(IngressError::Invalid(format!(
                "Rollout {}: canary Ingress `{}/{name}` is controlled by another object",
                rollout.name, rollout.namespace
            )));
        }
        if let Some(patch) = canary_patch(&current, &desired) {
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(IngressError::Api)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(nginx: &Value) -> Rollout {
        Rollout::from_json(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}},
                "strategy": {"canary": {"stableService": "web-stable", "canaryService": "web-canary",
                    "trafficRouting": {"nginx": nginx}}}}}))
        .unwrap()
    }

    fn stable() -> Value {
        let backend = |service: &str| json!({"service": {"name": service, "port": {"number": 80}}});
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "edge", "namespace": "shop",
                "annotations": {"kubernetes.io/ingress.class": "nginx", "team": "shop"}},
            "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["shop.example"], "secretName": "tls"}],
                "rules": [
                    {"host": "shop.example", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": backend("web-stable")},
                        {"path": "/admin", "pathType": "Prefix", "backend": backend("admin")}]}},
                    {"host": "other.example", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": backend("other")}]}}]}})
    }

    #[test]
    fn the_canary_ingress_copies_the_stable_rules_onto_the_canary_service() {
        let r = rollout(&json!({"stableIngress": "edge",
            "additionalIngressAnnotations": {"canary-by-header": "X-Canary", "nginx.ingress.kubernetes.io/load-balance": "ewma"},
            "canaryIngressAnnotations": {"example.com/note": "canary"}}));
        let nginx = r.canary.nginx.clone().unwrap();
        let canary = canary_ingress(&r, &nginx, &stable(), 25).unwrap();
        assert_eq!(canary["metadata"]["name"], "web-edge-canary");
        assert_eq!(canary["metadata"]["namespace"], "shop");
        assert_eq!(
            canary["metadata"]["annotations"],
            json!({"kubernetes.io/ingress.class": "nginx",
                "nginx.ingress.kubernetes.io/canary": "true",
                "nginx.ingress.kubernetes.io/canary-weight": "25",
                "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
                "nginx.ingress.kubernetes.io/load-balance": "ewma",
                "example.com/note": "canary"})
        );
        assert_eq!(canary["metadata"]["ownerReferences"][0]["uid"], "u1");
        assert_eq!(canary["metadata"]["ownerReferences"][0]["kind"], "Rollout");
        // Only the rule on the stable Service, its backend switched; the others stay out.
        let rules = canary["spec"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["host"], "shop.example");
        assert_eq!(
            rules[0]["http"]["paths"][0]["backend"]["service"]["name"],
            "web-canary"
        );
        assert_eq!(
            rules[0]["http"]["paths"][1]["backend"]["service"]["name"],
            "admin"
        );
        assert_eq!(canary["spec"]["ingressClassName"], "nginx");
        assert_eq!(canary["spec"]["tls"][0]["secretName"], "tls");
    }

    #[test]
    fn a_prefix_renames_the_annotations_and_no_stable_backend_is_an_error() {
        let r = rollout(
            &json!({"stableIngresses": ["edge"], "annotationPrefix": "custom.nginx.org",
            "additionalIngressAnnotations": {"canary-by-header": "X-Canary"}}),
        );
        let nginx = r.canary.nginx.clone().unwrap();
        let canary = canary_ingress(&r, &nginx, &stable(), 0).unwrap();
        let annotations = canary["metadata"]["annotations"].as_object().unwrap();
        assert_eq!(annotations["custom.nginx.org/canary"], "true");
        assert_eq!(annotations["custom.nginx.org/canary-weight"], "0");
        assert_eq!(annotations["custom.nginx.org/canary-by-header"], "X-Canary");
        assert!(!annotations.contains_key("nginx.ingress.kubernetes.io/canary"));
        let mut unrelated = stable();
        unrelated["spec"]["rules"].as_array_mut().unwrap().remove(0);
        let error = canary_ingress(&r, &nginx, &unrelated, 10).unwrap_err();
        assert!(
            error.contains("`shop/edge`") && error.contains("`web-stable`"),
            "{error}"
        );
    }

    #[test]
    fn the_patch_keeps_foreign_annotations_and_is_empty_when_nothing_changed() {
        let r = rollout(&json!({"stableIngress": "edge"}));
        let nginx = r.canary.nginx.clone().unwrap();
        let at_10 = canary_ingress(&r, &nginx, &stable(), 10).unwrap();
        let mut live = at_10.clone();
        live["metadata"]["annotations"]["rancher.io/touched"] = "yes".into();
        live["spec"]["defaultBackend"] = json!({"service": {"name": "x"}});
        assert_eq!(canary_patch(&at_10, &at_10), None);
        let at_50 = canary_ingress(&r, &nginx, &stable(), 50).unwrap();
        let patch = canary_patch(&live, &at_50).unwrap();
        assert_eq!(
            patch,
            json!({"metadata": {"annotations": {"nginx.ingress.kubernetes.io/canary-weight": "50"}},
                "spec": {"defaultBackend": null}})
        );
    }

    #[test]
    fn long_names_are_cut_to_fit() {
        assert_eq!(canary_ingress_name("web", "edge"), "web-edge-canary");
        let long = canary_ingress_name(&"r".repeat(200), &"s".repeat(100));
        assert_eq!(long.len(), 253);
        assert!(long.ends_with("s-canary"), "{long}");
    }

    #[test]
    fn the_configuration_is_checked() {
        let error = |nginx: Value| {
            Rollout::from_json(
                &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                "metadata": {"name": "web"},
                "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {},
                    "strategy": {"canary": {"stableService": "s", "canaryService": "c",
                        "trafficRouting": {"nginx": nginx}}}}}),
            )
            .unwrap_err()
        };
        let e = error(json!({}));
        assert_eq!(e.field, "spec.strategy.canary.trafficRouting.nginx");
        assert!(e.message.contains("stableIngress"), "{e}");
        let e = error(
            json!({"stableIngress": "edge", "additionalIngressAnnotations": {"canary-by-header-value": 1}}),
        );
        assert_eq!(
            e.field,
            "spec.strategy.canary.trafficRouting.nginx.additionalIngressAnnotations.canary-by-header-value"
        );
        let e = error(json!({"stableIngress": "edge", "stickySessions": true}));
        assert_eq!(
            e.field,
            "spec.strategy.canary.trafficRouting.nginx.stickySessions"
        );
    }
}
