//! `pod-security/hostPathVolumes`: the baseline check that a pod mounts no `hostPath`
//! volume.

use shipway_model::Node;

use super::{Check as Pss, evaluate, field};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// At the `baseline` level, no entry of `spec.volumes` of a pod or pod template may be
    /// a `hostPath` volume. At `restricted`, `pod-security/restrictedVolumes` checks the
    /// volumes instead.
    ///
    /// ## Why it matters
    /// A `hostPath` volume exposes the node's file system to the container, often enough
    /// to take over the node. The API server rejects such pods in a namespace that
    /// enforces `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: logs
    ///   hostPath: {path: /var/log}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// volumes:
    /// - name: logs
    ///   emptyDir: {}
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: the data source has to change.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static HOST_PATH_VOLUMES = {
        code: "pod-security/hostPathVolumes",
        summary: "A pod mounts a `hostPath` volume (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(host_path_volumes),
    };
}

fn host_path_volumes(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::HostPathVolumes, |ctx, pod, policy| {
        let volumes = field(pod.spec, "volumes").and_then(Node::as_seq);
        for (i, volume) in volumes.into_iter().flatten().enumerate() {
            if field(volume, "hostPath").is_some() {
                ctx.report(
                    rule,
                    object,
                    &format!("{}.volumes[{i}].hostPath", pod.spec_path),
                    format!(
                        "volume `{}` must not be a `hostPath` volume ({})",
                        volume.str_at(&["name"]).unwrap_or(""),
                        policy.level.name()
                    ),
                );
            }
        }
    });
}
