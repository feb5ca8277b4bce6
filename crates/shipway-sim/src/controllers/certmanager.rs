//! A stand-in for cert-manager: `Issuer`s and `ClusterIssuer`s become Ready, Certificates get
//! their TLS Secret and become Ready, on the simulator clock.
//!
//! The sandbox serves cert-manager's CRDs (`examples/cluster/crds.yaml`) so the example
//! platform's manifests apply, but nothing would ever issue a certificate, and health checks
//! (Argo CD's and shipway's) would hold every `Certificate` in Progressing forever. This
//! controller writes what cert-manager writes, and only while the `cert-manager.io/v1` kinds
//! are served (their definitions are stored):
//!
//! - an `Issuer`/`ClusterIssuer` gets condition `Ready` True with the reason and message of
//!   its type (`IsReady` for `selfSigned`, `ACMEAccountRegistered` for `acme`,
//!   `KeyPairVerified` for `ca`, `VaultVerified` for `vault`); a `ca` issuer whose key-pair
//!   Secret is missing (looked up in the issuer's namespace, or `cert-manager` for a
//!   `ClusterIssuer`) is Ready False `ErrGetKeyPair`, as the real one is;
//! - a `Certificate` whose issuer (`spec.issuerRef`, kind `Issuer` by default) is missing or
//!   not Ready stays where cert-manager leaves it: `Ready` False and `Issuing` True, reason
//!   `DoesNotExist`, "Issuing certificate as Secret does not exist" (the missing issuer shows
//!   only on the `CertificateRequest` in real cert-manager, which is not simulated);
//! - once the issuer is Ready, the Secret `spec.secretName` is written (type
//!   `kubernetes.io/tls`, keys `tls.crt`, `tls.key`, `ca.crt`, with cert-manager's
//!   annotations and `spec.secretTemplate`, no owner, as cert-manager does by default) and
//!   the Certificate gets `Ready` True "Certificate is up to date and has not expired",
//!   `notBefore`, `notAfter` (`spec.duration`, 90 days by default), `renewalTime`
//!   (`spec.renewBefore`, a third of the duration by default) and `revision`;
//! - a spec change, a deleted Secret or the renewal time passing issues again with the next
//!   `revision`.
//!
//! The Secret's PEM blocks are placeholders that say so in their decoded text: no key is
//! ever generated, so nothing here can be mistaken for, or leak, real key material.

use serde_json::{Value, json};

use super::{
    Ctx, condition, conditions_of, int_at, is_deleting, name, namespace, resource, set_condition,
    set_path, str_at, with_status,
};
use crate::clock;
use crate::defaults::base64;
use crate::resources::ResourceType;

/// The API group of cert-manager's kinds.
const GROUP: &str = "cert-manager.io";
/// Field manager of issuer status writes.
const ISSUERS_MANAGER: &str = "cert-manager-issuers";
/// Field manager of the Secret writes.
const ISSUING_MANAGER: &str = "cert-manager-certificates-issuing";
/// Field manager of Certificate status writes.
const READINESS_MANAGER: &str = "cert-manager-certificates-readiness";
/// Where a `ClusterIssuer`'s Secrets live (cert-manager's `--cluster-resource-namespace`).
const CLUSTER_RESOURCE_NAMESPACE: &str = "cert-manager";
/// cert-manager's default certificate lifetime (2160h).
const DEFAULT_DURATION: u64 = 90 * 24 * 3600;
/// Message of a Ready certificate.
const READY_MESSAGE: &str = "Certificate is up to date and has not expired";
/// Message while a certificate has never been issued.
const NOT_ISSUED_MESSAGE: &str = "Issuing certificate as Secret does not exist";

/// One pass over issuers and certificates (nothing unless cert-manager's kinds are served).
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let issuers = ctx.store.find(GROUP, "v1", "issuers");
    let cluster_issuers = ctx.store.find(GROUP, "v1", "clusterissuers");
    for served in [issuers, cluster_issuers].into_iter().flatten() {
        for issuer in ctx.list(served) {
            if !is_deleting(&issuer) {
                reconcile_issuer(ctx, served, &issuer);
            }
        }
    }
    let Some(certificates) = ctx.store.find(GROUP, "v1", "certificates") else {
        return;
    };
    for certificate in ctx.list(certificates) {
        if !is_deleting(&certificate) {
            reconcile_certificate(ctx, certificates, &certificate, issuers, cluster_issuers);
        }
    }
}

