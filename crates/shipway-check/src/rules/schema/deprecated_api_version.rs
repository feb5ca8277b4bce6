//! `schema/deprecated-api-version`: an object uses an API version that is deprecated in the
//! target Kubernetes and will be removed.

use shipway_model::{Gvk, Node};

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

use super::removed_api::retirement;

rule! {
    /// ## What it checks
    /// The `apiVersion` of every object against versions that the target Kubernetes still
    /// serves but has deprecated (for example `flowcontrol.apiserver.k8s.io/v1beta3` at
    /// 1.29–1.31), naming the version that removes it and the replacement.
    ///
    /// ## Why it matters
    /// The next upgrade breaks the apply; moving before it is cheaper than during it.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
    /// kind: FlowSchema
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// apiVersion: flowcontrol.apiserver.k8s.io/v1
    /// kind: FlowSchema
    /// ```
    ///
    /// ## Options
    /// `--kubernetes-version`.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/using-api/deprecation-guide/>
    pub static DEPRECATED_API_VERSION = {
        code: "schema/deprecated-api-version",
        summary: "An object uses an API version deprecated in the target Kubernetes",
        severity: Warning,
        status: Stable,
        check: Check::PerObject(deprecated_api_version),
    };
}

fn deprecated_api_version(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let gvk = Gvk::of(object);
    let target = super::target_minor(ctx);
    let Some((retired, false)) = retirement(&gvk, target) else {
        return;
    };
    ctx.report(
        rule,
        object,
        "apiVersion",
        format!(
            "`{}` {} is deprecated since Kubernetes 1.{} and removed in 1.{}; use {}",
            retired.api_version,
            gvk.kind,
            retired.deprecated_in,
            retired.removed_in,
            retired.replacement
        ),
    );
}
