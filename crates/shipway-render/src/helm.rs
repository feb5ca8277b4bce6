//! `helmCharts:` — inflating Helm charts with an external `helm template`, as kustomize's
//! `HelmChartInflationGenerator` does under `--enable-helm`.
//!
//! This is the one place the renderer runs another program, and only when the caller
//! asked for it ([`crate::Options::helm_command`]). Charts must already be in the chart
//! home (`charts/` next to the kustomization, or `helmGlobals.chartHome`): shipway never
//! downloads charts, so a chart that is only in a remote repository is refused with a
//! message saying how to vendor it. Values follow kustomize: `valuesFile` (default the
//! chart's own `values.yaml`) combined with `valuesInline` by `valuesMerge` (`override`,
//! the default, lets inline values win key by key; `merge` lets the file win; `replace`
//! uses only the inline values).

use std::path::{Path, PathBuf};
use std::process::Command;

use shipway_model::yaml::{Limits, parse_stream, to_kustomize_yaml};
use shipway_model::{FileId, Node, Pos, Value};

use crate::error::RenderError;
use crate::kustomization::Fields;

/// The chart home kustomize uses when `helmGlobals.chartHome` is not set.
pub const DEFAULT_CHART_HOME: &str = "charts";

/// One `helmCharts:` entry.
#[derive(Debug, Clone, Default)]
pub struct HelmChart {
    /// Chart name (a directory under the chart home).
    pub name: String,
    /// Chart version (with `repo`, the chart lives in `<chartHome>/<name>-<version>/`).
    pub version: Option<String>,
    /// The repository the chart would be pulled from.
    pub repo: Option<String>,
    /// `helm template` release name (`--generate-name` when absent).
    pub release_name: Option<String>,
    /// `--namespace`.
    pub namespace: Option<String>,
    /// `--name-template`.
    pub name_template: Option<String>,
    /// The values file (relative to the kustomization).
    pub values_file: Option<String>,
    /// More values files, in order.
    pub additional_values_files: Vec<String>,
    /// Inline values.
    pub values_inline: Option<Node>,
    /// `override`, `merge` or `replace`.
    pub values_merge: Option<String>,
    /// `--api-versions`.
    pub api_versions: Vec<String>,
    /// `--kube-version`.
    pub kube_version: Option<String>,
    /// `--include-crds`.
    pub include_crds: bool,
    /// `--skip-tests`.
    pub skip_tests: bool,
    /// `--no-hooks`.
    pub skip_hooks: bool,
    /// The chart home of a legacy `helmChartInflationGenerator` entry (over `helmGlobals`).
    pub chart_home: Option<String>,
    /// The helm home of a legacy entry (over `helmGlobals.configHome`).
    pub config_home: Option<String>,
    /// Where the entry was written.
    pub pos: Pos,
}

/// `helmGlobals:`.
#[derive(Debug, Clone, Default)]
pub struct HelmGlobals {
    /// Where charts are (relative to the kustomization unless absolute).
    pub chart_home: Option<String>,
    /// `HELM_CONFIG_HOME` (a temporary directory when absent).
    pub config_home: Option<String>,
}

impl HelmChart {
    /// Decodes one `helmCharts:` entry.
    pub fn decode(node: &Node, file: &Path) -> Result<HelmChart, RenderError> {
        let mut f = Fields::new(node, file, "helmCharts")?;
        let list = |f: &mut Fields<'_>, name: &str| -> Result<Vec<String>, RenderError> {
            Ok(f.string_list(&[name])?
                .into_iter()
                .map(|l| l.value)
                .collect())
        };
        let chart = HelmChart {
            name: f.string(&["name"])?.unwrap_or_default(),
            version: f.string(&["version"])?,
            repo: f.string(&["repo"])?,
            release_name: f.string(&["releaseName"])?,
            namespace: f.string(&["namespace"])?,
            name_template: f.string(&["nameTemplate"])?,
            values_file: f.string(&["valuesFile"])?,
            additional_values_files: list(&mut f, "additionalValuesFiles")?,
            values_inline: f.take(&["valuesInline"]).cloned(),
            values_merge: f.string(&["valuesMerge"])?,
            api_versions: list(&mut f, "apiVersions")?,
            kube_version: f.string(&["kubeVersion"])?,
            include_crds: f.bool(&["includeCRDs"])?.unwrap_or(false),
            skip_tests: f.bool(&["skipTests"])?.unwrap_or(false),
            skip_hooks: f.bool(&["skipHooks"])?.unwrap_or(false),
            chart_home: None,
            config_home: None,
            pos: node.pos,
        };
        f.finish()?;
        if chart.name.is_empty() {
            return Err(RenderError::invalid(
                file,
                node.pos,
                "helmCharts: a chart needs a `name`",
            ));
        }
        if let Some(merge) = &chart.values_merge
            && !matches!(merge.as_str(), "override" | "merge" | "replace")
        {
            return Err(RenderError::invalid(
                file,
                node.pos,
                "helmCharts: valuesMerge must be one of [override replace merge]",
            ));
        }
        Ok(chart)
    }
}

