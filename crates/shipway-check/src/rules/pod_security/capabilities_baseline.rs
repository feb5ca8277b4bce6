//! `pod-security/capabilities_baseline`: the baseline check that containers add no Linux
//! capability beyond the container runtime's default set.

use shipway_model::Node;

use super::{Check as Pss, container_name, evaluate, field_at};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::containers;

/// The capabilities baseline allows in `capabilities.add`: the runtime's default set.
pub(crate) const ALLOWED: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

rule! {
    /// ## What it checks
    /// At the `baseline` level, `securityContext.capabilities.add` of every container, init
    /// container and ephemeral container may only list `AUDIT_WRITE`, `CHOWN`,
    /// `DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, `MKNOD`, `NET_BIND_SERVICE`, `SETFCAP`,
    /// `SETGID`, `SETPCAP`, `SETUID` and `SYS_CHROOT`. At `restricted`,
    /// `pod-security/capabilities_restricted` checks these fields instead.
    ///
    /// ## Why it matters
    /// Capabilities such as `SYS_ADMIN` or `NET_ADMIN` give a container most of root's
    /// power over the node. The API server rejects such pods in a namespace that enforces
    /// `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: [NET_ADMIN]
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: [NET_BIND_SERVICE]
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: the program may need the capability.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    pub static CAPABILITIES_BASELINE = {
        code: "pod-security/capabilities_baseline",
        summary: "A container adds a capability outside the default set (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(capabilities_baseline),
    };
}

fn capabilities_baseline(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(
        ctx,
        object,
        Pss::CapabilitiesBaseline,
        |ctx, pod, policy| {
            for (list, index, container) in containers(pod.spec) {
                let added = field_at(container, &["securityContext", "capabilities", "add"])
                    .and_then(Node::as_seq)
                    .into_iter()
                    .flatten()
                    .enumerate();
                for (i, capability) in added {
                    let name = capability.as_str().unwrap_or("");
                    if ALLOWED.contains(&name) {
                        continue;
                    }
                    ctx.report(
                    rule,
                    object,
                    &format!(
                        "{}.{list}[{index}].securityContext.capabilities.add[{i}]",
                        pod.spec_path
                    ),
                    format!(
                        "container `{}` must not add `{name}` in `securityContext.capabilities.add`; only the default set ({}) is allowed ({})",
                        container_name(container),
                        ALLOWED.join(", "),
                        policy.level.name()
                    ),
                );
                }
            }
        },
    );
}
