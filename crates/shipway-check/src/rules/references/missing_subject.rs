//! `references/missing-subject`: ServiceAccounts bound by a role binding that are not
//! there.

use shipway_model::Node;

use crate::Ctx;
use crate::context::namespace_of;
use crate::rules::references::pod_refs::seq;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// Every `subjects[]` entry of kind `ServiceAccount` of a RoleBinding or
    /// ClusterRoleBinding: the ServiceAccount must be in the input in the subject's
    /// `namespace` (for a RoleBinding, the binding's namespace when unset), or declared in
    /// the configuration's `external` list. `default` ServiceAccounts always exist.
    ///
    /// ## Why it matters
    /// Binding a missing account is harmless until someone creates an account of that name,
    /// which then silently inherits the permissions. More often it is a typo, and the real
    /// account lacks the permissions it needs. Users and groups live outside the cluster and
    /// are not checked.
    ///
    /// ## Example
    /// ```yaml
    /// kind: RoleBinding
    /// subjects:
    /// - {kind: ServiceAccount, name: web-sa}   # the account is called web
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// subjects:
    /// - {kind: ServiceAccount, name: web}
    /// ```
    ///
    /// ## Options
    /// `external` in the configuration file.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects>
    pub static MISSING_SUBJECT = {
        code: "references/missing-subject",
        summary: "A ServiceAccount that a role binding binds is missing",
        severity: Warning,
        status: Preview,
        check: Check::PerObject(missing_subject),
    };
}

fn missing_subject(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let kind = object.str_at(&["kind"]);
    if !matches!(kind, Some("RoleBinding" | "ClusterRoleBinding")) {
        return;
    }
    for (i, subject) in seq(object.get("subjects")) {
        if subject.str_at(&["kind"]) != Some("ServiceAccount") {
            continue;
        }
        let Some(name) = subject.str_at(&["name"]).filter(|n| *n != "default") else {
            continue;
        };
        let namespace = match (subject.str_at(&["namespace"]), kind) {
            (Some(namespace), _) => namespace,
            (None, Some("RoleBinding")) => namespace_of(object),
            // A ClusterRoleBinding subject without a namespace is a schema error, not ours.
            _ => continue,
        };
        ctx.check_reference(
            rule,
            object,
            &format!("subjects[{i}].name"),
            "ServiceAccount",
            namespace,
            name,
        );
    }
}
