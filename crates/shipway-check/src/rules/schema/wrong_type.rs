//! `schema/wrong-type`: A value has the wrong type for its field.

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

use super::validate::Kind;

rule! {
    /// ## What it checks
    /// Values against the type of their field: strings, integers, numbers, booleans,
    /// objects, lists, maps, and int-or-string fields (`targetPort`, `maxSurge`).
    ///
    /// ## Why it matters
    /// The API server decodes strictly: `port: "80"` is a string where an integer is
    /// expected, and the whole object is rejected.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    /// - containerPort: "8080"
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// ports:
    /// - containerPort: 8080
    /// ```
    ///
    /// ## Options
    /// `--kubernetes-version` picks the schema.
    ///
    /// ## Fix safety
    /// No automatic fix: quoting or unquoting changes meaning.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/kubernetes-api/>
    pub static WRONG_TYPE = {
        code: "schema/wrong-type",
        summary: "A value has the wrong type for its field",
        severity: Error,
        status: Stable,
        check: Check::Global(wrong_type),
    };
}

fn wrong_type(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    super::report_kind(ctx, rule, Kind::Type);
}
