//! `/openapi/v3`: the index of group-version documents and one `OpenAPI` 3.0 document per
//! served group version, built from the bundled schema facts.
//!
//! kubectl refuses `apply`, `create` and `replace` without these documents (it checks that
//! the PATCH operation of the kind lists a `fieldValidation` query parameter), and its
//! client-side apply computes strategic merge patches from `components.schemas`: the patch
//! strategy, merge key and list type of every field, and the `x-kubernetes-group-version-kind`
//! of the top-level kind. The documents follow the real server's shape (property references
//! wrapped in `allOf`, the four patch media types on built-in kinds, three on custom
//! resources, whose bodies cannot be strategic merge patches). Everything is a function of the
//! resource types passed in, because custom resources appear when a CRD is created; the
//! index's hashes change with the documents, so kubectl's disk cache never serves a stale one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Map, Value, json};
use shipway_schema::{Definition, Field, Schema, Type};

use crate::resources::ResourceType;

/// Looks up the `openAPIV3Schema` of a custom resource's served version; `None` for the
/// built-in kinds (and for custom resources without a schema).
pub(crate) type CrdSchemaLookup<'a> = &'a dyn Fn(&ResourceType) -> Option<Value>;

/// The definition every object's `metadata` references.
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
/// The definition every list's `metadata` references.
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
/// What DELETE operations answer.
const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
/// The body of DELETE operations.
const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
/// The body of PATCH operations (a free-form object).
const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// The body of the `scale` subresource.
const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";

/// Patch media types a built-in kind accepts, in the real server's order.
const BUILTIN_PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// Custom resources have no Go struct to carry patch strategies, so no strategic merge.
const CUSTOM_PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
];

/// The schema facts the documents are built from: the version `/version` reports.
fn bundled_schema() -> Option<&'static Schema> {
    shipway_schema::bundled(&format!("1.{}", crate::SERVER_MINOR))
}

/// The `/openapi/v3` index: one `serverRelativeURL` per served group version, each carrying
/// the hash of its document so clients can cache documents for good.
pub(crate) fn index(resources: &[&ResourceType], crd_schema: CrdSchemaLookup<'_>) -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions(resources) {
        let key = gv_path(group, version);
        let hash = document(group, version, resources, crd_schema)
            .as_ref()
            .map(hash)
            .unwrap_or_default();
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// The document at `/openapi/v3/{segments}`: `["api", "v1"]` or `["apis", group, version]`;
/// `None` for anything not served.
pub(crate) fn document_at(
    segments: &[&str],
    resources: &[&ResourceType],
    crd_schema: CrdSchemaLookup<'_>,
) -> Option<Value> {
    match segments {
        ["api", "v1"] => document("", "v1", resources, crd_schema),
        ["apis", group, version] => document(group, version, resources, crd_schema),
        _ => None,
    }
}

/// A stable hex digest of a document (64-bit FNV-1a of its serialisation). Documents are
/// built in a fixed order, so equal documents hash equally across runs; a client only
/// needs the hash to change when the document does.
pub(crate) fn hash(document: &Value) -> String {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in document.to_string().bytes() {
        state ^= u64::from(byte);
        state = state.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{state:016X}")
}

/// The group versions served, core first, in the order of `resources`.
fn group_versions<'a>(resources: &[&'a ResourceType]) -> Vec<(&'a str, &'a str)> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for resource in resources {
        if !seen.contains(&(resource.group, resource.version)) {
            seen.push((resource.group, resource.version));
        }
    }
    seen.sort_by_key(|(group, _)| !group.is_empty());
    seen
}

