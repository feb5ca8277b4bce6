//! The rule registry: every rule has an id (`family/name`), a one-line summary, a default
//! severity, its documentation, and the function that checks it. The documentation is the
//! rule's doc comment, captured by [`rule!`] so that `shipway explain`, the reference docs
//! and the source read the same text.

pub mod capacity;
pub mod pod_security;
pub mod references;
pub mod reliability;
pub mod schema;
pub mod security;

use shipway_model::{Node, Severity};

use crate::Ctx;

/// How a rule runs.
#[derive(Clone, Copy)]
pub enum Check {
    /// Called once per object.
    PerObject(fn(&mut Ctx<'_>, &'static Rule, &Node)),
    /// Called once per run (rules that look across objects).
    Global(fn(&mut Ctx<'_>, &'static Rule)),
}

/// Whether a rule is on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// On by default.
    Stable,
    /// On by default, behaviour may still change.
    Preview,
}

/// One rule.
pub struct Rule {
    /// `family/name`, e.g. `reliability/latest-image-tag`.
    pub code: &'static str,
    /// One line saying what is flagged.
    pub summary: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Stable or preview.
    pub status: Status,
    /// The rule's documentation (Markdown, with the headings every rule has).
    pub doc: &'static str,
    /// The check.
    pub check: Check,
}

impl Rule {
    /// The documentation as Markdown: doc comments keep the space after `///`, which is
    /// removed here so headings and code blocks start in the first column.
    pub fn markdown(&self) -> String {
        let mut out = String::with_capacity(self.doc.len());
        for line in self.doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The documentation and the function pointer say nothing useful in a debug print.
        f.debug_struct("Rule")
            .field("code", &self.code)
            .field("severity", &self.severity)
            .finish_non_exhaustive()
    }
}

/// Declares a rule: its doc comment becomes both the item's documentation and
/// [`Rule::doc`].
macro_rules! rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis static $name:ident = {
            code: $code:literal,
            summary: $summary:literal,
            severity: $severity:ident,
            status: $status:ident,
            check: $check:expr $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        $vis static $name: $crate::rules::Rule = $crate::rules::Rule {
            code: $code,
            summary: $summary,
            severity: shipway_model::Severity::$severity,
            status: $crate::rules::Status::$status,
            doc: concat!($($doc, "\n"),*),
            check: $check,
        };
    };
}
pub(crate) use rule;

/// Every rule, in the order they run.
pub static RULES: &[&Rule] = &[
    &schema::DUPLICATE_OBJECT,
    &schema::UNKNOWN_KIND,
    &schema::REMOVED_API_VERSION,
    &schema::DEPRECATED_API_VERSION,
    &schema::UNKNOWN_FIELD,
    &schema::WRONG_TYPE,
    &schema::MISSING_REQUIRED_FIELD,
    &schema::INVALID_ENUM_VALUE,
    &schema::INVALID_QUANTITY,
    &schema::INVALID_NAME,
    &schema::INVALID_LABEL,
    &schema::SELECTOR_MISMATCH,
    &pod_security::ALLOW_PRIVILEGE_ESCALATION,
    &pod_security::APP_ARMOR_PROFILE,
    &pod_security::CAPABILITIES_BASELINE,
    &pod_security::CAPABILITIES_RESTRICTED,
    &pod_security::HOST_NAMESPACES,
    &pod_security::HOST_PATH_VOLUMES,
    &pod_security::HOST_PORTS,
    &pod_security::HOST_PROBES_AND_HOST_LIFECYCLE,
    &pod_security::PRIVILEGED,
    &pod_security::PROC_MOUNT,
    &pod_security::PROC_MOUNT_RESTRICTED,
    &pod_security::RESTRICTED_VOLUMES,
    &pod_security::RUN_AS_NON_ROOT,
    &pod_security::RUN_AS_USER,
    &pod_security::SE_LINUX_OPTIONS,
    &pod_security::SECCOMP_PROFILE_BASELINE,
    &pod_security::SECCOMP_PROFILE_RESTRICTED,
    &pod_security::SYSCTLS,
    &pod_security::WINDOWS_HOST_PROCESS,
    &reliability::LATEST_IMAGE_TAG,
    &reliability::MISSING_READINESS_PROBE,
    &reliability::MISSING_LIVENESS_PROBE,
    &reliability::MISSING_REQUESTS,
    &reliability::MISSING_LIMITS,
    &reliability::MISSING_PDB,
    &reliability::MISSING_SPREAD,
    &reliability::PDB_BLOCKS_EVICTION,
    &reliability::SELECTOR_MATCHES_NOTHING,
    &reliability::HPA_MIN_ABOVE_MAX,
    &security::PLAINTEXT_SECRET,
    &references::SERVICE_TARGET_PORT,
    &references::MISSING_CONFIG_MAP,
    &references::MISSING_SECRET,
    &references::MISSING_PVC,
    &references::MISSING_SERVICE_ACCOUNT,
    &references::MISSING_SERVICE,
    &references::MISSING_SCALE_TARGET,
    &references::MISSING_ROLE,
    &references::MISSING_SUBJECT,
    &references::IN_CLUSTER_URL,
    &capacity::OVER_QUOTA,
    &capacity::OVER_QUOTA_AT_SCALE,
    // Last: it reports the placeholders that kept every rule above from judging values.
    &schema::UNRESOLVED_PLACEHOLDER,
];

/// The rule with this id.
pub fn find(code: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.code == code)
}

/// The headings every rule's documentation has, in order.
pub const DOC_HEADINGS: [&str; 7] = [
    "## What it checks",
    "## Why it matters",
    "## Example",
    "## Use instead",
    "## Options",
    "## Fix safety",
    "## References",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len(), "duplicate rule codes");
        for code in codes {
            let (family, name) = code.split_once('/').expect("family/name");
            assert!(!family.is_empty() && !name.is_empty(), "{code}");
        }
    }

    #[test]
    fn every_doc_has_the_headings_in_order() {
        for rule in RULES {
            let mut at = 0;
            for heading in DOC_HEADINGS {
                let found = rule.doc[at..]
                    .find(heading)
                    .unwrap_or_else(|| panic!("{}: missing `{heading}`", rule.code));
                at += found + heading.len();
            }
            assert!(
                !rule.summary.ends_with('.'),
                "{}: summary ends with a period",
                rule.code
            );
        }
    }
}
