//! `references/missing-config-map`: a ConfigMap or one of its keys that a pod refers to is missing.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::references::pod_refs::report_missing;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Every ConfigMap a pod or pod template refers to: `env[].valueFrom.configMapKeyRef`,
    /// `envFrom[].configMapRef`, `volumes[].configMap` and `volumes[].projected.sources[].configMap`,
    /// in every container list. When the ConfigMap is in the input, the keys it is asked for
    /// (`key`, `items[].key`) must be in its `data` or `binaryData`. References marked
    /// `optional: true` are skipped.
    ///
    /// A reference resolves when the object is in the input in the referrer's namespace, or
    /// is declared in the configuration's `external` list.
    ///
    /// ## Why it matters
    /// The kubelet cannot start a pod whose ConfigMap is missing: it stays in
    /// `ContainerCreating` or `CreateContainerConfigError` and the rollout never finishes.
    ///
    /// ## Example
    /// ```yaml
    /// envFrom:
    /// - configMapRef: {name: settings}   # no ConfigMap `settings` in the namespace
    /// ```
    ///
    /// ## Use instead
    /// Add the object to the input, fix the name, or declare it as managed elsewhere:
    /// ```yaml
    /// # shipway check configuration
    /// external:
    /// - {kind: ConfigMap, namespace: apps, name: NAME}
    /// ```
    ///
    /// ## Options
    /// `external` in the configuration file.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/configuration/configmap/>
    pub static MISSING_CONFIG_MAP = {
        code: "references/missing-config-map",
        summary: "A ConfigMap or one of its keys that a pod refers to is missing",
        severity: Error,
        status: Preview,
        check: Check::PerObject(missing_config_map),
    };
}

fn missing_config_map(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    report_missing(ctx, rule, object, "ConfigMap");
}
