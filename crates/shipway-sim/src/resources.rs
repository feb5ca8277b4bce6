//! The one table of built-in resource types the simulator serves, and lookups into it.
//!
//! Every route, discovery document and storage rule is driven by [`RESOURCES`]: adding a
//! built-in kind is one row here. The rows mirror what a real 1.32 API server reports in
//! discovery (plural, singular, kind, scope, verbs, short names, categories); the two last
//! columns say which storage rules of the real registry strategy apply to the kind.

/// Every verb a real API server lists for an ordinary resource.
const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Namespaces have no `deletecollection` on a real server.
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

/// One built-in resource type.
#[derive(Debug)]
pub struct ResourceType {
    /// API group; `""` is the core (legacy) group served under `/api`.
    pub group: &'static str,
    /// The one version served for the group (no conversion between versions).
    pub version: &'static str,
    /// Plural resource name, the URL segment (`deployments`).
    pub plural: &'static str,
    /// Singular name (`deployment`).
    pub singular: &'static str,
    /// Kind (`Deployment`).
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Verbs a real API server reports for the resource.
    pub verbs: &'static [&'static str],
    /// Short names (`deploy`).
    pub short_names: &'static [&'static str],
    /// Categories (`all`).
    pub categories: &'static [&'static str],
    /// Whether the registry strategy sets `metadata.generation` (1 on create, bumped when
    /// anything outside `metadata` and `status` changes).
    pub tracks_generation: bool,
    /// Whether the kind has a `status` subresource: the main resource then ignores `status`
    /// in writes (cleared on create, kept from the stored object on update), as the real
    /// strategies do.
    pub has_status: bool,
    /// For custom resources: the served version's `openAPIV3Schema` (validation and pruning),
    /// `None` for built-in kinds, which the bundled schema describes.
    pub custom_schema: Option<&'static serde_json::Value>,
    /// A custom resource version's `additionalPrinterColumns` (what `kubectl get` shows
    /// between NAME and AGE); `None` for built-in kinds and definitions without any.
    pub printer_columns: Option<&'static serde_json::Value>,
}

impl ResourceType {
    /// `apiVersion` of objects of this type (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The name real error messages use for the resource: `deployments.apps`, `configmaps`.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The name real `Invalid` messages use: `Deployment.apps`, `ConfigMap`.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_owned()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Verbs this simulator serves for the resource: all the row lists.
    pub fn served_verbs(&self) -> impl Iterator<Item = &'static str> {
        self.verbs.iter().copied()
    }

    /// Whether the type has a `scale` subresource (`autoscaling/v1` `Scale`).
    pub fn has_scale(&self) -> bool {
        self.group == "apps"
            && matches!(self.plural, "deployments" | "replicasets" | "statefulsets")
    }

    /// Whether this is a custom resource served because a CRD exists.
    pub fn is_custom(&self) -> bool {
        self.custom_schema.is_some()
    }

    /// Whether this is the core `namespaces` type.
    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }

    /// A custom resource type served for a CRD. Its strings and schema are leaked so that
    /// handlers can hold `&'static` types without keeping the store locked: a few hundred
    /// bytes per CRD change, which a test or sandbox process never notices.
    #[expect(clippy::too_many_arguments, reason = "one field per CRD name")]
    pub fn custom(
        group: &str,
        version: &str,
        plural: &str,
        singular: &str,
        kind: &str,
        namespaced: bool,
        short_names: &[String],
        categories: &[String],
        has_status: bool,
        schema: serde_json::Value,
        printer_columns: Option<serde_json::Value>,
    ) -> &'static ResourceType {
        fn leak(text: &str) -> &'static str {
            Box::leak(text.to_owned().into_boxed_str())
        }
        fn leak_all(texts: &[String]) -> &'static [&'static str] {
            Box::leak(
                texts
                    .iter()
                    .map(|t| leak(t))
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            )
        }
        Box::leak(Box::new(ResourceType {
            group: leak(group),
            version: leak(version),
            plural: leak(plural),
            singular: leak(singular),
            kind: leak(kind),
            namespaced,
            verbs: ALL_VERBS,
            short_names: leak_all(short_names),
            categories: leak_all(categories),
            tracks_generation: true,
            has_status,
            custom_schema: Some(Box::leak(Box::new(schema))),
            printer_columns: printer_columns.map(|columns| &*Box::leak(Box::new(columns))),
        }))
    }
}

