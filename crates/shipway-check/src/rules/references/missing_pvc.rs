//! `references/missing-pvc`: a PersistentVolumeClaim that a pod mounts is missing.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::references::pod_refs::report_missing;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Every `volumes[].persistentVolumeClaim.claimName` of a pod or pod template. Claims
    /// that a StatefulSet creates from its `volumeClaimTemplates` are not expected in the
    /// input.
    ///
    /// A reference resolves when the object is in the input in the referrer's namespace, or
    /// is declared in the configuration's `external` list.
    ///
    /// ## Why it matters
    /// A pod whose claim does not exist stays `Pending` forever.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: data
    ///   persistentVolumeClaim: {claimName: data}
    /// ```
    ///
    /// ## Use instead
    /// Add the object to the input, fix the name, or declare it as managed elsewhere:
    /// ```yaml
    /// # shipway check configuration
    /// external:
    /// - {kind: PersistentVolumeClaim, namespace: apps, name: NAME}
    /// ```
    ///
    /// ## Options
    /// `external` in the configuration file.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/storage/persistent-volumes/#claims-as-volumes>
    pub static MISSING_PVC = {
        code: "references/missing-pvc",
        summary: "A PersistentVolumeClaim that a pod mounts is missing",
        severity: Error,
        status: Preview,
        check: Check::PerObject(missing_pvc),
    };
}

fn missing_pvc(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    report_missing(ctx, rule, object, "PersistentVolumeClaim");
}
