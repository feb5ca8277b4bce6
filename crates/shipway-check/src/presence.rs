//! Objects that are not in the input but will exist once it is applied: the ones a
//! controller in the input creates (cert-manager issues a Certificate's Secret, the
//! External Secrets operator writes an `ExternalSecret`'s target, an operator names its
//! Services after its custom resource), and the ones every cluster has (the `default`
//! ServiceAccount, the `kube-root-ca.crt` ConfigMap, the `kubernetes` Service).
//!
//! Reference rules count these as present, so that a reference to them is neither an
//! error nor a warning; [`crate::Ctx`] builds the index once per run. Each entry says who
//! creates the object, for messages and for `shipway explain`.

use std::collections::HashMap;

use shipway_model::Node;

use crate::context::{effective_namespace, name_of, namespace_of};

/// The namespace of an implied object that a controller creates in every namespace it is
/// told about (a `ClusterExternalSecret` with a namespace selector).
pub const ANY_NAMESPACE: &str = "*";

/// Objects implied by the input: `(kind, effective namespace, name)` → who creates it.
#[derive(Debug, Default)]
pub struct Implied {
    by_name: HashMap<(&'static str, String, String), String>,
}

impl Implied {
    /// Every object implied by `objects`.
    pub fn of(objects: &[Node]) -> Implied {
        let mut implied = Implied::default();
        for object in objects {
            implied.add_created_by(object);
        }
        implied
    }

    /// Who creates the object, when the input implies it.
    pub fn creator(&self, kind: &str, namespace: &str, name: &str) -> Option<&str> {
        let namespace = effective_namespace(namespace);
        // The key owns its strings; kinds are a handful of literals, so look each up by
        // the literal that equals `kind`.
        let kind = KINDS.iter().find(|k| **k == kind)?;
        self.by_name
            .get(&(*kind, namespace.to_string(), name.to_string()))
            .or_else(|| {
                self.by_name
                    .get(&(*kind, ANY_NAMESPACE.to_string(), name.to_string()))
            })
            .map(String::as_str)
    }

    /// The names of implied objects of `kind` in `namespace` (for did-you-mean hints and
    /// for deciding whether the input manages the kind there).
    pub fn names_in<'s>(
        &'s self,
        kind: &'s str,
        namespace: &'s str,
    ) -> impl Iterator<Item = &'s str> + 's {
        let namespace = effective_namespace(namespace);
        self.by_name
            .keys()
            .filter(move |(k, ns, _)| *k == kind && (ns == namespace || ns == ANY_NAMESPACE))
            .map(|(_, _, name)| name.as_str())
    }

    fn add(&mut self, kind: &'static str, namespace: &str, name: &str, creator: String) {
        if name.is_empty() {
            return;
        }
        let namespace = if namespace == ANY_NAMESPACE {
            namespace
        } else {
            effective_namespace(namespace)
        };
        self.by_name
            .entry((kind, namespace.to_string(), name.to_string()))
            .or_insert(creator);
    }

