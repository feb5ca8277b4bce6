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
pub mod decrypt;
pub mod error;
pub mod fieldspec;
pub mod generate;
pub mod helm;
pub mod image;
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
    /// Decrypt SOPS-encrypted inputs with these identities, as Flux does: resources,
    /// generator `files`/`envs`, patch files, and Secret `data` values that are sops
    /// documents. `None` (the default) reads every file as it is.
    pub decrypt: Option<std::sync::Arc<shipway_secrets::Keyring>>,
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

/// How many threads the renderer uses, looked up once: the standard library reads cgroup
/// files on every call, which cost 5% of a large render when asked per kustomization.
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// Prints `resources` as one YAML stream. Each object prints on its own, so large
/// outputs are split across the available cores and the pieces joined in order.
fn emit_all(resources: &[resource::Resource]) -> Result<String, RenderError> {
    fn emit(chunk: &[resource::Resource]) -> Result<String, RenderError> {
        let mut yaml = String::with_capacity(chunk.len() * 512);
        for (i, resource) in chunk.iter().enumerate() {
            if i > 0 {
                yaml.push_str("---\n");
            }
            write_kustomize_yaml(&resource.node, &mut yaml).map_err(|source| {
                RenderError::Emit {
                    location: error::location(&resource.source, resource.node.pos),
                    source,
                }
            })?;
        }
        Ok(yaml)
    }
    let threads = threads();
    // Below a few hundred objects a thread costs more than it saves.
    if threads < 2 || resources.len() < 512 {
        return emit(resources);
    }
    let chunk = resources.len().div_ceil(threads);
    let pieces: Vec<Result<String, RenderError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = resources
            .chunks(chunk)
            .map(|part| scope.spawn(move || emit(part)))
            .collect();
        handles
            .into_iter()
            // A panic in a worker is a bug; re-raise it rather than lose its objects.
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut yaml = String::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        let piece = piece?;
        if i > 0 && !piece.is_empty() {
            yaml.push_str("---\n");
        }
        yaml.push_str(&piece);
    }
    Ok(yaml)
}

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
    if let Some(keyring) = &options.decrypt {
        decrypt::secret_data_all(keyring, &mut resources)?;
    }
    let yaml = emit_all(&resources)?;
    Ok(Output {
        objects: resources.into_iter().map(|r| r.node).collect(),
        yaml,
        warnings: builder.warnings,
        sources: std::mem::take(
            &mut *builder
                .sources
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ),
    })
}
