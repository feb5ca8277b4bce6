//! `schema/unknown-field`: A field the kind does not have (names are case-sensitive).

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

use super::validate::Kind;

rule! {
    /// ## What it checks
    /// Every field of a built-in kind against the bundled Kubernetes definitions of the
    /// target version (`--kubernetes-version`, default the newest bundled), and every field
    /// of a custom resource against its CustomResourceDefinition. Names are case-sensitive:
    /// `nodeselector` and `imagePullPolice` are unknown.
    ///
    /// ## Why it matters
    /// `kubectl apply` rejects unknown fields (strict field validation); with validation
    /// off they are silently dropped, so the setting you wrote never takes effect.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   nodeselector: {disktype: ssd}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   nodeSelector: {disktype: ssd}
    /// ```
    ///
    /// ## Options
    /// `--kubernetes-version` picks the schema; `--crd-dir` adds custom resource definitions.
    ///
    /// ## Fix safety
    /// The message suggests the field with the same name in another case when there is one.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation>
    pub static UNKNOWN_FIELD = {
        code: "schema/unknown-field",
        summary: "A field the kind does not have (names are case-sensitive)",
        severity: Error,
        status: Stable,
        check: Check::Global(unknown_field),
    };
}

fn unknown_field(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    super::report_kind(ctx, rule, Kind::UnknownField);
}
