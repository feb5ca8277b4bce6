//! Schema rules: what the API server would reject before any controller sees the object.
//! The walk itself ([`validate`]) runs once per check run; each rule reports its share.

mod deprecated_api_version;
mod duplicate_object;
pub mod enums;
mod invalid_enum_value;
mod invalid_label;
mod invalid_name;
mod invalid_quantity;
mod missing_required_field;
pub mod quantity;
pub mod removed_api;
mod removed_api_version;
mod selector_mismatch;
mod unknown_field;
mod unknown_kind;
mod unresolved_placeholder;
pub mod validate;
mod wrong_type;

pub use deprecated_api_version::DEPRECATED_API_VERSION;
pub use duplicate_object::DUPLICATE_OBJECT;
pub use invalid_enum_value::INVALID_ENUM_VALUE;
pub use invalid_label::INVALID_LABEL;
pub use invalid_name::INVALID_NAME;
pub use invalid_quantity::INVALID_QUANTITY;
pub use missing_required_field::MISSING_REQUIRED_FIELD;
pub use removed_api_version::REMOVED_API_VERSION;
pub use selector_mismatch::SELECTOR_MISMATCH;
pub use unknown_field::UNKNOWN_FIELD;
pub use unknown_kind::UNKNOWN_KIND;
pub use unresolved_placeholder::UNRESOLVED_PLACEHOLDER;
pub use wrong_type::WRONG_TYPE;

use shipway_model::Severity;

use crate::Ctx;
use crate::rules::Rule;
use validate::{Kind, Violation};

/// The Kubernetes minor being validated against, as a number (`33`).
pub(crate) fn target_minor(ctx: &Ctx<'_>) -> u32 {
    target_version(ctx)
        .strip_prefix("1.")
        .and_then(|m| m.parse().ok())
        .unwrap_or(33)
}

/// The Kubernetes version being validated against (`1.33`).
pub(crate) fn target_version<'c>(ctx: &Ctx<'c>) -> &'c str {
    ctx.settings
        .kubernetes_version
        .as_deref()
        .map_or(shipway_schema::NEWEST_VERSION, |v| {
            v.trim_start_matches('v')
        })
}

/// Every object's violations, computed on first use.
pub(crate) fn violations<'c>(ctx: &'c Ctx<'_>) -> &'c [Vec<Violation>] {
    ctx.schema_cache.get_or_init(|| {
        let version = target_version(ctx);
        let Some(schema) = shipway_schema::bundled(version) else {
            return Vec::new();
        };
        let crds = validate::crd_schemas(ctx.objects.iter().chain(&ctx.settings.crds));
        ctx.objects
            .iter()
            .map(|o| validate::validate(schema, version, &crds, o))
            .collect()
    })
}

/// Reports every violation of one kind under `rule`.
pub(crate) fn report_kind(ctx: &mut Ctx<'_>, rule: &'static Rule, kind: Kind) {
    let found: Vec<(usize, Violation)> = violations(ctx)
        .iter()
        .enumerate()
        .flat_map(|(i, list)| {
            list.iter()
                .filter(|v| v.kind == kind)
                .map(move |v| (i, v.clone()))
        })
        .collect();
    let objects = ctx.objects;
    for (i, violation) in found {
        let severity = if violation.info {
            Severity::Info
        } else {
            rule.severity
        };
        // An unknown field is its name: point at the key, where the typo is, not at a
        // value that may start lines below it.
        if kind == Kind::UnknownField {
            ctx.report_key_as(
                rule,
                severity,
                &objects[i],
                &violation.path,
                violation.message,
            );
        } else {
            ctx.report_as(
                rule,
                severity,
                &objects[i],
                &violation.path,
                violation.message,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{fixture, show};

    /// Placeholders (Flux post-build variables, unresolved kustomize vars) turn the findings
    /// they would cause into one info each; every rule runs.
    #[test]
    fn placeholders_are_info_once() {
        let path = format!(
            "{}/resources/fixtures/severity/placeholders.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let yaml = std::fs::read_to_string(&path).unwrap();
        let objects = shipway_model::yaml::parse_stream(
            &yaml,
            shipway_model::FileId(0),
            &shipway_model::yaml::Limits::default(),
        )
        .unwrap();
        let mut sources = shipway_model::SourceMap::new();
        sources.add(std::path::Path::new("fixture.yaml"));
        let findings: Vec<_> = crate::check(&objects, &sources, &crate::Settings::default())
            .into_iter()
            .filter(|f| f.rule.starts_with("schema/") || f.rule.starts_with("references/"))
            .filter(|f| f.rule != "schema/unknown-kind")
            .collect();
        insta::assert_snapshot!("placeholders", show(&yaml, &findings));
    }

    #[test]
    fn duplicate_object() {
        fixture("schema/duplicate-object");
    }

    #[test]
    fn unknown_field() {
        fixture("schema/unknown-field");
    }

    /// The finding points at the misspelt key, not at its value on the lines below.
    #[test]
    fn unknown_field_points_at_the_key() {
        let findings = crate::testing::lint(
            "schema/unknown-field",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx:1.27}]\n  nodeselector:\n    disktype: ssd\n",
        );
        let found: Vec<(u32, u32)> = findings.iter().map(|f| (f.pos.line, f.pos.col)).collect();
        assert_eq!(found, [(6, 3)], "{findings:?}");
    }

    #[test]
    fn wrong_type() {
        fixture("schema/wrong-type");
    }

    #[test]
    fn missing_required_field() {
        fixture("schema/missing-required-field");
    }

    #[test]
    fn invalid_enum_value() {
        fixture("schema/invalid-enum-value");
    }

    #[test]
    fn invalid_quantity() {
        fixture("schema/invalid-quantity");
    }

    #[test]
    fn unknown_kind() {
        fixture("schema/unknown-kind");
    }

    #[test]
    fn removed_api_version() {
        fixture("schema/removed-api-version");
    }

    #[test]
    fn deprecated_api_version() {
        let yaml = "# Warns at 1.27: flowcontrol v1beta2 is deprecated since 1.26, removed in 1.29.\napiVersion: flowcontrol.apiserver.k8s.io/v1beta2\nkind: FlowSchema\nmetadata: {name: f}\n";
        let settings = crate::Settings {
            kubernetes_version: Some("1.27".into()),
            ..crate::Settings::default()
        };
        let findings = crate::testing::lint_with("schema/deprecated-api-version", yaml, settings);
        insta::assert_snapshot!(
            "deprecated-api-version",
            crate::testing::show(yaml, &findings)
        );
    }

    #[test]
    fn invalid_name() {
        fixture("schema/invalid-name");
    }

    #[test]
    fn invalid_label() {
        fixture("schema/invalid-label");
    }

    #[test]
    fn selector_mismatch() {
        fixture("schema/selector-mismatch");
    }
}