    /// Records what `object`'s controller creates.
    fn add_created_by(&mut self, object: &Node) {
        let kind = object.str_at(&["kind"]).unwrap_or("");
        let group = object
            .str_at(&["apiVersion"])
            .and_then(|v| v.rsplit_once('/'))
            .map_or("", |(group, _)| group);
        let namespace = namespace_of(object);
        let name = name_of(object);
        let by = |what: &str| format!("{what} {kind} `{name}`");
        match (group, kind) {
            ("cert-manager.io", "Certificate") => {
                if let Some(secret) = object.str_at(&["spec", "secretName"]) {
                    self.add("Secret", namespace, secret, by("cert-manager's"));
                }
            }
            ("networking.k8s.io" | "extensions", "Ingress") => {
                // cert-manager's ingress-shim issues a certificate for every TLS entry of an
                // Ingress annotated with an issuer (or `kubernetes.io/tls-acme`).
                let annotations = object.get_path(&["metadata", "annotations"]);
                let annotated = |key: &str| {
                    annotations
                        .and_then(|a| a.get(key))
                        .and_then(Node::as_str)
                        .is_some_and(|v| !v.is_empty())
                };
                let acme = annotations
                    .and_then(|a| a.get("kubernetes.io/tls-acme"))
                    .and_then(Node::as_str)
                    == Some("true");
                if annotated("cert-manager.io/cluster-issuer")
                    || annotated("cert-manager.io/issuer")
                    || acme
                {
                    for tls in seq(object.get_path(&["spec", "tls"])) {
                        if let Some(secret) = tls.str_at(&["secretName"]) {
                            self.add(
                                "Secret",
                                namespace,
                                secret,
                                format!(
                                    "cert-manager's ingress-shim (annotations of Ingress `{name}`)"
                                ),
                            );
                        }
                    }
                }
            }
            ("external-secrets.io", "ExternalSecret") => {
                let target = object
                    .str_at(&["spec", "target", "name"])
                    .filter(|n| !n.is_empty())
                    .unwrap_or(name);
                self.add(
                    "Secret",
                    namespace,
                    target,
                    by("the External Secrets operator's"),
                );
            }
            ("external-secrets.io", "ClusterExternalSecret") => {
                let target = object
                    .str_at(&["spec", "externalSecretSpec", "target", "name"])
                    .filter(|n| !n.is_empty())
                    .or_else(|| object.str_at(&["spec", "externalSecretName"]))
                    .unwrap_or(name);
                let listed: Vec<&str> = seq(object.get_path(&["spec", "namespaces"]))
                    .filter_map(Node::as_str)
                    .collect();
                let selected = object.get_path(&["spec", "namespaceSelector"]).is_some()
                    || object.get_path(&["spec", "namespaceSelectors"]).is_some();
                for namespace in &listed {
                    self.add(
                        "Secret",
                        namespace,
                        target,
                        by("the External Secrets operator's"),
                    );
                }
                if selected {
                    self.add(
                        "Secret",
                        ANY_NAMESPACE,
                        target,
                        by("the External Secrets operator's"),
                    );
                }
            }
            ("bitnami.com", "SealedSecret") => {
                let target = object
                    .str_at(&["spec", "template", "metadata", "name"])
                    .unwrap_or(name);
                let target_namespace = object
                    .str_at(&["spec", "template", "metadata", "namespace"])
                    .unwrap_or(namespace);
                self.add(
                    "Secret",
                    target_namespace,
                    target,
                    by("the sealed-secrets controller's"),
                );
            }
            ("isindir.github.com", "SopsSecret") => {
                for template in seq(object.get_path(&["spec", "secretTemplates"])) {
                    if let Some(secret) = template.str_at(&["name"]) {
                        self.add(
                            "Secret",
                            namespace,
                            secret,
                            by("the SOPS secrets operator's"),
                        );
                    }
                }
            }
            (
                "secrets.hashicorp.com",
                "VaultStaticSecret" | "VaultDynamicSecret" | "VaultPKISecret"
                | "HCPVaultSecretsApp",
            ) => {
                if let Some(secret) = object.str_at(&["spec", "destination", "name"]) {
                    self.add(
                        "Secret",
                        namespace,
                        secret,
                        by("the Vault Secrets Operator's"),
                    );
                }
            }
            ("onepassword.com", "OnePasswordItem") => {
                self.add("Secret", namespace, name, by("the 1Password operator's"));
            }
            ("monitoring.coreos.com", "Prometheus") => {
                self.add(
                    "Service",
                    namespace,
                    "prometheus-operated",
                    by("the Prometheus operator's"),
                );
                self.add(
                    "StatefulSet",
                    namespace,
                    &format!("prometheus-{name}"),
                    by("the Prometheus operator's"),
                );
            }
            ("monitoring.coreos.com", "Alertmanager") => {
                self.add(
                    "Service",
                    namespace,
                    "alertmanager-operated",
                    by("the Prometheus operator's"),
                );
                self.add(
                    "StatefulSet",
                    namespace,
                    &format!("alertmanager-{name}"),
                    by("the Prometheus operator's"),
                );
            }
            ("monitoring.coreos.com", "ThanosRuler") => {
                self.add(
                    "Service",
                    namespace,
                    "thanos-ruler-operated",
                    by("the Prometheus operator's"),
                );
            }
            ("postgresql.cnpg.io", "Cluster") => {
                for suffix in ["app", "superuser", "ca", "server", "replication"] {
                    self.add(
                        "Secret",
                        namespace,
                        &format!("{name}-{suffix}"),
                        by("CloudNativePG's"),
                    );
                }
                for suffix in ["rw", "ro", "r"] {
                    self.add(
                        "Service",
                        namespace,
                        &format!("{name}-{suffix}"),
                        by("CloudNativePG's"),
                    );
                }
            }
            ("kafka.strimzi.io", "Kafka") => {
                for suffix in ["kafka-bootstrap", "kafka-brokers"] {
                    self.add(
                        "Service",
                        namespace,
                        &format!("{name}-{suffix}"),
                        by("Strimzi's"),
                    );
                }
                for suffix in ["cluster-ca-cert", "clients-ca-cert"] {
                    self.add(
                        "Secret",
                        namespace,
                        &format!("{name}-{suffix}"),
                        by("Strimzi's"),
                    );
                }
            }
            ("kafka.strimzi.io", "KafkaUser") => {
                self.add("Secret", namespace, name, by("Strimzi's"));
            }
            ("acid.zalan.do", "postgresql") => {
                self.add(
                    "Service",
                    namespace,
                    name,
                    by("the Zalando Postgres operator's"),
                );
                self.add(
                    "Service",
                    namespace,
                    &format!("{name}-repl"),
                    by("the Zalando Postgres operator's"),
                );
                if let Some(users) = object.get_path(&["spec", "users"]).and_then(Node::as_map) {
                    for (user, _) in users.iter() {
                        let secret = format!(
                            "{}.{name}.credentials.postgresql.acid.zalan.do",
                            user.replace('_', "-")
                        );
                        self.add(
                            "Secret",
                            namespace,
                            &secret,
                            by("the Zalando Postgres operator's"),
                        );
                    }
                }
            }
            _ => {}
        }
        if let Some(pod) = crate::workload::pod_template(object) {
            for (_, _, container) in crate::workload::containers(pod.spec) {
                self.add_created_by_container(container, namespace, kind, name);
            }
        }
        // Crossplane managed resources and claims (and others that follow the convention)
        // write their connection details to the Secret they are told to.
        if let Some(target) = object.get_path(&["spec", "writeConnectionSecretToRef"]) {
            let secret = target.str_at(&["name"]).unwrap_or("");
            let target_namespace = target.str_at(&["namespace"]).unwrap_or(namespace);
            self.add("Secret", target_namespace, secret, by("the controller of"));
        }
    }
}

