//! `schema/invalid-enum-value`: A field has a value outside its allowed set.

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

use super::validate::Kind;

rule! {
    /// ## What it checks
    /// String fields whose values the API server restricts: `imagePullPolicy`,
    /// `restartPolicy`, Service `type`, port `protocol`, strategy types, Ingress `pathType`,
    /// selector operators and others (the list is in `enums.rs`, with its sources), and
    /// `enum` lists of CustomResourceDefinition schemas.
    ///
    /// ## Why it matters
    /// The API server rejects the object; values are case-sensitive (`always` is not
    /// `Always`).
    ///
    /// ## Example
    /// ```yaml
    /// imagePullPolicy: always
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// imagePullPolicy: Always
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
    pub static INVALID_ENUM_VALUE = {
        code: "schema/invalid-enum-value",
        summary: "A field has a value outside its allowed set",
        severity: Error,
        status: Stable,
        check: Check::Global(invalid_enum_value),
    };
}

fn invalid_enum_value(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    super::report_kind(ctx, rule, Kind::Enum);
}
