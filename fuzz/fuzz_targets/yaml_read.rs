//! Fuzz target for the YAML reader and the kustomize-compatible emitter.
//!
//! Every manifest shipway renders passes through `parse_stream`, and every object it prints
//! through `to_kustomize_yaml`, so both must turn any input into a value or an error and
//! never panic. Non-UTF-8 inputs are skipped because callers decode files before parsing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shipway_model::FileId;
use shipway_model::yaml::{Limits, parse_stream, to_kustomize_yaml};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(docs) = parse_stream(text, FileId(0), &Limits::default()) {
        for doc in &docs {
            // An error is fine (NaN/infinite floats have no JSON spelling); a panic is not.
            let _ = to_kustomize_yaml(doc);
        }
    }
});
