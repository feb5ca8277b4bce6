//! `reliability/missing-requests`: containers without cpu and memory requests.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::reliability::resources::{scheduled_containers, section_path};
use crate::rules::{Check, Rule, rule};
use crate::workload::pod_template;

rule! {
    /// ## What it checks
    /// Every container and init container of a pod or pod template whose
    /// `resources.requests` lacks `cpu` or `memory`.
    ///
    /// ## Why it matters
    /// The scheduler places pods by their requests. A pod without them can land on a full
    /// node, is the first to be evicted under memory pressure (it is `BestEffort`), and gives
    /// the HorizontalPodAutoscaler nothing to compute utilisation against.
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
    ///   resources:
    ///     requests: {cpu: 100m, memory: 128Mi}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: requests come from measuring the workload.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/>
    /// - <https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/>
    pub static MISSING_REQUESTS = {
        code: "reliability/missing-requests",
        summary: "A container has no cpu or memory request",
        severity: Warning,
        status: Preview,
        check: Check::PerObject(missing_requests),
    };
}

fn missing_requests(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let Some(pod) = pod_template(object) else {
        return;
    };
    for (path, container) in scheduled_containers(&pod) {
        let requests = container.get_path(&["resources", "requests"]);
        let missing: Vec<&str> = ["cpu", "memory"]
            .into_iter()
            .filter(|r| requests.and_then(|q| q.get(r)).is_none())
            .collect();
        if missing.is_empty() {
            continue;
        }
        let name = container.str_at(&["name"]).unwrap_or("");
        let fields = missing
            .iter()
            .map(|r| format!("`resources.requests.{r}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        ctx.report(
            rule,
            object,
            &section_path(container, &path, "requests"),
            format!("container `{name}` has no {fields}"),
        );
    }
}
