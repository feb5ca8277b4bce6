//! Command-line definitions of `shipway`. Help text is the doc comment on each field; this
//! crate holds no logic, so the app crate can be tested without parsing arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// A `GitOps` delivery engine for Kubernetes: render, check, release and sync in one binary.
#[derive(Debug, Parser)]
#[command(name = "shipway", version)]
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
    /// Check manifests: schema, Pod Security, reliability, references and capacity.
    Check(CheckArgs),
    /// Print the documentation of a check rule.
    Explain(ExplainArgs),
    /// Set images in an environment's kustomization and commit (and push) the release.
    Release(ReleaseArgs),
    /// Copy the images released in one environment into the next, in one commit.
    Promote(PromoteArgs),
    /// Restore an earlier release's images in a new commit that marks the newer ones failed.
    Rollback(RollbackArgs),
    /// List an environment's releases, promotions and rollbacks from git history.
    History(HistoryArgs),
    /// Run a simulated Kubernetes cluster (API server, controllers, kubelet) in the
    /// foreground, for trying shipway and kubectl without a real cluster.
    Sandbox(SandboxArgs),
    /// Show what a sync would change: create, update, unchanged, delete, replace-required.
    #[command(visible_alias = "diff")]
    Plan(PlanArgs),
    /// Apply an app to the cluster: server-side apply in waves, hooks, health, prune.
    Sync(SyncArgs),
    /// Print an app's objects with their health and sync state.
    Status(StatusArgs),
    /// Run the controller that keeps the cluster equal to git: poll and take webhooks,
    /// sync automated apps, heal drift, keep history, serve the API and metrics.
    Serve(ServeArgs),
    /// Show, promote, abort, retry or pause an app's Argo Rollouts `Rollout`s.
    Rollout(RolloutArgs),
    /// Print a shell completion script: `source <(shipway completion bash)`.
    Completion(CompletionArgs),
    /// Notifications: check a configuration by sending a sample.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// SOPS secrets with age: generate keys, encrypt, decrypt, edit and re-key files.
    Secret(SecretArgs),
}

/// What `shipway rollout` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RolloutVerb {
    /// Print each Rollout's phase, step, weight and hashes.
    Status,
    /// Past the current pause or step (`--full`: past every remaining step).
    Promote,
    /// Every pod back on the stable version.
    Abort,
    /// After an abort, start the steps again.
    Retry,
    /// Hold the rollout where it is until promoted.
    Pause,
}

/// Arguments of `shipway rollout`.
#[derive(Debug, clap::Args)]
pub struct RolloutArgs {
    /// What to do.
    #[arg(value_enum)]
    pub verb: RolloutVerb,

    /// The app (a directory, an Argo CD Application file, an environment of
    /// `shipway.yaml`; with `--server`, the app's name).
    #[arg(value_name = "APP")]
    pub app: PathBuf,

    /// One Rollout of the app (default: every one).
    #[arg(value_name = "ROLLOUT")]
    pub rollout: Option<String>,

    /// With `promote`: skip every remaining step, pause and analysis.
    #[arg(long)]
    pub full: bool,

    /// Output format of `status`.
    #[arg(short = 'o', long, value_enum, default_value_t = StatusFormat::Text)]
    pub output: StatusFormat,

    /// Cluster and app settings.
    #[command(flatten)]
    pub target: TargetArgs,

    /// A running `shipway serve` to ask instead.
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Send the notification of the action (`abort`: `on-rollout-aborted`; `promote`:
    /// `on-rollout-step`) with this configuration, and wait for its delivery.
    #[arg(long, value_name = "CONFIG")]
    pub notify: Option<PathBuf>,
}

/// Arguments of `shipway completion`.
#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `shipway completion` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (`source <(shipway completion bash)` in `~/.bashrc`).
    Bash,
    /// Zsh (write it as `_shipway` in a directory of `$fpath`).
    Zsh,
    /// Fish (write it to `~/.config/fish/completions/shipway.fish`).
    Fish,
}

/// `shipway notify` subcommands.
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a sample notification to one service of a configuration and wait for it.
    Test(NotifyTestArgs),
}

