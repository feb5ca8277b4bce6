//! The severity model of `shipway check`, as `shipway explain` prints it: when a finding
//! is an error (fails the run), when a warning, when only information. Errors are kept for
//! what the API server, admission or the workload will certainly reject; what depends on
//! objects or settings outside the input is a warning that says how to tell the checker.

/// The whole model, printed after the rule list of `shipway explain`.
pub const MODEL: &str = "\
## Severity model

An error fails the run (exit 1); a warning fails it only with `--fail-on warning`; info never does.

References (`references/*`): a name that does not resolve is an error when the input manages
that kind in that namespace (it holds other objects of the kind there, or a controller in it
creates some), since a miss is then most likely a typo; the message names the closest name.
Otherwise it is a warning: the object is probably managed elsewhere (another app, an operator,
a secret store). Declare it, and the warning goes away:
  - on the referring object: `metadata.annotations: {shipway.dev/external: \"Secret/api-tls, ConfigMap/other-ns/ca\"}`
    (`Kind/name` in the referrer's namespace, `Kind/namespace/name`, or `Kind/*`);
  - for the repository, in the `--config` file: `external: [{kind: Secret, namespace: apps, name: api-tls}]`
    (`name: \"*\"` for every object of the kind there).
Present without being in the input: Secrets of cert-manager Certificates (`spec.secretName`) and
of Ingresses annotated `cert-manager.io/cluster-issuer`, `cert-manager.io/issuer` or
`kubernetes.io/tls-acme: \"true\"`; targets of ExternalSecrets, ClusterExternalSecrets,
SealedSecrets, SopsSecrets, Vault Secrets Operator and 1Password items, and of
`spec.writeConnectionSecretToRef`; Secrets written by kube-webhook-certgen `create --secret-name`
and by `argocd admin redis-initial-password` in a pod of the input; the Services and
StatefulSets the Prometheus operator, CloudNativePG, Strimzi and the Zalando Postgres operator
create for their resources; every namespace's `default` ServiceAccount and `kube-root-ca.crt`
ConfigMap, the `kubernetes` Service, the default ClusterRoles and `kube-system` Roles.
The keys of a Secret of type `kubernetes.io/service-account-token` are not checked.

Pod Security (`pod-security/*`), decided as Pod Security admission decides: violations of the
level a namespace enforces are errors (its `pod-security.kubernetes.io/enforce` label in the
input, or `--pod-security LEVEL[:VERSION]` for every namespace); violations of a stricter level
that it only warns about or audits (`warn`, `audit` labels) are warnings; a namespace with none
of these labels, or not in the input, is evaluated at `baseline` as warnings. `privileged`
checks nothing.

Placeholders (`schema/unresolved-placeholder`): a value holding a Flux post-build variable
(`${VAR}`, `${VAR:=default}`, `${VAR:-default}`) or a kustomize var no `vars` entry declares
(`$(VAR)`) is not judged by any rule; each placeholder is reported once, as info, at its first
use, with the number of values that hold it and the Flux Kustomization that sets it.
";

/// The part of the model that applies to one rule, printed after its documentation by
/// `shipway explain RULE`.
pub fn note(code: &str) -> Option<&'static str> {
    let family = code.split_once('/').map_or(code, |(family, _)| family);
    match (family, code) {
        (_, "references/in-cluster-url" | "references/missing-subject") => Some(
            "## Severity\nAlways a warning. Objects declared external (the `shipway.dev/external` annotation on the referring object, or `external` in the configuration) and objects that controllers in the input create resolve; see `shipway explain` for the list.\n",
        ),
        ("references", _) => Some(
            "## Severity\nAn error when the input manages the kind in that namespace (a typo, most likely: the message names the closest name); otherwise a warning. Declare an object managed elsewhere with the annotation `shipway.dev/external: Kind/name` on the referring object (`Kind/namespace/name`, `Kind/*`) or with `external` in the configuration file. Objects that controllers in the input or the control plane create count as present; see `shipway explain` for the list.\n",
        ),
        ("pod-security", _) => Some(
            "## Severity\nAn error at the level the namespace enforces (its `pod-security.kubernetes.io/enforce` label in the input, or `--pod-security`); a warning at a stricter `warn` or `audit` level, and at `baseline` when the namespace has none of these labels or is not in the input.\n",
        ),
        _ => None,
    }
}
