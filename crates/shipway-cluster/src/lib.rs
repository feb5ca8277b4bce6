//! The sync engine: what `shipway plan`, `sync` and `status` do against a cluster.
//!
//! An [`app`] is a directory (plain YAML or a kustomization) or an Argo CD `Application`;
//! it renders to the desired objects. A plan compares them with the live objects through
//! server-side dry-run applies, so immutable-field changes are known before anything
//! mutates; a sync applies the plan in order (namespaces and CRDs, then waves, then kinds)
//! with server-side apply, runs hooks, waits for [`health`], records the app's
//! [`inventory`] in the cluster and prunes what is no longer rendered, with the safety
//! rules of that module. [`diff`] normalises objects and prints field-level differences
//! with Secret values masked.
//!
//! Layering: deciding (classification, ordering, health, diffs, prune safety) is pure and
//! tested without a cluster; the kube-rs calls are a thin layer over it, tested against the
//! `shipway-sim` API simulator.

pub mod app;
pub mod cluster;
pub mod diff;
pub mod engine;
pub mod health;
pub mod identity;
pub mod inventory;
pub mod plan;
pub mod status;
pub mod sync;