/// A condition as cert-manager writes it (with the generation it describes).
fn new_condition(
    object: &Value,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": now,
        "observedGeneration": int_at(object, "/metadata/generation", 1),
    })
}

/// Sets `Ready` on an issuer according to its type.
fn reconcile_issuer(ctx: &mut Ctx<'_>, kind: &'static ResourceType, issuer: &Value) {
    let spec = issuer.get("spec").cloned().unwrap_or_else(|| json!({}));
    let (status, reason, message) = if let Some(ca) = spec.get("ca") {
        let secret_name = str_at(ca, "/secretName");
        let secret_namespace = if kind.namespaced {
            namespace(issuer)
        } else {
            CLUSTER_RESOURCE_NAMESPACE
        };
        let found = resource("", "secrets").is_some_and(|secrets| {
            ctx.store
                .get(secrets, Some(secret_namespace), secret_name)
                .is_ok()
        });
        if found {
            ("True", "KeyPairVerified", "Signing CA verified".to_owned())
        } else {
            (
                "False",
                "ErrGetKeyPair",
                format!("Error getting keypair for CA issuer: secret \"{secret_name}\" not found"),
            )
        }
    } else if spec.get("acme").is_some() {
        (
            "True",
            "ACMEAccountRegistered",
            "The ACME account was registered with the ACME server".to_owned(),
        )
    } else if spec.get("vault").is_some() {
        ("True", "VaultVerified", "Vault verified".to_owned())
    } else {
        // selfSigned (and the types not simulated further) are ready at once.
        ("True", "IsReady", String::new())
    };
    let now = ctx.now_rfc3339();
    let mut conditions = conditions_of(issuer);
    set_condition(
        &mut conditions,
        new_condition(issuer, "Ready", status, reason, &message, &now),
    );
    // The message and generation are refreshed even when status and reason hold.
    if let Some(ready) = conditions
        .iter_mut()
        .find(|c| str_at(c, "/type") == "Ready")
    {
        set_path(ready, &["message"], message.into());
        set_path(
            ready,
            &["observedGeneration"],
            int_at(issuer, "/metadata/generation", 1).into(),
        );
    }
    let mut next_status = issuer.get("status").cloned().unwrap_or_else(|| json!({}));
    set_path(&mut next_status, &["conditions"], Value::Array(conditions));
    ctx.update_status(kind, with_status(issuer, next_status), ISSUERS_MANAGER);
}

/// Whether the issuer a certificate references exists and is Ready.
fn issuer_ready(
    ctx: &Ctx<'_>,
    certificate: &Value,
    issuers: Option<&'static ResourceType>,
    cluster_issuers: Option<&'static ResourceType>,
) -> bool {
    let group = match str_at(certificate, "/spec/issuerRef/group") {
        "" => GROUP,
        group => group,
    };
    if group != GROUP {
        // An external issuer (its own API group) is not simulated: it signs at once.
        return true;
    }
    let issuer_name = str_at(certificate, "/spec/issuerRef/name");
    let found = match str_at(certificate, "/spec/issuerRef/kind") {
        "ClusterIssuer" => cluster_issuers.and_then(|r| ctx.store.get(r, None, issuer_name).ok()),
        "" | "Issuer" => issuers.and_then(|r| {
            ctx.store
                .get(r, Some(namespace(certificate)), issuer_name)
                .ok()
        }),
        _ => None,
    };
    found.is_some_and(|issuer| {
        condition(&issuer, "Ready").is_some_and(|c| str_at(c, "/status") == "True")
    })
}

