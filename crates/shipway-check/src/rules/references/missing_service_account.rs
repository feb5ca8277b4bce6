//! `references/missing-service-account`: a ServiceAccount that a pod runs as is missing.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::references::pod_refs::report_missing;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// The `serviceAccountName` of every pod and pod template, other than `default`
    /// (which every namespace has).
    ///
    /// A reference resolves when the object is in the input in the referrer's namespace, or
    /// is declared in the configuration's `external` list.
    ///
    /// ## Why it matters
    /// The ReplicaSet or StatefulSet controller cannot create pods for a ServiceAccount that
    /// does not exist: the workload shows no pods and only an event explains why.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   serviceAccountName: web
    /// ```
    ///
    /// ## Use instead
    /// Add the object to the input, fix the name, or declare it as managed elsewhere:
    /// ```yaml
    /// # shipway check configuration
    /// external:
    /// - {kind: ServiceAccount, namespace: apps, name: NAME}
    /// ```
    ///
    /// ## Options
    /// `external` in the configuration file.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/service-accounts/>
    pub static MISSING_SERVICE_ACCOUNT = {
        code: "references/missing-service-account",
        summary: "A ServiceAccount that a pod runs as is missing",
        severity: Error,
        status: Preview,
        check: Check::PerObject(missing_service_account),
    };
}

fn missing_service_account(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    report_missing(ctx, rule, object, "ServiceAccount");
}
