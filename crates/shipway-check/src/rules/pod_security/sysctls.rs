//! `pod-security/sysctls`: the baseline check that a pod only sets namespaced sysctls known
//! to be safe, with the list growing by policy version.

use shipway_model::Node;

use super::{Check as Pss, evaluate, field_at, text_at};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};

/// The safe sysctls, each with the policy version that allowed it.
const ALLOWED: [(&str, u32); 14] = [
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
    ("net.ipv4.tcp_slow_start_after_idle", 37),
    ("net.ipv4.tcp_notsent_lowat", 37),
];

rule! {
    /// ## What it checks
    /// At the `baseline` level and above, every `spec.securityContext.sysctls[*].name` must
    /// be one of the safe sysctls of the policy version: `kernel.shm_rmid_forced`,
    /// `net.ipv4.ip_local_port_range`, `net.ipv4.tcp_syncookies`,
    /// `net.ipv4.ping_group_range`, `net.ipv4.ip_unprivileged_port_start`; from v1.27
    /// `net.ipv4.ip_local_reserved_ports`; from v1.29 `net.ipv4.tcp_keepalive_time`,
    /// `net.ipv4.tcp_fin_timeout`, `net.ipv4.tcp_keepalive_intvl`,
    /// `net.ipv4.tcp_keepalive_probes`; from v1.32 `net.ipv4.tcp_rmem`,
    /// `net.ipv4.tcp_wmem`; from v1.37 `net.ipv4.tcp_slow_start_after_idle`,
    /// `net.ipv4.tcp_notsent_lowat`.
    ///
    /// ## Why it matters
    /// Other sysctls are not isolated per pod or can starve the node. The API server
    /// rejects such pods in a namespace that enforces `baseline`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   sysctls:
    ///   - {name: net.core.somaxconn, value: "1024"}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// securityContext:
    ///   sysctls:
    ///   - {name: net.ipv4.ip_local_port_range, value: "1024 65000"}
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>
    /// - <https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/>
    pub static SYSCTLS = {
        code: "pod-security/sysctls",
        summary: "A pod sets a sysctl outside the safe set (baseline)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(sysctls),
    };
}

fn sysctls(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::Sysctls, |ctx, pod, policy| {
        let list = field_at(pod.spec, &["securityContext", "sysctls"]).and_then(Node::as_seq);
        for (i, sysctl) in list.into_iter().flatten().enumerate() {
            let name = text_at(sysctl, &["name"]);
            let allowed = ALLOWED
                .iter()
                .any(|&(safe, since)| safe == name && since <= policy.minor);
            if allowed {
                continue;
            }
            ctx.report(
                rule,
                object,
                &format!("{}.securityContext.sysctls[{i}].name", pod.spec_path),
                format!(
                    "the pod must not set sysctl `{name}`; only the safe sysctls of policy v1.{} are allowed ({})",
                    policy.minor.min(super::LATEST_MINOR),
                    policy.level.name()
                ),
            );
        }
    });
}
