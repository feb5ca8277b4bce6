//! `schema/invalid-name`: `metadata.name` that the API server's name validation rejects.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::{Check, Rule, rule};

rule! {
    /// ## What it checks
    /// `metadata.name` of every object: a DNS-1123 label (at most 63 lower-case
    /// alphanumerics and `-`, starting and ending alphanumeric) for Namespaces and
    /// Services, a DNS-1123 subdomain (at most 253, dots allowed between labels) for most
    /// kinds, and a path segment (no `/`, `%`, not `.` or `..`) for RBAC kinds.
    ///
    /// ## Why it matters
    /// The API server rejects the object; a Service name also becomes a DNS name.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: Web_API}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// kind: Service
    /// metadata: {name: web-api}
    /// ```
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// Renaming changes every reference: no automatic fix.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/overview/working-with-objects/names/>
    pub static INVALID_NAME = {
        code: "schema/invalid-name",
        summary: "An object name is not valid for its kind",
        severity: Error,
        status: Stable,
        check: Check::PerObject(invalid_name),
    };
}

fn invalid_name(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let Some(name) = object.str_at(&["metadata", "name"]) else {
        return;
    };
    let kind = object.str_at(&["kind"]).unwrap_or("");
    let problem = match kind {
        "Namespace" | "Service" => dns_label(name).err(),
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => path_segment(name).err(),
        _ => dns_subdomain(name).err(),
    };
    if let Some(problem) = problem {
        ctx.report(
            rule,
            object,
            "metadata.name",
            format!("{kind} name `{name}` is invalid: {problem}"),
        );
    }
}

/// A DNS-1123 label.
pub(crate) fn dns_label(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("a DNS-1123 label has 1 to 63 characters".into());
    }
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.iter().all(|&b| alnum(b) || b == b'-')
        || !alnum(bytes[0])
        || !alnum(bytes[bytes.len() - 1])
    {
        return Err(
            "a DNS-1123 label has lower-case letters, digits and `-`, and starts and ends with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// A DNS-1123 subdomain.
pub(crate) fn dns_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("a DNS-1123 subdomain has 1 to 253 characters".into());
    }
    for part in name.split('.') {
        let bytes = part.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty()
            || !bytes.iter().all(|&b| alnum(b) || b == b'-')
            || !alnum(bytes[0])
            || !alnum(bytes[bytes.len() - 1])
        {
            return Err(
                "a DNS-1123 subdomain has lower-case letters, digits, `-` and `.`, each part starting and ending with a letter or digit"
                    .into(),
            );
        }
    }
    Ok(())
}

fn path_segment(name: &str) -> Result<(), String> {
    if name == "." || name == ".." || name.contains(['/', '%']) || name.is_empty() {
        return Err("a path segment name cannot be `.`, `..` or contain `/` or `%`".into());
    }
    Ok(())
}
