//! Discovery documents: legacy (`APIVersions`, `APIGroupList`, `APIGroup`,
//! `APIResourceList`) and aggregated (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`).
//!
//! kubectl asks `/api` and `/apis` for the aggregated form first and falls back to one legacy
//! request per group version when it gets plain JSON; kube-rs `Discovery::run_aggregated`
//! has no fallback at all, so both forms are served. Which one a request gets is decided by
//! its `Accept` list, first supported entry wins, as the real server negotiates. Every
//! document is a function of the resource types passed in, because custom resources join
//! discovery when their CRD is created.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::resources::ResourceType;

/// The group of the aggregated discovery types.
const DISCOVERY_GROUP: &str = "apidiscovery.k8s.io";

/// Verbs of the `status` and `scale` subresources.
const SUBRESOURCE_VERBS: &[&str] = &["get", "patch", "update"];

/// The form of discovery document a request negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `APIVersions` / `APIGroupList`: plain `application/json`.
    Legacy,
    /// `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`.
    V2,
    /// `apidiscovery.k8s.io/v2beta1`, which kubectl 1.27 asks for alone.
    V2Beta1,
}

impl Format {
    /// The `apiVersion` and media-type `v=` parameter of an aggregated form.
    fn version(self) -> Option<&'static str> {
        match self {
            Format::Legacy => None,
            Format::V2 => Some("v2"),
            Format::V2Beta1 => Some("v2beta1"),
        }
    }
}

/// The first entry of `accept` this server can answer. Entries asking for another
/// transformation (`as=Table`) or encoding (protobuf) are skipped; an absent or entirely
/// unsupported list gets the legacy form, which every client understands.
pub(crate) fn negotiate(accept: &str) -> Format {
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut group = None;
        let mut version = None;
        let mut kind = None;
        for parameter in parts {
            let Some((key, value)) = parameter.split_once('=') else {
                continue;
            };
            match key.trim() {
                "g" => group = Some(value.trim()),
                "v" => version = Some(value.trim()),
                "as" => kind = Some(value.trim()),
                _ => {}
            }
        }
        if !matches!(media.as_str(), "application/json" | "application/*" | "*/*") {
            continue;
        }
        match (group, version, kind) {
            (None, None, None) => return Format::Legacy,
            (Some(DISCOVERY_GROUP), Some("v2"), Some("APIGroupDiscoveryList")) => {
                return Format::V2;
            }
            (Some(DISCOVERY_GROUP), Some("v2beta1"), Some("APIGroupDiscoveryList")) => {
                return Format::V2Beta1;
            }
            _ => {}
        }
    }
    Format::Legacy
}

/// The `Content-Type` of a response body: the aggregated discovery and `meta.k8s.io`
/// transformations name themselves in the media type's parameters (clients check them);
/// everything else is plain JSON.
pub(crate) fn content_type(body: &Value) -> &'static str {
    let kind = body.get("kind").and_then(Value::as_str);
    let api_version = body.get("apiVersion").and_then(Value::as_str);
    match (kind, api_version) {
        (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io/v2")) => {
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        }
        (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io/v2beta1")) => {
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
        }
        (Some("Table"), Some("meta.k8s.io/v1")) => crate::table::CONTENT_TYPE,
        (Some("PartialObjectMetadata"), Some("meta.k8s.io/v1")) => {
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
        }
        (Some("PartialObjectMetadataList"), Some("meta.k8s.io/v1")) => {
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
        }
        _ => "application/json",
    }
}

/// `GET /api`: `APIVersions`, or the aggregated list holding the core group (named `""`).
pub(crate) fn api(accept: &str, host: &str, resources: &[&ResourceType]) -> Value {
    let format = negotiate(accept);
    if format == Format::Legacy {
        return json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        });
    }
    aggregated(format, resources, true)
}

/// `GET /apis`: `APIGroupList`, or the aggregated list of the named groups.
pub(crate) fn apis(accept: &str, resources: &[&ResourceType]) -> Value {
    let format = negotiate(accept);
    if format == Format::Legacy {
        let groups: Vec<Value> = groups(resources)
            .into_iter()
            .map(|(group, versions)| group_document(group, &versions))
            .collect();
        return json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups});
    }
    aggregated(format, resources, false)
}

/// `GET /apis/{group}`: `APIGroup`.
pub(crate) fn api_group(group: &str, resources: &[&ResourceType]) -> Result<Value, ApiError> {
    let (group, versions) = groups(resources)
        .into_iter()
        .find(|(name, _)| *name == group)
        .ok_or(ApiError::NoRoute)?;
    let mut document = group_document(group, &versions);
    if let Some(map) = document.as_object_mut() {
        map.insert("kind".into(), "APIGroup".into());
        map.insert("apiVersion".into(), "v1".into());
    }
    Ok(document)
}

