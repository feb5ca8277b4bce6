//! `reliability/missing-readiness-probe`: long-running containers without a `readinessProbe`.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Every regular container (`spec.containers`, not init or ephemeral containers) of a
    /// Deployment, StatefulSet, DaemonSet or Pod that has no `readinessProbe`. Jobs and
    /// CronJobs run to completion and are not checked.
    ///
    /// ## Why it matters
    /// Without a readiness probe a pod receives traffic as soon as its process starts, before
    /// it has loaded its configuration or warmed its caches, and keeps receiving it while it is
    /// overloaded. Rollouts also advance on pods that are not ready to serve.
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
    ///   readinessProbe:
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
    pub static MISSING_READINESS_PROBE = {
        code: "reliability/missing-readiness-probe",
        summary: "A long-running container has no `readinessProbe`",
        severity: Warning,
        status: Preview,
        check: Check::PerObject(missing_readiness_probe),
    };
}

fn missing_readiness_probe(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    super::report_missing_probe(ctx, rule, object, "readinessProbe");
}