/// `api/v1` or `apis/{group}/{version}`: the document's key in the index.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The `OpenAPI` document of one group version; `None` when nothing is served there.
pub(crate) fn document(
    group: &str,
    version: &str,
    resources: &[&ResourceType],
    crd_schema: CrdSchemaLookup<'_>,
) -> Option<Value> {
    let served: Vec<&ResourceType> = resources
        .iter()
        .copied()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let schema = bundled_schema();
    let mut roots: BTreeSet<String> = [STATUS, DELETE_OPTIONS, PATCH]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut custom_schemas: BTreeMap<String, Value> = BTreeMap::new();
    let mut paths = Map::new();
    for resource in &served {
        let kind = kind_schemas(resource, schema, crd_schema);
        match &kind {
            KindSchemas::Builtin { kind, list } => {
                roots.insert(kind.clone());
                roots.extend(list.iter().cloned());
            }
            KindSchemas::Custom { kind, list } => {
                roots.insert(OBJECT_META.to_owned());
                roots.insert(LIST_META.to_owned());
                custom_schemas.insert(kind.0.clone(), kind.1.clone());
                custom_schemas.insert(list.0.clone(), list.1.clone());
            }
        }
        if resource.has_scale() {
            roots.insert(SCALE.to_owned());
        }
        resource_paths(resource, &kind, &mut paths);
    }
    let mut schemas = Map::new();
    if let Some(schema) = schema {
        let owners = gvk_owners(schema);
        for name in closure(schema, roots) {
            if let Some(definition) = schema.definition(&name) {
                let mut converted = definition_schema(definition);
                if let (Some(gvks), Some(map)) = (owners.get(&name), converted.as_object_mut()) {
                    map.insert("x-kubernetes-group-version-kind".into(), json!(gvks));
                }
                schemas.insert(name, converted);
            }
        }
    }
    for (name, value) in custom_schemas {
        schemas.insert(name, value);
    }
    // Keys sorted as the real server writes them, and so the hash is stable.
    let schemas: BTreeMap<String, Value> = schemas.into_iter().collect();
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{}.0", crate::SERVER_MINOR)},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// The component schemas one resource's operations reference.
enum KindSchemas {
    /// A kind of the bundled schema: its definition name and its list's, if any.
    Builtin { kind: String, list: Option<String> },
    /// A custom resource: (name, schema) of the kind and of its list.
    Custom {
        kind: (String, Value),
        list: (String, Value),
    },
}

impl KindSchemas {
    /// The component the item operations answer.
    fn kind_name(&self) -> &str {
        match self {
            KindSchemas::Builtin { kind, .. }
            | KindSchemas::Custom {
                kind: (kind, _), ..
            } => kind,
        }
    }

    /// The component the list operation answers (the kind itself when no list is known).
    fn list_name(&self) -> &str {
        match self {
            KindSchemas::Builtin { kind, list } => list.as_deref().unwrap_or(kind),
            KindSchemas::Custom {
                list: (list, _), ..
            } => list,
        }
    }

    fn is_custom(&self) -> bool {
        matches!(self, KindSchemas::Custom { .. })
    }
}

/// Whether `resource` is a built-in kind of the bundled schema or a custom resource, and the
/// schemas to publish for it. A kind the bundled schema does not know is custom even without
/// a CRD schema: the simulator cannot strategic-merge it.
fn kind_schemas(
    resource: &ResourceType,
    schema: Option<&Schema>,
    crd_schema: CrdSchemaLookup<'_>,
) -> KindSchemas {
    let builtin =
        schema.and_then(|s| s.definition_for(resource.group, resource.version, resource.kind));
    match (crd_schema(resource), builtin) {
        (None, Some(kind)) => {
            let list_kind = format!("{}List", resource.kind);
            let list = schema
                .and_then(|s| s.definition_for(resource.group, resource.version, &list_kind))
                .map(str::to_owned);
            KindSchemas::Builtin {
                kind: kind.to_owned(),
                list,
            }
        }
        (crd, _) => custom_schemas(resource, crd),
    }
}

/// The published schemas of a custom resource: the CRD's `openAPIV3Schema` under
/// `<reversed group>.<version>.<Kind>` with the standard `apiVersion`, `kind` and
/// `metadata` properties, and a list kind around it, as the real server publishes them.
fn custom_schemas(resource: &ResourceType, crd: Option<Value>) -> KindSchemas {
    let reversed: Vec<&str> = resource.group.rsplit('.').collect();
    let prefix = format!("{}.{}", reversed.join("."), resource.version);
    let kind_name = format!("{prefix}.{}", resource.kind);
    let list_kind = format!("{}List", resource.kind);
    let list_name = format!("{prefix}.{list_kind}");
    let mut kind = match crd {
        Some(Value::Object(map)) => map,
        _ => Map::from_iter([
            ("type".to_owned(), json!("object")),
            (
                "x-kubernetes-preserve-unknown-fields".to_owned(),
                json!(true),
            ),
        ]),
    };
    kind.entry("type").or_insert_with(|| json!("object"));
    let properties = kind
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(properties) = properties.as_object_mut() {
        properties.insert("apiVersion".into(), json!({"type": "string"}));
        properties.insert("kind".into(), json!({"type": "string"}));
        properties.insert("metadata".into(), wrapped_ref(OBJECT_META));
    }
    kind.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([gvk(resource.group, resource.version, resource.kind)]),
    );
    let list = json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "items": {"type": "array", "items": {"$ref": component_ref(&kind_name)}},
            "kind": {"type": "string"},
            "metadata": wrapped_ref(LIST_META),
        },
        "x-kubernetes-group-version-kind": [gvk(resource.group, resource.version, &list_kind)],
    });
    KindSchemas::Custom {
        kind: (kind_name, Value::Object(kind)),
        list: (list_name, list),
    }
}