/// Arguments of `shipway notify test`.
#[derive(Debug, clap::Args)]
pub struct NotifyTestArgs {
    /// The service's name (`slack`, `feishu`, or `NAME` of `service.webhook.NAME`).
    #[arg(value_name = "SERVICE")]
    pub service: String,

    /// The configuration: the `data` of the `argocd-notifications-cm` `ConfigMap`, the
    /// `ConfigMap`, or it and the `argocd-notifications-secret` Secret in one YAML stream.
    #[arg(long, default_value = "notifications.yaml", value_name = "FILE")]
    pub config: PathBuf,

    /// A recipient (a Slack channel, a Teams `recipientUrls` key). Repeatable; default one
    /// empty recipient.
    #[arg(long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,

    /// The trigger whose template the sample renders; the sample event fits the built-in
    /// triggers (a failed sync for `on-sync-failed`, a release for `on-release`, …).
    #[arg(long, default_value = "on-deployed", value_name = "TRIGGER")]
    pub trigger: String,
}

/// Arguments of `shipway secret`.
#[derive(Debug, clap::Args)]
pub struct SecretArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SecretCommand,
}

/// `shipway secret` subcommands. Identities for decryption come from `SOPS_AGE_KEY_FILE`,
/// `SOPS_AGE_KEY` (identities separated by whitespace) and
/// `$XDG_CONFIG_HOME/sops/age/keys.txt` (default `~/.config/sops/age/keys.txt`), combined.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Generate an age X25519 identity in age-keygen's file format (stdout, or `-o FILE`
    /// written with mode 0600); the public key is printed on stderr.
    Keygen {
        /// Write the identity to this file (refuses to overwrite).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Encrypt a file in sops format (YAML, JSON, dotenv `.env`, anything else binary) for
    /// the `--age` recipients, or the first `.sops.yaml` creation rule matching it.
    Encrypt {
        /// The plaintext file.
        file: PathBuf,
        /// An age recipient (`age1…`); repeatable. Overrides `.sops.yaml`'s keys.
        #[arg(long = "age", value_name = "RECIPIENT")]
        age: Vec<String>,
        /// Replace the file instead of printing the encrypted document on stdout.
        #[arg(short = 'i', long)]
        in_place: bool,
    },
    /// Decrypt a sops file (the MAC is verified) to stdout or `-o FILE`.
    Decrypt {
        /// The encrypted file.
        file: PathBuf,
        /// Write the plaintext to this file (mode 0600) instead of stdout.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Open the plaintext in `$EDITOR` (a 0600 temporary file) and re-encrypt it with the same
    /// data key; nothing is written if the editor fails or nothing changed.
    Edit {
        /// The encrypted file.
        file: PathBuf,
    },
    /// Re-wrap the file's data key for the recipients `.sops.yaml` now names for it; values
    /// and MAC are unchanged.
    Updatekeys {
        /// The encrypted file.
        file: PathBuf,
    },
}

/// `shipway serve --log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, with the app and revision as fields.
    Json,
}

/// Arguments of `shipway serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Argo CD Application files, Flux Kustomization/GitRepository files, or directories
    /// of them (read again when they change). Repeatable.
    #[arg(long = "apps", value_name = "PATH")]
    pub apps: Vec<PathBuf>,

    /// The kubeconfig file (default: `KUBECONFIG`, else `~/.kube/config`).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context (default: its current-context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Run an in-process sandbox cluster and manage it (a one-command demo).
    #[arg(long)]
    pub sandbox: bool,

    /// Where the API, webhooks and metrics listen.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: String,

    /// The git cache and the history store (default: `$XDG_DATA_HOME/shipway`, else
    /// `~/.local/share/shipway`).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// How often git sources are polled (Flux apps use their own interval).
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub poll: String,

    /// Where Application objects are read from in the cluster.
    #[arg(long, default_value = "argocd", value_name = "NS")]
    pub app_namespace: String,

    /// The secret webhook deliveries are signed with (without one, every delivery is
    /// refused with 401).
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,

    /// API tokens, lines `TOKEN ROLE [NAME]` (roles viewer, deployer, admin). Without it
    /// an admin token is generated into the state directory and only loopback is served.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How many apps reconcile at once.
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: u32,

    /// How long one sync may take, health wait included.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub sync_timeout: String,

    /// Refuse an automated prune of more than this percent of an app's live objects
    /// (the sync is then reported failed, and nothing is deleted).
    #[arg(long, default_value_t = 20, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_prune: u32,

    /// Send notifications of this configuration (Argo CD's `argocd-notifications-cm`
    /// format, with the `argocd-notifications-secret` Secret in the same file or `$name`
    /// references read from the environment) for apps that subscribe with
    /// `notifications.argoproj.io/subscribe.*` annotations; the delivery queue lives in the
    /// history database under `--state`. Without it, the `argocd-notifications-cm`
    /// `ConfigMap` and `argocd-notifications-secret` Secret of `--app-namespace` are read at
    /// start, when they exist.
    #[arg(long, value_name = "FILE")]
    pub notify_config: Option<PathBuf>,
}