/// The annotations cert-manager puts on a certificate's Secret.
fn secret_annotations(certificate: &Value) -> Value {
    let joined = |pointer: &str| {
        certificate
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let issuer_group = match str_at(certificate, "/spec/issuerRef/group") {
        "" => GROUP,
        group => group,
    };
    let issuer_kind = match str_at(certificate, "/spec/issuerRef/kind") {
        "" => "Issuer",
        kind => kind,
    };
    json!({
        "cert-manager.io/alt-names": joined("/spec/dnsNames"),
        "cert-manager.io/certificate-name": name(certificate),
        "cert-manager.io/common-name": str_at(certificate, "/spec/commonName"),
        "cert-manager.io/ip-sans": joined("/spec/ipAddresses"),
        "cert-manager.io/issuer-group": issuer_group,
        "cert-manager.io/issuer-kind": issuer_kind,
        "cert-manager.io/issuer-name": str_at(certificate, "/spec/issuerRef/name"),
        "cert-manager.io/uri-sans": joined("/spec/uris"),
    })
}

/// A PEM block whose body decodes to a sentence saying it is a simulator placeholder.
fn placeholder_pem(label: &str, what: &str, certificate: &Value, revision: i64) -> String {
    let text = format!(
        "SIMULATED {what} written by shipway-sim for Certificate {}/{} revision {revision}. \
         This is not key material and cannot be used for TLS.",
        namespace(certificate),
        name(certificate)
    );
    let body = base64(text.as_bytes());
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END ");
    pem.push_str(label);
    pem.push_str("-----\n");
    pem
}

/// A Go duration (`2160h`, `720h0m0s`, `90m`, `45s`) in whole seconds; cert-manager
/// needs a unit and more than zero.
fn parse_duration(text: &str) -> Option<u64> {
    if text.trim().bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    shipway_model::duration::parse(text)
        .ok()
        .map(|d| d.as_secs())
        .filter(|s| *s > 0)
}

/// Issues, re-issues or reports a certificate.
fn reconcile_certificate(
    ctx: &mut Ctx<'_>,
    certificates: &'static ResourceType,
    certificate: &Value,
    issuers: Option<&'static ResourceType>,
    cluster_issuers: Option<&'static ResourceType>,
) {
    let Some(secrets) = resource("", "secrets") else {
        return;
    };
    let secret_name = str_at(certificate, "/spec/secretName");
    if secret_name.is_empty() {
        return;
    }
    let cert_namespace = namespace(certificate).to_owned();
    let secret = ctx
        .store
        .get(secrets, Some(&cert_namespace), secret_name)
        .ok();
    let generation = int_at(certificate, "/metadata/generation", 1);
    let revision = int_at(certificate, "/status/revision", 0);
    let ready = condition(certificate, "Ready");
    let issued_generation = ready
        .filter(|c| str_at(c, "/status") == "True")
        .map(|c| int_at(c, "/observedGeneration", 0));
    let renewal_due = clock::parse_rfc3339(str_at(certificate, "/status/renewalTime"))
        .is_some_and(|renewal| renewal <= ctx.now);
    let annotations = secret_annotations(certificate);
    let secret_matches = secret.as_ref().is_some_and(|s| {
        annotations.as_object().is_some_and(|wanted| {
            wanted.iter().all(|(key, value)| {
                s.pointer("/metadata/annotations").and_then(|a| a.get(key)) == Some(value)
            })
        })
    });
    let up_to_date =
        revision > 0 && secret_matches && issued_generation == Some(generation) && !renewal_due;
    if up_to_date {
        return;
    }
    let now = ctx.now_rfc3339();
    if !issuer_ready(ctx, certificate, issuers, cluster_issuers) {
        // Nothing is ever issued without a Ready issuer; an issued certificate stays as
        // it is until its issuer comes back (cert-manager keeps serving the old Secret).
        if revision > 0 && secret.is_some() {
            return;
        }
        let mut conditions = conditions_of(certificate);
        for kind in ["Ready", "Issuing"] {
            let status = if kind == "Ready" { "False" } else { "True" };
            set_condition(
                &mut conditions,
                new_condition(
                    certificate,
                    kind,
                    status,
                    "DoesNotExist",
                    NOT_ISSUED_MESSAGE,
                    &now,
                ),
            );
        }
        let mut status = certificate
            .get("status")
            .cloned()
            .unwrap_or_else(|| json!({}));
        set_path(&mut status, &["conditions"], Value::Array(conditions));
        ctx.update_status(
            certificates,
            with_status(certificate, status),
            READINESS_MANAGER,
        );
        return;
    }
    // Issue: the Secret first, then the status that points at it.
    let next_revision = revision + 1;
    let mut labels = json!({"controller.cert-manager.io/fao": "true"});
    let mut secret_annotations = annotations;
    for (target, pointer) in [
        (&mut labels, "/spec/secretTemplate/labels"),
        (&mut secret_annotations, "/spec/secretTemplate/annotations"),
    ] {
        if let Some(extra) = certificate.pointer(pointer).and_then(Value::as_object)
            && let Some(map) = target.as_object_mut()
        {
            for (key, value) in extra {
                map.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    let data = json!({
        "ca.crt": base64(placeholder_pem("CERTIFICATE", "CA CERTIFICATE", certificate, next_revision).as_bytes()),
        "tls.crt": base64(placeholder_pem("CERTIFICATE", "CERTIFICATE", certificate, next_revision).as_bytes()),
        "tls.key": base64(placeholder_pem("PRIVATE KEY", "PRIVATE KEY", certificate, next_revision).as_bytes()),
    });
    let written = if let Some(existing) = secret {
        let mut next = existing;
        set_path(&mut next, &["data"], data);
        for (field, values) in [("labels", &labels), ("annotations", &secret_annotations)] {
            for (key, value) in values.as_object().into_iter().flatten() {
                set_path(&mut next, &["metadata", field, key], value.clone());
            }
        }
        ctx.update(secrets, next, ISSUING_MANAGER).is_some()
    } else {
        let object = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": secret_name, "namespace": cert_namespace,
                         "labels": labels, "annotations": secret_annotations},
            "type": "kubernetes.io/tls",
            "data": data,
        });
        ctx.create(secrets, &cert_namespace, object, ISSUING_MANAGER)
            .is_ok()
    };
    if !written {
        return;
    }
    let duration = certificate
        .pointer("/spec/duration")
        .and_then(Value::as_str)
        .and_then(parse_duration)
        .unwrap_or(DEFAULT_DURATION);
    let renew_before = certificate
        .pointer("/spec/renewBefore")
        .and_then(Value::as_str)
        .and_then(parse_duration)
        .filter(|before| *before < duration)
        .unwrap_or(duration / 3);
    let mut conditions = conditions_of(certificate);
    conditions.retain(|c| str_at(c, "/type") != "Issuing");
    set_condition(
        &mut conditions,
        new_condition(certificate, "Ready", "True", "Ready", READY_MESSAGE, &now),
    );
    // A re-issue keeps Ready True (and its transition time) but describes this generation.
    if let Some(ready) = conditions
        .iter_mut()
        .find(|c| str_at(c, "/type") == "Ready")
    {
        set_path(ready, &["observedGeneration"], generation.into());
    }
    let mut status = certificate
        .get("status")
        .cloned()
        .unwrap_or_else(|| json!({}));
    set_path(&mut status, &["conditions"], Value::Array(conditions));
    set_path(&mut status, &["notBefore"], now.into());
    set_path(
        &mut status,
        &["notAfter"],
        clock::format_rfc3339(ctx.now + duration).into(),
    );
    set_path(
        &mut status,
        &["renewalTime"],
        clock::format_rfc3339(ctx.now + duration - renew_before).into(),
    );
    set_path(&mut status, &["revision"], next_revision.into());
    ctx.update_status(
        certificates,
        with_status(certificate, status),
        READINESS_MANAGER,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::controllers::SimulationConfig;
    use crate::controllers::testing::Harness;
    use crate::store::WriteOptions;

    /// Serves cert-manager's kinds by storing their definitions, as applying
    /// `examples/cluster/crds.yaml` does.
    fn serve_cert_manager(sim: &mut Harness) {
        let definitions =
            crate::resources::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
                .unwrap();
        for (plural, kind, scope) in [
            ("certificates", "Certificate", "Namespaced"),
            ("issuers", "Issuer", "Namespaced"),
            ("clusterissuers", "ClusterIssuer", "Cluster"),
        ] {
            let open = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
            sim.store
                .create(
                    definitions,
                    None,
                    json!({"metadata": {"name": format!("{plural}.{GROUP}")},
                           "spec": {"group": GROUP, "scope": scope,
                                    "names": {"plural": plural, "kind": kind},
                                    "versions": [{"name": "v1", "served": true, "storage": true,
                                                  "subresources": {"status": {}},
                                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                      "properties": {"spec": open, "status": open}}}}]}}),
                    &WriteOptions::manager("test"),
                )
                .unwrap();
        }
    }

    fn kind(sim: &Harness, plural: &str) -> &'static ResourceType {
        sim.store.find(GROUP, "v1", plural).expect("served")
    }

    fn create(sim: &mut Harness, plural: &str, object: Value) {
        let resource = kind(sim, plural);
        let namespace = resource.namespaced.then_some("default");
        sim.store
            .create(resource, namespace, object, &WriteOptions::manager("test"))
            .unwrap();
    }

    fn get(sim: &Harness, plural: &str, name: &str) -> Value {
        let resource = kind(sim, plural);
        let namespace = resource.namespaced.then_some("default");
        sim.store.get(resource, namespace, name).unwrap()
    }

    fn certificate(name: &str, issuer: &str, issuer_kind: &str) -> Value {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
               "metadata": {"name": name},
               "spec": {"secretName": format!("{name}-tls"), "dnsNames": ["web.example.com"],
                        "duration": "24h", "renewBefore": "8h",
                        "issuerRef": {"name": issuer, "kind": issuer_kind}}})
    }

    fn ready(object: &Value) -> &Value {
        condition(object, "Ready").expect("a Ready condition")
    }

    #[test]
    fn nothing_happens_without_the_definitions() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.settle();
        assert!(sim.store.find(GROUP, "v1", "certificates").is_none());
        let before = sim.store.resource_version();
        let now = sim.store.now();
        let mut ctx = Ctx {
            store: &mut sim.store,
            state: &mut sim.state,
            now,
        };
        reconcile(&mut ctx);
        assert_eq!(sim.store.resource_version(), before);
    }

    #[test]
    fn issuers_become_ready_by_type() {
        let mut sim = Harness::new(SimulationConfig::default());
        serve_cert_manager(&mut sim);
        create(
            &mut sim,
            "clusterissuers",
            json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
                   "metadata": {"name": "letsencrypt"},
                   "spec": {"acme": {"server": "https://acme.example/directory",
                                     "privateKeySecretRef": {"name": "acme-key"}}}}),
        );
        create(
            &mut sim,
            "issuers",
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                   "metadata": {"name": "selfsigned"}, "spec": {"selfSigned": {}}}),
        );
        create(
            &mut sim,
            "issuers",
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                   "metadata": {"name": "ca"}, "spec": {"ca": {"secretName": "root-tls"}}}),
        );
        sim.settle();
        let acme = get(&sim, "clusterissuers", "letsencrypt");
        assert_eq!(ready(&acme)["status"], "True");
        assert_eq!(ready(&acme)["reason"], "ACMEAccountRegistered");
        let selfsigned = get(&sim, "issuers", "selfsigned");
        assert_eq!(ready(&selfsigned)["reason"], "IsReady");
        assert_eq!(ready(&selfsigned)["observedGeneration"], 1);
        let ca = get(&sim, "issuers", "ca");
        assert_eq!(ready(&ca)["status"], "False");
        assert_eq!(ready(&ca)["reason"], "ErrGetKeyPair");

        // A self-signed root certificate provides the CA issuer's key pair.
        create(
            &mut sim,
            "certificates",
            certificate("root", "selfsigned", "Issuer"),
        );
        sim.settle();
        let ca = get(&sim, "issuers", "ca");
        assert_eq!(ready(&ca)["status"], "True");
        assert_eq!(ready(&ca)["reason"], "KeyPairVerified");
        assert_eq!(ready(&ca)["message"], "Signing CA verified");
    }

    #[test]
    fn certificates_get_secrets_and_renew_on_the_clock() {
        let mut sim = Harness::new(SimulationConfig::default());
        serve_cert_manager(&mut sim);
        create(
            &mut sim,
            "issuers",
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                   "metadata": {"name": "selfsigned"}, "spec": {"selfSigned": {}}}),
        );
        create(
            &mut sim,
            "certificates",
            certificate("web", "selfsigned", "Issuer"),
        );
        let start = sim.store.now();
        sim.settle();
        let cert = get(&sim, "certificates", "web");
        assert_eq!(ready(&cert)["status"], "True");
        assert_eq!(ready(&cert)["reason"], "Ready");
        assert_eq!(ready(&cert)["message"], READY_MESSAGE);
        assert!(condition(&cert, "Issuing").is_none());
        assert_eq!(cert["status"]["revision"], 1);
        assert_eq!(cert["status"]["notBefore"], clock::format_rfc3339(start));
        assert_eq!(
            cert["status"]["notAfter"],
            clock::format_rfc3339(start + 24 * 3600)
        );
        assert_eq!(
            cert["status"]["renewalTime"],
            clock::format_rfc3339(start + 16 * 3600)
        );

        let secret = sim.get("", "secrets", "web-tls");
        assert_eq!(secret["type"], "kubernetes.io/tls");
        assert!(secret["metadata"].get("ownerReferences").is_none());
        assert_eq!(
            secret["metadata"]["annotations"]["cert-manager.io/alt-names"],
            "web.example.com"
        );
        for key in ["tls.crt", "tls.key", "ca.crt"] {
            assert!(secret["data"][key].is_string(), "{key}");
        }
        let key_pem = decode(secret["data"]["tls.key"].as_str().unwrap());
        assert!(
            key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{key_pem}"
        );
        let body: String = key_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert!(
            decode(&body).starts_with("SIMULATED PRIVATE KEY"),
            "clearly fake"
        );

        // Settled: further passes write nothing.
        assert_eq!(sim.settle(), 0);

        // The clock reaching the renewal time issues again.
        sim.store.advance_clock(16 * 3600);
        sim.settle();
        let renewed = get(&sim, "certificates", "web");
        assert_eq!(renewed["status"]["revision"], 2);
        assert_eq!(
            renewed["status"]["notBefore"],
            clock::format_rfc3339(start + 16 * 3600)
        );

        // A spec change issues again too.
        let certificates = kind(&sim, "certificates");
        sim.store
            .patch(
                certificates,
                Some("default"),
                "web",
                crate::store::PatchType::Merge,
                &json!({"spec": {"dnsNames": ["web.example.com", "www.example.com"]}}),
                crate::store::Subresource::Main,
                &WriteOptions::manager("test"),
            )
            .unwrap();
        sim.settle();
        let changed = get(&sim, "certificates", "web");
        assert_eq!(changed["status"]["revision"], 3);
        assert_eq!(ready(&changed)["observedGeneration"], 2);
        assert_eq!(
            sim.get("", "secrets", "web-tls")["metadata"]["annotations"]["cert-manager.io/alt-names"],
            "web.example.com,www.example.com"
        );
    }

    #[test]
    fn a_missing_issuer_leaves_the_certificate_issuing() {
        let mut sim = Harness::new(SimulationConfig::default());
        serve_cert_manager(&mut sim);
        create(
            &mut sim,
            "certificates",
            certificate("web", "letsencrypt", "ClusterIssuer"),
        );
        sim.settle();
        let cert = get(&sim, "certificates", "web");
        assert_eq!(ready(&cert)["status"], "False");
        assert_eq!(ready(&cert)["reason"], "DoesNotExist");
        assert_eq!(condition(&cert, "Issuing").unwrap()["status"], "True");
        assert!(cert["status"].get("revision").is_none());
        let secrets = resource("", "secrets").unwrap();
        assert!(sim.store.get(secrets, Some("default"), "web-tls").is_err());

        // The issuer arriving later issues the certificate.
        create(
            &mut sim,
            "clusterissuers",
            json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
                   "metadata": {"name": "letsencrypt"}, "spec": {"selfSigned": {}}}),
        );
        sim.advance(1);
        let cert = get(&sim, "certificates", "web");
        assert_eq!(ready(&cert)["status"], "True");
        assert!(condition(&cert, "Issuing").is_none());
        assert_eq!(cert["status"]["revision"], 1);
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("2160h"), Some(2160 * 3600));
        assert_eq!(parse_duration("720h0m0s"), Some(720 * 3600));
        assert_eq!(parse_duration("90m"), Some(5400));
        assert_eq!(parse_duration("1h30m15s"), Some(5415));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("15"), None);
        assert_eq!(parse_duration("0s"), None);
    }

    /// Standard base64 decoding for the assertions.
    fn decode(text: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut count = 0;
        let mut out = Vec::new();
        for byte in text.bytes().filter(|b| *b != b'=') {
            let value = ALPHABET.iter().position(|a| *a == byte).expect("base64") as u32;
            bits = (bits << 6) | value;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        String::from_utf8(out).expect("utf-8")
    }
}
