//! Pod Security Standards rules: one rule per check of the Kubernetes Pod Security
//! Admission plugin (`pod-security/<checkId>` with the upstream check id), evaluated on the
//! pod template of every Pod and workload at the level and version that would apply to it.
//!
//! Which levels apply, and how severe their violations are, is decided once, in
//! [`evaluations`], the way Pod Security admission decides it: the level a namespace
//! enforces (its `pod-security.kubernetes.io/enforce` label in the input, or
//! `--pod-security LEVEL[:VERSION]`) gives errors, because admission rejects the pod; a
//! stricter level it only warns about or audits (`warn`, `audit` labels) gives warnings;
//! a namespace that says nothing, or is not in the input, is evaluated at `baseline:latest`
//! as warnings, since the cluster's defaults are not known. Which checks run at a level
//! and version (checks that do not exist yet, and the restricted checks that replace
//! baseline ones) is decided in [`Check::runs`].
//!
//! Versions before v1.25 are evaluated as v1.25: every check that matters for them exists
//! by then, and only v1.25 and later are kept exact against the upstream fixtures.

mod allow_privilege_escalation;
mod app_armor_profile;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes_and_host_lifecycle;
mod privileged;
mod proc_mount;
mod proc_mount_restricted;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux_options;
mod seccomp_profile_baseline;
mod seccomp_profile_restricted;
mod sysctls;
mod windows_host_process;

pub use allow_privilege_escalation::ALLOW_PRIVILEGE_ESCALATION;
pub use app_armor_profile::APP_ARMOR_PROFILE;
pub use capabilities_baseline::CAPABILITIES_BASELINE;
pub use capabilities_restricted::CAPABILITIES_RESTRICTED;
pub use host_namespaces::HOST_NAMESPACES;
pub use host_path_volumes::HOST_PATH_VOLUMES;
pub use host_ports::HOST_PORTS;
pub use host_probes_and_host_lifecycle::HOST_PROBES_AND_HOST_LIFECYCLE;
pub use privileged::PRIVILEGED;
pub use proc_mount::PROC_MOUNT;
pub use proc_mount_restricted::PROC_MOUNT_RESTRICTED;
pub use restricted_volumes::RESTRICTED_VOLUMES;
pub use run_as_non_root::RUN_AS_NON_ROOT;
pub use run_as_user::RUN_AS_USER;
pub use se_linux_options::SE_LINUX_OPTIONS;
pub use seccomp_profile_baseline::SECCOMP_PROFILE_BASELINE;
pub use seccomp_profile_restricted::SECCOMP_PROFILE_RESTRICTED;
pub use sysctls::SYSCTLS;
pub use windows_host_process::WINDOWS_HOST_PROCESS;

use shipway_model::{Node, Severity, Value};

use crate::Ctx;
use crate::context::{effective_namespace, name_of, namespace_of, node_at};
use crate::workload::{PodTemplate, pod_template};

/// The Namespace label naming the enforced level.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// The Namespace label naming the enforced policy version.
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
/// The minor version `latest` stands for: the newest policy version these rules know.
pub const LATEST_MINOR: u32 = 37;
/// The oldest policy version evaluated exactly; older versions are evaluated as this one.
pub const OLDEST_MINOR: u32 = 25;

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Unrestricted: no check runs.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Current pod hardening best practice.
    Restricted,
}

impl Level {
    /// The level as written in labels and settings.
    pub fn name(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    fn parse(text: &str) -> Option<Level> {
        match text {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }
}

/// The level and policy version an object is evaluated at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The level.
    pub level: Level,
    /// The minor version of the policy (`1.N`), at least [`OLDEST_MINOR`].
    pub minor: u32,
}

/// `latest` or `v1.N` as a minor version, raised to [`OLDEST_MINOR`].
fn parse_version(text: &str) -> Option<u32> {
    let minor = if text == "latest" {
        LATEST_MINOR
    } else {
        text.strip_prefix("v1.")?.parse().ok()?
    };
    Some(minor.max(OLDEST_MINOR))
}

/// One evaluation of an object's pod, as Pod Security admission makes it: at the level it
/// enforces (violations are errors: the pod is rejected) or at the stricter level it
/// audits or warns about (violations are warnings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// The level and version.
    pub policy: Policy,
    /// `error` for the enforced level, `warning` for a level only warned or audited.
    pub severity: Severity,
}

