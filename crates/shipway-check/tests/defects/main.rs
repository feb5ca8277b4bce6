//! The synthetic defect bench: about 1,000 clean objects of a realistic platform (services
//! with their ConfigMaps, Secrets, ServiceAccounts, autoscalers and budgets; Ingresses
//! whose certificates cert-manager issues; references to objects managed elsewhere; node
//! agents that are privileged by design in namespaces that do not enforce a level; Flux
//! post-build variables) with 39 planted defects, each in an object named `bad-NN-…`.
//! Every planted defect must be caught as an error by the rule it is about, and at most 5
//! errors may fall on clean objects. The counts are printed (`cargo test -p shipway-check
//! --test defects -- --nocapture`); `SHIPWAY_DEFECTS_OUT=FILE` writes the input to FILE.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use shipway_check::{Settings, check};
use shipway_model::yaml::{Limits, parse_stream};
use shipway_model::{FileId, Severity, SourceMap};

const NAMESPACES: usize = 10;
const SERVICES: usize = 110;

/// The clean part: `SERVICES` services of 9 objects each, spread over `NAMESPACES`
/// namespaces, plus the namespaces and a few platform objects.
fn clean() -> String {
    let mut y = String::new();
    for n in 0..NAMESPACES {
        // Half the namespaces enforce baseline; the rest say nothing.
        let labels = if n % 2 == 0 {
            "pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/warn: restricted"
        } else {
            "team: t"
        };
        let _ = write!(
            y,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-{n}\n  labels: {{{labels}}}\n"
        );
    }
    for i in 0..SERVICES {
        let ns = format!("team-{}", i % NAMESPACES);
        let name = format!("svc-{i:03}");
        // Some services reach objects managed elsewhere (a shared registry secret, declared
        // by annotation; the CA bundle every namespace has) and Flux-substituted values.
        let memory = if i % 7 == 0 {
            "${memory_limit:=256Mi}"
        } else {
            "256Mi"
        };
        let _ = write!(
            y,
            r#"---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  annotations: {{shipway.dev/external: Secret/registry-creds}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      serviceAccountName: {name}
      imagePullSecrets: [{{name: registry-creds}}]
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      topologySpreadConstraints:
      - {{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {{matchLabels: {{app: {name}}}}}}}
      containers:
      - name: app
        image: registry.example.com/{name}:1.{i}.0
        ports: [{{name: http, containerPort: 8080}}]
        envFrom: [{{configMapRef: {{name: {name}-config}}}}]
        env:
        - name: DB_PASSWORD
          valueFrom: {{secretKeyRef: {{name: {name}-db, key: password}}}}
        - name: CA
          valueFrom: {{configMapKeyRef: {{name: kube-root-ca.crt, key: ca.crt}}}}
        readinessProbe: {{httpGet: {{path: /ready, port: http}}}}
        livenessProbe: {{httpGet: {{path: /live, port: http}}}}
        resources:
          requests: {{cpu: 100m, memory: 128Mi}}
          limits: {{memory: "{memory}"}}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}-config, namespace: {ns}}}
data: {{LOG_LEVEL: info}}
---
apiVersion: v1
kind: Secret
metadata: {{name: {name}-db, namespace: {ns}}}
stringData: {{password: x}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {name}, namespace: {ns}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: {name}, namespace: {ns}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}
  minReplicas: 2
  maxReplicas: 6
  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: {name}, namespace: {ns}}}
spec:
  maxUnavailable: 1
  selector: {{matchLabels: {{app: {name}}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
  namespace: {ns}
  annotations: {{cert-manager.io/cluster-issuer: letsencrypt}}
spec:
  tls: [{{hosts: [{name}.example.com], secretName: {name}-tls}}]
  rules:
  - host: {name}.example.com
    http:
      paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: {name}, port: {{name: http}}}}}}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {name}-view, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}
subjects: [{{kind: ServiceAccount, name: {name}, namespace: {ns}}}]
"#
        );
    }
    // Node agents, privileged by design, in a namespace that does not enforce a level, and
    // a Service of the monitoring stack installed by another app.
    let _ = write!(
        y,
        r"---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: node-agent, namespace: monitoring}}
spec:
  selector: {{matchLabels: {{app: node-agent}}}}
  template:
    metadata: {{labels: {{app: node-agent}}}}
    spec:
      hostNetwork: true
      hostPID: true
      containers:
      - name: agent
        image: agent:2.1.0
        securityContext: {{privileged: true}}
        volumeMounts: [{{name: root, mountPath: /host}}]
      volumes: [{{name: root, hostPath: {{path: /}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: grafana, namespace: monitoring}}
spec:
  tls: [{{secretName: wildcard-tls}}]
  rules:
  - http:
      paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: grafana, port: {{number: 3000}}}}}}}}]
"
    );
    y
}

