//! `schema/unresolved-placeholder`: values that a later stage fills in (Flux post-build
//! variables, unresolved kustomize vars), reported once each instead of the findings they
//! would cause.

use shipway_model::Node;

use crate::Ctx;
use crate::context::{PlaceholderUse, name_of, namespace_of};
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Values that hold a placeholder another stage replaces before the cluster sees them:
    /// Flux post-build variables (`${VAR}`, `${VAR:=default}`, `${VAR:-default}`, filled in
    /// by Flux from a Kustomization's `spec.postBuild.substitute` and `substituteFrom`) and
    /// kustomize vars (`$(VAR)`) that no `vars` entry of the render declares, as when a
    /// base is rendered on its own. `$${VAR}` is Flux's escape for a literal `${VAR}` and is
    /// not a placeholder.
    ///
    /// No other rule judges such a value: a name like `app-${cluster}` or a quantity like
    /// `${memory:=512Mi}` is not what will be applied. Instead, each placeholder is reported
    /// once, as `info`, at its first use, with the number of values that hold it and, when
    /// a Flux Kustomization in the input sets it, where.
    ///
    /// ## Why it matters
    /// Checking the unsubstituted text reports errors that are not there (an invalid name,
    /// an invalid quantity, a missing Secret); skipping it silently would hide that those
    /// values were not checked at all. Check the output of the stage that fills them (for
    /// Flux, `flux build kustomization` or `flux envsubst`) to have them validated.
    ///
    /// ## Example
    /// ```yaml
    /// resources:
    ///   limits:
    ///     memory: ${memory_limit:=512Mi}   # info: a Flux post-build variable
    /// ```
    ///
    /// ## Use instead
    /// Nothing to change; to have the values checked, check the substituted output:
    /// ```yaml
    /// resources:
    ///   limits:
    ///     memory: 512Mi
    /// ```
    ///
    /// ## Options
    /// None. Disabling the rule hides the notes; the values are still not judged.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://fluxcd.io/flux/components/kustomize/kustomizations/#post-build-variable-substitution>
    /// - <https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/vars/>
    pub static UNRESOLVED_PLACEHOLDER = {
        code: "schema/unresolved-placeholder",
        summary: "A value holds a placeholder that a later stage fills in; it is not checked",
        severity: Info,
        status: Preview,
        check: Check::Global(unresolved_placeholder),
    };
}

fn unresolved_placeholder(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    let used: Vec<PlaceholderUse> = ctx.placeholders().cloned().collect();
    for placeholder in used {
        let values = match placeholder.uses.len() {
            1 => "the value that holds it is".to_string(),
            n => format!("the {n} values that hold it are"),
        };
        let message = if placeholder.flux {
            let default = placeholder
                .default
                .as_deref()
                .map(|d| format!(" (default `{d}`)"))
                .unwrap_or_default();
            format!(
                "`{}` is a Flux post-build variable{default}, substituted when Flux applies the manifests{}; {values} not checked",
                placeholder.text,
                flux_source(ctx, &placeholder.name)
            )
        } else {
            format!(
                "`{}` is a kustomize var that no `vars` entry of this render declares (rendered from the overlay that declares it, kustomize replaces it); {values} not checked",
                placeholder.text
            )
        };
        ctx.report_placeholder(rule, &placeholder, message);
    }
}

/// Where a Flux Kustomization in the input sets the variable `name`, for the message.
fn flux_source(ctx: &Ctx<'_>, name: &str) -> String {
    let flux = |k: &&Node| {
        k.str_at(&["apiVersion"])
            .is_some_and(|v| v.starts_with("kustomize.toolkit.fluxcd.io/"))
    };
    let kustomizations: Vec<&Node> = ctx.of_kind("Kustomization").filter(flux).collect();
    let id = |k: &Node| format!("`{}/{}`", namespace_of(k), name_of(k));
    if let Some(k) = kustomizations.iter().find(|k| {
        k.get_path(&["spec", "postBuild", "substitute", name])
            .is_some()
    }) {
        return format!(
            " (set in `spec.postBuild.substitute` of Kustomization {})",
            id(k)
        );
    }
    let sources: Vec<String> = kustomizations
        .iter()
        .flat_map(|k| {
            k.get_path(&["spec", "postBuild", "substituteFrom"])
                .and_then(Node::as_seq)
                .into_iter()
                .flatten()
                .map(|s| {
                    format!(
                        "{} `{}`",
                        s.str_at(&["kind"]).unwrap_or("ConfigMap"),
                        s.str_at(&["name"]).unwrap_or("")
                    )
                })
        })
        .collect();
    if sources.is_empty() {
        String::new()
    } else {
        format!(
            " (Kustomizations in the input substitute from {})",
            sources.join(", ")
        )
    }
}
