//! Progressive delivery with Argo Rollouts' semantics, as pure functions the controller
//! drives: the condition language of `AnalysisTemplate` metrics ([`expr`]), the replica
//! arithmetic of a canary without a traffic router ([`replicas`]), the canary's decision
//! for one reconcile — sizes, step, pauses, promote and abort ([`canary`]) — and how
//! measurements become a metric's verdict ([`analysis`]). Nothing here talks to a cluster or the network,
//! so each rule is tested on its own against the upstream examples. The controller
//! ([`controller`]) drives them against the cluster, with the NGINX Ingress router
//! ([`nginx`]) and `workloadRef` ([`workload`]) beside it.

pub mod analysis;
pub mod background;
pub mod bluegreen;
pub mod bluegreen_controller;
pub mod canary;
pub mod controller;
pub mod exposition;
pub mod expr;
pub mod jobs;
pub mod nginx;
pub mod pod_metrics;
pub mod providers;
pub mod replicas;
pub mod rollout;
pub mod runs;
pub mod smoke;
pub mod workload;