/// The planted defects: `(number, rule, YAML)`, each object named `bad-NN-…`.
fn defects() -> Vec<(u32, &'static str, String)> {
    let deployment = |n: u32, ns: &str, pod: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: bad-{n:02}, namespace: {ns}}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: bad-{n:02}}}}}\n  template:\n    metadata: {{labels: {{app: bad-{n:02}}}}}\n    spec:\n{pod}"
        )
    };
    let container = |extra: &str| {
        format!("      containers:\n      - name: app\n        image: app:1.0.0\n{extra}")
    };
    let env = |from: &str| {
        container(&format!(
            "        env:\n        - name: X\n          valueFrom: {{{from}}}\n"
        ))
    };
    let mut d = vec![
        (1, "references/missing-secret", deployment(1, "team-1", &env("secretKeyRef: {name: svc-001-bd, key: password}"))),
        (2, "references/missing-secret", deployment(2, "team-2", &env("secretKeyRef: {name: svc-02-db, key: password}"))),
        (3, "references/missing-secret", deployment(3, "team-3", &env("secretKeyRef: {name: svc-003-db, key: pasword}"))),
        (4, "references/missing-secret", deployment(4, "team-4", &format!("      volumes: [{{name: v, secret: {{secretName: svc-004-tsl}}}}]\n{}", container("")))),
        (5, "references/missing-secret", deployment(5, "team-5", &env("secretKeyRef: {name: svc-005-db, key: token}"))),
        (6, "references/missing-config-map", deployment(6, "team-6", &container("        envFrom: [{configMapRef: {name: svc-006-confg}}]\n"))),
        (7, "references/missing-config-map", deployment(7, "team-7", &env("configMapKeyRef: {name: svc-07-config, key: LOG_LEVEL}"))),
        (8, "references/missing-config-map", deployment(8, "team-8", &env("configMapKeyRef: {name: svc-008-config, key: LOGLEVEL}"))),
        (9, "references/missing-service", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad-09, namespace: team-9}\nspec:\n  rules:\n  - http:\n      paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-09, port: {number: 80}}}}]\n".to_string()),
        (10, "references/missing-service", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad-10, namespace: team-0}\nspec:\n  rules:\n  - http:\n      paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-100-api, port: {number: 80}}}}]\n".to_string()),
        (11, "references/missing-service", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad-11, namespace: team-1}\nspec:\n  rules:\n  - http:\n      paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-011, port: {number: 8080}}}}]\n".to_string()),
        (12, "references/missing-service-account", deployment(12, "team-2", &format!("      serviceAccountName: svc-012-sa\n{}", container("")))),
        (13, "references/missing-scale-target", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: bad-13, namespace: team-3}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: svc-013-web}\n  minReplicas: 2\n  maxReplicas: 4\n".to_string()),
        (14, "references/missing-role", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: bad-14-reader, namespace: team-4}\nrules: []\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bad-14, namespace: team-4}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: bad-14-raeder}\nsubjects: [{kind: ServiceAccount, name: svc-014}]\n".to_string()),
        (15, "schema/removed-api-version", "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: bad-15, namespace: team-5}\nspec:\n  backend: {serviceName: svc-015, servicePort: 80}\n".to_string()),
        (16, "schema/removed-api-version", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: bad-16, namespace: team-6}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: svc-016}}\n".to_string()),
        (17, "schema/removed-api-version", "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: bad-17, namespace: team-7}\nspec:\n  schedule: '0 * * * *'\n  jobTemplate: {spec: {template: {spec: {restartPolicy: OnFailure, containers: [{name: c, image: c:1.0.0}]}}}}\n".to_string()),
        (18, "schema/selector-mismatch", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad-18, namespace: team-8}\nspec:\n  selector: {matchLabels: {app: bad-18}}\n  template:\n    metadata: {labels: {app: bad-18-web}}\n    spec: {containers: [{name: c, image: c:1.0.0}]}\n".to_string()),
        (19, "schema/selector-mismatch", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: bad-19, namespace: team-9}\nspec:\n  serviceName: svc-019\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: database}}\n    spec: {containers: [{name: c, image: c:1.0.0}]}\n".to_string()),
        (20, "schema/invalid-quantity", deployment(20, "team-0", &container("        resources: {requests: {memory: 512mb}}\n"))),
        (21, "schema/invalid-quantity", deployment(21, "team-1", &container("        resources: {limits: {cpu: 1.5cores}}\n"))),
        (22, "schema/wrong-type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad-22, namespace: team-2}\nspec:\n  replicas: \"3\"\n  selector: {matchLabels: {app: bad-22}}\n  template:\n    metadata: {labels: {app: bad-22}}\n    spec: {containers: [{name: c, image: c:1.0.0}]}\n".to_string()),
        (23, "schema/unknown-field", deployment(23, "team-3", &container("        imagePullpolicy: Always\n"))),
        (24, "schema/unknown-field", deployment(24, "team-4", &format!("      nodeselector: {{disk: ssd}}\n{}", container("")))),
        (25, "schema/invalid-enum-value", deployment(25, "team-5", &container("        imagePullPolicy: always\n"))),
        (26, "schema/invalid-name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad-26_Settings, namespace: team-6}\ndata: {}\n".to_string()),
        (27, "schema/invalid-label", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad-27\n  namespace: team-7\n  labels: {version: 'v1.0 beta'}\ndata: {}\n".to_string()),
        (28, "schema/missing-required-field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad-28, namespace: team-8}\nspec:\n  template:\n    metadata: {labels: {app: bad-28}}\n    spec: {containers: [{name: c, image: c:1.0.0}]}\n".to_string()),
        (29, "schema/duplicate-object", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad-29, namespace: team-9}\ndata: {a: '1'}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad-29, namespace: team-9}\ndata: {a: '2'}\n".to_string()),
        (30, "references/service-target-port", "apiVersion: v1\nkind: Service\nmetadata: {name: bad-30, namespace: team-0}\nspec:\n  selector: {app: svc-000}\n  ports: [{port: 80, targetPort: web}]\n".to_string()),
        (31, "pod-security/privileged", deployment(31, "team-2", &container("        securityContext: {privileged: true}\n"))),
        (32, "pod-security/hostPathVolumes", deployment(32, "team-4", &format!("      volumes: [{{name: h, hostPath: {{path: /var/run/docker.sock}}}}]\n{}", container("")))),
        (33, "pod-security/hostNamespaces", deployment(33, "team-6", &format!("      hostNetwork: true\n{}", container("")))),
        (34, "pod-security/runAsNonRoot", format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: secure\n  labels: {{pod-security.kubernetes.io/enforce: restricted}}\n---\n{}", deployment(34, "secure", &container("        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}\n")))),
        (35, "reliability/hpa-min-above-max", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: bad-35, namespace: team-5}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: svc-005}\n  minReplicas: 5\n  maxReplicas: 3\n".to_string()),
        (36, "reliability/pdb-blocks-eviction", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: bad-36, namespace: team-6}\nspec:\n  maxUnavailable: 0\n  selector: {matchLabels: {app: svc-006}}\n".to_string()),
        (37, "capacity/over-quota", format!("apiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: bad-37-quota, namespace: capped}}\nspec:\n  hard: {{requests.cpu: '1'}}\n---\n{}", deployment(37, "capped", &container("        resources: {requests: {cpu: '1', memory: 64Mi}}\n")))),
        (38, "references/missing-pvc", format!("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: bad-38-data, namespace: team-8}}\nspec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}\n---\n{}", deployment(38, "team-8", &format!("      volumes: [{{name: v, persistentVolumeClaim: {{claimName: bad-38-dta}}}}]\n{}", container(""))))),
        (39, "schema/unknown-kind", "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: bad-39, namespace: team-9}\nspec: {}\n".to_string()),
    ];
    for (_, _, yaml) in &mut d {
        yaml.insert_str(0, "---\n");
    }
    d
}