/// How `sync`, `status` and `rollback` reach a running `shipway serve` instead of the
/// cluster or git.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// Ask the `shipway serve` at this URL (`http://host:port`) instead: APP is then the
    /// name of one of its apps.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,

    /// The API token for `--server`: the file's first word (a serve `--token-file` line or
    /// its generated `admin-token`). Default: `SHIPWAY_TOKEN`, else the admin token serve
    /// generated in the default state directory.
    #[arg(long, value_name = "FILE", requires = "server")]
    pub token_file: Option<PathBuf>,
}

/// Which cluster, as kubectl finds it.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// The kubeconfig file (default: `KUBECONFIG`, else `~/.kube/config`).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context (default: its current-context).
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,

    /// The app's namespace for objects without one (default: the Application's
    /// destination, else the context's namespace).
    #[arg(short = 'n', long, value_name = "NAMESPACE", global = true)]
    pub namespace: Option<String>,

    /// The app's name in every output, label and inventory (default: the Application's
    /// name, the `shipway.yaml` environment's, else the directory's).
    #[arg(long, value_name = "NAME", global = true)]
    pub name: Option<String>,

    /// Apply even when `shipway check` reports errors.
    #[arg(long, global = true)]
    pub no_check: bool,

    /// Take over fields other managers own (server-side apply `force`).
    #[arg(long, global = true)]
    pub force_conflicts: bool,

    /// Refuse to prune more than this percent of the app's inventory without
    /// `--confirm-prune`.
    #[arg(long, default_value_t = 20, value_name = "PERCENT", global = true, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_prune: u32,

    /// Prune even when that is more than `--max-prune` percent of the inventory.
    #[arg(long, global = true)]
    pub confirm_prune: bool,
}

/// Arguments of `shipway plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The app: a directory (plain YAML or a kustomization), an Argo CD Application file,
    /// or an environment of `shipway.yaml`.
    #[arg(value_name = "APP")]
    pub app: PathBuf,

    /// Cluster and app settings.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,

    /// Save the plan (JSON) for `shipway sync --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `shipway plan -o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Counts, then each changed object's differences, like `terraform plan`.
    Text,
    /// `{"changes":[{"object":{…},"action":"create|update|unchanged|delete|replace-required","diff":[…]}]}`.
    Json,
}

/// Arguments of `shipway sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The apps, synced in order: directories (plain YAML or kustomizations), Argo CD
    /// Application files, or environments of `shipway.yaml`.
    #[arg(value_name = "APP", required = true)]
    pub apps: Vec<PathBuf>,

    /// Cluster and app settings.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Wait until every object is healthy; exit non-zero naming each one that is not.
    #[arg(long)]
    pub wait: bool,

    /// How long waits may take (`90s`, `5m`).
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,

    /// Apply exactly this saved plan (`shipway plan --out FILE`), refusing if the live
    /// objects changed since.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,

    /// Never prune.
    #[arg(long)]
    pub no_prune: bool,

    /// Sync into a simulated cluster started in this process (`shipway sandbox`'s), then
    /// print the apps' status: a try-out that needs no cluster.
    #[arg(long)]
    pub sandbox: bool,
    /// Output format of the result (progress goes to stderr either way).
    #[arg(short = 'o', long, value_enum, default_value_t = SyncFormat::Text)]
    pub output: SyncFormat,

    /// A running `shipway serve` to ask instead (APP names its apps).
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Send notifications of this configuration (services, templates, triggers and
    /// subscriptions in Argo CD's `argocd-notifications-cm` format) and wait for their
    /// delivery; a failed notification is reported on stderr and does not change the exit
    /// status.
    #[arg(long, value_name = "CONFIG")]
    pub notify: Option<PathBuf>,
}