/// Shorthand for a table row; keeps the table one line per resource.
#[expect(
    clippy::too_many_arguments,
    reason = "one positional row per table entry"
)]
const fn row(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    tracks_generation: bool,
    has_status: bool,
) -> ResourceType {
    ResourceType {
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        verbs: ALL_VERBS,
        short_names,
        categories,
        tracks_generation,
        has_status,
        custom_schema: None,
        printer_columns: None,
    }
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// The built-in resource types served, grouped by group version in discovery order.
///
/// Columns: group, version, plural, singular, kind, namespaced, short names, categories,
/// tracks generation, has a status subresource.
pub static RESOURCES: &[ResourceType] = &[
    // core/v1
    ResourceType {
        verbs: NAMESPACE_VERBS,
        ..row(
            "",
            "v1",
            "namespaces",
            "namespace",
            "Namespace",
            false,
            &["ns"],
            NONE,
            false,
            true,
        )
    },
    row(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        NONE,
        false,
        false,
    ),
    row(
        "", "v1", "secrets", "secret", "Secret", true, NONE, NONE, false, false,
    ),
    row(
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        ALL,
        false,
        true,
    ),
    row(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        NONE,
        false,
        false,
    ),
    row(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        true,
        &["po"],
        ALL,
        false,
        true,
    ),
    row(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        NONE,
        false,
        true,
    ),
    row(
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        NONE,
        false,
        false,
    ),
    row(
        "",
        "v1",
        "events",
        "event",
        "Event",
        true,
        &["ev"],
        NONE,
        false,
        false,
    ),
    row(
        "",
        "v1",
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        true,
        &["quota"],
        NONE,
        false,
        true,
    ),
    row(
        "",
        "v1",
        "limitranges",
        "limitrange",
        "LimitRange",
        true,
        &["limits"],
        NONE,
        false,
        false,
    ),
    row(
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        false,
        &["no"],
        NONE,
        false,
        true,
    ),
    row(
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
        NONE,
        false,
        true,
    ),
    // apps/v1
    row(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        ALL,
        true,
        true,
    ),
    row(
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
        ALL,
        true,
        true,
    ),
    row(
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        ALL,
        true,
        true,
    ),
    row(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        ALL,
        true,
        true,
    ),
    row(
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
        NONE,
        NONE,
        false,
        false,
    ),
    // batch/v1
    row(
        "batch", "v1", "jobs", "job", "Job", true, NONE, ALL, true, true,
    ),
    row(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
        ALL,
        true,
        true,
    ),
    // networking.k8s.io/v1
    row(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        true,
        &["ing"],
        NONE,
        true,
        true,
    ),
    row(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
        &["netpol"],
        NONE,
        true,
        false,
    ),
    // events.k8s.io/v1: the simulator's controllers write every event through both APIs.
    // A real server gives it the short name `ev` too; kubectl resolves `ev` to the core
    // group first, and short names here are kept unique.
    row(
        "events.k8s.io",
        "v1",
        "events",
        "event",
        "Event",
        true,
        NONE,
        NONE,
        false,
        false,
    ),
    // policy/v1
    row(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        NONE,
        true,
        true,
    ),
    // autoscaling/v2
    row(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        ALL,
        true,
        true,
    ),
    // rbac.authorization.k8s.io/v1
    row(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        true,
        NONE,
        NONE,
        false,
        false,
    ),
    row(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        NONE,
        NONE,
        false,
        false,
    ),
    row(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        NONE,
        NONE,
        false,
        false,
    ),
    row(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        NONE,
        NONE,
        false,
        false,
    ),
    // coordination.k8s.io/v1
    row(
        "coordination.k8s.io",
        "v1",
        "leases",
        "lease",
        "Lease",
        true,
        NONE,
        NONE,
        false,
        false,
    ),
    // discovery.k8s.io/v1
    row(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
        NONE,
        NONE,
        false,
        false,
    ),
    // apiextensions.k8s.io/v1
    row(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        NONE,
        true,
        true,
    ),
];

/// The resource type served at `group`/`version` under `plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The namespace resource type, which namespaced writes consult.
pub fn namespaces() -> &'static ResourceType {
    &RESOURCES[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_namespaces_comes_first() {
        assert_eq!(namespaces().plural, "namespaces");
        for (index, resource) in RESOURCES.iter().enumerate() {
            for other in &RESOURCES[index + 1..] {
                assert!(
                    !(resource.group == other.group && resource.plural == other.plural),
                    "{} listed twice",
                    resource.plural
                );
                for short in resource.short_names {
                    assert!(
                        !other.short_names.contains(short),
                        "short name {short} twice"
                    );
                }
            }
        }
    }

    #[test]
    fn kinds_exist_in_the_bundled_schema() {
        // The simulator must not invent kinds: every row names a real definition.
        let schema = shipway_schema::bundled("1.32").expect("bundled 1.32 schema");
        for resource in RESOURCES {
            assert!(
                schema
                    .definition_for(resource.group, resource.version, resource.kind)
                    .is_some(),
                "{} {} not in the 1.32 schema",
                resource.api_version(),
                resource.kind
            );
        }
    }
}
