//! `pod-security/capabilities_restricted`: the restricted check that every container drops
//! `ALL` capabilities and adds back at most `NET_BIND_SERVICE`.

use shipway_model::Node;

use super::{Check as Pss, container_name, evaluate, field_at, is_windows, nearest};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

rule! {
    /// ## What it checks
    /// At the `restricted` level, every container, init container and ephemeral container
    /// must list `ALL` in `securityContext.capabilities.drop`, and may only list
    /// `NET_BIND_SERVICE` in `securityContext.capabilities.add`. It replaces
    /// `pod-security/capabilities_baseline` at this level. From policy v1.25, Windows pods
    /// (`spec.os.name: windows`) are exempt.
    ///
    /// ## Why it matters
    /// Every capability a container keeps is kernel attack surface. The API server rejects
    /// such pods in a namespace that enforces `restricted`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: [CHOWN]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     drop: [ALL]
    ///     add: [NET_BIND_SERVICE]
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: the program may need a capability.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>
    pub static CAPABILITIES_RESTRICTED = {
        code: "pod-security/capabilities_restricted",
        summary: "A container does not drop `ALL` capabilities or adds one other than `NET_BIND_SERVICE` (restricted)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(capabilities_restricted),
    };
}

fn capabilities_restricted(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(
        ctx,
        object,
        Pss::CapabilitiesRestricted,
        |ctx, pod, policy| {
            if is_windows(pod.spec) {
                return;
            }
            let level = policy.level.name();
            for (list, index, container) in containers(pod.spec) {
                let name = container_name(container);
                let base = format!(
                    "{}.{list}[{index}].securityContext.capabilities",
                    pod.spec_path
                );
                let list_of = |key: &str| {
                    field_at(container, &["securityContext", "capabilities", key])
                        .and_then(Node::as_seq)
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                };
                if !list_of("drop").iter().any(|c| c.as_str() == Some("ALL")) {
                    ctx.report(
                    rule,
                    object,
                    &nearest(object, &format!("{base}.drop")),
                    format!(
                        "container `{name}` must set `securityContext.capabilities.drop` to include `ALL` ({level})"
                    ),
                );
                }
                for (i, capability) in list_of("add").iter().enumerate() {
                    let capability = capability.as_str().unwrap_or("");
                    if capability != "NET_BIND_SERVICE" {
                        ctx.report(
                        rule,
                        object,
                        &format!("{base}.add[{i}]"),
                        format!(
                            "container `{name}` must not add `{capability}` in `securityContext.capabilities.add`; only `NET_BIND_SERVICE` is allowed ({level})"
                        ),
                    );
                    }
                }
            }
        },
    );
}
