//! Reference rules: every name one object uses to point at another (a ConfigMap, a
//! Secret, a Service and its port, a role) must resolve to an object in the input, in the
//! right namespace, or to one the configuration declares as managed elsewhere
//! ([`crate::Config::external`]).
//!
//! Services whose selector matches no pods are `reliability/selector-matches-nothing`.

mod in_cluster_url;
mod missing_config_map;
mod missing_pvc;
mod missing_role;
mod missing_scale_target;
mod missing_secret;
mod missing_service;
mod missing_service_account;
mod missing_subject;
mod pod_refs;
mod service_target_port;
mod services;

pub use in_cluster_url::IN_CLUSTER_URL;
pub use missing_config_map::MISSING_CONFIG_MAP;
pub use missing_pvc::MISSING_PVC;
pub use missing_role::MISSING_ROLE;
pub use missing_scale_target::MISSING_SCALE_TARGET;
pub use missing_secret::MISSING_SECRET;
pub use missing_service::MISSING_SERVICE;
pub use missing_service_account::MISSING_SERVICE_ACCOUNT;
pub use missing_subject::MISSING_SUBJECT;
pub use service_target_port::SERVICE_TARGET_PORT;

#[cfg(test)]
mod tests {
    use crate::testing::{lint, lint_with, show};

    fn read(name: &str) -> String {
        let path = format!(
            "{}/resources/fixtures/references/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap()
    }

    fn fixture(code: &str) {
        let name = code.split_once('/').map_or(code, |(_, n)| n);
        let yaml = read(name);
        insta::assert_snapshot!(name, show(&yaml, &lint(code, &yaml)));
    }

    #[test]
    fn service_target_port() {
        fixture("references/service-target-port");
    }

    #[test]
    fn missing_config_map() {
        fixture("references/missing-config-map");
    }

    #[test]
    fn missing_secret() {
        fixture("references/missing-secret");
    }

    #[test]
    fn missing_pvc() {
        fixture("references/missing-pvc");
    }

    #[test]
    fn missing_service_account() {
        fixture("references/missing-service-account");
    }

    #[test]
    fn missing_service() {
        fixture("references/missing-service");
    }

    #[test]
    fn missing_scale_target() {
        fixture("references/missing-scale-target");
    }

    #[test]
    fn missing_role() {
        fixture("references/missing-role");
    }

    #[test]
    fn missing_subject() {
        fixture("references/missing-subject");
    }

    #[test]
    fn in_cluster_url() {
        fixture("references/in-cluster-url");
    }

    /// Every severity decision of the reference rules in one fixture: errors where the
    /// input manages the kind, warnings elsewhere, and objects created by controllers in the
    /// input, by the control plane or declared external resolving.
    #[test]
    fn severity_decisions() {
        let path = format!(
            "{}/resources/fixtures/severity/references.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let yaml = std::fs::read_to_string(&path).unwrap();
        let node = shipway_model::yaml::parse_one(
            "external:\n- {kind: ConfigMap, namespace: shop, name: shared-settings}\n",
        )
        .unwrap();
        let mut findings = Vec::new();
        for code in [
            "references/missing-secret",
            "references/missing-config-map",
            "references/missing-service",
            "references/missing-service-account",
            "references/missing-role",
        ] {
            let settings = crate::Settings {
                config: crate::Config::from_node(&node).unwrap(),
                ..Default::default()
            };
            findings.extend(lint_with(code, &yaml, settings));
        }
        findings.sort_by_key(|f| f.pos.line);
        insta::assert_snapshot!("severity_decisions", show(&yaml, &findings));
    }

    #[test]
    fn external_objects_silence_references() {
        let yaml = read("missing-secret");
        let mut settings = crate::Settings::default();
        let node = shipway_model::yaml::parse_one(
            "external:\n- {kind: Secret, name: db}\n- {kind: Secret, name: registry}\n- {kind: Secret, name: tls-cert}\n",
        )
        .unwrap();
        settings.config = crate::Config::from_node(&node).unwrap();
        let all = lint("references/missing-secret", &yaml).len();
        let with = lint_with("references/missing-secret", &yaml, settings).len();
        assert!(with < all, "{with} < {all}");
    }

    #[test]
    fn external_service_ports_are_checked() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata:\n  ok: http://prometheus.monitoring.svc:9090/\n  bad: prometheus.monitoring.svc:9091\n  any: grafana.monitoring.svc:3000\n";
        let node = shipway_model::yaml::parse_one(
            "external:\n- {kind: Service, namespace: monitoring, name: prometheus, ports: [9090]}\n- {kind: Service, namespace: monitoring, name: grafana}\n",
        )
        .unwrap();
        let settings = crate::Settings {
            config: crate::Config::from_node(&node).unwrap(),
            ..Default::default()
        };
        let findings = lint_with("references/in-cluster-url", yaml, settings);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].path, "data[\"bad\"]");
        assert!(
            findings[0].message.contains("port 9091"),
            "{}",
            findings[0].message
        );
    }
}
