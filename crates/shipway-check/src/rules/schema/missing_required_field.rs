//! `schema/missing-required-field`: A required field is missing.

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

use super::validate::Kind;

rule! {
    /// ## What it checks
    /// Fields the Kubernetes definitions mark required (a container without `name`, a
    /// Deployment without `spec.selector`, a Service port without `port`), and
    /// `apiVersion`/`kind` on every object.
    ///
    /// ## Why it matters
    /// The API server rejects the object.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - image: nginx:1.27
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: nginx:1.27
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/kubernetes-api/>
    pub static MISSING_REQUIRED_FIELD = {
        code: "schema/missing-required-field",
        summary: "A required field is missing",
        severity: Error,
        status: Stable,
        check: Check::Global(missing_required_field),
    };
}

fn missing_required_field(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    super::report_kind(ctx, rule, Kind::Required);
}
