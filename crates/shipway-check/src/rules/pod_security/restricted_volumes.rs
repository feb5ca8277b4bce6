//! `pod-security/restrictedVolumes`: the restricted check that a pod only uses volume types
//! that do not reach outside the pod's own storage.

use shipway_model::Node;

use super::{Check as Pss, evaluate, field};
use crate::Ctx;
use crate::rules::{Check, Rule, rule};

/// The volume sources restricted allows.
const ALLOWED: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The volume sources restricted forbids.
const FORBIDDEN: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "portworxVolume",
    "photonPersistentDisk",
    "scaleIO",
    "storageos",
];

rule! {
    /// ## What it checks
    /// At the `restricted` level, every entry of `spec.volumes` must be one of
    /// `configMap`, `csi`, `downwardAPI`, `emptyDir`, `ephemeral`, `image`,
    /// `persistentVolumeClaim`, `projected` or `secret`: `hostPath`, `nfs`, `gitRepo` and
    /// the other in-tree drivers fail. A volume with no source at all passes, because the
    /// API server makes it an `emptyDir` before admission. It replaces
    /// `pod-security/hostPathVolumes` at this level.
    ///
    /// ## Why it matters
    /// In-tree volume drivers reach node paths or network storage directly, outside what
    /// a `PersistentVolumeClaim` and its `StorageClass` control. The API server rejects such
    /// pods in a namespace that enforces `restricted`.
    ///
    /// ## Example
    /// ```yaml
    /// volumes:
    /// - name: data
    ///   nfs: {server: nfs.example.com, path: /exports}
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// volumes:
    /// - name: data
    ///   persistentVolumeClaim: {claimName: data}
    /// ```
    ///
    /// ## Options
    /// The level and version come from `--pod-security`, else the Namespace's
    /// `pod-security.kubernetes.io/enforce[-version]` labels, else `baseline:latest`.
    ///
    /// ## Fix safety
    /// No automatic fix: the storage has to be provided through a claim.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>
    pub static RESTRICTED_VOLUMES = {
        code: "pod-security/restrictedVolumes",
        summary: "A pod uses a volume type outside the restricted set (restricted)",
        severity: Error,
        status: Preview,
        check: Check::PerObject(restricted_volumes),
    };
}

fn restricted_volumes(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    evaluate(ctx, object, Pss::RestrictedVolumes, |ctx, pod, policy| {
        let volumes = field(pod.spec, "volumes").and_then(Node::as_seq);
        for (i, volume) in volumes.into_iter().flatten().enumerate() {
            if ALLOWED.iter().any(|key| field(volume, key).is_some()) {
                continue;
            }
            // A volume without any source is defaulted to `emptyDir` by the API server before
            // admission, so only a forbidden source makes it fail.
            let Some(key) = FORBIDDEN.iter().find(|key| field(volume, key).is_some()) else {
                continue;
            };
            ctx.report(
                rule,
                object,
                &format!("{}.volumes[{i}].{key}", pod.spec_path),
                format!(
                    "volume `{}` uses `{key}`; only {} are allowed ({})",
                    volume.str_at(&["name"]).unwrap_or(""),
                    ALLOWED.map(|k| format!("`{k}`")).join(", "),
                    policy.level.name()
                ),
            );
        }
    });
}
