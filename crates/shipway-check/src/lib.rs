//! `shipway check`: everything that can be said about a set of Kubernetes objects without a
//! cluster — schema, Pod Security Standards, reliability and high availability, references
//! between objects, and namespace capacity — as findings with the file and line of the
//! offending field.
//!
//! The checker is pure: objects in, findings out. Reading files, rendering kustomizations
//! and printing reports are the caller's business (see [`report`] for the formats).
//!
//! ```
//! use shipway_model::yaml::parse_stream;
//! use shipway_model::FileId;
//! let objects = parse_stream(
//!     "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: nginx}\n",
//!     FileId(0),
//!     &Default::default(),
//! )
//! .unwrap();
//! let sources = shipway_model::SourceMap::new();
//! let findings = shipway_check::check(&objects, &sources, &shipway_check::Settings::default());
//! assert!(findings.iter().any(|f| f.rule == "reliability/latest-image-tag"));
//! ```

pub mod capacity;
pub mod config;
pub mod context;
pub mod placeholder;
pub mod presence;
pub mod report;
#[expect(
    clippy::doc_markdown,
    reason = "rule documentation is user-facing Markdown that names Kubernetes kinds (PodDisruptionBudget, CustomResourceDefinition) as prose"
)]
pub mod rules;
pub mod selector;
pub mod severity;
pub mod suggest;
#[cfg(test)]
pub(crate) mod testing;
pub mod workload;

use shipway_model::{Finding, Node, SourceMap};

pub use config::Config;
pub use context::Ctx;
pub use rules::{RULES, Rule};

/// How to check.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The Kubernetes version to validate against (`1.33`); the newest bundled when `None`.
    pub kubernetes_version: Option<String>,
    /// `--pod-security LEVEL[:VERSION]`; else the namespace labels, else `baseline:latest`.
    pub pod_security: Option<String>,
    /// The repository configuration (suppressions, objects managed elsewhere).
    pub config: Config,
    /// Run only these rules (fixture tests); every rule when `None`.
    pub only: Option<Vec<String>>,
    /// Extra objects whose custom resource definitions define kinds (`--crd-dir`).
    pub crds: Vec<Node>,
}

/// Why settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// `--pod-security` is not `LEVEL[:VERSION]`.
    #[error(
        "--pod-security {0:?}: expected LEVEL[:VERSION], LEVEL one of privileged, baseline, restricted and VERSION `latest` or `v1.N`"
    )]
    PodSecurity(String),
    /// `--kubernetes-version` names a version whose schema is not bundled.
    #[error("--kubernetes-version {0:?}: bundled versions are {versions}", versions = shipway_schema::BUNDLED_VERSIONS[1..].join(", "))]
    KubernetesVersion(String),
}

/// Checks the settings before a run, so that a typo is a usage error and not a silent
/// default.
pub fn validate_settings(settings: &Settings) -> Result<(), SettingsError> {
    if let Some(version) = &settings.kubernetes_version {
        // 1.21 is bundled for the renderer's strategic merge, not offered for validation.
        let offered = &shipway_schema::BUNDLED_VERSIONS[1..];
        let version = version.trim_start_matches('v');
        if !offered.contains(&version) {
            return Err(SettingsError::KubernetesVersion(version.to_string()));
        }
    }
    if let Some(text) = &settings.pod_security {
        let (level, version) = text.split_once(':').unwrap_or((text, "latest"));
        let level_ok = matches!(level, "privileged" | "baseline" | "restricted");
        let version_ok = version == "latest"
            || version.strip_prefix("v1.").is_some_and(|minor| {
                !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit())
            });
        if !level_ok || !version_ok {
            return Err(SettingsError::PodSecurity(text.clone()));
        }
    }
    Ok(())
}

/// Checks `objects` (whose positions refer to `sources`) and returns the findings in a
/// stable order: file, line, rule.
pub fn check(objects: &[Node], sources: &SourceMap, settings: &Settings) -> Vec<Finding> {
    let mut ctx = Ctx::new(objects, settings);
    for rule in RULES {
        if let Some(only) = &settings.only
            && !only.iter().any(|code| code == rule.code)
        {
            continue;
        }
        if settings.config.is_disabled(rule.code) {
            continue;
        }
        ctx.run(rule);
    }
    let mut findings = ctx.into_findings();
    // Sort keys are built once per finding: comparing freshly allocated paths in every
    // comparison dominated runs with thousands of findings.
    let mut keyed: Vec<(Option<&std::path::Path>, Finding)> = findings
        .drain(..)
        .map(|f| (sources.path(f.pos.file), f))
        .collect();
    keyed.sort_by(|(fa, a), (fb, b)| {
        (fa, a.pos.line, &a.rule, a.pos.col, &a.path, &a.message)
            .cmp(&(fb, b.pos.line, &b.rule, b.pos.col, &b.path, &b.message))
    });
    findings.extend(keyed.into_iter().map(|(_, f)| f));
    findings.dedup();
    findings
}

#[cfg(test)]
mod tests {
    use shipway_model::yaml::{Limits, parse_stream};
    use shipway_model::{FileId, SourceMap};

    /// Every rule on 10,000 objects in one namespace, where a quadratic rule would show:
    /// selectors, references and URLs all point at each other. The bound is loose (debug
    /// builds on a shared machine); a quadratic rule takes minutes here.
    #[test]
    fn ten_thousand_objects_check_quickly() {
        use std::fmt::Write as _;
        let mut yaml = String::new();
        for i in 0..2000 {
            let _ = write!(
                yaml,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: big}}\nspec:\n  replicas: 3\n  template:\n    metadata: {{labels: {{team: all, app: app{i}}}}}\n    spec:\n      containers:\n      - name: c\n        image: app:1\n        ports: [{{name: http, containerPort: 8080}}]\n        env:\n        - {{name: NEXT, value: \"http://svc{i}.big.svc:80/\"}}\n        envFrom: [{{configMapRef: {{name: cm{i}}}}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc{i}, namespace: big}}\nspec:\n  selector: {{team: all, app: app{i}}}\n  ports: [{{port: 80, targetPort: http}}]\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: pdb{i}, namespace: big}}\nspec:\n  minAvailable: 1\n  selector: {{matchLabels: {{team: all, app: app{i}}}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{i}, namespace: big}}\ndata: {{url: \"svc{i}:80\"}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np{i}, namespace: big}}\nspec:\n  podSelector: {{matchLabels: {{team: all, app: app{i}}}}}\n"
            );
        }
        let objects = parse_stream(&yaml, FileId(0), &Limits::default()).unwrap();
        assert_eq!(objects.len(), 10_000);
        let start = std::time::Instant::now();
        let findings = crate::check(&objects, &SourceMap::new(), &crate::Settings::default());
        let elapsed = start.elapsed();
        assert!(
            !findings.iter().any(|f| f.rule.starts_with("references/")
                || f.rule == "reliability/selector-matches-nothing"
                || f.rule == "reliability/missing-pdb"),
            "{:?}",
            findings.iter().find(|f| f.rule.starts_with("references/"))
        );
        // About 0.9 s in a debug build on the 2-core development machine, a tenth of that
        // optimised; a quadratic rule takes minutes.
        assert!(elapsed.as_secs() < 5, "{elapsed:?}");
    }
}