/// `shipway sync -o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncFormat {
    /// A summary line per app on stderr.
    Text,
    /// On stdout, `{"apps":[{"app","result":"synced|failed","applied":[…],"pruned":[…],"unchanged","hooks":[…],"error"}]}`.
    Json,
}

/// `shipway status -o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// The app's health and sync state, then one line per object, children indented.
    Text,
    /// `{"app","health","sync","objects":[{"apiVersion","kind","namespace","name","health","sync","message","children":[…]}]}`.
    Json,
}

/// Arguments of `shipway status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The app: a directory, an Argo CD Application file, or an environment of
    /// `shipway.yaml`.
    #[arg(value_name = "APP")]
    pub app: PathBuf,

    /// Cluster and app settings.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = StatusFormat::Text)]
    pub output: StatusFormat,

    /// A running `shipway serve` to ask instead (APP names one of its apps).
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Arguments of `shipway sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// The address to serve the Kubernetes API on (plain HTTP; loopback unless you mean
    /// it). Port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:6443", value_name = "ADDR:PORT")]
    pub listen: String,

    /// Where to write a kubeconfig that kubectl and shipway use unchanged.
    #[arg(
        long,
        default_value = "shipway-sandbox.kubeconfig",
        value_name = "FILE"
    )]
    pub kubeconfig_out: PathBuf,

    /// How many simulated nodes (`DaemonSets` run one pod on each).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub nodes: u32,

    /// Load the cluster's objects from FILE when it exists, and save them there on exit.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Serve the API only: no controllers or kubelet, so workloads get no pods (for
    /// benchmarks of the API path).
    #[arg(long)]
    pub no_controllers: bool,
}

/// How `release`, `promote` and `rollback` push.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Push the commit; when the branch moved, re-apply the edit on the new tip and retry.
    /// Never forces.
    #[arg(long)]
    pub push: bool,

    /// The remote to push to.
    #[arg(long, default_value = "origin", value_name = "REMOTE")]
    pub remote: String,

    /// The remote branch (default: the checked-out branch's name).
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// How many pushes to try when the remote branch keeps moving.
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
}

/// Arguments of `shipway release`.
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// An environment of `shipway.yaml`, or an overlay directory.
    #[arg(value_name = "PATH|ENV")]
    pub target: String,

    /// An image to set: `NAME=IMAGE[:TAG][@DIGEST]`, or `NAME[:TAG][@DIGEST]` to keep the
    /// entry's `newName`. Repeat for several images.
    #[arg(
        long = "image",
        required = true,
        value_name = "NAME=IMAGE[:TAG][@DIGEST]"
    )]
    pub images: Vec<String>,

    /// Add an `images:` entry for a name that has none (otherwise an unknown name is an
    /// error, which catches typos).
    #[arg(long)]
    pub add: bool,

    /// Release even when, while pushing, the branch turns out to have moved with another
    /// release of one of the same images (which this one would overwrite).
    #[arg(long)]
    pub force: bool,

    /// The commit message: the first line is the subject (default: generated from the
    /// environment and images), further lines the body.
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,

    /// Pushing.
    #[command(flatten)]
    pub push: PushArgs,

    /// Send notifications of this configuration (services, templates, triggers and
    /// subscriptions in Argo CD's `argocd-notifications-cm` format) and wait for their
    /// delivery; a failed notification is reported on stderr and does not change the exit
    /// status.
    #[arg(long, value_name = "CONFIG")]
    pub notify: Option<PathBuf>,
}

/// Arguments of `shipway promote`.
#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The environment (or overlay directory) to copy images from.
    #[arg(value_name = "FROM")]
    pub from: String,

    /// The environment (or overlay directory) to copy them into.
    #[arg(value_name = "TO")]
    pub to: String,

    /// Promote only these images (default: every image of FROM).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,

    /// Promote even a release marked failed, or against the promotion order.
    #[arg(long)]
    pub force: bool,

    /// The commit message: the first line is the subject (default: generated), further
    /// lines the body.
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,

    /// Pushing.
    #[command(flatten)]
    pub push: PushArgs,
}

/// Arguments of `shipway rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// An environment of `shipway.yaml`, or an overlay directory.
    #[arg(value_name = "PATH|ENV")]
    pub target: String,

    /// Restore the images as they were at this commit.
    #[arg(long, value_name = "COMMIT", conflicts_with = "steps")]
    pub to: Option<String>,

    /// Go back this many releases (failed releases and rollbacks do not count).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub steps: u32,

    /// The commit message: the first line is the subject (default: generated), further
    /// lines the body.
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,

    /// Pushing.
    #[command(flatten)]
    pub push: PushArgs,
    /// Ask a running `shipway serve` to roll back its app named PATH|ENV: it commits,
    /// pushes and syncs, and never applies the abandoned revision automatically again.
    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Send notifications of this configuration (services, templates, triggers and
    /// subscriptions in Argo CD's `argocd-notifications-cm` format) and wait for their
    /// delivery; a failed notification is reported on stderr and does not change the exit
    /// status.
    #[arg(long, value_name = "CONFIG")]
    pub notify: Option<PathBuf>,
}