/// The evaluations of `object`, decided as Pod Security admission decides them, with what
/// the input does not say filled in:
///
/// - `--pod-security LEVEL[:VERSION]` given: that level is enforced (errors), nothing else;
/// - the object's Namespace in the input: its `enforce` label's level is enforced (errors),
///   and the stricter of its `audit` and `warn` labels, when stricter than the enforced
///   level, gives warnings; a Namespace with none of the three labels is evaluated at
///   `baseline:latest` as warnings;
/// - the Namespace not in the input: `baseline:latest`, as warnings (the cluster's own
///   defaults are not known, so nothing is an error).
///
/// `privileged` evaluates nothing. A label with an unknown level means `restricted`, an
/// unknown version `latest`, as the admission plugin reads them; a missing version label
/// means `latest`.
pub fn evaluations(ctx: &Ctx<'_>, object: &Node) -> Vec<Evaluation> {
    let baseline = Policy {
        level: Level::Baseline,
        minor: LATEST_MINOR,
    };
    let mut out = Vec::new();
    let mut push = |policy: Policy, severity: Severity| {
        if policy.level != Level::Privileged {
            out.push(Evaluation { policy, severity });
        }
    };
    if let Some(setting) = &ctx.settings.pod_security {
        // `validate_settings` has already rejected malformed values; fall back to the
        // defaults rather than panic if a caller skipped it.
        let (level, version) = setting.split_once(':').unwrap_or((setting, "latest"));
        push(
            Policy {
                level: Level::parse(level).unwrap_or(Level::Baseline),
                minor: parse_version(version).unwrap_or(LATEST_MINOR),
            },
            Severity::Error,
        );
        return out;
    }
    let namespace = effective_namespace(namespace_of(object));
    let Some(ns) = ctx.of_kind("Namespace").find(|n| name_of(n) == namespace) else {
        push(baseline, Severity::Warning);
        return out;
    };
    let labels = ns.get_path(&["metadata", "labels"]);
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Node::as_str);
    // This runs for every Pod Security rule on every workload: the label keys are literals.
    let mode = |level_key: &str, version_key: &str| {
        let level = label(level_key)?;
        Some(Policy {
            level: Level::parse(level).unwrap_or(Level::Restricted),
            minor: label(version_key)
                .map_or(LATEST_MINOR, |v| parse_version(v).unwrap_or(LATEST_MINOR)),
        })
    };
    let enforce = mode(ENFORCE_LABEL, ENFORCE_VERSION_LABEL);
    let warn = [
        mode(WARN_LABEL, "pod-security.kubernetes.io/warn-version"),
        mode(AUDIT_LABEL, "pod-security.kubernetes.io/audit-version"),
    ]
    .into_iter()
    .flatten()
    .max_by_key(|p| (p.level, p.minor));
    match (enforce, warn) {
        (None, None) => push(baseline, Severity::Warning),
        (Some(enforce), warn) => {
            push(enforce, Severity::Error);
            if let Some(warn) = warn.filter(|w| w.level > enforce.level) {
                push(warn, Severity::Warning);
            }
        }
        (None, Some(warn)) => push(warn, Severity::Warning),
    }
    out
}

/// The Namespace label naming the level only warned about.
pub const WARN_LABEL: &str = "pod-security.kubernetes.io/warn";
/// The Namespace label naming the level only audited.
pub const AUDIT_LABEL: &str = "pod-security.kubernetes.io/audit";

/// The upstream checks, for deciding which run at a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    AllowPrivilegeEscalation,
    AppArmorProfile,
    CapabilitiesBaseline,
    CapabilitiesRestricted,
    HostNamespaces,
    HostPathVolumes,
    HostPorts,
    HostProbesAndHostLifecycle,
    Privileged,
    ProcMount,
    ProcMountRestricted,
    RestrictedVolumes,
    RunAsNonRoot,
    RunAsUser,
    SeLinuxOptions,
    SeccompProfileBaseline,
    SeccompProfileRestricted,
    Sysctls,
    WindowsHostProcess,
}

impl Check {
    /// Whether the admission plugin runs this check at `policy` (a non-privileged level).
    pub(crate) fn runs(self, policy: Policy) -> bool {
        let restricted = policy.level == Level::Restricted;
        match self {
            // Restricted replaces these with a stricter check of the same fields; the
            // replacements exist at every version from v1.22, so always at v1.25+.
            Check::CapabilitiesBaseline
            | Check::HostPathVolumes
            | Check::SeccompProfileBaseline => !restricted,
            Check::ProcMount => !(restricted && policy.minor >= 35),
            Check::ProcMountRestricted => restricted && policy.minor >= 35,
            Check::HostProbesAndHostLifecycle => policy.minor >= 34,
            Check::AllowPrivilegeEscalation
            | Check::CapabilitiesRestricted
            | Check::RestrictedVolumes
            | Check::RunAsNonRoot
            | Check::RunAsUser
            | Check::SeccompProfileRestricted => restricted,
            Check::AppArmorProfile
            | Check::HostNamespaces
            | Check::HostPorts
            | Check::Privileged
            | Check::SeLinuxOptions
            | Check::Sysctls
            | Check::WindowsHostProcess => true,
        }
    }
}

