//! `references/missing-secret`: a Secret or one of its keys that a pod or Ingress refers to is missing.

use shipway_model::Node;

use crate::Ctx;
use crate::context::namespace_of;
use crate::rules::references::pod_refs::{report_missing, seq};
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Every Secret a pod or pod template refers to: `env[].valueFrom.secretKeyRef`,
    /// `envFrom[].secretRef`, `volumes[].secret`, `volumes[].projected.sources[].secret` and
    /// `imagePullSecrets`; and every Ingress `spec.tls[].secretName`. When the Secret is in
    /// the input, the keys it is asked for (`key`, `items[].key`) must be in its `data`,
    /// `stringData` or `binaryData`. References marked `optional: true` are skipped.
    ///
    /// A reference resolves when the object is in the input in the referrer's namespace, a
    /// controller in the input creates it (a cert-manager Certificate, an Ingress annotated
    /// for cert-manager, an ExternalSecret or SealedSecret, …), or it is declared external
    /// (the `shipway.dev/external` annotation on the referrer, or the configuration's
    /// `external` list).
    ///
    /// ## Why it matters
    /// A pod whose Secret is missing never starts (`CreateContainerConfigError`), a missing
    /// pull secret fails the image pull, and an Ingress without its certificate serves the
    /// controller's default one.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    /// - name: PASSWORD
    ///   valueFrom:
    ///     secretKeyRef: {name: db, key: password}   # no Secret `db`
    /// ```
    ///
    /// ## Use instead
    /// Add the object to the input, fix the name, or declare it as managed elsewhere, on
    /// the referring object or in the configuration:
    /// ```yaml
    /// metadata:
    ///   annotations:
    ///     shipway.dev/external: Secret/NAME
    /// ---
    /// # shipway check configuration
    /// external:
    /// - {kind: Secret, namespace: apps, name: NAME}
    /// ```
    ///
    /// ## Options
    /// The `shipway.dev/external` annotation; `external` in the configuration file.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/configuration/secret/>
    /// - <https://kubernetes.io/docs/concepts/services-networking/ingress/#tls>
    pub static MISSING_SECRET = {
        code: "references/missing-secret",
        summary: "A Secret or one of its keys that a pod or Ingress refers to is missing",
        severity: Error,
        status: Preview,
        check: Check::PerObject(missing_secret),
    };
}

fn missing_secret(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    report_missing(ctx, rule, object, "Secret");
    if object.str_at(&["kind"]) != Some("Ingress") {
        return;
    }
    let namespace = namespace_of(object);
    for (i, tls) in seq(object.get_path(&["spec", "tls"])) {
        let Some(name) = tls.str_at(&["secretName"]) else {
            continue;
        };
        ctx.check_reference(
            rule,
            object,
            &format!("spec.tls[{i}].secretName"),
            "Secret",
            namespace,
            name,
        );
    }
}
