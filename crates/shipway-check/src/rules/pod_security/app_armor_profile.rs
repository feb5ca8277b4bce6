//! `pod-security/appArmorProfile`: the baseline check that no `AppArmor` profile is
//! overridden to anything but the runtime default or a profile loaded on the node.

use shipway_model::Node;

use super::{Check as Pss, container_name, evaluate, field, field_at, text_at};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

/// The prefix of the per-container `AppArmor` annotation.
const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

rule! {
    /// ## What it checks
    /// At the `baseline` level and above:
    /// - `securityContext.appArmorProfile.type` of the pod and of every container, when
    ///   set, must be `RuntimeDefault` or `Localhost`;
    /// - the pod annotations `container.apparmor.security.beta.kubernetes.io/*` must be
    ///   empty, `runtime/default` or `localhost/<profile>`.
    ///
    /// ## Why it matters
    /// `Unconfined` turns off the `AppArmor` confinement the runtime applies by default. The
    /// API server rejects such pods in a namespace that enforces `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   appArmorProfile:
    ///     type: Unconfined
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   appArmorProfile:
    ///     type: RuntimeDefault
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: a program may need a custom `Localhost` profile.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    /// - <https://kubernetes.io/docs/tutorials/security/apparmor/>
    pub static APP_ARMOR_PROFILE = {
        code: "pod-security/appArmorProfile",
        summary: "A pod or container disables the default AppArmor profile (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(app_armor_profile),
    };
}

fn app_armor_profile(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::AppArmorProfile, |ctx, pod, policy| {
        let level = policy.level.name();
        let allowed = "`RuntimeDefault` or `Localhost`";
        if let Some(profile) = field_at(pod.spec, &["securityContext", "appArmorProfile"])
            && !allowed_type(text_at(profile, &["type"]))
        {
            ctx.report(
                rule,
                object,
                &format!("{}.securityContext.appArmorProfile", pod.spec_path),
                format!(
                    "the pod must not set `securityContext.appArmorProfile.type` to `{}`; use {allowed} ({level})",
                    text_at(profile, &["type"])
                ),
            );
        }
        for (list, index, container) in containers(pod.spec) {
            if let Some(profile) = field_at(container, &["securityContext", "appArmorProfile"])
                && !allowed_type(text_at(profile, &["type"]))
            {
                ctx.report(
                    rule,
                    object,
                    &format!(
                        "{}.{list}[{index}].securityContext.appArmorProfile",
                        pod.spec_path
                    ),
                    format!(
                        "container `{}` must not set `securityContext.appArmorProfile.type` to `{}`; use {allowed} ({level})",
                        container_name(container),
                        text_at(profile, &["type"])
                    ),
                );
            }
        }
        let annotations = pod
            .metadata
            .and_then(|m| field(m, "annotations"))
            .and_then(Node::as_map);
        for (key, value) in annotations
            .into_iter()
            .flat_map(shipway_model::Mapping::iter)
        {
            let profile = value.as_str().unwrap_or("");
            if key.starts_with(ANNOTATION_PREFIX) && !allowed_annotation(profile) {
                ctx.report(
                    rule,
                    object,
                    &format!("{}.annotations[\"{key}\"]", pod.metadata_path),
                    format!(
                        "annotation `{key}` must not be `{profile}`; use `runtime/default` or `localhost/<profile>` ({level})"
                    ),
                );
            }
        }
    });
}

/// The profile types the check allows in the `appArmorProfile` fields.
fn allowed_type(kind: &str) -> bool {
    matches!(kind, "RuntimeDefault" | "Localhost")
}

/// The values the check allows in the beta annotation.
fn allowed_annotation(profile: &str) -> bool {
    profile.is_empty() || profile == "runtime/default" || profile.starts_with("localhost/")
}
