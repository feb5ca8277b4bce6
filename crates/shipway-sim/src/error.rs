//! API errors and their `metav1.Status` bodies.
//!
//! Clients branch on `reason` and `code` (kubectl prints `Error from server (NotFound): …`,
//! kube-rs matches on the code), so each variant carries exactly what the real API server
//! puts in its `Status`: the message text it would print and the `details` it would fill.

use serde_json::{Map, Value, json};

/// An error answered as a `metav1.Status` body with the same HTTP status code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 404 `NotFound` for a named object; `details.kind` is the plural resource.
    #[error("{qualified_plural} \"{name}\" not found")]
    NotFound {
        /// `deployments.apps`, `configmaps`.
        qualified_plural: String,
        /// Group of the resource (`""` for core).
        group: &'static str,
        /// Plural resource name.
        plural: &'static str,
        /// Object name.
        name: String,
    },
    /// 404 `NotFound` for a path no resource is served at; the real body has empty details.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// 409 `AlreadyExists` on create.
    #[error("{qualified_plural} \"{name}\" already exists")]
    AlreadyExists {
        /// `deployments.apps`, `configmaps`.
        qualified_plural: String,
        /// Group of the resource.
        group: &'static str,
        /// Plural resource name.
        plural: &'static str,
        /// Object name.
        name: String,
    },
    /// 409 `Conflict`: a resourceVersion or uid precondition failed.
    #[error("Operation cannot be fulfilled on {qualified_plural} \"{name}\": {reason}")]
    Conflict {
        /// `deployments.apps`, `configmaps`.
        qualified_plural: String,
        /// Group of the resource.
        group: &'static str,
        /// Plural resource name.
        plural: &'static str,
        /// Object name.
        name: String,
        /// Why, in the real server's words.
        reason: String,
    },
    /// 422 `Invalid`; `details.kind` is the Kind, not the plural (as on a real server).
    #[error("{} \"{}\" is invalid: {}: {}", .0.qualified_kind, .0.name, .0.field, .0.message)]
    Invalid(Box<InvalidField>),
    /// 403 `Forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 400 `BadRequest`: a malformed body, patch or query.
    #[error("{0}")]
    BadRequest(String),
    /// 405 `MethodNotAllowed`.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 413 `RequestEntityTooLarge`.
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// 415 `UnsupportedMediaType`: a patch type the simulator does not accept.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422 `Invalid` without field details: a JSON patch that cannot be applied.
    #[error("{0}")]
    Unprocessable(String),
    /// 500 `InternalError`.
    #[error("{0}")]
    Internal(String),
}

/// What an `Invalid` error says about the one field it rejects (boxed: it is the largest
/// payload, and errors travel by value through every handler).
#[derive(Debug)]
pub struct InvalidField {
    /// `Deployment.apps`, `ConfigMap`.
    pub qualified_kind: String,
    /// Group of the resource.
    pub group: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Object name (may be empty when the name itself is missing).
    pub name: String,
    /// Field path, `metadata.name`.
    pub field: String,
    /// `FieldValueRequired`, `FieldValueInvalid`, …
    pub cause: &'static str,
    /// The field error text after the path, e.g. `Required value: name is required`.
    pub message: String,
}

impl ApiError {
    /// The HTTP status code, equal to the body's `code`.
    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::NoRoute => 404,
            Self::AlreadyExists { .. } | Self::Conflict { .. } => 409,
            Self::Invalid(_) | Self::Unprocessable(_) => 422,
            Self::Forbidden(_) => 403,
            Self::BadRequest(_) => 400,
            Self::MethodNotAllowed(_) => 405,
            Self::TooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Internal(_) => 500,
        }
    }

    /// The `reason` field clients match on.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::NoRoute => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::Invalid(_) | Self::Unprocessable(_) => "Invalid",
            Self::Forbidden(_) => "Forbidden",
            Self::BadRequest(_) => "BadRequest",
            Self::MethodNotAllowed(_) => "MethodNotAllowed",
            Self::TooLarge(_) => "RequestEntityTooLarge",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::Internal(_) => "InternalError",
        }
    }

    /// The whole `metav1.Status` body.
    pub fn to_status(&self) -> Value {
        let details = match self {
            Self::NotFound {
                group,
                plural,
                name,
                ..
            }
            | Self::AlreadyExists {
                group,
                plural,
                name,
                ..
            }
            | Self::Conflict {
                group,
                plural,
                name,
                ..
            } => Some(object_details(name, group, plural)),
            Self::Invalid(invalid) => {
                let mut details = object_details(&invalid.name, invalid.group, invalid.kind);
                details.insert(
                    "causes".into(),
                    json!([{"reason": invalid.cause, "message": invalid.message, "field": invalid.field}]),
                );
                Some(details)
            }
            Self::NoRoute => Some(Map::new()),
            _ => None,
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
        });
        if let (Some(details), Some(object)) = (details, status.as_object_mut()) {
            object.insert("details".into(), Value::Object(details));
        }
        if let Some(object) = status.as_object_mut() {
            object.insert("code".into(), self.code().into());
        }
        status
    }
}

/// `details` naming one object; the real server omits an empty group.
fn object_details(name: &str, group: &str, kind: &str) -> Map<String, Value> {
    let mut details = Map::new();
    details.insert("name".into(), name.into());
    if !group.is_empty() {
        details.insert("group".into(), group.into());
    }
    details.insert("kind".into(), kind.into());
    details
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_matches_the_real_body() {
        let error = ApiError::NotFound {
            qualified_plural: "deployments.apps".into(),
            group: "apps",
            plural: "deployments",
            name: "nope".into(),
        };
        assert_eq!(
            error.to_status(),
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                   "message":"deployments.apps \"nope\" not found","reason":"NotFound",
                   "details":{"name":"nope","group":"apps","kind":"deployments"},"code":404})
        );
    }
}
