//! Allowed values of string fields that the API server checks in its validation code. The
//! OpenAPI definitions the schema data comes from do not list them, so they are kept here,
//! by definition and field, each from `k8s.io/api` (the `const` values of the field's Go
//! type) and `pkg/apis/core/validation`.

/// The values `field` of `definition` may take, when restricted.
pub fn allowed(definition: &str, field: &str) -> Option<&'static [&'static str]> {
    let short = definition.rsplit('.').next().unwrap_or(definition);
    Some(match (short, field) {
        ("Container" | "EphemeralContainer", "imagePullPolicy") => {
            &["Always", "IfNotPresent", "Never"]
        }
        ("Container" | "EphemeralContainer", "terminationMessagePolicy") => {
            &["File", "FallbackToLogsOnError"]
        }
        ("PodSpec", "restartPolicy") => &["Always", "OnFailure", "Never"],
        ("Container", "restartPolicy") => &["Always"],
        ("PodSpec", "dnsPolicy") => &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ("ContainerPort" | "ServicePort" | "EndpointPort" | "NetworkPolicyPort", "protocol") => {
            &["TCP", "UDP", "SCTP"]
        }
        ("ServiceSpec", "type") => &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
        ("ServiceSpec", "sessionAffinity") => &["ClientIP", "None"],
        ("ServiceSpec", "externalTrafficPolicy" | "internalTrafficPolicy") => &["Cluster", "Local"],
        ("ServiceSpec", "ipFamilyPolicy") => {
            &["SingleStack", "PreferDualStack", "RequireDualStack"]
        }
        ("DeploymentStrategy", "type") => &["Recreate", "RollingUpdate"],
        ("StatefulSetUpdateStrategy" | "DaemonSetUpdateStrategy", "type") => {
            &["RollingUpdate", "OnDelete"]
        }
        ("StatefulSetSpec", "podManagementPolicy") => &["OrderedReady", "Parallel"],
        ("CronJobSpec", "concurrencyPolicy") => &["Allow", "Forbid", "Replace"],
        ("JobSpec", "completionMode") => &["NonIndexed", "Indexed"],
        ("HTTPIngressPath", "pathType") => &["Exact", "Prefix", "ImplementationSpecific"],
        ("PersistentVolumeClaimSpec", "volumeMode") => &["Filesystem", "Block"],
        ("HTTPGetAction", "scheme") => &["HTTP", "HTTPS"],
        ("Toleration", "operator") => &["Exists", "Equal"],
        ("Toleration", "effect") => &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        ("TopologySpreadConstraint", "whenUnsatisfiable") => &["DoNotSchedule", "ScheduleAnyway"],
        ("SeccompProfile", "type") => &["Unconfined", "RuntimeDefault", "Localhost"],
        ("PodSecurityContext", "fsGroupChangePolicy") => &["OnRootMismatch", "Always"],
        ("LabelSelectorRequirement", "operator") => &["In", "NotIn", "Exists", "DoesNotExist"],
        ("MetricSpec" | "MetricStatus", "type") => &[
            "Object",
            "Pods",
            "Resource",
            "ContainerResource",
            "External",
        ],
        ("MetricTarget", "type") => &["Utilization", "Value", "AverageValue"],
        _ => return None,
    })
}
