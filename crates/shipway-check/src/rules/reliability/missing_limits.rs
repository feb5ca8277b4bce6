//! `reliability/missing-limits`: containers without a memory limit.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::reliability::resources::{scheduled_containers, section_path};
use crate::rules::{Check, Rule, rule};
use crate::workload::pod_template;

rule! {
    /// ## What it checks
    /// Every container and init container of a pod or pod template without
    /// `resources.limits.memory`. A cpu limit is not required.
    ///
    /// ## Why it matters
    /// Memory is not compressible: a container without a memory limit that leaks or spikes
    /// takes memory from its neighbours until the kernel's out-of-memory killer picks a
    /// victim on the node, often another workload. With a limit, only the offending container
    /// is killed and restarted.
    ///
    /// A cpu limit is deliberately not required. cpu is compressible: a container over its
    /// request is merely slowed down when the node is busy, while a cpu limit throttles it
    /// even when the node has idle cpu, which adds latency for no benefit. cpu requests
    /// (`reliability/missing-requests`) already guarantee each container its share.
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   requests: {cpu: 100m, memory: 128Mi}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// resources:
    ///   requests: {cpu: 100m, memory: 128Mi}
    ///   limits: {memory: 256Mi}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: the limit comes from measuring the workload.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/>
    /// - <https://home.robusta.dev/blog/stop-using-cpu-limits>
    pub static MISSING_LIMITS = {
        code: "reliability/missing-limits",
        summary: "A container has no memory limit",
        severity: Warning,
        status: Preview,
        check: Check::PerObject(missing_limits),
    };
}

fn missing_limits(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let Some(pod) = pod_template(object) else {
        return;
    };
    for (path, container) in scheduled_containers(&pod) {
        if container
            .get_path(&["resources", "limits", "memory"])
            .is_some()
        {
            continue;
        }
        let name = container.str_at(&["name"]).unwrap_or("");
        ctx.report(
            rule,
            object,
            &section_path(container, &path, "limits"),
            format!("container `{name}` has no `resources.limits.memory`"),
        );
    }
}