/// The named groups (not core) with their versions, in the order of `resources`.
fn groups<'a>(resources: &[&'a ResourceType]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for resource in resources.iter().filter(|r| !r.group.is_empty()) {
        match groups.iter_mut().find(|(name, _)| *name == resource.group) {
            Some((_, versions)) if !versions.contains(&resource.version) => {
                versions.push(resource.version);
            }
            Some(_) => {}
            None => groups.push((resource.group, vec![resource.version])),
        }
    }
    groups
}

/// A legacy group entry; the first version listed is the preferred one.
fn group_document(group: &str, versions: &[&str]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|version| json!({"groupVersion": format!("{group}/{version}"), "version": version}))
        .collect();
    let preferred = entries.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": entries, "preferredVersion": preferred})
}

/// The resource types of one group version.
fn in_group_version<'a>(
    resources: &'a [&'a ResourceType],
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'a ResourceType> + 'a {
    resources
        .iter()
        .copied()
        .filter(move |r| r.group == group && r.version == version)
}

/// `GET /api/v1`, `GET /apis/{group}/{version}`: `APIResourceList`, subresources listed as
/// `deployments/status` with no short names or categories (kubectl would otherwise report
/// ambiguous short names).
pub(crate) fn resource_list(
    group: &str,
    version: &str,
    resources: &[&ResourceType],
) -> Result<Value, ApiError> {
    let mut listed = Vec::new();
    for r in in_group_version(resources, group, version) {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if let Some(map) = entry.as_object_mut() {
            if !r.short_names.is_empty() {
                map.insert("shortNames".into(), json!(r.short_names));
            }
            if !r.categories.is_empty() {
                map.insert("categories".into(), json!(r.categories));
            }
        }
        listed.push(entry);
        for (subresource, kind) in subresources(r) {
            let mut entry = json!({
                "name": format!("{}/{subresource}", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
            });
            if let Some(map) = entry.as_object_mut() {
                // A kind of another group version names it, as the real list does.
                if !kind.group.is_empty() {
                    map.insert("group".into(), json!(kind.group));
                    map.insert("version".into(), json!(kind.version));
                }
                map.insert("kind".into(), json!(kind.kind));
                map.insert("verbs".into(), json!(SUBRESOURCE_VERBS));
            }
            listed.push(entry);
        }
    }
    if listed.is_empty() {
        return Err(ApiError::NoRoute);
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Ok(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": listed,
    }))
}

/// The kind a resource or subresource answers; empty group and version mean "the
/// resource's own group version", as aggregated discovery writes it.
struct ResponseKind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
}

impl ResponseKind {
    fn to_json(&self) -> Value {
        json!({"group": self.group, "version": self.version, "kind": self.kind})
    }
}

/// The subresources a resource serves, with the kind each answers.
fn subresources(resource: &ResourceType) -> Vec<(&'static str, ResponseKind)> {
    let mut subresources = Vec::new();
    if resource.has_status {
        subresources.push((
            "status",
            ResponseKind {
                group: "",
                version: "",
                kind: resource.kind,
            },
        ));
    }
    if resource.has_scale() {
        subresources.push((
            "scale",
            ResponseKind {
                group: "autoscaling",
                version: "v1",
                kind: "Scale",
            },
        ));
    }
    subresources
}

/// The aggregated list: the core group alone (`core`) or every named group.
fn aggregated(format: Format, resources: &[&ResourceType], core: bool) -> Value {
    let version = format.version().unwrap_or("v2");
    let items: Vec<Value> = if core {
        if resources.iter().any(|r| r.group.is_empty()) {
            vec![group_discovery("", &["v1"], resources)]
        } else {
            Vec::new()
        }
    } else {
        groups(resources)
            .into_iter()
            .map(|(group, versions)| group_discovery(group, &versions, resources))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("{DISCOVERY_GROUP}/{version}"),
        "metadata": {},
        "items": items,
    })
}

