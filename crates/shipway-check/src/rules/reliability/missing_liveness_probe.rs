//! `reliability/missing-liveness-probe`: long-running containers without a `livenessProbe`.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Every regular container (`spec.containers`, not init or ephemeral containers) of a
    /// Deployment, StatefulSet, DaemonSet or Pod that has no `livenessProbe`. Jobs and
    /// CronJobs run to completion and are not checked.
    ///
    /// ## Why it matters
    /// Without a liveness probe a container that deadlocks or stops making progress while its
    /// process stays up is never restarted: it stays broken until someone notices and deletes
    /// the pod.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: nginx:1.27.2
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: nginx:1.27.2
    ///   livenessProbe:
    ///     httpGet: {path: /healthz, port: 80}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: the right endpoint and timings depend on the application.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/>
    pub static MISSING_LIVENESS_PROBE = {
        code: "reliability/missing-liveness-probe",
        summary: "A long-running container has no `livenessProbe`",
        severity: Warning,
        status: Preview,
        check: Check::PerObject(missing_liveness_probe),
    };
}

fn missing_liveness_probe(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    super::report_missing_probe(ctx, rule, object, "livenessProbe");
}
