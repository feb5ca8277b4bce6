//! Custom resources: a `CustomResourceDefinition` write serves its kind, and custom objects
//! are validated and pruned against the served version's `openAPIV3Schema`.
//!
//! A real cluster's apiextensions controllers set `NamesAccepted` and `Established` a moment
//! after the write; here the definition's status is computed as part of the write, so a
//! client that waits for `Established` sees it on its first read. Only one version is served
//! per definition (the storage version), which is also what the simulator does for built-in
//! groups: there is no conversion.

use serde_json::{Map, Value, json};

use super::{Store, set_field};
use crate::error::ApiError;
use crate::resources::ResourceType;

/// Checks a definition and fills in its status (accepted names, conditions, stored
/// versions) the way the apiextensions controllers would.
pub(super) fn admit_definition(object: &mut Value) -> Result<(), ApiError> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let group = text("/spec/group");
    let plural = text("/spec/names/plural");
    let kind = text("/spec/names/kind");
    let mut errors = Vec::new();
    let mut require = |field: &str, value: &str| {
        if value.is_empty() {
            errors.push((field.to_owned(), "Required value".to_owned()));
        }
    };
    require("spec.group", &group);
    require("spec.names.plural", &plural);
    require("spec.names.kind", &kind);
    let scope = text("/spec/scope");
    if !matches!(scope.as_str(), "Namespaced" | "Cluster") {
        errors.push((
            "spec.scope".into(),
            format!(
                "Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""
            ),
        ));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        errors.push((
            "metadata.name".into(),
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let versions = object
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage: Vec<&Value> = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .collect();
    if versions.is_empty() {
        errors.push((
            "spec.versions".into(),
            "Invalid value: null: must have exactly one version marked as storage version".into(),
        ));
    } else if storage.len() != 1 {
        errors.push((
            "spec.versions".into(),
            format!(
                "Invalid value: []apiextensions.CustomResourceDefinitionVersion{{...}}: must have exactly one version marked as storage version, status.storedVersions[{}]",
                storage.len()
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(
            "CustomResourceDefinition.apiextensions.k8s.io",
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            &name,
            errors
                .into_iter()
                .map(|(field, message)| (field, "FieldValueInvalid", message))
                .collect(),
        ));
    }
    let storage_version = storage[0]
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut names = object
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(names) = names.as_object_mut() {
        names
            .entry("singular")
            .or_insert_with(|| kind.to_lowercase().into());
        names
            .entry("listKind")
            .or_insert_with(|| format!("{kind}List").into());
    }
    if let Some(spec_names) = object
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
        && let Some(names) = names.as_object()
    {
        for (key, value) in names {
            spec_names
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
    }
    let old_stored: Vec<Value> = object
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut stored = old_stored;
    if !stored.iter().any(|v| v == storage_version.as_str()) {
        stored.push(storage_version.into());
    }
    let condition = |kind: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z",
               "reason": reason, "message": message})
    };
    set_field(
        object,
        "status",
        json!({
            "acceptedNames": names,
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "storedVersions": stored,
        }),
    );
    Ok(())
}

impl Store {
    /// Serves (or re-serves) the kind a stored definition describes.
    pub(super) fn serve_definition(&mut self, definition: &Value) {
        let text = |pointer: &str| {
            definition
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let group = text("/spec/group");
        let plural = text("/spec/names/plural");
        let versions = definition
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(version) = versions
            .iter()
            .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        else {
            return;
        };
        let strings = |pointer: &str| -> Vec<String> {
            definition
                .pointer(pointer)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let schema = version
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_else(
                || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
        let version_name = version
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let has_status = version.pointer("/subresources/status").is_some();
        let printer_columns = version
            .get("additionalPrinterColumns")
            .filter(|c| c.as_array().is_some_and(|c| !c.is_empty()))
            .cloned();
        let kind = text("/spec/names/kind");
        let singular = text("/spec/names/singular");
        let namespaced = text("/spec/scope") == "Namespaced";
        let short_names = strings("/spec/names/shortNames");
        let categories = strings("/spec/names/categories");
        if let Some(existing) = self.custom.get(&(group.clone(), plural.clone()))
            && existing.version == version_name
            && existing.kind == kind
            && existing.singular == singular
            && existing.namespaced == namespaced
            && existing.has_status == has_status
            && existing.short_names == short_names.iter().map(String::as_str).collect::<Vec<_>>()
            && existing.categories == categories.iter().map(String::as_str).collect::<Vec<_>>()
            && existing.custom_schema == Some(&schema)
            && existing.printer_columns == printer_columns.as_ref()
        {
            return;
        }
        let resource = ResourceType::custom(
            &group,
            version_name,
            &plural,
            &singular,
            &kind,
            namespaced,
            &short_names,
            &categories,
            has_status,
            schema,
            printer_columns,
        );
        self.custom.insert((group, plural), resource);
    }

    /// Stops serving a removed definition's kind and removes its objects, as the real
    /// finalizer of a definition does.
    pub(super) fn stop_serving_definition(&mut self, definition: &Value) {
        let text = |pointer: &str| {
            definition
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let Some(resource) = self
            .custom
            .remove(&(text("/spec/group"), text("/spec/names/plural")))
        else {
            return;
        };
        let keys: Vec<_> = self
            .objects
            .keys()
            .filter(|(group, plural, _, _)| *group == resource.group && *plural == resource.plural)
            .cloned()
            .collect();
        for object_key in keys {
            self.remove(&object_key);
        }
    }
}

/// What validating a custom object against its schema found.
#[derive(Debug, Default)]
pub(crate) struct SchemaReport {
    /// Paths of fields the schema does not declare (pruned from the object).
    pub(crate) unknown: Vec<String>,
    /// (field, cause, message) of each invalid value.
    pub(crate) errors: Vec<(String, &'static str, String)>,
}

/// Validates `object` against a custom resource's `openAPIV3Schema`, pruning undeclared
/// fields as the structural-schema pruning of a real server does. `apiVersion`, `kind` and
/// `metadata` are the server's and never pruned.
pub(crate) fn validate_custom(schema: &Value, object: &mut Value) -> SchemaReport {
    let mut report = SchemaReport::default();
    let Some(map) = object.as_object_mut() else {
        return report;
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    let preserve = preserves_unknown(schema);
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match properties.and_then(|p| p.get(&key)) {
            Some(field_schema) => {
                if let Some(value) = map.get_mut(&key) {
                    check(field_schema, value, &key, &mut report);
                }
            }
            None if preserve => {}
            None => {
                map.remove(&key);
                report.unknown.push(key);
            }
        }
    }
    required(schema, map, "", &mut report);
    report
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn required(schema: &Value, map: &Map<String, Value>, path: &str, report: &mut SchemaReport) {
    for name in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(name) {
            report.errors.push((
                join(path, name),
                "FieldValueRequired",
                "Required value".into(),
            ));
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Go's `%v`-ish rendering of a value in a validation message (strings quoted).
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Object(_) => "\"object\"".into(),
        Value::Array(_) => "\"array\"".into(),
        other => other.to_string(),
    }
}

fn check(schema: &Value, value: &mut Value, path: &str, report: &mut SchemaReport) {
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true) {
            // A real server drops nulls of non-nullable fields when pruning.
            *value = Value::Null;
        }
        return;
    }
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let fits = match expected {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string() || (int_or_string && (value.is_i64() || value.is_u64())),
            "integer" => value.is_i64() || value.is_u64() || (int_or_string && value.is_string()),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !fits {
            report.errors.push((
                path.to_owned(),
                "FieldValueTypeInvalid",
                format!(
                    "Invalid value: {}: {path} in body must be of type {expected}: {}",
                    shown(value),
                    shown(value)
                ),
            ));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let listed: Vec<String> = allowed.iter().map(shown).collect();
        report.errors.push((
            path.to_owned(),
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {}: supported values: {}",
                shown(value),
                listed.join(", ")
            ),
        ));
    }
    if let (Some(number), Some(minimum)) = (
        value.as_f64(),
        schema.get("minimum").and_then(Value::as_f64),
    ) && number < minimum
    {
        report.errors.push((
            path.to_owned(),
            "FieldValueInvalid",
            format!("Invalid value: {value}: {path} in body should be greater than or equal to {minimum}"),
        ));
    }
    if let (Some(number), Some(maximum)) = (
        value.as_f64(),
        schema.get("maximum").and_then(Value::as_f64),
    ) && number > maximum
    {
        report.errors.push((
            path.to_owned(),
            "FieldValueInvalid",
            format!(
                "Invalid value: {value}: {path} in body should be less than or equal to {maximum}"
            ),
        ));
    }
    match value {
        Value::Object(map) => {
            if path.ends_with(".metadata")
                || preserves_unknown(schema) && schema.get("properties").is_none()
            {
                return;
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child_path = join(path, &key);
                let child_schema = properties.and_then(|p| p.get(&key)).or(additional);
                match child_schema {
                    Some(child_schema) => {
                        if let Some(child) = map.get_mut(&key) {
                            check(child_schema, child, &child_path, report);
                        }
                    }
                    None if preserves_unknown(schema) => {}
                    None => {
                        map.remove(&key);
                        report.unknown.push(child_path);
                    }
                }
            }
            required(schema, map, path, report);
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter_mut().enumerate() {
                    check(item_schema, item, &format!("{path}[{index}]"), report);
                }
            }
        }
        _ => {}
    }
}

/// Turns a report's errors into the 422 a real server answers.
pub(crate) fn report_error(resource: &ResourceType, name: &str, report: SchemaReport) -> ApiError {
    ApiError::invalid_fields(
        &resource.qualified_kind(),
        resource.group,
        resource.kind,
        name,
        report.errors,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget_schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "tags": {"type": "array", "items": {"type": "string"}}}},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}})
    }

    #[test]
    fn custom_objects_are_pruned_and_validated() {
        let mut object = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "labels": {"a": "b"}},
            "spec": {"size": 2, "extra": 1, "free": {"anything": [1]}, "tags": ["x"]},
            "other": true});
        let report = validate_custom(&widget_schema(), &mut object);
        assert_eq!(report.unknown, vec!["spec.extra", "other"]);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(object["spec"]["free"]["anything"], json!([1]));
        assert!(object["spec"].get("extra").is_none());

        let mut bad = json!({"spec": {"size": "big", "mode": "c", "tags": [1]}});
        let report = validate_custom(&widget_schema(), &mut bad);
        let fields: Vec<&str> = report.errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(fields, vec!["spec.size", "spec.mode", "spec.tags[0]"]);
        assert_eq!(
            report.errors[0].2,
            "Invalid value: \"big\": spec.size in body must be of type integer: \"big\""
        );
        let mut missing = json!({"spec": {"size": 0}});
        let report = validate_custom(&widget_schema(), &mut missing);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert_eq!(report.errors[0].0, "spec.size");
        let mut missing = json!({"spec": {}});
        let report = validate_custom(&widget_schema(), &mut missing);
        assert_eq!(report.errors[0].1, "FieldValueRequired");
    }

    #[test]
    fn definitions_get_established_and_bad_ones_are_refused() {
        let mut definition = json!({"metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1", "served": true, "storage": true}]}});
        admit_definition(&mut definition).unwrap();
        assert_eq!(definition["status"]["conditions"][1]["type"], "Established");
        assert_eq!(
            definition["status"]["acceptedNames"]["listKind"],
            "WidgetList"
        );
        assert_eq!(definition["status"]["storedVersions"], json!(["v1"]));
        let mut misnamed = definition.clone();
        misnamed["metadata"]["name"] = "gadgets.example.com".into();
        assert_eq!(admit_definition(&mut misnamed).unwrap_err().code(), 422);
    }
}