impl HelmChart {
    /// Decodes a legacy `helmChartInflationGenerator:` entry (`chartName`, `chartVersion`,
    /// `chartRepoUrl`, `chartHome`, `releaseName`, `releaseNamespace`, `values`,
    /// `valuesLocal`, `valuesMerge`, `helmHome`), which kustomize maps onto `helmCharts`.
    pub fn decode_legacy(node: &Node, file: &Path) -> Result<HelmChart, RenderError> {
        let mut f = Fields::new(node, file, "helmChartInflationGenerator")?;
        let chart = HelmChart {
            name: f.string(&["chartName"])?.unwrap_or_default(),
            version: f.string(&["chartVersion"])?,
            repo: f.string(&["chartRepoUrl"])?,
            chart_home: f.string(&["chartHome"])?,
            config_home: f.string(&["helmHome"])?,
            release_name: f.string(&["releaseName"])?,
            namespace: f.string(&["releaseNamespace"])?,
            values_file: f.string(&["values"])?,
            values_inline: f.take(&["valuesLocal"]).cloned(),
            values_merge: f.string(&["valuesMerge"])?,
            pos: node.pos,
            ..HelmChart::default()
        };
        // `helmBin` and `extraArgs` are accepted by kustomize's decoder; the helm program
        // is chosen by `--helm-command` here.
        f.take(&["helmBin", "extraArgs"]);
        f.finish()?;
        if chart.name.is_empty() {
            return Err(RenderError::invalid(
                file,
                node.pos,
                "helmChartInflationGenerator: a chart needs a `chartName`",
            ));
        }
        Ok(chart)
    }
}

impl HelmGlobals {
    /// Decodes `helmGlobals:`.
    pub fn decode(node: &Node, file: &Path) -> Result<HelmGlobals, RenderError> {
        let mut f = Fields::new(node, file, "helmGlobals")?;
        let globals = HelmGlobals {
            chart_home: f.string(&["chartHome"])?,
            config_home: f.string(&["configHome"])?,
        };
        f.finish()?;
        Ok(globals)
    }
}

/// Runs `helm template` for `chart` of the kustomization `file` in `dir` and returns the
/// objects it printed.
pub fn inflate(
    helm: &str,
    chart: &HelmChart,
    globals: &HelmGlobals,
    dir: &Path,
    file: &Path,
    file_id: FileId,
) -> Result<Vec<Node>, RenderError> {
    let err = |message: String| RenderError::invalid(file, chart.pos, message);
    let home = dir.join(globals.chart_home.as_deref().unwrap_or(DEFAULT_CHART_HOME));
    let home = match (&chart.version, &chart.repo) {
        (Some(version), Some(_)) => home.join(format!("{}-{version}", chart.name)),
        _ => home,
    };
    let chart_dir = home.join(&chart.name);
    if !chart_dir.is_dir() {
        return Err(err(format!(
            "chart {:?} not found at '{}': shipway does not download charts; vendor it there first (`helm pull {} --untar --untardir {}`)",
            chart.name,
            chart_dir.display(),
            chart.name,
            home.display()
        )));
    }
    let work = TempDir::new().map_err(|e| err(format!("creating a temporary directory: {e}")))?;
    let config_home = chart
        .config_home
        .as_ref()
        .or(globals.config_home.as_ref())
        .map_or_else(|| work.path.join("helm"), |c| dir.join(c));

    let version = run(helm, &["version", "-c", "--short"], &config_home)
        .map_err(|e| err(format!("`--enable-helm`: {e}")))?;
    if !String::from_utf8_lossy(&version)
        .trim_start()
        .starts_with("v3")
    {
        return Err(err(format!(
            "`{helm} version` reports {:?}; kustomize charts need helm v3",
            String::from_utf8_lossy(&version).trim()
        )));
    }

    let values_file = chart
        .values_file
        .as_ref()
        .map_or_else(|| chart_dir.join("values.yaml"), |v| dir.join(v));
    let values_file = match &chart.values_inline {
        Some(inline) if !is_empty(inline) => {
            let merged = merged_values(chart, inline, &values_file, file_id)
                .map_err(|e| err(format!("helm values: {e}")))?;
            let text = to_kustomize_yaml(&merged).map_err(|e| err(e.to_string()))?;
            let path = work.path.join("values.yaml");
            fs_err::write(&path, text).map_err(|e| RenderError::io(&path, e))?;
            path
        }
        _ => values_file,
    };

    let mut args: Vec<String> = vec!["template".into()];
    match &chart.release_name {
        Some(name) if !name.is_empty() => args.push(name.clone()),
        _ => args.push("--generate-name".into()),
    }
    args.push(chart_dir.to_string_lossy().into_owned());
    flag(&mut args, "--namespace", chart.namespace.as_ref());
    flag(&mut args, "--name-template", chart.name_template.as_ref());
    if values_file.exists() {
        args.push("-f".into());
        args.push(values_file.to_string_lossy().into_owned());
    }
    for extra in &chart.additional_values_files {
        args.push("-f".into());
        args.push(dir.join(extra).to_string_lossy().into_owned());
    }
    for api in &chart.api_versions {
        args.push("--api-versions".into());
        args.push(api.clone());
    }
    flag(&mut args, "--kube-version", chart.kube_version.as_ref());
    if chart.include_crds {
        args.push("--include-crds".into());
    }
    if chart.skip_tests {
        args.push("--skip-tests".into());
    }
    if chart.skip_hooks {
        args.push("--no-hooks".into());
    }
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let stdout = run(helm, &arg_refs, &config_home).map_err(err)?;
    let text = String::from_utf8(stdout).map_err(|_| {
        err(format!(
            "`{helm} template` printed something that is not UTF-8"
        ))
    })?;
    // helm may print notes before the first document; kustomize drops everything before
    // the first `---` when the whole output does not read as objects.
    let objects = |text: &str| -> Result<Vec<Node>, String> {
        let docs = parse_stream(text, file_id, &Limits::default())
            .map_err(|e| format!("line {}: {}", e.line, e.message))?;
        let docs: Vec<Node> = docs
            .into_iter()
            .filter(|d| matches!(&d.value, Value::Map(m) if !m.is_empty()))
            .collect();
        match docs
            .iter()
            .find(|d| d.str_at(&["kind"]).is_none() || d.str_at(&["apiVersion"]).is_none())
        {
            Some(bad) => Err(format!(
                "line {}: a document without `apiVersion` and `kind`",
                bad.pos.line
            )),
            None => Ok(docs),
        }
    };
    objects(&text)
        .or_else(|first| match text.find("\n---") {
            Some(i) => objects(&text[i + 1..]),
            None => Err(first),
        })
        .map_err(|e| {
            err(format!(
                "`{helm} template` output for chart {:?} is not a list of objects: {e}",
                chart.name
            ))
        })
}