/// `{group, kind, version}` as the extensions spell it.
fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

fn component_ref(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

/// A reference as the real server writes it inside properties and items: wrapped in
/// `allOf`, so that siblings such as `description` or the patch extensions stay valid.
fn wrapped_ref(name: &str) -> Value {
    json!({"allOf": [{"$ref": component_ref(name)}]})
}

/// Every definition name with the kinds it is registered for, sorted so documents are
/// byte-identical across runs (the schema keeps them in a hash map).
fn gvk_owners(schema: &Schema) -> BTreeMap<String, Vec<Value>> {
    let mut owners: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for key in schema.kinds() {
        let mut parts = key.splitn(3, '/');
        let (Some(group), Some(version), Some(kind)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if let Some(definition) = schema.definition_for(group, version, kind) {
            owners.entry(definition.to_owned()).or_default().push((
                group.to_owned(),
                version.to_owned(),
                kind.to_owned(),
            ));
        }
    }
    owners
        .into_iter()
        .map(|(name, mut gvks)| {
            gvks.sort();
            let gvks = gvks.iter().map(|(g, v, k)| gvk(g, v, k)).collect();
            (name, gvks)
        })
        .collect()
}

/// The definitions reachable from `roots` through references, sorted by name.
fn closure(schema: &Schema, roots: BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = roots.into_iter().collect();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(definition) = schema.definition(&name) else {
            continue;
        };
        let mut refs = Vec::new();
        for field in definition.properties.values() {
            collect_refs(&field.ty, &mut refs);
        }
        if let Some(ty) = &definition.ty {
            collect_refs(ty, &mut refs);
        }
        queue.extend(refs.into_iter().filter(|r| !seen.contains(r)));
    }
    seen
}

fn collect_refs(ty: &Type, refs: &mut Vec<String>) {
    match ty {
        Type::Ref(name) => refs.push(name.clone()),
        Type::Array(inner) | Type::Map(inner) => collect_refs(inner, refs),
        Type::Scalar(_) | Type::Any => {}
    }
}

/// A definition as an `OpenAPI` v3 schema.
fn definition_schema(definition: &Definition) -> Value {
    if !definition.is_struct {
        return match &definition.ty {
            Some(ty) => type_schema(ty, definition.format.as_deref()),
            None => json!({"type": "object"}),
        };
    }
    let mut names: Vec<&String> = definition.properties.keys().collect();
    names.sort();
    let properties: Map<String, Value> = names
        .into_iter()
        .map(|name| (name.clone(), field_schema(&definition.properties[name])))
        .collect();
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    if !definition.required.is_empty() {
        schema.insert("required".into(), json!(definition.required));
    }
    Value::Object(schema)
}

/// One property: its type plus the merge facts strategic merge and apply read.
fn field_schema(field: &Field) -> Value {
    let mut schema = match type_schema(&field.ty, field.format.as_deref()) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(strategy) = &field.patch_strategy {
        schema.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
    }
    if let Some(key) = &field.merge_key {
        schema.insert("x-kubernetes-patch-merge-key".into(), json!(key));
    }
    if let Some(list_type) = &field.list_type {
        schema.insert("x-kubernetes-list-type".into(), json!(list_type));
    }
    if !field.list_map_keys.is_empty() {
        schema.insert(
            "x-kubernetes-list-map-keys".into(),
            json!(field.list_map_keys),
        );
    }
    if !field.enum_values.is_empty() {
        schema.insert("enum".into(), json!(field.enum_values));
    }
    Value::Object(schema)
}

/// A type; `format` belongs to its innermost scalar (the schema data records it so).
fn type_schema(ty: &Type, format: Option<&str>) -> Value {
    match ty {
        Type::Ref(name) => wrapped_ref(name),
        Type::Array(inner) => json!({"type": "array", "items": type_schema(inner, format)}),
        Type::Map(inner) => {
            json!({"type": "object", "additionalProperties": type_schema(inner, format)})
        }
        Type::Any => json!({"type": "object"}),
        Type::Scalar(scalar) => match scalar.as_str() {
            // Upstream writes IntOrString as a string of format int-or-string; the
            // extension is what structural schemas (and apply) recognise.
            "int-or-string" => json!({
                "type": "string",
                "format": "int-or-string",
                "x-kubernetes-int-or-string": true,
            }),
            // Quantity: upstream publishes a plain string.
            "number-or-string" => json!({"type": "string"}),
            other => {
                let mut schema = json!({"type": other});
                if let (Some(format), Some(map)) = (format, schema.as_object_mut()) {
                    map.insert("format".into(), json!(format));
                }
                schema
            }
        },
    }
}

/// `CoreV1`, `AppsV1`, `NetworkingV1`, `RbacAuthorizationV1`, `ExampleComV1`: the
/// group-version part of operation ids.
fn operation_prefix(group: &str, version: &str) -> String {
    let group = if group.is_empty() {
        "core"
    } else {
        group.strip_suffix(".k8s.io").unwrap_or(group)
    };
    group
        .split(['.', '-'])
        .chain([version])
        .map(capitalized)
        .collect()
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// What one operation is: the pieces of its id, action, kind and body.
struct Operation<'a> {
    /// `read`, `list`, `create`, `replace`, `patch`, `delete`, `deleteCollection`.
    verb: &'a str,
    /// `x-kubernetes-action`.
    action: &'a str,
    /// `Status`, `Scale`, `ForAllNamespaces` or empty.
    suffix: &'a str,
    /// The kind the operation is tagged with.
    gvk: Value,
    /// The component the 200 answer references.
    response: &'a str,
}

impl<'a> Operation<'a> {
    fn new(
        verb: &'a str,
        action: &'a str,
        suffix: &'a str,
        gvk: &Value,
        response: &'a str,
    ) -> Self {
        Self {
            verb,
            action,
            suffix,
            gvk: gvk.clone(),
            response,
        }
    }
}

/// Adds the paths of one resource: collection, item, all-namespaces list and subresources,
/// each only with the operations its verbs allow.
fn resource_paths(resource: &ResourceType, schemas: &KindSchemas, paths: &mut Map<String, Value>) {
    let prefix = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    let collection = if resource.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", resource.plural)
    } else {
        format!("{prefix}/{}", resource.plural)
    };
    let item = format!("{collection}/{{name}}");
    let has = |verb: &str| resource.verbs.contains(&verb);
    let own = gvk(resource.group, resource.version, resource.kind);
    let kind = schemas.kind_name();
    let patch_types = if schemas.is_custom() {
        CUSTOM_PATCH_TYPES
    } else {
        BUILTIN_PATCH_TYPES
    };
    let id_prefix = operation_prefix(resource.group, resource.version);
    let scope = if resource.namespaced {
        "Namespaced"
    } else {
        ""
    };
    let op = |operation: &Operation<'_>| {
        operation_value(resource, &id_prefix, scope, operation, patch_types)
    };
    let mut path_item = |path: String, with_name: bool, operations: Vec<(&str, Value)>| {
        if operations.is_empty() {
            return;
        }
        let mut item = Map::new();
        for (method, operation) in operations {
            item.insert(method.to_owned(), operation);
        }
        let mut parameters = Vec::new();
        if with_name {
            parameters.push(path_parameter("name", "name of the object"));
        }
        if resource.namespaced && path.contains("{namespace}") {
            parameters.push(path_parameter(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            ));
        }
        parameters.push(query_parameter(
            "pretty",
            "If 'true', then the output is pretty printed.",
        ));
        item.insert("parameters".into(), Value::Array(parameters));
        paths.insert(path, Value::Object(item));
    };
    let mut operations = Vec::new();
    if has("list") {
        operations.push((
            "get",
            op(&Operation::new(
                "list",
                "list",
                "",
                &own,
                schemas.list_name(),
            )),
        ));
    }
    if has("create") {
        operations.push((
            "post",
            op(&Operation::new("create", "post", "", &own, kind)),
        ));
    }
    if has("deletecollection") {
        operations.push((
            "delete",
            op(&Operation::new(
                "deleteCollection",
                "deletecollection",
                "",
                &own,
                STATUS,
            )),
        ));
    }
    path_item(collection, false, operations);

    let mut operations = Vec::new();
    if has("get") {
        operations.push(("get", op(&Operation::new("read", "get", "", &own, kind))));
    }
    if has("update") {
        operations.push(("put", op(&Operation::new("replace", "put", "", &own, kind))));
    }
    if has("patch") {
        operations.push((
            "patch",
            op(&Operation::new("patch", "patch", "", &own, kind)),
        ));
    }
    if has("delete") {
        operations.push((
            "delete",
            op(&Operation::new("delete", "delete", "", &own, STATUS)),
        ));
    }
    path_item(item.clone(), true, operations);

    if resource.namespaced && has("list") {
        let all = format!("{prefix}/{}", resource.plural);
        let list = Operation::new(
            "list",
            "list",
            "ForAllNamespaces",
            &own,
            schemas.list_name(),
        );
        // The id reads `listAppsV1DeploymentForAllNamespaces`: no `Namespaced`.
        let operation = operation_value(resource, &id_prefix, "", &list, patch_types);
        path_item(all, false, vec![("get", operation)]);
    }

    // Subresources: get, put and patch, tagged with the kind they carry.
    let subresource = |suffix: &str, gvk: &Value, response: &str| -> Vec<(&'static str, Value)> {
        [
            ("get", "read", "get"),
            ("put", "replace", "put"),
            ("patch", "patch", "patch"),
        ]
        .into_iter()
        .map(|(method, verb, action)| {
            (
                method,
                op(&Operation::new(verb, action, suffix, gvk, response)),
            )
        })
        .collect()
    };
    if resource.has_status {
        path_item(
            format!("{item}/status"),
            true,
            subresource("Status", &own, kind),
        );
    }
    if resource.has_scale() {
        let scale = gvk("autoscaling", "v1", "Scale");
        path_item(
            format!("{item}/scale"),
            true,
            subresource("Scale", &scale, SCALE),
        );
    }
}

