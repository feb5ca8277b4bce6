//! `schema/unknown-kind`: A kind has no schema to validate it against.

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

use super::validate::Kind;

rule! {
    /// ## What it checks
    /// Objects whose group, version and kind neither the bundled Kubernetes definitions nor
    /// a CustomResourceDefinition (in the input or `--crd-dir`) describe. A kind missing
    /// from a built-in group (`apps/v1` `Deploymnet`) is an error; a custom kind with no
    /// definition is reported as info, so that it is never skipped silently.
    ///
    /// ## Why it matters
    /// A misspelt kind is rejected by the API server; a custom kind without its definition
    /// cannot be validated at all.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deploymnet
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// ```
    ///
    /// ## Options
    /// `--crd-dir DIR` adds CustomResourceDefinitions.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/>
    pub static UNKNOWN_KIND = {
        code: "schema/unknown-kind",
        summary: "A kind has no schema to validate it against",
        severity: Error,
        status: Stable,
        check: Check::Global(unknown_kind),
    };
}

fn unknown_kind(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    super::report_kind(ctx, rule, Kind::UnknownKind);
}