/// One `APIGroupDiscovery`: its versions, preferred first, each with its resources.
fn group_discovery(group: &str, versions: &[&str], resources: &[&ResourceType]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let listed: Vec<Value> = in_group_version(resources, group, version)
                .map(resource_discovery)
                .collect();
            json!({"version": version, "resources": listed, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
}

/// One `APIResourceDiscovery`.
fn resource_discovery(resource: &ResourceType) -> Value {
    let own = ResponseKind {
        group: "",
        version: "",
        kind: resource.kind,
    };
    let mut entry = Map::new();
    entry.insert("resource".into(), json!(resource.plural));
    entry.insert("responseKind".into(), own.to_json());
    entry.insert(
        "scope".into(),
        json!(if resource.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }),
    );
    entry.insert("singularResource".into(), json!(resource.singular));
    entry.insert("verbs".into(), json!(resource.verbs));
    if !resource.short_names.is_empty() {
        entry.insert("shortNames".into(), json!(resource.short_names));
    }
    if !resource.categories.is_empty() {
        entry.insert("categories".into(), json!(resource.categories));
    }
    let subresources: Vec<Value> = subresources(resource)
        .into_iter()
        .map(|(name, kind)| {
            json!({"subresource": name, "responseKind": kind.to_json(), "verbs": SUBRESOURCE_VERBS})
        })
        .collect();
    if !subresources.is_empty() {
        entry.insert("subresources".into(), Value::Array(subresources));
    }
    Value::Object(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGG: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn negotiation_takes_the_first_supported_entry() {
        assert_eq!(negotiate(AGG), Format::V2);
        assert_eq!(negotiate(""), Format::Legacy);
        assert_eq!(negotiate("application/json, */*"), Format::Legacy);
        assert_eq!(
            negotiate(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
            ),
            Format::V2Beta1
        );
        // Plain JSON first wins even when aggregated comes later.
        assert_eq!(
            negotiate(
                "application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            ),
            Format::Legacy
        );
        // Unsupported encodings and versions are skipped, not answered.
        assert_eq!(
            negotiate(
                "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList, application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList"
            ),
            Format::V2
        );
        assert_eq!(
            negotiate("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"),
            Format::Legacy
        );
    }

    #[test]
    fn aggregated_apis_matches_the_captured_shape() {
        let served: Vec<&ResourceType> = crate::resources::RESOURCES.iter().collect();
        let list = apis(AGG, &served);
        assert_eq!(list["kind"], "APIGroupDiscoveryList");
        assert_eq!(list["apiVersion"], "apidiscovery.k8s.io/v2");
        assert_eq!(
            content_type(&list),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
        let apps = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["metadata"]["name"] == "apps")
            .unwrap();
        assert_eq!(apps["versions"][0]["freshness"], "Current");
        let deployments = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        assert_eq!(
            deployments,
            &json!({
                "resource": "deployments",
                "responseKind": {"group": "", "version": "", "kind": "Deployment"},
                "scope": "Namespaced",
                "singularResource": "deployment",
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "shortNames": ["deploy"],
                "categories": ["all"],
                "subresources": [
                    {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": "Deployment"}, "verbs": ["get", "patch", "update"]},
                    {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": ["get", "patch", "update"]}
                ]
            })
        );
        // The core group is only under /api, named "".
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|item| item["metadata"]["name"] != "")
        );
        let core = api(AGG, "127.0.0.1:1", &served);
        assert_eq!(core["items"][0]["metadata"]["name"], "");
        assert_eq!(core["items"][0]["versions"][0]["version"], "v1");
        let namespaces = &core["items"][0]["versions"][0]["resources"][0];
        assert_eq!(namespaces["scope"], "Cluster");
        assert_eq!(namespaces["subresources"][0]["subresource"], "status");
        let beta = api(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
            "h",
            &served,
        );
        assert_eq!(beta["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        assert_eq!(
            content_type(&beta),
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
        );
    }

    #[test]
    fn legacy_documents_list_subresources_without_short_names() {
        let served: Vec<&ResourceType> = crate::resources::RESOURCES.iter().collect();
        let legacy = api("application/json", "127.0.0.1:8080", &served);
        assert_eq!(legacy["versions"], json!(["v1"]));
        assert_eq!(
            legacy["serverAddressByClientCIDRs"][0]["serverAddress"],
            "127.0.0.1:8080"
        );
        assert_eq!(content_type(&legacy), "application/json");
        let groups = apis("", &served);
        assert_eq!(groups["kind"], "APIGroupList");
        assert_eq!(
            groups["groups"][0]["preferredVersion"]["groupVersion"],
            "apps/v1"
        );
        let list = resource_list("apps", "v1", &served).unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            &names[..3],
            ["deployments", "deployments/status", "deployments/scale"]
        );
        let scale = &list["resources"][2];
        assert_eq!(
            scale,
            &json!({"name": "deployments/scale", "singularName": "", "namespaced": true,
                    "group": "autoscaling", "version": "v1", "kind": "Scale",
                    "verbs": ["get", "patch", "update"]})
        );
        assert!(resource_list("apps", "v2", &served).is_err());
        assert_eq!(api_group("apps", &served).unwrap()["kind"], "APIGroup");
        assert!(api_group("nope", &served).is_err());
    }
}