/// One operation object.
fn operation_value(
    resource: &ResourceType,
    id_prefix: &str,
    scope: &str,
    operation: &Operation<'_>,
    patch_types: &[&str],
) -> Value {
    let answer = |component: &str| {
        json!({"application/json": {"schema": {"$ref": component_ref(component)}},
               "application/yaml": {"schema": {"$ref": component_ref(component)}}})
    };
    let mut parameters = Vec::new();
    let mut request_body = None;
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "OK", "content": answer(operation.response)}),
    );
    let writes = |parameters: &mut Vec<Value>| {
        parameters.push(query_parameter(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        ));
        parameters.push(query_parameter(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ));
        parameters.push(query_parameter(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
        ));
    };
    match operation.action {
        "list" | "deletecollection" => {
            for (name, description) in [
                (
                    "continue",
                    "The continue option should be set when retrieving more results from the server.",
                ),
                (
                    "fieldSelector",
                    "A selector to restrict the list of returned objects by their fields.",
                ),
                (
                    "labelSelector",
                    "A selector to restrict the list of returned objects by their labels.",
                ),
                (
                    "limit",
                    "limit is a maximum number of responses to return for a list call.",
                ),
                (
                    "resourceVersion",
                    "resourceVersion sets a constraint on what resource versions a request may be served from.",
                ),
                (
                    "resourceVersionMatch",
                    "resourceVersionMatch determines how resourceVersion is applied to list calls.",
                ),
            ] {
                parameters.push(query_parameter(name, description));
            }
            if operation.action == "list" {
                for (name, description) in [
                    (
                        "allowWatchBookmarks",
                        "allowWatchBookmarks requests watch events with type \"BOOKMARK\".",
                    ),
                    (
                        "sendInitialEvents",
                        "`sendInitialEvents=true` may be set together with `watch=true`.",
                    ),
                    ("timeoutSeconds", "Timeout for the list/watch call."),
                    (
                        "watch",
                        "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
                    ),
                ] {
                    parameters.push(query_parameter(name, description));
                }
            } else {
                delete_parameters(&mut parameters);
                request_body = Some(json!({"content": answer(DELETE_OPTIONS)}));
            }
        }
        "post" | "put" => {
            writes(&mut parameters);
            request_body = Some(json!({"required": true, "content": answer(operation.response)}));
            responses.insert(
                "201".into(),
                json!({"description": "Created", "content": answer(operation.response)}),
            );
        }
        "patch" => {
            writes(&mut parameters);
            parameters.push(json!({
                "name": "force", "in": "query",
                "description": "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
                "schema": {"type": "boolean", "uniqueItems": true},
            }));
            let content: Map<String, Value> = patch_types
                .iter()
                .map(|media| {
                    (
                        (*media).to_owned(),
                        json!({"schema": {"$ref": component_ref(PATCH)}}),
                    )
                })
                .collect();
            request_body = Some(json!({"required": true, "content": content}));
            responses.insert(
                "201".into(),
                json!({"description": "Created", "content": answer(operation.response)}),
            );
        }
        "delete" => {
            parameters.push(query_parameter(
                "dryRun",
                "When present, indicates that modifications should not be persisted.",
            ));
            delete_parameters(&mut parameters);
            request_body = Some(json!({"content": answer(DELETE_OPTIONS)}));
            responses.insert(
                "202".into(),
                json!({"description": "Accepted", "content": answer(STATUS)}),
            );
        }
        _ => {}
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let mut value = json!({
        "tags": [id_prefix_tag(id_prefix)],
        "description": format!("{} {} {}", operation.verb, operation.suffix, resource.kind).split_whitespace().collect::<Vec<_>>().join(" "),
        "operationId": format!("{}{id_prefix}{scope}{}{}", operation.verb, resource.kind, operation.suffix),
        "parameters": parameters,
        "responses": responses,
        "x-kubernetes-action": operation.action,
        "x-kubernetes-group-version-kind": operation.gvk,
    });
    if let (Some(body), Some(map)) = (request_body, value.as_object_mut()) {
        map.insert("requestBody".into(), body);
    }
    value
}

