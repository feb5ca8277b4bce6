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
    /// 422 `Invalid` with several causes: `Kind "name" is invalid: [f1: m1, f2: m2]`.
    #[error("{}", invalid_many_message(.0))]
    InvalidMany(Vec<InvalidField>),
    /// 409 `Conflict` from server-side apply, one cause per conflicting field.
    #[error("{message}")]
    ApplyConflict {
        /// `Apply failed with 1 conflict: conflict with "gitops": .spec.replicas`.
        message: String,
        /// (`conflict with "gitops"`, `.spec.replicas`) per field.
        causes: Vec<(String, String)>,
    },
    /// 410 `Expired`: a continue token or resourceVersion older than the history.
    #[error("{0}")]
    Gone(String),
    /// 403 `Forbidden`: creating in a namespace that is being deleted.
    #[error("{message}")]
    NamespaceTerminating {
        /// The real text.
        message: String,
        /// Group of the refused resource.
        group: &'static str,
        /// Plural of the refused resource.
        plural: &'static str,
        /// Name of the refused object.
        name: String,
    },
    /// A fault injected by a test: any code and reason, with `Retry-After` for 429s.
    #[error("{message}")]
    Injected {
        /// HTTP status and `code`.
        code: u16,
        /// `reason`.
        reason: &'static str,
        /// `message`.
        message: String,
        /// `details.retryAfterSeconds` and the `Retry-After` header.
        retry_after: Option<u64>,
    },
    /// 403 `Forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 400 `BadRequest`: a malformed body, patch or query.
    #[error("{0}")]
    BadRequest(String),
    /// 405 `MethodNotAllowed`.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 413 `RequestEntityTooLarge`: a request body over the limit (in bytes), in the real
    /// server's words.
    #[error("Request entity too large: limit is {0}")]
    TooLarge(usize),
    /// 500 without a `reason`: etcd refused an object over its request limit, and the API
    /// server passes etcd's error on as an unclassified one.
    #[error("etcdserver: request is too large")]
    StorageTooLarge,
    /// 415 `UnsupportedMediaType`: a patch type the simulator does not accept.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422 `Invalid` without field details: a JSON patch that cannot be applied.
    #[error("{0}")]
    Unprocessable(String),
    /// 500 `InternalError`.
    #[error("{0}")]
    Internal(String),
    /// 503 `ServiceUnavailable`: a proxied pod or Service has nothing to answer.
    #[error("{0}")]
    ServiceUnavailable(String),
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
            Self::AlreadyExists { .. } | Self::Conflict { .. } | Self::ApplyConflict { .. } => 409,
            Self::Invalid(_) | Self::InvalidMany(_) | Self::Unprocessable(_) => 422,
            Self::Gone(_) => 410,
            Self::Injected { code, .. } => *code,
            Self::Forbidden(_) | Self::NamespaceTerminating { .. } => 403,
            Self::BadRequest(_) => 400,
            Self::MethodNotAllowed(_) => 405,
            Self::TooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Internal(_) | Self::StorageTooLarge => 500,
            Self::ServiceUnavailable(_) => 503,
        }
    }

    /// The `reason` field clients match on (`""` for an unclassified error, whose `Status`
    /// has no `reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::NoRoute => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } | Self::ApplyConflict { .. } => "Conflict",
            Self::Invalid(_) | Self::InvalidMany(_) | Self::Unprocessable(_) => "Invalid",
            Self::Gone(_) => "Expired",
            Self::Injected { reason, .. } => reason,
            Self::Forbidden(_) | Self::NamespaceTerminating { .. } => "Forbidden",
            Self::BadRequest(_) => "BadRequest",
            Self::MethodNotAllowed(_) => "MethodNotAllowed",
            Self::TooLarge(_) => "RequestEntityTooLarge",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::Internal(_) => "InternalError",
            Self::ServiceUnavailable(_) => "ServiceUnavailable",
            Self::StorageTooLarge => "",
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
            Self::InvalidMany(fields) => fields.first().map(|first| {
                let mut details = object_details(&first.name, first.group, first.kind);
                let causes: Vec<Value> = fields
                    .iter()
                    .map(|f| json!({"reason": f.cause, "message": f.message, "field": f.field}))
                    .collect();
                details.insert("causes".into(), Value::Array(causes));
                details
            }),
            Self::ApplyConflict { causes, .. } => {
                let causes: Vec<Value> = causes
                    .iter()
                    .map(|(message, field)| {
                        json!({"reason": "FieldManagerConflict", "message": message, "field": field})
                    })
                    .collect();
                let mut details = Map::new();
                details.insert("causes".into(), Value::Array(causes));
                Some(details)
            }
            Self::NamespaceTerminating {
                group,
                plural,
                name,
                ..
            } => {
                let mut details = object_details(name, group, plural);
                details.insert(
                    "causes".into(),
                    json!([{"reason": "NamespaceTerminating", "message": format!("namespace is being terminated"), "field": "metadata.namespace"}]),
                );
                Some(details)
            }
            Self::Injected {
                retry_after: Some(seconds),
                ..
            } => {
                let mut details = Map::new();
                details.insert("retryAfterSeconds".into(), (*seconds).into());
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
        });
        if let Some(object) = status.as_object_mut()
            && !self.reason().is_empty()
        {
            object.insert("reason".into(), self.reason().into());
        }
        if let (Some(details), Some(object)) = (details, status.as_object_mut()) {
            object.insert("details".into(), Value::Object(details));
        }
        if let Some(object) = status.as_object_mut() {
            object.insert("code".into(), self.code().into());
        }
        status
    }
}

impl ApiError {
    /// 422 with one cause per (field, cause, message); the single-cause form when there is
    /// one, as the real server words them.
    pub fn invalid_fields(
        qualified_kind: &str,
        group: &'static str,
        kind: &'static str,
        name: &str,
        fields: Vec<(String, &'static str, String)>,
    ) -> Self {
        Self::from_fields(
            fields
                .into_iter()
                .map(|(field, cause, message)| InvalidField {
                    qualified_kind: qualified_kind.to_owned(),
                    group,
                    kind,
                    name: name.to_owned(),
                    field,
                    cause,
                    message,
                })
                .collect(),
        )
    }

    /// 422 for the causes a validation found: the single-cause form for one, the
    /// bracketed list for several, as the real server words them.
    pub fn from_fields(mut fields: Vec<InvalidField>) -> Self {
        if fields.len() == 1 {
            Self::Invalid(Box::new(fields.remove(0)))
        } else {
            Self::InvalidMany(fields)
        }
    }
}

fn invalid_many_message(fields: &[InvalidField]) -> String {
    let Some(first) = fields.first() else {
        return "invalid".into();
    };
    let listed: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    format!(
        "{} \"{}\" is invalid: [{}]",
        first.qualified_kind,
        first.name,
        listed.join(", ")
    )
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
