//! `shipway render`: build a kustomization and print exactly what `kubectl kustomize` prints.

use std::io::Write;

use anyhow::Context;
use shipway_cli::{LoadRestrictor, RenderArgs, Reorder};

use super::ExitStatus;

/// Renders the kustomization in `args.dir` to stdout or `-o FILE`.
pub(crate) fn render(args: &RenderArgs) -> anyhow::Result<ExitStatus> {
    let options = shipway_render::Options {
        load_restrictor: match args.load_restrictor {
            LoadRestrictor::LoadRestrictionsRootOnly => shipway_render::LoadRestrictor::RootOnly,
            LoadRestrictor::LoadRestrictionsNone => shipway_render::LoadRestrictor::None,
        },
        reorder_none: args.reorder == Reorder::None,
        managed_by_label: args.enable_managedby_label,
        helm_command: args.enable_helm.then(|| args.helm_command.clone()),
        decrypt: args.decrypt.then(|| {
            std::sync::Arc::new(shipway_secrets::Keyring::discover(&|name: &str| {
                std::env::var(name).ok()
            }))
        }),
    };
    let output = shipway_render::render(&args.dir, &options)?;
    for warning in &output.warnings {
        eprintln!("{warning}");
    }
    if let Some(path) = &args.output {
        fs_err::write(path, output.yaml.as_bytes())
            .with_context(|| format!("writing `{}`", path.display()))?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(output.yaml.as_bytes())?;
        stdout.flush()?;
    }
    // Freeing tens of thousands of small nodes one by one took a tenth of a large render;
    // the process is about to exit and the OS reclaims the memory at once.
    std::mem::forget(output);
    Ok(ExitStatus::Success)
}
