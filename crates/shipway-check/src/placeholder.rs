//! Placeholders that a later stage fills: Flux post-build variables (`${VAR}`,
//! `${VAR:=default}`, `${VAR:-default}`, substituted by the Flux kustomize-controller when it
//! applies a Kustomization with `spec.postBuild`) and kustomize vars (`$(VAR)`) that the
//! render left in place because no `vars` entry of it declares them (a base rendered on its
//! own).
//!
//! A value holding one is not what the cluster will see, so no rule judges it: the
//! context records the placeholder instead of the finding, and
//! `schema/unresolved-placeholder` reports each placeholder once, as `info`.

/// Where a placeholder's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'t> {
    /// A Flux post-build variable, with its default when the placeholder gives one.
    Flux {
        /// The variable's name.
        name: &'t str,
        /// The default after `:=`, `:-`, `=` or `-`.
        default: Option<&'t str>,
    },
    /// A kustomize var reference, `$(NAME)`.
    KustomizeVar {
        /// The var's name.
        name: &'t str,
    },
}

/// A placeholder found in a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder<'t> {
    /// The placeholder as written: `${cluster_env:=dev}`, `$(SERVICE)`.
    pub text: &'t str,
    /// What fills it.
    pub source: Source<'t>,
}

/// The first placeholder in `text`, if any. `$${VAR}` and `$$(VAR)` are escapes (Flux and
/// Kubernetes write a literal `$` that way) and are not placeholders.
pub fn find(text: &str) -> Option<Placeholder<'_>> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(offset) = text[i..].find('$') {
        let at = i + offset;
        if bytes.get(at + 1) == Some(&b'$') {
            i = at + 2;
            continue;
        }
        match bytes.get(at + 1) {
            Some(b'{') => {
                if let Some(found) = flux(text, at) {
                    return Some(found);
                }
            }
            Some(b'(') => {
                if let Some(found) = kustomize_var(text, at) {
                    return Some(found);
                }
            }
            _ => {}
        }
        i = at + 1;
    }
    None
}

/// `${NAME}` or `${NAME<op>default}` starting at `at`.
fn flux(text: &str, at: usize) -> Option<Placeholder<'_>> {
    let body_start = at + 2;
    let close = body_start + text[body_start..].find('}')?;
    let body = &text[body_start..close];
    let name_len = body
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let name = &body[..name_len];
    // Flux accepts variable names that start with a letter or `_`.
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let rest = &body[name_len..];
    let default = if rest.is_empty() {
        None
    } else {
        let value = [":=", ":-", "=", "-"]
            .iter()
            .find_map(|op| rest.strip_prefix(op))?;
        Some(value)
    };
    Some(Placeholder {
        text: &text[at..=close],
        source: Source::Flux { name, default },
    })
}

/// `$(NAME)` starting at `at`.
fn kustomize_var(text: &str, at: usize) -> Option<Placeholder<'_>> {
    let body_start = at + 2;
    let close = body_start + text[body_start..].find(')')?;
    let name = &text[body_start..close];
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    valid.then(|| Placeholder {
        text: &text[at..=close],
        source: Source::KustomizeVar { name },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Option<Source<'_>> {
        find(text).map(|p| p.source)
    }

    #[test]
    fn flux_variables_with_and_without_defaults() {
        assert_eq!(
            source("${memory_limit:=512Mi}"),
            Some(Source::Flux {
                name: "memory_limit",
                default: Some("512Mi")
            })
        );
        assert_eq!(
            source("app-${cluster_env}"),
            Some(Source::Flux {
                name: "cluster_env",
                default: None
            })
        );
        assert_eq!(
            source("${REPLICAS:-2}"),
            Some(Source::Flux {
                name: "REPLICAS",
                default: Some("2")
            })
        );
        assert_eq!(find("x-${A}-y").map(|p| p.text), Some("${A}"));
    }

    #[test]
    fn kustomize_vars() {
        assert_eq!(
            source("$(SERVICE_NAME).$(NAMESPACE).svc"),
            Some(Source::KustomizeVar {
                name: "SERVICE_NAME"
            })
        );
    }

    #[test]
    fn escapes_and_plain_dollars_are_not_placeholders() {
        for text in [
            "$${VAR}", "$$(VAR)", "costs $5", "${1}", "${}", "$(", "${a b}", "512Mi",
        ] {
            assert_eq!(find(text), None, "{text}");
        }
    }
}
