//! YAML in and out: reading with positions ([`read`]), kustomize-identical printing
//! ([`emit`]) and the Go number and scalar rules both sides share ([`number`]).

pub mod emit;
pub mod number;
pub mod read;

#[cfg(test)]
mod proptests;

pub use emit::{EmitError, to_kustomize_yaml, write_kustomize_yaml};
pub use read::{Limits, YamlError, parse_one, parse_stream};