/// Arguments of `shipway history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// An environment of `shipway.yaml`, or an overlay directory.
    #[arg(value_name = "PATH|ENV")]
    pub target: String,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = HistoryFormat::Text)]
    pub output: HistoryFormat,
}

/// `shipway history -o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// One block per entry, for people.
    Text,
    /// `{"entries":[{"commit","time","author","kind","images":[{"name","from","to"}]}]}`.
    Json,
}

/// Arguments of `shipway check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// YAML files, directories of YAML (recursively), kustomization directories (rendered
    /// first), or `-` for standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = CheckFormat::Text)]
    pub output: CheckFormat,

    /// Kubernetes version to validate against, e.g. `1.31` (default: the newest bundled).
    #[arg(long, value_name = "X.Y")]
    pub kubernetes_version: Option<String>,

    /// Pod Security level and version, e.g. `restricted` or `baseline:v1.30` (default: the
    /// namespace's `pod-security.kubernetes.io/enforce` labels, else `baseline:latest`).
    #[arg(long, value_name = "LEVEL[:VERSION]")]
    pub pod_security: Option<String>,

    /// Exit 1 when a finding at or above this severity is found.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Repository configuration: disabled rules, per-object suppressions, objects managed
    /// elsewhere.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory of custom resource definitions whose kinds the input uses.
    #[arg(long, value_name = "DIR")]
    pub crd_dir: Option<PathBuf>,

    /// Also print the per-namespace capacity table: requests, limits and pods at
    /// `spec.replicas`, at autoscaler maximum and during a surge, against quotas (on
    /// stdout with `-o text`, on stderr otherwise).
    #[arg(long)]
    pub capacity: bool,

    /// Which files may be read: with `LoadRestrictionsRootOnly`, a symbolic link in a
    /// directory given on the command line must stay inside that directory, and
    /// kustomizations may read only files in or below their own directory.
    #[arg(long, value_enum, default_value_t = LoadRestrictor::LoadRestrictionsRootOnly)]
    pub load_restrictor: LoadRestrictor,
}

/// `shipway check -o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Grouped by file, for people.
    Text,
    /// JSON, for scripts.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// `JUnit` XML, for CI test reports.
    Junit,
    /// GitHub Actions workflow annotations.
    Github,
}

/// `--fail-on` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warning,
}

/// Arguments of `shipway explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The rule id, e.g. `reliability/latest-image-tag` (none: list every rule).
    pub rule: Option<String>,
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

    /// Decrypt SOPS-encrypted resources, generator files, patches and Secret `data`
    /// values (as Flux does), with the age identities of `SOPS_AGE_KEY_FILE`,
    /// `SOPS_AGE_KEY` and `~/.config/sops/age/keys.txt`. The output then holds plaintext.
    #[arg(long)]
    pub decrypt: bool,

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