/// The tag the real server groups operations under (`appsV1`, `coreV1`).
fn id_prefix_tag(id_prefix: &str) -> String {
    let mut chars = id_prefix.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

fn delete_parameters(parameters: &mut Vec<Value>) {
    for (name, description) in [
        (
            "gracePeriodSeconds",
            "The duration in seconds before the object should be deleted.",
        ),
        (
            "propagationPolicy",
            "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
        ),
    ] {
        parameters.push(query_parameter(name, description));
    }
}

fn query_parameter(name: &str, description: &str) -> Value {
    let ty = match name {
        "limit" | "timeoutSeconds" | "gracePeriodSeconds" => "integer",
        "allowWatchBookmarks" | "watch" | "sendInitialEvents" => "boolean",
        _ => "string",
    };
    json!({"name": name, "in": "query", "description": description,
           "schema": {"type": ty, "uniqueItems": true}})
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "description": description, "required": true,
           "schema": {"type": "string", "uniqueItems": true}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;

    fn no_crds(_: &ResourceType) -> Option<Value> {
        None
    }

    #[test]
    fn index_lists_every_group_version_with_its_hash() {
        let served = crate::resources::RESOURCES.iter().collect::<Vec<_>>();
        let index = index(&served, &no_crds);
        let paths = index["paths"].as_object().unwrap();
        assert_eq!(paths.keys().next().unwrap(), "api/v1");
        let apps = paths["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap();
        let apps_document = document("apps", "v1", &served, &no_crds).unwrap();
        assert_eq!(
            apps,
            format!("/openapi/v3/apis/apps/v1?hash={}", hash(&apps_document))
        );
        // Built twice, the same bytes: the hash is stable.
        assert_eq!(index, super::index(&served, &no_crds));
        assert!(document_at(&["apis", "nope", "v1"], &served, &no_crds).is_none());
        assert!(document_at(&["api", "v1"], &served, &no_crds).is_some());
    }

    #[test]
    fn deployment_patch_operation_is_what_kubectl_checks() {
        let served = crate::resources::RESOURCES.iter().collect::<Vec<_>>();
        let doc = document("apps", "v1", &served, &no_crds).unwrap();
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        let names: Vec<&str> = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["dryRun", "fieldManager", "fieldValidation", "force"]
        );
        let content: Vec<&String> = patch["requestBody"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(content, BUILTIN_PATCH_TYPES);
        let scale = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
        assert_eq!(
            scale["put"]["x-kubernetes-group-version-kind"]["kind"],
            "Scale"
        );
        let status =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"];
        assert_eq!(
            status["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.Deployment"
        );
        assert_eq!(
            doc["paths"]["/apis/apps/v1/deployments"]["get"]["operationId"],
            "listAppsV1DeploymentForAllNamespaces"
        );
    }

    #[test]
    fn components_carry_the_merge_facts_transitively() {
        let served = crate::resources::RESOURCES.iter().collect::<Vec<_>>();
        let doc = document("apps", "v1", &served, &no_crds).unwrap();
        let schemas = &doc["components"]["schemas"];
        let deployment = &schemas["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        assert_eq!(
            deployment["properties"]["spec"],
            json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]})
        );
        let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["type"], "array");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        assert_eq!(
            containers["items"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.Container"
        );
        let replicas = &schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["replicas"];
        assert_eq!(replicas, &json!({"type": "integer", "format": "int32"}));
        assert_eq!(
            schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["x-kubernetes-int-or-string"],
            true
        );
        assert_eq!(
            schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["labels"],
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        assert_eq!(
            schemas["io.k8s.api.core.v1.Container"]["required"],
            json!(["name"])
        );
        // The scale subresource's body is published, and nothing dangles.
        assert!(schemas["io.k8s.api.autoscaling.v1.Scale"].is_object());
        let text = doc.to_string();
        for piece in text.split("\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(schemas.get(name).is_some(), "{name} dangles");
        }
    }

    #[test]
    fn custom_resources_get_their_crd_schema_and_no_strategic_merge() {
        let widgets = ResourceType::custom(
            "example.com",
            "v1",
            "widgets",
            "widget",
            "Widget",
            true,
            &[],
            &[],
            false,
            json!({"type": "object"}),
            None,
        );
        let mut served: Vec<&ResourceType> = crate::resources::RESOURCES.iter().collect();
        served.push(widgets);
        let crd = |resource: &ResourceType| {
            (resource.kind == "Widget").then(|| {
                json!({"type": "object", "properties": {"spec": {"type": "object",
                    "properties": {"size": {"type": "integer"}}}}})
            })
        };
        let index = index(&served, &crd);
        assert!(index["paths"]["apis/example.com/v1"].is_object());
        let doc = document("example.com", "v1", &served, &crd).unwrap();
        let widget = &doc["components"]["schemas"]["com.example.v1.Widget"];
        assert_eq!(
            widget["properties"]["spec"]["properties"]["size"]["type"],
            "integer"
        );
        assert_eq!(
            widget["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert_eq!(
            widget["x-kubernetes-group-version-kind"][0]["kind"],
            "Widget"
        );
        assert!(
            doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
                .is_object()
        );
        let patch =
            &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
        assert_eq!(patch["operationId"], "patchExampleComV1NamespacedWidget");
        let content: Vec<&String> = patch["requestBody"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(content, CUSTOM_PATCH_TYPES);
        // Custom resources have deletecollection, as on a real server.
        assert!(
            doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets"]
                .get("delete")
                .is_some()
        );
        // A changed CRD schema changes the hash kubectl caches by.
        let other = |resource: &ResourceType| {
            (resource.kind == "Widget").then(|| json!({"type": "object"}))
        };
        assert_ne!(
            super::index(&served, &other)["paths"]["apis/example.com/v1"],
            index["paths"]["apis/example.com/v1"]
        );
        assert!(resources::find("apps", "v1", "deployments").is_some());
    }

    #[test]
    fn cluster_scoped_resources_have_no_namespace_parameter() {
        let served = crate::resources::RESOURCES.iter().collect::<Vec<_>>();
        let doc = document("", "v1", &served, &no_crds).unwrap();
        let namespace = &doc["paths"]["/api/v1/namespaces/{name}"];
        assert_eq!(namespace["get"]["operationId"], "readCoreV1Namespace");
        let names: Vec<&str> = namespace["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["name", "pretty"]);
        assert!(doc["paths"]["/api/v1/namespaces"]["delete"].is_null());
    }
}
