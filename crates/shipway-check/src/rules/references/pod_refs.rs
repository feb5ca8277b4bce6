//! The references a pod spec makes to other objects (ConfigMaps, Secrets, claims, its
//! ServiceAccount), collected in one walk so that each reference rule only decides which
//! kind it cares about.

use shipway_model::{Node, Value};

use crate::workload::{PodTemplate, containers};

/// One reference from a pod spec to a named object in the pod's namespace.
pub(super) struct Reference<'n> {
    /// The kind referred to: `ConfigMap`, `Secret`, `PersistentVolumeClaim`,
    /// `ServiceAccount`.
    pub(super) kind: &'static str,
    /// The name referred to.
    pub(super) name: &'n str,
    /// Report path of the name field.
    pub(super) path: String,
    /// Keys the reference needs in the object's data, with their report paths.
    pub(super) keys: Vec<(&'n str, String)>,
}

/// Every reference of `pod` not marked `optional: true`.
pub(super) fn pod_references<'n>(pod: &PodTemplate<'n>) -> Vec<Reference<'n>> {
    let mut out = Vec::new();
    let spec_path = pod.spec_path;
    for (list, index, container) in containers(pod.spec) {
        let base = format!("{spec_path}.{list}[{index}]");
        for (j, env) in seq(container.get("env")) {
            for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
                let Some(source) = env.get_path(&["valueFrom", field]) else {
                    continue;
                };
                let path = format!("{base}.env[{j}].valueFrom.{field}");
                let keys = source
                    .str_at(&["key"])
                    .map(|k| (k, format!("{path}.key")))
                    .into_iter()
                    .collect();
                push(&mut out, kind, source, "name", &path, keys);
            }
        }
        for (j, from) in seq(container.get("envFrom")) {
            for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                if let Some(source) = from.get(field) {
                    let path = format!("{base}.envFrom[{j}].{field}");
                    push(&mut out, kind, source, "name", &path, Vec::new());
                }
            }
        }
    }
    for (j, volume) in seq(pod.spec.get("volumes")) {
        let base = format!("{spec_path}.volumes[{j}]");
        if let Some(source) = volume.get("configMap") {
            let path = format!("{base}.configMap");
            push(
                &mut out,
                "ConfigMap",
                source,
                "name",
                &path,
                items(source, &path),
            );
        }
        if let Some(source) = volume.get("secret") {
            let path = format!("{base}.secret");
            push(
                &mut out,
                "Secret",
                source,
                "secretName",
                &path,
                items(source, &path),
            );
        }
        for (k, projection) in seq(volume.get_path(&["projected", "sources"])) {
            for (field, kind) in [("configMap", "ConfigMap"), ("secret", "Secret")] {
                if let Some(source) = projection.get(field) {
                    let path = format!("{base}.projected.sources[{k}].{field}");
                    push(&mut out, kind, source, "name", &path, items(source, &path));
                }
            }
        }
        if let Some(claim) = volume.get("persistentVolumeClaim") {
            let path = format!("{base}.persistentVolumeClaim");
            push(
                &mut out,
                "PersistentVolumeClaim",
                claim,
                "claimName",
                &path,
                Vec::new(),
            );
        }
    }
    for (j, secret) in seq(pod.spec.get("imagePullSecrets")) {
        let path = format!("{spec_path}.imagePullSecrets[{j}]");
        push(&mut out, "Secret", secret, "name", &path, Vec::new());
    }
    if let Some(account) = pod.spec.get("serviceAccountName") {
        // Every namespace has a `default` ServiceAccount, created by the control plane.
        if let Some(name) = account
            .as_str()
            .filter(|n| *n != "default" && !n.is_empty())
        {
            out.push(Reference {
                kind: "ServiceAccount",
                name,
                path: format!("{spec_path}.serviceAccountName"),
                keys: Vec::new(),
            });
        }
    }
    out
}

fn push<'n>(
    out: &mut Vec<Reference<'n>>,
    kind: &'static str,
    source: &'n Node,
    name_field: &str,
    path: &str,
    keys: Vec<(&'n str, String)>,
) {
    if matches!(
        source.get("optional").map(|n| &n.value),
        Some(Value::Bool(true))
    ) {
        return;
    }
    let Some(name) = source.str_at(&[name_field]).filter(|n| !n.is_empty()) else {
        return;
    };
    out.push(Reference {
        kind,
        name,
        path: format!("{path}.{name_field}"),
        keys,
    });
}

fn items<'n>(source: &'n Node, path: &str) -> Vec<(&'n str, String)> {
    seq(source.get("items"))
        .filter_map(|(i, item)| Some((item.str_at(&["key"])?, format!("{path}.items[{i}].key"))))
        .collect()
}

/// The items of an optional sequence, with their indexes.
pub(super) fn seq(node: Option<&Node>) -> impl Iterator<Item = (usize, &Node)> {
    node.and_then(Node::as_seq)
        .into_iter()
        .flatten()
        .enumerate()
}

/// Whether a ConfigMap or Secret in the input has `key` in `data`, `stringData` or
/// `binaryData`.
pub(super) fn has_key(object: &Node, key: &str) -> bool {
    ["data", "stringData", "binaryData"]
        .iter()
        .any(|section| object.get_path(&[section, key]).is_some())
}

/// Reports every reference of `object`'s pod spec to a `kind` that does not resolve, and
/// (for objects in the input) every key it needs that the object lacks.
pub(super) fn report_missing(
    ctx: &mut crate::Ctx<'_>,
    rule: &'static crate::Rule,
    object: &Node,
    kind: &str,
) {
    let Some(pod) = crate::workload::pod_template(object) else {
        return;
    };
    let namespace = crate::context::namespace_of(object);
    for reference in pod_references(&pod) {
        if reference.kind != kind || skipped(object, &reference) {
            continue;
        }
        if let Some(target) = ctx.find(kind, namespace, reference.name) {
            // The token controller fills these Secrets in the cluster; their keys are not in
            // the manifest.
            if target.str_at(&["type"]) == Some("kubernetes.io/service-account-token") {
                continue;
            }
            for (key, path) in &reference.keys {
                if !has_key(target, key) {
                    ctx.report(
                        rule,
                        object,
                        path,
                        format!("{kind} `{}` has no key `{key}`", reference.name),
                    );
                }
            }
        } else {
            ctx.check_reference(
                rule,
                object,
                &reference.path,
                kind,
                namespace,
                reference.name,
            );
        }
    }
}

/// Claims a StatefulSet creates itself from `volumeClaimTemplates` (named after the
/// template, or `<template>-<statefulset>-<ordinal>`) are not expected in the input.
fn skipped(object: &Node, reference: &Reference<'_>) -> bool {
    if reference.kind != "PersistentVolumeClaim" {
        return false;
    }
    let name = crate::context::name_of(object);
    seq(object.get_path(&["spec", "volumeClaimTemplates"])).any(|(_, template)| {
        template.str_at(&["metadata", "name"]).is_some_and(|t| {
            reference.name == t || reference.name.starts_with(&format!("{t}-{name}-"))
        })
    })
}
