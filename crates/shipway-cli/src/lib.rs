//! Command-line definitions of `shipway`. Help text is the doc comment on each field; this
//! crate holds no logic, so the app crate can be tested without parsing arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// A `GitOps` delivery engine for Kubernetes: render, check, release and sync in one binary.
#[derive(Debug, Parser)]
#[command(name = "shipway", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// shipway's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a kustomization directory and print its objects, exactly as `kubectl kustomize`.
    Render(RenderArgs),
}

/// Arguments of `shipway render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The kustomization directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Output order: `legacy` sorts by kind as kustomize does; `none` keeps input order.
    #[arg(long, value_enum, default_value_t = Reorder::Legacy)]
    pub reorder: Reorder,

    /// Which files a kustomization may read.
    #[arg(long, value_enum, default_value_t = LoadRestrictor::LoadRestrictionsRootOnly)]
    pub load_restrictor: LoadRestrictor,

    /// Accepted for kustomize compatibility. Built-in transformer and generator configs
    /// under `transformers:`/`generators:` run without it, as in kustomize; exec, container
    /// and Go plugins are refused with or without it.
    #[arg(long)]
    pub enable_alpha_plugins: bool,

    /// Render `helmCharts` with `helm template` (charts must be vendored under the chart
    /// home; nothing is downloaded).
    #[arg(long)]
    pub enable_helm: bool,

    /// The helm program `--enable-helm` runs.
    #[arg(long, default_value = "helm")]
    pub helm_command: String,

    /// Add the `app.kubernetes.io/managed-by` label to every object.
    #[arg(long)]
    pub enable_managedby_label: bool,

    /// Write the output to this file instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

/// `--reorder` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Reorder {
    /// kustomize's legacy kind order.
    Legacy,
    /// Input order.
    None,
}

/// `--load-restrictor` values, spelled as kustomize spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(clippy::enum_variant_names)]
pub enum LoadRestrictor {
    /// Files must be in or below the kustomization's directory.
    #[value(name = "LoadRestrictionsRootOnly")]
    LoadRestrictionsRootOnly,
    /// Any file may be read.
    #[value(name = "LoadRestrictionsNone")]
    LoadRestrictionsNone,
}
