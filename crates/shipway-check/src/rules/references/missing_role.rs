//! `references/missing-role`: RoleBindings and ClusterRoleBindings whose `roleRef` is not
//! there.

use shipway_model::Node;

use crate::Ctx;
use crate::context::namespace_of;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// The `roleRef` of every RoleBinding and ClusterRoleBinding: a `Role` must be in the
    /// input in the binding's namespace, a `ClusterRole` in the input (cluster-scoped). The
    /// ClusterRoles Kubernetes creates itself (`cluster-admin`, `admin`, `edit`, `view` and
    /// every `system:` role) resolve, as do objects declared in the configuration's
    /// `external` list.
    ///
    /// ## Why it matters
    /// The binding is accepted but grants nothing: the ServiceAccount gets `forbidden` errors
    /// at run time. `roleRef` cannot be changed afterwards either; fixing it means deleting
    /// and recreating the binding.
    ///
    /// ## Example
    /// ```yaml
    /// kind: RoleBinding
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
    /// ```
    ///
    /// ## Use instead
    /// Add the Role `pod-reader` to the same namespace, or bind an existing role.
    ///
    /// ## Options
    /// `external` in the configuration file.
    ///
    /// ## Fix safety
    /// No automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles>
    pub static MISSING_ROLE = {
        code: "references/missing-role",
        summary: "A role binding's `roleRef` is missing",
        severity: Error,
        status: Preview,
        check: Check::PerObject(missing_role),
    };
}

fn missing_role(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    if !matches!(
        object.str_at(&["kind"]),
        Some("RoleBinding" | "ClusterRoleBinding")
    ) {
        return;
    }
    let (Some(kind), Some(name)) = (
        object.str_at(&["roleRef", "kind"]),
        object.str_at(&["roleRef", "name"]),
    ) else {
        return;
    };
    let namespace = match kind {
        "Role" => namespace_of(object),
        "ClusterRole" => "",
        _ => return,
    };
    ctx.check_reference(rule, object, "roleRef.name", kind, namespace, name);
}
