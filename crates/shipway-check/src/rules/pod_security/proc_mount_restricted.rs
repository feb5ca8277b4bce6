//! `pod-security/procMount_restricted`: the restricted check (policy v1.35+) that
//! containers keep the default masked `/proc`, even in a user namespace.

use shipway_model::Node;

use super::proc_mount::report_proc_mounts;
use super::{Check as Pss, evaluate};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// At the `restricted` level from policy v1.35, `securityContext.procMount` of every
    /// container, init container and ephemeral container must be unset or `Default`, also
    /// for pods with `spec.hostUsers: false`. It replaces `pod-security/procMount` at this
    /// level and version.
    ///
    /// ## Why it matters
    /// `Unmasked` exposes `/proc` paths that the runtime normally hides; `restricted` does
    /// not accept it even inside a user namespace. The API server rejects such pods in a
    /// namespace that enforces `restricted` at v1.35 or later.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostUsers: false
    ///   containers:
    ///   - name: build
    ///     securityContext:
    ///       procMount: Unmasked
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// spec:
    ///   hostUsers: false
    ///   containers:
    ///   - name: build
    ///     securityContext:
    ///       procMount: Default
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: a workload that needs it belongs in a `baseline` namespace.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>
    pub static PROC_MOUNT_RESTRICTED = {
        code: "pod-security/procMount_restricted",
        summary: "A container unmasks `/proc` (restricted, v1.35+)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(proc_mount_restricted),
    };
}

fn proc_mount_restricted(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::ProcMountRestricted, |ctx, pod, policy| {
        report_proc_mounts(ctx, rule, object, &pod, policy);
    });
}
