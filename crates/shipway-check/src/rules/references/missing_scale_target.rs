//! `references/missing-scale-target`: HorizontalPodAutoscalers whose `scaleTargetRef` is
//! not there.

use shipway_model::Node;

use crate::Ctx;
use crate::context::namespace_of;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// The `spec.scaleTargetRef` (`kind`, `name`) of every HorizontalPodAutoscaler must be an
    /// object in the input in the HPA's namespace, or declared in the configuration's
    /// `external` list.
    ///
    /// ## Why it matters
    /// An HPA without its target does nothing but report `FailedGetScale`: the workload it
    /// was meant to scale (usually renamed) runs at a fixed size.
    ///
    /// ## Example
    /// ```yaml
    /// kind: HorizontalPodAutoscaler
    /// spec:
    ///   scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web-v1}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    ///   scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    /// ```
    ///
    /// ## Options
    /// `external` in the configuration file.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/>
    pub static MISSING_SCALE_TARGET = {
        code: "references/missing-scale-target",
        summary: "A HorizontalPodAutoscaler's scale target is missing",
        severity: Error,
        status: Preview,
        check: Check::PerObject(missing_scale_target),
    };
}

fn missing_scale_target(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    if object.str_at(&["kind"]) != Some("HorizontalPodAutoscaler") {
        return;
    }
    let (Some(kind), Some(name)) = (
        object.str_at(&["spec", "scaleTargetRef", "kind"]),
        object.str_at(&["spec", "scaleTargetRef", "name"]),
    ) else {
        return;
    };
    let namespace = namespace_of(object);
    ctx.check_reference(
        rule,
        object,
        "spec.scaleTargetRef.name",
        kind,
        namespace,
        name,
    );
}
