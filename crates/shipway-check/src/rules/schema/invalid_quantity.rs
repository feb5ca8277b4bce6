//! `schema/invalid-quantity`: A resource quantity is malformed.

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

use super::validate::Kind;

rule! {
    /// ## What it checks
    /// Quantity fields (resource requests and limits, storage sizes, quotas) against the
    /// API grammar: a number with an optional `Ki`…`Ei`, `n`, `u`, `m`, `k`, `M`…`E` or
    /// exponent suffix.
    ///
    /// ## Why it matters
    /// `512mb` is not a quantity: the object is rejected, and `512m` (what it resembles)
    /// would mean half a byte.
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   limits: {memory: 512mb}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// resources:
    ///   limits: {memory: 512Mi}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: `mb` could mean `M` or `Mi`.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/>
    pub static INVALID_QUANTITY = {
        code: "schema/invalid-quantity",
        summary: "A resource quantity is malformed",
        severity: Error,
        status: Stable,
        check: Check::Global(invalid_quantity),
    };
}

fn invalid_quantity(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    super::report_kind(ctx, rule, Kind::Quantity);
}