/// Adds `name value` when the value is given and not empty.
fn flag(args: &mut Vec<String>, name: &str, value: Option<&String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        args.push(name.into());
        args.push(v.clone());
    }
}

fn is_empty(node: &Node) -> bool {
    match &node.value {
        Value::Null => true,
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

/// The values kustomize hands to helm when `valuesInline` is set.
fn merged_values(
    chart: &HelmChart,
    inline: &Node,
    values_file: &Path,
    file_id: FileId,
) -> Result<Node, String> {
    let mode = chart.values_merge.as_deref().unwrap_or("override");
    if mode == "replace" {
        return Ok(inline.clone());
    }
    let text = fs_err::read_to_string(values_file).map_err(|e| e.to_string())?;
    let file_values = parse_stream(&text, file_id, &Limits::default())
        .map_err(|e| format!("{}:{}: {}", values_file.display(), e.line, e.message))?
        .into_iter()
        .next()
        .unwrap_or_else(Node::map);
    Ok(if mode == "merge" {
        deep_merge(inline.clone(), &file_values)
    } else {
        deep_merge(file_values, inline)
    })
}

/// Merges `over` into `base`: mappings key by key, anything else replaced.
fn deep_merge(mut base: Node, over: &Node) -> Node {
    match (&mut base.value, &over.value) {
        (Value::Map(b), Value::Map(o)) => {
            for entry in &o.entries {
                let merged = match b.remove(&entry.key) {
                    Some(existing) => deep_merge(existing, &entry.value),
                    None => entry.value.clone(),
                };
                b.insert(entry.key.clone(), merged);
            }
            base
        }
        _ => over.clone(),
    }
}

fn run(program: &str, args: &[&str], config_home: &Path) -> Result<Vec<u8>, String> {
    let output = Command::new(program)
        .args(args)
        .env("HELM_CONFIG_HOME", config_home)
        .env("HELM_CACHE_HOME", config_home.join(".cache"))
        .env("HELM_DATA_HOME", config_home.join(".data"))
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{program}` was not found on PATH: install helm v3, or name it with `--helm-command`")
            } else {
                format!("running `{program}`: {e}")
            }
        })?;
    if !output.status.success() {
        return Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output.stdout)
}

/// A temporary directory removed on drop (values files and helm's config home).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let path = base.join(format!("shipway-helm-{}-{attempt}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary directory name"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory in the temp dir harms nothing.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipway_model::yaml::parse_one;

    #[test]
    fn inline_values_override_file_values_key_by_key() {
        let file = parse_one("a: {x: 1, y: 2}\nlist: [1, 2]\n").unwrap();
        let inline = parse_one("a: {y: 3}\nlist: [9]\n").unwrap();
        let merged = deep_merge(file, &inline);
        assert_eq!(
            to_kustomize_yaml(&merged).unwrap(),
            "a:\n  x: 1\n  \"y\": 3\nlist:\n- 9\n"
        );
    }
}