impl Implied {
    /// Secrets that well-known programs create when they run in a pod of the input, told
    /// by their command line.
    fn add_created_by_container(
        &mut self,
        container: &Node,
        namespace: &str,
        kind: &str,
        name: &str,
    ) {
        let words: Vec<&str> = ["command", "args"]
            .iter()
            .flat_map(|field| seq(container.get(field)))
            .filter_map(Node::as_str)
            .collect();
        let by = |program: &str| format!("{program} in {kind} `{name}`");
        // kube-webhook-certgen (ingress-nginx, kube-prometheus-stack and many other charts'
        // admission webhooks): `create --secret-name=NAME` writes the webhook's TLS Secret.
        if words.contains(&"create") {
            for (i, word) in words.iter().enumerate() {
                let secret = match word.strip_prefix("--secret-name") {
                    Some(rest) if rest.starts_with('=') => Some(&rest[1..]),
                    Some("") => words.get(i + 1).copied(),
                    _ => None,
                };
                if let Some(secret) = secret {
                    self.add("Secret", namespace, secret, by("kube-webhook-certgen"));
                }
            }
        }
        // Argo CD's redis: `argocd admin redis-initial-password` creates `argocd-redis`.
        if words.contains(&"redis-initial-password") {
            self.add(
                "Secret",
                namespace,
                "argocd-redis",
                by("`argocd admin redis-initial-password`"),
            );
        }
    }
}

