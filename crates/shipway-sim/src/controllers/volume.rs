//! The volume binder: every `PersistentVolumeClaim` gets a dynamically provisioned
//! `PersistentVolume` named `pvc-<claim uid>` and becomes Bound.
//!
//! It writes what the real persistent-volume controller writes: the claim's
//! `spec.volumeName` and the annotations `pv.kubernetes.io/bind-completed` and
//! `pv.kubernetes.io/bound-by-controller`, then `status.phase: Bound` with the volume's
//! `capacity` and `accessModes`; the volume has a `claimRef` and reclaim policy `Delete`,
//! and goes when its claim is gone. `sim.shipway.dev/fault: pending` on a claim keeps it
//! Pending, `sim.shipway.dev/fault: lost` makes it Lost.

use serde_json::json;

use super::{
    CONTROLLER_MANAGER, Ctx, FAULT_ANNOTATION, annotation, is_deleting, name, namespace, resource,
    set_path, str_at, uid, with_status,
};

/// The provisioner named on dynamically provisioned volumes.
const PROVISIONER: &str = "sim.shipway.dev/hostpath";

/// One pass over every claim and volume.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(claims) = resource("", "persistentvolumeclaims") else {
        return;
    };
    let volumes = resource("", "persistentvolumes");
    for claim in ctx.list(claims) {
        if is_deleting(&claim) {
            continue;
        }
        let phase = match annotation(&claim, FAULT_ANNOTATION) {
            "pending" => Some("Pending"),
            "lost" => Some("Lost"),
            _ => None,
        };
        if let Some(phase) = phase {
            let mut status = claim.get("status").cloned().unwrap_or_else(|| json!({}));
            set_path(&mut status, &["phase"], phase.into());
            ctx.update_status(claims, with_status(&claim, status), CONTROLLER_MANAGER);
            continue;
        }
        let storage = claim
            .pointer("/spec/resources/requests/storage")
            .cloned()
            .unwrap_or_else(|| "1Gi".into());
        let modes = claim
            .pointer("/spec/accessModes")
            .cloned()
            .unwrap_or_else(|| json!(["ReadWriteOnce"]));
        let volume_name = match str_at(&claim, "/spec/volumeName") {
            "" => format!("pvc-{}", uid(&claim)),
            bound => bound.to_owned(),
        };
        if let Some(volumes) = volumes
            && ctx.store.get(volumes, None, &volume_name).is_err()
        {
            let class = match str_at(&claim, "/spec/storageClassName") {
                "" => "standard",
                class => class,
            };
            let volume = json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": volume_name,
                             "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
                "spec": {
                    "accessModes": modes,
                    "capacity": {"storage": storage},
                    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                 "name": name(&claim), "namespace": namespace(&claim),
                                 "uid": uid(&claim),
                                 "resourceVersion": str_at(&claim, "/metadata/resourceVersion")},
                    "hostPath": {"path": format!("/var/lib/sim-volumes/{volume_name}"), "type": ""},
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": class,
                    "volumeMode": match str_at(&claim, "/spec/volumeMode") {
                        "" => "Filesystem",
                        mode => mode,
                    },
                },
            });
            if let Ok(created) = ctx.create(volumes, "", volume, CONTROLLER_MANAGER) {
                let mut status = json!({"phase": "Bound"});
                set_path(
                    &mut status,
                    &["lastPhaseTransitionTime"],
                    ctx.now_rfc3339().into(),
                );
                ctx.update_status(volumes, with_status(&created, status), CONTROLLER_MANAGER);
            }
        }
        let mut bound = claim.clone();
        set_path(&mut bound, &["spec", "volumeName"], volume_name.into());
        for key in [
            "pv.kubernetes.io/bind-completed",
            "pv.kubernetes.io/bound-by-controller",
        ] {
            set_path(&mut bound, &["metadata", "annotations", key], "yes".into());
        }
        for key in [
            "volume.beta.kubernetes.io/storage-provisioner",
            "volume.kubernetes.io/storage-provisioner",
        ] {
            set_path(
                &mut bound,
                &["metadata", "annotations", key],
                PROVISIONER.into(),
            );
        }
        let bound = ctx
            .update(claims, bound, CONTROLLER_MANAGER)
            .unwrap_or(claim);
        let status = json!({"phase": "Bound", "accessModes": modes,
                            "capacity": {"storage": storage}});
        ctx.update_status(claims, with_status(&bound, status), CONTROLLER_MANAGER);
    }
    // Volumes whose claim is gone are deleted (reclaim policy Delete).
    let Some(volumes) = volumes else {
        return;
    };
    for volume in ctx.list(volumes) {
        let claim_uid = str_at(&volume, "/spec/claimRef/uid");
        if claim_uid.is_empty()
            || str_at(&volume, "/spec/persistentVolumeReclaimPolicy") != "Delete"
            || annotation(&volume, "pv.kubernetes.io/provisioned-by") != PROVISIONER
        {
            continue;
        }
        let claim_exists = ctx
            .store
            .objects_of(claims, Some(str_at(&volume, "/spec/claimRef/namespace")))
            .any(|claim| uid(claim) == claim_uid);
        if !claim_exists {
            ctx.delete(volumes, &volume);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::controllers::SimulationConfig;
    use crate::controllers::testing::Harness;

    #[test]
    fn claims_bind_to_provisioned_volumes_unless_faulted() {
        let mut sim = Harness::new(SimulationConfig::default());
        let claim = sim.create(
            "",
            "persistentvolumeclaims",
            json!({"metadata": {"name": "data"},
                   "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "5Gi"}}}}),
        );
        sim.create(
            "",
            "persistentvolumeclaims",
            json!({"metadata": {"name": "stuck",
                                "annotations": {"sim.shipway.dev/fault": "pending"}},
                   "spec": {"resources": {"requests": {"storage": "1Gi"}}}}),
        );
        sim.settle();
        let live = sim.get("", "persistentvolumeclaims", "data");
        let volume = format!("pvc-{}", claim["metadata"]["uid"].as_str().unwrap());
        assert_eq!(live["spec"]["volumeName"], volume);
        assert_eq!(live["status"]["phase"], "Bound");
        assert_eq!(live["status"]["capacity"]["storage"], "5Gi");
        assert_eq!(live["status"]["accessModes"], json!(["ReadWriteOnce"]));
        assert_eq!(
            live["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"],
            "yes"
        );
        assert_eq!(
            live["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"],
            "yes"
        );
        let volumes = crate::controllers::resource("", "persistentvolumes").unwrap();
        let pv = sim.store.get(volumes, None, &volume).unwrap();
        assert_eq!(pv["status"]["phase"], "Bound");
        assert_eq!(pv["spec"]["claimRef"]["name"], "data");
        assert_eq!(
            sim.get("", "persistentvolumeclaims", "stuck")["status"]["phase"],
            "Pending"
        );
        let claims = crate::controllers::resource("", "persistentvolumeclaims").unwrap();
        sim.store
            .delete(
                claims,
                Some("default"),
                "data",
                &crate::store::DeleteOptions::default(),
            )
            .unwrap();
        sim.settle();
        assert!(sim.store.get(volumes, None, &volume).is_err());
    }
}
