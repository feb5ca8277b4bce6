//! A kustomize-compatible renderer: `render(dir)` returns what `kubectl kustomize dir`
//! (kustomize v5.5.0) prints, byte for byte, for every feature it supports, and a clear
//! error naming the file and line for everything else.
//!
//! The renderer is pure apart from reading the kustomization's files: no network, no git,
//! no cluster.
//!
//! ```no_run
//! let output = shipway_render::render(std::path::Path::new("examples/platform/overlays/dev"), &Default::default()).unwrap();
//! print!("{}", output.yaml);
//! ```

mod build;
pub mod error;
pub mod fieldspec;
pub mod generate;
pub mod helm;
pub mod kustomization;
pub mod loader;
pub mod patch;
#[cfg(test)]
mod proptests;
pub mod replace;
pub mod resource;
pub mod vars;

use std::path::Path;

pub use error::RenderError;
pub use loader::LoadRestrictor;
use shipway_model::yaml::write_kustomize_yaml;
use shipway_model::{Node, SourceMap};

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which files kustomizations may read.
    pub load_restrictor: LoadRestrictor,
    /// Keep the accumulation order instead of kustomize's legacy kind order.
    pub reorder_none: bool,
    /// Add `app.kubernetes.io/managed-by: kustomize-<version>` to every object.
    pub managed_by_label: bool,
    /// The `helm` program for `helmCharts` (`--enable-helm`); charts are refused when
    /// `None`.
    pub helm_command: Option<String>,
}

/// A rendered kustomization.
#[derive(Debug)]
pub struct Output {
    /// The objects, in output order.
    pub objects: Vec<Node>,
    /// The YAML `kubectl kustomize` prints for them.
    pub yaml: String,
    /// Deprecation warnings (for stderr).
    pub warnings: Vec<String>,
    /// The files objects were read from.
    pub sources: SourceMap,
}

/// The value `kubectl kustomize --enable-managedby-label` (kubectl 1.32) writes.
pub const MANAGED_BY: &str = "kustomize-(devel)";

/// Renders the kustomization in `dir`.
pub fn render(dir: &Path, options: &Options) -> Result<Output, RenderError> {
    let mut builder = build::Builder::new(options);
    let mut resources = builder.build(dir)?;
    if options.managed_by_label || builder.managed_by_label {
        for resource in &mut resources {
            if let Some(labels) = resource
                .node
                .ensure_path(&["metadata", "labels"])
                .and_then(Node::as_map_mut)
            {
                labels.insert(
                    "app.kubernetes.io/managed-by".into(),
                    Node::string(MANAGED_BY),
                );
            }
        }
    }
    let mut yaml = String::with_capacity(resources.len() * 512);
    for (i, resource) in resources.iter().enumerate() {
        if i > 0 {
            yaml.push_str("---\n");
        }
        write_kustomize_yaml(&resource.node, &mut yaml).map_err(|source| RenderError::Emit {
            location: error::location(&resource.source, resource.node.pos),
            source,
        })?;
    }
    Ok(Output {
        objects: resources.into_iter().map(|r| r.node).collect(),
        yaml,
        warnings: builder.warnings,
        sources: builder.sources,
    })
}