/// The kinds an implied object can have (the keys of [`Implied`] hold these literals).
const KINDS: [&str; 3] = ["Secret", "Service", "StatefulSet"];

/// Objects every namespace (or the cluster) has without the input creating them:
/// `(kind, namespace or "" for every namespace, name)`.
pub fn built_in(kind: &str, namespace: &str, name: &str) -> Option<&'static str> {
    match (kind, name) {
        ("ServiceAccount", "default") | ("ConfigMap", "kube-root-ca.crt") => {
            Some("the control plane (every namespace has it)")
        }
        ("Service", "kubernetes") if effective_namespace(namespace) == "default" => {
            Some("the control plane")
        }
        ("ClusterRole", "cluster-admin" | "admin" | "edit" | "view") => {
            Some("the control plane (a default ClusterRole)")
        }
        ("ClusterRole", name) if name.starts_with("system:") => {
            Some("the control plane (a default ClusterRole)")
        }
        // The Roles the control plane bootstraps in `kube-system` (what API server
        // extensions and leader-elected components bind to).
        ("Role", name)
            if namespace == "kube-system"
                && (name == "extension-apiserver-authentication-reader"
                    || name.starts_with("system:")) =>
        {
            Some("the control plane (a default Role in `kube-system`)")
        }
        _ => None,
    }
}

fn seq(node: Option<&Node>) -> impl Iterator<Item = &Node> {
    node.and_then(Node::as_seq).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use shipway_model::FileId;
    use shipway_model::yaml::{Limits, parse_stream};

    use super::*;

    fn implied(yaml: &str) -> Implied {
        Implied::of(&parse_stream(yaml, FileId(0), &Limits::default()).unwrap())
    }

    #[test]
    fn certificates_and_annotated_ingresses_imply_their_secrets() {
        let i = implied(
            "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: web}\nspec: {secretName: c-tls}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  namespace: web\n  annotations: {cert-manager.io/cluster-issuer: le}\nspec:\n  tls: [{secretName: i-tls}]\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: plain, namespace: web}\nspec:\n  tls: [{secretName: plain-tls}]\n",
        );
        assert!(i.creator("Secret", "web", "c-tls").is_some());
        assert!(i.creator("Secret", "web", "i-tls").is_some());
        assert!(i.creator("Secret", "web", "plain-tls").is_none());
        assert!(i.creator("Secret", "other", "c-tls").is_none());
    }

    #[test]
    fn secret_operators_imply_their_targets() {
        let i = implied(
            "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {name: es, namespace: a}\nspec: {target: {name: db}}\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: same, namespace: a}\nspec: {}\n---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: sealed, namespace: a}\n---\napiVersion: external-secrets.io/v1beta1\nkind: ClusterExternalSecret\nmetadata: {name: ces}\nspec:\n  namespaceSelector: {matchLabels: {x: y}}\n  externalSecretSpec: {target: {name: everywhere}}\n",
        );
        for name in ["db", "same", "sealed"] {
            assert!(i.creator("Secret", "a", name).is_some(), "{name}");
        }
        assert!(i.creator("Secret", "any-namespace", "everywhere").is_some());
        assert!(i.creator("Secret", "a", "es").is_none());
    }

    #[test]
    fn every_namespace_has_its_default_objects() {
        assert!(built_in("ServiceAccount", "x", "default").is_some());
        assert!(built_in("ConfigMap", "x", "kube-root-ca.crt").is_some());
        assert!(built_in("Service", "", "kubernetes").is_some());
        assert!(built_in("Service", "x", "kubernetes").is_none());
        assert!(built_in("ClusterRole", "", "system:auth-delegator").is_some());
    }
}
