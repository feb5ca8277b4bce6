//! Removed and deprecated API versions of built-in kinds, from the Kubernetes deprecated
//! API migration guide (<https://kubernetes.io/docs/reference/using-api/deprecation-guide/>):
//! which minor deprecated a group/version of a kind, which removed it, and what replaces it.

use shipway_model::Gvk;

/// One retired API.
#[derive(Debug, Clone, Copy)]
pub struct Retired {
    /// `group/version`.
    pub api_version: &'static str,
    /// Kinds.
    pub kinds: &'static [&'static str],
    /// The minor that deprecated it.
    pub deprecated_in: u32,
    /// The minor that stopped serving it.
    pub removed_in: u32,
    /// What to use instead (`apiVersion`, or a sentence).
    pub replacement: &'static str,
}

const WORKLOADS: &[&str] = &["Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"];
const RBAC: &[&str] = &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
const WEBHOOKS: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];
const STORAGE: &[&str] = &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"];
const FLOW: &[&str] = &["FlowSchema", "PriorityLevelConfiguration"];

/// The table, oldest removals first.
pub const RETIRED: &[Retired] = &[
    Retired {
        api_version: "extensions/v1beta1",
        kinds: &["Deployment", "DaemonSet", "ReplicaSet"],
        deprecated_in: 9,
        removed_in: 16,
        replacement: "apps/v1",
    },
    Retired {
        api_version: "extensions/v1beta1",
        kinds: &["NetworkPolicy"],
        deprecated_in: 9,
        removed_in: 16,
        replacement: "networking.k8s.io/v1",
    },
    Retired {
        api_version: "extensions/v1beta1",
        kinds: &["PodSecurityPolicy"],
        deprecated_in: 11,
        removed_in: 16,
        replacement: "policy/v1beta1 (itself removed in 1.25: use Pod Security Admission)",
    },
    Retired {
        api_version: "apps/v1beta1",
        kinds: WORKLOADS,
        deprecated_in: 9,
        removed_in: 16,
        replacement: "apps/v1",
    },
    Retired {
        api_version: "apps/v1beta2",
        kinds: WORKLOADS,
        deprecated_in: 9,
        removed_in: 16,
        replacement: "apps/v1",
    },
    Retired {
        api_version: "extensions/v1beta1",
        kinds: &["Ingress"],
        deprecated_in: 14,
        removed_in: 22,
        replacement: "networking.k8s.io/v1",
    },
    Retired {
        api_version: "networking.k8s.io/v1beta1",
        kinds: &["Ingress", "IngressClass"],
        deprecated_in: 19,
        removed_in: 22,
        replacement: "networking.k8s.io/v1",
    },
    Retired {
        api_version: "rbac.authorization.k8s.io/v1beta1",
        kinds: RBAC,
        deprecated_in: 17,
        removed_in: 22,
        replacement: "rbac.authorization.k8s.io/v1",
    },
    Retired {
        api_version: "apiextensions.k8s.io/v1beta1",
        kinds: &["CustomResourceDefinition"],
        deprecated_in: 16,
        removed_in: 22,
        replacement: "apiextensions.k8s.io/v1",
    },
    Retired {
        api_version: "admissionregistration.k8s.io/v1beta1",
        kinds: WEBHOOKS,
        deprecated_in: 16,
        removed_in: 22,
        replacement: "admissionregistration.k8s.io/v1",
    },
    Retired {
        api_version: "apiregistration.k8s.io/v1beta1",
        kinds: &["APIService"],
        deprecated_in: 19,
        removed_in: 22,
        replacement: "apiregistration.k8s.io/v1",
    },
    Retired {
        api_version: "certificates.k8s.io/v1beta1",
        kinds: &["CertificateSigningRequest"],
        deprecated_in: 19,
        removed_in: 22,
        replacement: "certificates.k8s.io/v1",
    },
    Retired {
        api_version: "coordination.k8s.io/v1beta1",
        kinds: &["Lease"],
        deprecated_in: 19,
        removed_in: 22,
        replacement: "coordination.k8s.io/v1",
    },
    Retired {
        api_version: "scheduling.k8s.io/v1beta1",
        kinds: &["PriorityClass"],
        deprecated_in: 14,
        removed_in: 22,
        replacement: "scheduling.k8s.io/v1",
    },
    Retired {
        api_version: "storage.k8s.io/v1beta1",
        kinds: STORAGE,
        deprecated_in: 19,
        removed_in: 22,
        replacement: "storage.k8s.io/v1",
    },
    Retired {
        api_version: "batch/v1beta1",
        kinds: &["CronJob"],
        deprecated_in: 21,
        removed_in: 25,
        replacement: "batch/v1",
    },
    Retired {
        api_version: "discovery.k8s.io/v1beta1",
        kinds: &["EndpointSlice"],
        deprecated_in: 21,
        removed_in: 25,
        replacement: "discovery.k8s.io/v1",
    },
    Retired {
        api_version: "events.k8s.io/v1beta1",
        kinds: &["Event"],
        deprecated_in: 19,
        removed_in: 25,
        replacement: "events.k8s.io/v1",
    },
    Retired {
        api_version: "autoscaling/v2beta1",
        kinds: &["HorizontalPodAutoscaler"],
        deprecated_in: 22,
        removed_in: 25,
        replacement: "autoscaling/v2",
    },
    Retired {
        api_version: "policy/v1beta1",
        kinds: &["PodDisruptionBudget"],
        deprecated_in: 21,
        removed_in: 25,
        replacement: "policy/v1",
    },
    Retired {
        api_version: "policy/v1beta1",
        kinds: &["PodSecurityPolicy"],
        deprecated_in: 21,
        removed_in: 25,
        replacement: "Pod Security Admission (namespace labels `pod-security.kubernetes.io/*`)",
    },
    Retired {
        api_version: "node.k8s.io/v1beta1",
        kinds: &["RuntimeClass"],
        deprecated_in: 20,
        removed_in: 25,
        replacement: "node.k8s.io/v1",
    },
    Retired {
        api_version: "flowcontrol.apiserver.k8s.io/v1beta1",
        kinds: FLOW,
        deprecated_in: 23,
        removed_in: 26,
        replacement: "flowcontrol.apiserver.k8s.io/v1",
    },
    Retired {
        api_version: "autoscaling/v2beta2",
        kinds: &["HorizontalPodAutoscaler"],
        deprecated_in: 23,
        removed_in: 26,
        replacement: "autoscaling/v2",
    },
    Retired {
        api_version: "storage.k8s.io/v1beta1",
        kinds: &["CSIStorageCapacity"],
        deprecated_in: 24,
        removed_in: 27,
        replacement: "storage.k8s.io/v1",
    },
    Retired {
        api_version: "flowcontrol.apiserver.k8s.io/v1beta2",
        kinds: FLOW,
        deprecated_in: 26,
        removed_in: 29,
        replacement: "flowcontrol.apiserver.k8s.io/v1",
    },
    Retired {
        api_version: "flowcontrol.apiserver.k8s.io/v1beta3",
        kinds: FLOW,
        deprecated_in: 29,
        removed_in: 32,
        replacement: "flowcontrol.apiserver.k8s.io/v1",
    },
];

/// The retirement entry of a kind's group/version, if any.
pub fn lookup(gvk: &Gvk) -> Option<&'static Retired> {
    let api_version = gvk.api_version();
    RETIRED
        .iter()
        .find(|r| r.api_version == api_version && r.kinds.contains(&gvk.kind.as_str()))
}

/// Where a kind's group/version stands at Kubernetes 1.`target`: removed (`true`) or
/// deprecated but served (`false`); `None` when it is current.
pub fn retirement(gvk: &Gvk, target: u32) -> Option<(&'static Retired, bool)> {
    let retired = lookup(gvk)?;
    if retired.removed_in <= target {
        Some((retired, true))
    } else if retired.deprecated_in <= target {
        Some((retired, false))
    } else {
        None
    }
}