#[test]
fn every_planted_defect_is_caught_with_few_errors_on_clean_objects() {
    let defects = defects();
    let mut yaml = clean();
    for (_, _, text) in &defects {
        yaml.push_str(text);
    }
    // `SHIPWAY_DEFECTS_OUT=FILE` keeps the input, to run another build of `shipway check`
    // on the same objects.
    if let Some(out) = std::env::var_os("SHIPWAY_DEFECTS_OUT") {
        std::fs::write(out, &yaml).unwrap();
    }
    let objects: Vec<_> = parse_stream(&yaml, FileId(0), &Limits::default())
        .unwrap_or_else(|e| panic!("line {}: {}", e.line, e.message))
        .into_iter()
        .filter(|o| !o.value.is_null())
        .collect();
    let mut sources = SourceMap::new();
    sources.add(std::path::Path::new("bench.yaml"));
    let findings = check(&objects, &sources, &Settings::default());
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let planted = |name: &str| name.starts_with("bad-");
    let caught: BTreeSet<(String, String)> = errors
        .iter()
        .filter_map(|f| {
            let object = f.object.as_ref()?;
            planted(&object.name).then(|| (f.rule.clone(), object.name.clone()))
        })
        .collect();
    let mut missed = Vec::new();
    for (n, rule, _) in &defects {
        let prefix = format!("bad-{n:02}");
        if !caught
            .iter()
            .any(|(r, name)| r == rule && name.starts_with(&prefix))
        {
            missed.push(format!("{n} {rule}"));
        }
    }
    let false_errors: Vec<String> = errors
        .iter()
        .filter(|f| f.object.as_ref().is_none_or(|o| !planted(&o.name)))
        .map(|f| format!("{} {}", f.rule, f.headline()))
        .collect();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    eprintln!(
        "{} objects, {} planted defects: {} caught; {} errors on clean objects; {warnings} warnings",
        objects.len(),
        defects.len(),
        defects.len() - missed.len(),
        false_errors.len()
    );
    for e in &false_errors {
        eprintln!("  false error: {e}");
    }
    assert!(missed.is_empty(), "missed: {missed:#?}");
    assert!(false_errors.len() <= 5, "{false_errors:#?}");
}
