//! `schema/duplicate-object`: two objects with the same identity in one input.

use std::collections::HashMap;

use shipway_model::{Gvk, Node};

use crate::Ctx;
use crate::context::{effective_namespace, name_of, namespace_of};
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Two objects in the input with the same group, kind, namespace and name.
    ///
    /// ## Why it matters
    /// Applied one after the other, the second silently replaces the first: whatever
    /// differs between them is lost, and which one wins depends on file order.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata: {name: settings}
    /// ---
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata: {name: settings}
    /// ```
    ///
    /// ## Use instead
    /// Give each object its own name, or keep one of them.
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: which copy is right is a human decision.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/overview/working-with-objects/names/>
    pub static DUPLICATE_OBJECT = {
        code: "schema/duplicate-object",
        summary: "Two objects in the input share a kind, namespace and name",
        severity: Error,
        status: Stable,
        check: Check::Global(duplicate_object),
    };
}

fn duplicate_object(ctx: &mut Ctx<'_>, rule: &'static Rule) {
    let mut seen: HashMap<(String, String, String, String), &Node> = HashMap::new();
    for object in ctx.objects {
        let gvk = Gvk::of(object);
        if gvk.kind.is_empty() || name_of(object).is_empty() {
            continue;
        }
        let key = (
            gvk.group.clone(),
            gvk.kind.clone(),
            effective_namespace(namespace_of(object)).to_string(),
            name_of(object).to_string(),
        );
        if let Some(first) = seen.get(&key) {
            let first_line = first.pos.line;
            ctx.report(
                rule,
                object,
                "metadata.name",
                format!(
                    "{} `{}` is defined twice (first at line {first_line}); the second replaces the first",
                    gvk.kind,
                    name_of(object)
                ),
            );
        } else {
            seen.insert(key, object);
        }
    }
}
