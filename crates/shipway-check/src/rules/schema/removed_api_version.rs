//! `schema/removed-api-version`: an object uses an API version the target Kubernetes no
//! longer serves.

use shipway_model::{Gvk, Node};

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

use super::removed_api::retirement;

rule! {
    /// ## What it checks
    /// The `apiVersion` of every object against the versions Kubernetes removed
    /// (`policy/v1beta1` PodDisruptionBudget in 1.25, `autoscaling/v2beta2`
    /// HorizontalPodAutoscaler in 1.26, `extensions/v1beta1` Ingress in 1.22, …), for the
    /// target version (`--kubernetes-version`, default the newest bundled). The message
    /// names the version that removed it and the replacement.
    ///
    /// ## Why it matters
    /// The API server answers 404 for the whole group/version: the apply fails, and tools
    /// that skip unknown schemas let it through to that moment.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: policy/v1beta1
    /// kind: PodDisruptionBudget
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// apiVersion: policy/v1
    /// kind: PodDisruptionBudget
    /// ```
    ///
    /// ## Options
    /// `--kubernetes-version`.
    ///
    /// ## Fix safety
    /// Changing `apiVersion` is often enough, but some replacements changed fields
    /// (`autoscaling/v2` metrics): no automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/using-api/deprecation-guide/>
    pub static REMOVED_API_VERSION = {
        code: "schema/removed-api-version",
        summary: "An object uses an API version the target Kubernetes no longer serves",
        severity: Error,
        status: Stable,
        check: Check::PerObject(removed_api_version),
    };
}

fn removed_api_version(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let gvk = Gvk::of(object);
    let target = super::target_minor(ctx);
    let Some((retired, true)) = retirement(&gvk, target) else {
        return;
    };
    ctx.report(
        rule,
        object,
        "apiVersion",
        format!(
            "`{}` {} was removed in Kubernetes 1.{} (target 1.{target}); use {}",
            retired.api_version, gvk.kind, retired.removed_in, retired.replacement
        ),
    );
}