/// Runs `body` on the pod of `object` once per [`evaluations`] entry at which `check` runs,
/// with reports capped at that evaluation's severity. A warning evaluation skips checks
/// that the enforced level runs too: their violations are already errors.
pub(crate) fn evaluate<'o>(
    ctx: &mut Ctx<'_>,
    object: &'o Node,
    check: Check,
    mut body: impl FnMut(&mut Ctx<'_>, PodTemplate<'o>, Policy),
) {
    if pod_template(object).is_none() {
        return;
    }
    let evaluations = evaluations(ctx, object);
    let enforced = evaluations
        .iter()
        .find(|e| e.severity == Severity::Error)
        .map(|e| e.policy);
    for evaluation in evaluations {
        if !check.runs(evaluation.policy)
            || (evaluation.severity != Severity::Error && enforced.is_some_and(|p| check.runs(p)))
        {
            continue;
        }
        let Some(pod) = pod_template(object) else {
            return;
        };
        ctx.severity_cap = Some(evaluation.severity);
        body(ctx, pod, evaluation.policy);
        ctx.severity_cap = None;
    }
}

/// The field at `key` of `node`, treating an explicit `null` as unset (as the API does).
pub(crate) fn field<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.get(key).filter(|n| !n.value.is_null())
}

/// The field at a path of keys, `null` meaning unset at every step.
pub(crate) fn field_at<'n>(node: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter().try_fold(node, |n, key| field(n, key))
}

/// Whether the field at `path` is the boolean `value`.
pub(crate) fn bool_at(node: &Node, path: &[&str], value: bool) -> bool {
    matches!(field_at(node, path).map(|n| &n.value), Some(Value::Bool(b)) if *b == value)
}

/// The string at `path`, `""` when unset (Go's zero value, which the checks compare with).
pub(crate) fn text_at<'n>(node: &'n Node, path: &[&str]) -> &'n str {
    field_at(node, path).and_then(Node::as_str).unwrap_or("")
}

/// The name of a container, for messages.
pub(crate) fn container_name(container: &Node) -> &str {
    container.str_at(&["name"]).unwrap_or("")
}

/// `path` if it names a field of `object`, else its nearest existing parent, so that a
/// finding about a missing field points at the securityContext or container that should
/// hold it.
pub(crate) fn nearest(object: &Node, path: &str) -> String {
    let mut path = path;
    while node_at(object, path).is_none_or(|n| n.value.is_null()) {
        match path.rfind(['.', '[']) {
            Some(cut) => path = &path[..cut],
            None => return String::new(),
        }
    }
    path.to_string()
}

/// Whether the pod declares itself a Windows pod (`spec.os.name: windows`), which v1.25+
/// exempts from the Linux-only restricted checks.
pub(crate) fn is_windows(spec: &Node) -> bool {
    text_at(spec, &["os", "name"]) == "windows"
}

/// Whether the pod runs in a user namespace (`spec.hostUsers: false`), which relaxes the
/// procMount, runAsNonRoot and runAsUser checks from v1.35.
pub(crate) fn in_user_namespace(spec: &Node, policy: Policy) -> bool {
    policy.minor >= 35 && bool_at(spec, &["hostUsers"], false)
}

#[cfg(test)]
mod tests {
    use shipway_model::yaml::{Limits, parse_stream};
    use shipway_model::{FileId, Node};

    use super::{Evaluation, Level, Policy, evaluations};
    use crate::testing::{lint, lint_with, show};
    use crate::{Ctx, Settings};
    use shipway_model::Severity::{Error, Warning};

    fn parse(yaml: &str) -> Vec<Node> {
        parse_stream(yaml, FileId(0), &Limits::default()).unwrap()
    }

    /// The evaluations of the last object of `yaml`, as `(level, minor, severity)`.
    fn evaluated(yaml: &str, setting: Option<&str>) -> Vec<(Level, u32, shipway_model::Severity)> {
        let objects = parse(yaml);
        let settings = Settings {
            pod_security: setting.map(str::to_string),
            ..Settings::default()
        };
        let ctx = Ctx::new(&objects, &settings);
        evaluations(&ctx, objects.last().unwrap())
            .into_iter()
            .map(
                |Evaluation {
                     policy: Policy { level, minor },
                     severity,
                 }| (level, minor, severity),
            )
            .collect()
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: apps}\nspec: {containers: [{name: c, image: x}]}\n";

    fn namespace(name: &str, labels: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\n---\n"
        )
    }

    #[test]
    fn without_namespace_or_setting_baseline_latest_is_a_warning() {
        assert_eq!(evaluated(POD, None), [(Level::Baseline, 37, Warning)]);
    }

    #[test]
    fn a_namespace_without_pod_security_labels_warns_at_baseline() {
        let yaml = namespace("apps", "team: a") + POD;
        assert_eq!(evaluated(&yaml, None), [(Level::Baseline, 37, Warning)]);
    }

    #[test]
    fn the_enforce_label_gives_errors_at_its_level_and_version() {
        let yaml = namespace(
            "apps",
            "pod-security.kubernetes.io/enforce: restricted, pod-security.kubernetes.io/enforce-version: v1.30",
        ) + POD;
        assert_eq!(evaluated(&yaml, None), [(Level::Restricted, 30, Error)]);
    }

    #[test]
    fn warn_and_audit_labels_stricter_than_enforce_give_warnings() {
        let yaml = namespace(
            "apps",
            "pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/warn: restricted, pod-security.kubernetes.io/warn-version: v1.31",
        ) + POD;
        assert_eq!(
            evaluated(&yaml, None),
            [
                (Level::Baseline, 37, Error),
                (Level::Restricted, 31, Warning)
            ]
        );
        let yaml = namespace("apps", "pod-security.kubernetes.io/audit: restricted") + POD;
        assert_eq!(evaluated(&yaml, None), [(Level::Restricted, 37, Warning)]);
        // Not stricter than what is enforced: nothing more to say.
        let yaml = namespace(
            "apps",
            "pod-security.kubernetes.io/enforce: restricted, pod-security.kubernetes.io/warn: baseline",
        ) + POD;
        assert_eq!(evaluated(&yaml, None), [(Level::Restricted, 37, Error)]);
    }

    #[test]
    fn a_namespace_of_another_name_does_not_apply() {
        let yaml = namespace("other", "pod-security.kubernetes.io/enforce: restricted") + POD;
        assert_eq!(evaluated(&yaml, None), [(Level::Baseline, 37, Warning)]);
    }

    #[test]
    fn an_object_without_namespace_uses_the_default_namespace() {
        let yaml = namespace("default", "pod-security.kubernetes.io/enforce: restricted")
            + "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n";
        assert_eq!(evaluated(&yaml, None), [(Level::Restricted, 37, Error)]);
    }

    #[test]
    fn a_missing_version_label_means_latest() {
        let yaml = namespace("apps", "pod-security.kubernetes.io/enforce: restricted") + POD;
        assert_eq!(evaluated(&yaml, None), [(Level::Restricted, 37, Error)]);
    }

    #[test]
    fn invalid_labels_are_read_as_restricted_latest() {
        let yaml = namespace(
            "apps",
            "pod-security.kubernetes.io/enforce: strict, pod-security.kubernetes.io/enforce-version: 1.30",
        ) + POD;
        assert_eq!(evaluated(&yaml, None), [(Level::Restricted, 37, Error)]);
    }

    #[test]
    fn privileged_runs_nothing() {
        let yaml = namespace("apps", "pod-security.kubernetes.io/enforce: privileged") + POD;
        assert_eq!(evaluated(&yaml, None), []);
        assert_eq!(evaluated(POD, Some("privileged")), []);
        let yaml = namespace(
            "apps",
            "pod-security.kubernetes.io/enforce: privileged, pod-security.kubernetes.io/warn: baseline",
        ) + POD;
        assert_eq!(evaluated(&yaml, None), [(Level::Baseline, 37, Warning)]);
    }

    #[test]
    fn the_setting_wins_over_namespace_labels_and_enforces() {
        let yaml = namespace("apps", "pod-security.kubernetes.io/enforce: privileged") + POD;
        assert_eq!(
            evaluated(&yaml, Some("restricted:v1.28")),
            [(Level::Restricted, 28, Error)]
        );
        assert_eq!(
            evaluated(&yaml, Some("baseline")),
            [(Level::Baseline, 37, Error)]
        );
    }

    #[test]
    fn versions_before_1_25_are_evaluated_as_1_25() {
        assert_eq!(
            evaluated(POD, Some("restricted:v1.10")),
            [(Level::Restricted, 25, Error)]
        );
    }

    /// One snapshot per severity decision: the same privileged DaemonSet in namespaces that
    /// enforce, only warn, say nothing, or are not in the input.
    #[test]
    fn severity_decisions() {
        let pod = |ns: &str| {
            format!(
                "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: agent, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: agent}}}}\n  template:\n    metadata: {{labels: {{app: agent}}}}\n    spec:\n      hostNetwork: true\n      containers:\n      - name: agent\n        image: agent:1\n        securityContext: {{privileged: true, runAsNonRoot: true}}\n---\n"
            )
        };
        let yaml = namespace(
            "enforced",
            "pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/warn: restricted",
        ) + &pod("enforced")
            + &namespace("warned", "pod-security.kubernetes.io/warn: baseline")
            + &pod("warned")
            + &namespace("unlabelled", "team: infra")
            + &pod("unlabelled")
            + &namespace(
                "privileged",
                "pod-security.kubernetes.io/enforce: privileged",
            )
            + &pod("privileged")
            + &pod("elsewhere");
        let objects = parse(&yaml);
        let mut sources = shipway_model::SourceMap::new();
        sources.add(std::path::Path::new("fixture.yaml"));
        let findings: Vec<_> = crate::check(&objects, &sources, &Settings::default())
            .into_iter()
            .filter(|f| f.rule.starts_with("pod-security/"))
            .collect();
        insta::assert_snapshot!("severity_decisions", show(&yaml, &findings));
    }

    fn fixture(code: &str) {
        let name = code.split_once('/').map_or(code, |(_, n)| n);
        let path = format!(
            "{}/resources/fixtures/pod-security/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let yaml = std::fs::read_to_string(&path).unwrap();
        insta::assert_snapshot!(name, show(&yaml, &lint(code, &yaml)));
    }

    /// Like `fixture`, evaluated at an explicit `--pod-security` policy.
    fn fixture_at(code: &str, setting: &str) {
        let name = code.split_once('/').map_or(code, |(_, n)| n);
        let path = format!(
            "{}/resources/fixtures/pod-security/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let yaml = std::fs::read_to_string(&path).unwrap();
        let settings = Settings {
            pod_security: Some(setting.to_string()),
            ..Settings::default()
        };
        insta::assert_snapshot!(name, show(&yaml, &lint_with(code, &yaml, settings)));
    }

    #[test]
    fn allow_privilege_escalation() {
        fixture("pod-security/allowPrivilegeEscalation");
    }
    #[test]
    fn app_armor_profile() {
        fixture("pod-security/appArmorProfile");
    }
    #[test]
    fn capabilities_baseline() {
        fixture("pod-security/capabilities_baseline");
    }
    #[test]
    fn capabilities_restricted() {
        fixture("pod-security/capabilities_restricted");
    }
    #[test]
    fn host_namespaces() {
        fixture("pod-security/hostNamespaces");
    }
    #[test]
    fn host_path_volumes() {
        fixture("pod-security/hostPathVolumes");
    }
    #[test]
    fn host_ports() {
        fixture("pod-security/hostPorts");
    }
    #[test]
    fn host_probes_and_host_lifecycle() {
        fixture("pod-security/hostProbesAndHostLifecycle");
    }
    #[test]
    fn privileged() {
        fixture("pod-security/privileged");
    }
    #[test]
    fn proc_mount() {
        fixture("pod-security/procMount");
    }
    #[test]
    fn proc_mount_restricted() {
        fixture_at("pod-security/procMount_restricted", "restricted:latest");
    }
    #[test]
    fn restricted_volumes() {
        fixture_at("pod-security/restrictedVolumes", "restricted:latest");
    }
    #[test]
    fn run_as_non_root() {
        fixture("pod-security/runAsNonRoot");
    }
    #[test]
    fn run_as_user() {
        fixture("pod-security/runAsUser");
    }
    #[test]
    fn se_linux_options() {
        fixture("pod-security/seLinuxOptions");
    }
    #[test]
    fn seccomp_profile_baseline() {
        fixture("pod-security/seccompProfile_baseline");
    }
    #[test]
    fn seccomp_profile_restricted() {
        fixture_at(
            "pod-security/seccompProfile_restricted",
            "restricted:latest",
        );
    }
    #[test]
    fn sysctls() {
        fixture("pod-security/sysctls");
    }
    #[test]
    fn windows_host_process() {
        fixture("pod-security/windowsHostProcess");
    }
}
