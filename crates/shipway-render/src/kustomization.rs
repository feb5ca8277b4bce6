//! The kustomization file: finding it, and decoding it the way kustomize does.
//!
//! kustomize decodes the file with `sigs.k8s.io/yaml`, i.e. through Go's `encoding/json`:
//! field names match case-insensitively (`Resources:` works) and unknown fields are errors.
//! Legacy spellings are folded into their modern fields here (`bases` into `resources`,
//! `patchesJson6902` and `patchesStrategicMerge` into patches, `imageTags` into `images`),
//! exactly where kustomize accepts them.

use std::path::{Path, PathBuf};

use shipway_model::{Mapping, Node, Pos, Value};

use crate::error::RenderError;
use crate::helm::{HelmChart, HelmGlobals};
use crate::replace::Replacement;
use crate::vars::Var;

/// File names kustomize recognises, in the order it looks for them.
pub use shipway_model::KUSTOMIZATION_FILE_NAMES;

/// A decoded kustomization (or component).
#[derive(Debug, Default, Clone)]
pub struct Kustomization {
    /// The file it was read from.
    pub path: PathBuf,
    /// `kind`: `Kustomization` or `Component`.
    pub kind: String,
    /// `resources` (and legacy `bases`, appended after them).
    pub resources: Vec<Located<String>>,
    /// `components`.
    pub components: Vec<Located<String>>,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `namePrefix`.
    pub name_prefix: Option<String>,
    /// `nameSuffix`.
    pub name_suffix: Option<String>,
    /// `commonLabels`, in file order.
    pub common_labels: Vec<(String, String)>,
    /// `labels`.
    pub labels: Vec<LabelSpec>,
    /// `commonAnnotations`, in file order.
    pub common_annotations: Vec<(String, String)>,
    /// `images` (and legacy `imageTags`).
    pub images: Vec<ImageSpec>,
    /// `replicas`.
    pub replicas: Vec<(String, Node)>,
    /// `patchesStrategicMerge` entries: a path or an inline patch.
    pub patches_strategic_merge: Vec<Located<String>>,
    /// `patchesJson6902` entries.
    pub patches_json6902: Vec<PatchSpec>,
    /// `patches` entries.
    pub patches: Vec<PatchSpec>,
    /// `configMapGenerator`.
    pub config_map_generator: Vec<GeneratorSpec>,
    /// `secretGenerator`.
    pub secret_generator: Vec<GeneratorSpec>,
    /// `generatorOptions`.
    pub generator_options: Option<GeneratorOptions>,
    /// `sortOptions`.
    pub sort_options: Option<Node>,
    /// `buildMetadata`.
    pub build_metadata: Vec<String>,
    /// `crds`.
    pub crds: Vec<Located<String>>,
    /// `configurations`.
    pub configurations: Vec<Located<String>>,
    /// `replacements`.
    pub replacements: Vec<Replacement>,
    /// `vars`.
    pub vars: Vec<Var>,
    /// `generators`: built-in generator configurations (files, directories or inline).
    pub generators: Vec<Located<String>>,
    /// `transformers`: built-in transformer configurations (files, directories or inline).
    pub transformers: Vec<Located<String>>,
    /// `helmCharts`.
    pub helm_charts: Vec<HelmChart>,
    /// `helmGlobals`.
    pub helm_globals: HelmGlobals,
    /// `openapi`: `path` of a custom schema or a built-in `version`.
    pub openapi: Option<OpenApi>,
    /// Fields that are recognised but not supported by this renderer, with their position.
    pub unsupported: Vec<(String, Pos)>,
    /// Deprecation warnings for legacy fields.
    pub warnings: Vec<String>,
}

/// The `openapi:` field.
#[derive(Debug, Clone, Default)]
pub struct OpenApi {
    /// A swagger v2 schema file (JSON or YAML) that replaces the built-in one.
    pub path: Option<String>,
    /// A built-in schema version (kustomize v5.5.0 has only `v1.21.2`).
    pub version: Option<String>,
    /// Where it was written.
    pub pos: Pos,
}

/// A value and where it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub pos: Pos,
}

/// One `labels:` entry.
#[derive(Debug, Clone, Default)]
pub struct LabelSpec {
    /// The labels to add.
    pub pairs: Vec<(String, String)>,
    /// Also add to selectors.
    pub include_selectors: bool,
    /// Also add to pod templates (implied by `include_selectors`).
    pub include_templates: bool,
    /// Extra field specs.
    pub fields: Vec<Node>,
}

/// One `images:` entry.
#[derive(Debug, Clone, Default)]
pub struct ImageSpec {
    /// The image name to match.
    pub name: String,
    /// Replacement name.
    pub new_name: Option<String>,
    /// Replacement tag.
    pub new_tag: Option<String>,
    /// Replacement digest.
    pub digest: Option<String>,
    /// Where it was written.
    pub pos: Pos,
}

/// One `patches:` or `patchesJson6902:` entry.
#[derive(Debug, Clone, Default)]
pub struct PatchSpec {
    /// `path` to a patch file.
    pub path: Option<String>,
    /// Inline `patch`.
    pub patch: Option<String>,
    /// `target` selector.
    pub target: Option<Selector>,
    /// `options.allowNameChange`.
    pub allow_name_change: bool,
    /// `options.allowKindChange`.
    pub allow_kind_change: bool,
    /// Where the entry was written.
    pub pos: Pos,
}

/// A patch target or replacement selector.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// API group.
    pub group: Option<String>,
    /// API version.
    pub version: Option<String>,
    /// Kind (a regular expression).
    pub kind: Option<String>,
    /// Name (a regular expression).
    pub name: Option<String>,
    /// Namespace (a regular expression).
    pub namespace: Option<String>,
    /// Label selector.
    pub label_selector: Option<String>,
    /// Annotation selector.
    pub annotation_selector: Option<String>,
}

/// One `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Clone, Default)]
pub struct GeneratorSpec {
    /// `name`.
    pub name: String,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `behavior`: create (default), merge or replace.
    pub behavior: Option<String>,
    /// `literals`.
    pub literals: Vec<String>,
    /// `files`.
    pub files: Vec<String>,
    /// `envs` (and legacy `env`).
    pub envs: Vec<String>,
    /// `type` (secrets only).
    pub secret_type: Option<String>,
    /// Per-generator `options`.
    pub options: Option<GeneratorOptions>,
    /// Where the entry was written.
    pub pos: Pos,
}

/// `generatorOptions` or a generator's `options`.
#[derive(Debug, Clone, Default)]
pub struct GeneratorOptions {
    /// Labels to add.
    pub labels: Vec<(String, String)>,
    /// Annotations to add.
    pub annotations: Vec<(String, String)>,
    /// `disableNameSuffixHash`.
    pub disable_name_suffix_hash: Option<bool>,
    /// `immutable`.
    pub immutable: Option<bool>,
}

/// Whether a string value was written as a plain scalar that YAML 1.1 reads as a boolean
/// (`yes`, `on`, `y`, `off`…). kustomize decodes kustomization files with go-yaml v2, a YAML
/// 1.1 parser, so where a string is expected such a value is an error; the YAML 1.2 reader
/// here sees a string, so the file is consulted for the quoting (only for these words).
fn is_yaml11_bool(value: &str, file: &Path, node: &Node) -> bool {
    const WORDS: [&str; 16] = [
        "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off",
        "OFF",
    ];
    if !WORDS.contains(&value) || node.pos.line == 0 || node.pos.col == 0 {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return false;
    };
    text.lines()
        .nth(node.pos.line as usize - 1)
        .and_then(|line| line.chars().nth(node.pos.col as usize - 1))
        .is_some_and(|c| c != '"' && c != '\'')
}

/// Case-insensitive field access on a mapping, tracking which fields were consumed so
/// unknown ones can be reported as kustomize does.
pub(crate) struct Fields<'a> {
    map: &'a Mapping,
    used: Vec<bool>,
    file: &'a Path,
    context: &'static str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(
        node: &'a Node,
        file: &'a Path,
        context: &'static str,
    ) -> Result<Fields<'a>, RenderError> {
        match &node.value {
            Value::Map(map) => Ok(Fields {
                map,
                used: vec![false; map.len()],
                file,
                context,
            }),
            other => Err(RenderError::invalid(
                file,
                node.pos,
                format!(
                    "{context}: expected a mapping, found a {}",
                    other.type_name()
                ),
            )),
        }
    }

    /// Takes every field whose name equals one of `names` ignoring ASCII case.
    pub(crate) fn take(&mut self, names: &[&str]) -> Option<&'a Node> {
        let mut found = None;
        for (i, entry) in self.map.entries.iter().enumerate() {
            if names.iter().any(|n| n.eq_ignore_ascii_case(&entry.key)) {
                self.used[i] = true;
                // encoding/json keeps the last of several case-variants.
                found = Some(&entry.value);
            }
        }
        found.filter(|n| !n.value.is_null())
    }

    pub(crate) fn string(&mut self, names: &[&str]) -> Result<Option<String>, RenderError> {
        match self.take(names) {
            None => Ok(None),
            Some(node) => Ok(Some(self.expect_string(node, names[0])?)),
        }
    }

    pub(crate) fn expect_string(&self, node: &Node, field: &str) -> Result<String, RenderError> {
        match &node.value {
            Value::Str(s) if is_yaml11_bool(s, self.file, node) => Err(RenderError::invalid(
                self.file,
                node.pos,
                format!(
                    "{}.{field}: expected a string, found a boolean (kustomize reads an unquoted {s:?} as a YAML 1.1 boolean; quote it)",
                    self.context
                ),
            )),
            Value::Str(s) => Ok(s.clone()),
            other => Err(RenderError::invalid(
                self.file,
                node.pos,
                format!(
                    "{}.{field}: expected a string, found a {}",
                    self.context,
                    other.type_name()
                ),
            )),
        }
    }

    pub(crate) fn bool(&mut self, names: &[&str]) -> Result<Option<bool>, RenderError> {
        match self.take(names) {
            None => Ok(None),
            Some(Node {
                value: Value::Bool(b),
                ..
            }) => Ok(Some(*b)),
            Some(node) => Err(RenderError::invalid(
                self.file,
                node.pos,
                format!(
                    "{}.{}: expected a boolean, found a {}",
                    self.context,
                    names[0],
                    node.value.type_name()
                ),
            )),
        }
    }

    pub(crate) fn string_list(
        &mut self,
        names: &[&str],
    ) -> Result<Vec<Located<String>>, RenderError> {
        let Some(node) = self.take(names) else {
            return Ok(Vec::new());
        };
        let Value::Seq(items) = &node.value else {
            return Err(RenderError::invalid(
                self.file,
                node.pos,
                format!(
                    "{}.{}: expected a list of strings, found a {}",
                    self.context,
                    names[0],
                    node.value.type_name()
                ),
            ));
        };
        items
            .iter()
            .map(|item| {
                Ok(Located {
                    value: self.expect_string(item, names[0])?,
                    pos: item.pos,
                })
            })
            .collect()
    }

    pub(crate) fn string_map(
        &mut self,
        names: &[&str],
    ) -> Result<Vec<(String, String)>, RenderError> {
        let Some(node) = self.take(names) else {
            return Ok(Vec::new());
        };
        let Value::Map(map) = &node.value else {
            return Err(RenderError::invalid(
                self.file,
                node.pos,
                format!(
                    "{}.{}: expected a mapping of strings, found a {}",
                    self.context,
                    names[0],
                    node.value.type_name()
                ),
            ));
        };
        map.entries
            .iter()
            .map(|e| {
                let value = match &e.value.value {
                    Value::Str(s) if is_yaml11_bool(s, self.file, &e.value) => {
                        return Err(RenderError::invalid(
                            self.file,
                            e.value.pos,
                            format!(
                                "{}.{}.{}: expected a string, found a boolean (kustomize reads an unquoted {s:?} as a YAML 1.1 boolean; quote the value)",
                                self.context, names[0], e.key
                            ),
                        ));
                    }
                    Value::Str(s) => s.clone(),
                    Value::Null => String::new(),
                    other => {
                        return Err(RenderError::invalid(
                            self.file,
                            e.value.pos,
                            format!(
                                "{}.{}.{}: expected a string, found a {} (quote the value)",
                                self.context,
                                names[0],
                                e.key,
                                other.type_name()
                            ),
                        ));
                    }
                };
                Ok((e.key.clone(), value))
            })
            .collect()
    }

    pub(crate) fn seq(&mut self, names: &[&str]) -> Result<&'a [Node], RenderError> {
        match self.take(names) {
            None => Ok(&[]),
            Some(Node {
                value: Value::Seq(items),
                ..
            }) => Ok(items),
            Some(node) => Err(RenderError::invalid(
                self.file,
                node.pos,
                format!(
                    "{}.{}: expected a list, found a {}",
                    self.context,
                    names[0],
                    node.value.type_name()
                ),
            )),
        }
    }

    /// Fails on the first field nobody took, like `encoding/json` with unknown fields
    /// disallowed.
    pub(crate) fn finish(self) -> Result<(), RenderError> {
        for (entry, used) in self.map.entries.iter().zip(&self.used) {
            if !used {
                return Err(RenderError::invalid(
                    self.file,
                    entry.key_pos,
                    format!("{}: unknown field {:?}", self.context, entry.key),
                ));
            }
        }
        Ok(())
    }
}

impl Kustomization {
    /// Decodes a kustomization document read from `path`.
    pub fn decode(node: &Node, path: &Path) -> Result<Kustomization, RenderError> {
        let mut k = Kustomization {
            path: path.to_path_buf(),
            ..Kustomization::default()
        };
        if node.value.is_null() {
            k.kind = "Kustomization".into();
            return Ok(k);
        }
        let mut f = Fields::new(node, path, "kustomization")?;
        let api_version = f.string(&["apiVersion"])?;
        k.kind = f
            .string(&["kind"])?
            .unwrap_or_else(|| "Kustomization".into());
        if k.kind != "Kustomization" && k.kind != "Component" {
            return Err(RenderError::invalid(
                path,
                node.pos,
                format!("kind {:?} is not Kustomization or Component", k.kind),
            ));
        }
        if let Some(v) = &api_version {
            let ok = if k.kind == "Component" {
                v == "kustomize.config.k8s.io/v1alpha1"
            } else {
                v == "kustomize.config.k8s.io/v1beta1"
            };
            if !ok {
                return Err(RenderError::invalid(
                    path,
                    node.pos,
                    format!("apiVersion {v:?} is not valid for kind {}", k.kind),
                ));
            }
        }
        f.take(&["metadata"]);
        k.resources = f.string_list(&["resources"])?;
        let bases = f.string_list(&["bases"])?;
        if !bases.is_empty() {
            k.warnings.push("# Warning: 'bases' is deprecated. Please use 'resources' instead. Run 'kustomize edit fix' to update your Kustomization automatically.".into());
            k.resources.extend(bases);
        }
        k.components = f.string_list(&["components"])?;
        k.namespace = f.string(&["namespace"])?;
        k.name_prefix = f.string(&["namePrefix"])?;
        k.name_suffix = f.string(&["nameSuffix"])?;
        k.common_labels = f.string_map(&["commonLabels"])?;
        if !k.common_labels.is_empty() {
            k.warnings.push("# Warning: 'commonLabels' is deprecated. Please use 'labels' instead. Run 'kustomize edit fix' to update your Kustomization automatically.".into());
        }
        for item in f.seq(&["labels"])? {
            k.labels.push(decode_label(item, path)?);
        }
        k.common_annotations = f.string_map(&["commonAnnotations"])?;
        for item in f.seq(&["images"])? {
            k.images.push(decode_image(item, path)?);
        }
        let image_tags = f.seq(&["imageTags"])?;
        if !image_tags.is_empty() {
            k.warnings.push("# Warning: 'imageTags' is deprecated. Please use 'images' instead. Run 'kustomize edit fix' to update your Kustomization automatically.".into());
            for item in image_tags {
                k.images.push(decode_image(item, path)?);
            }
        }
        for item in f.seq(&["replicas"])? {
            let mut r = Fields::new(item, path, "replicas")?;
            let name = r.string(&["name"])?.unwrap_or_default();
            let count = r
                .take(&["count"])
                .cloned()
                .unwrap_or_else(|| Node::new(Value::Int(0)));
            r.finish()?;
            k.replicas.push((name, count));
        }
        let psm = f.take(&["patchesStrategicMerge"]);
        if let Some(node) = psm {
            k.warnings.push("# Warning: 'patchesStrategicMerge' is deprecated. Please use 'patches' instead. Run 'kustomize edit fix' to update your Kustomization automatically.".into());
            let Value::Seq(items) = &node.value else {
                return Err(RenderError::invalid(
                    path,
                    node.pos,
                    "patchesStrategicMerge: expected a list",
                ));
            };
            for item in items {
                let Value::Str(s) = &item.value else {
                    return Err(RenderError::invalid(
                        path,
                        item.pos,
                        "patchesStrategicMerge: expected a file path or an inline patch string",
                    ));
                };
                k.patches_strategic_merge.push(Located {
                    value: s.clone(),
                    pos: item.pos,
                });
            }
        }
        let json = f.seq(&["patchesJson6902"])?;
        if !json.is_empty() {
            k.warnings.push("# Warning: 'patchesJson6902' is deprecated. Please use 'patches' instead. Run 'kustomize edit fix' to update your Kustomization automatically.".into());
        }
        for item in json {
            k.patches_json6902
                .push(decode_patch(item, path, "patchesJson6902")?);
        }
        for item in f.seq(&["patches"])? {
            k.patches.push(decode_patch(item, path, "patches")?);
        }
        for item in f.seq(&["configMapGenerator"])? {
            k.config_map_generator
                .push(decode_generator(item, path, "configMapGenerator")?);
        }
        for item in f.seq(&["secretGenerator"])? {
            k.secret_generator
                .push(decode_generator(item, path, "secretGenerator")?);
        }
        if let Some(node) = f.take(&["generatorOptions"]) {
            k.generator_options = Some(decode_options(node, path)?);
        }
        k.sort_options = f.take(&["sortOptions"]).cloned();
        k.build_metadata = f
            .string_list(&["buildMetadata"])?
            .into_iter()
            .map(|l| l.value)
            .collect();
        k.crds = f.string_list(&["crds"])?;
        k.configurations = f.string_list(&["configurations"])?;
        // Not applied yet: refuse rather than render something kustomize would not.
        for item in f.seq(&["replacements"])? {
            k.replacements.push(Replacement::decode(item, path)?);
        }
        for item in f.seq(&["vars"])? {
            k.vars.push(Var::decode(item, path)?);
        }
        if !k.vars.is_empty() {
            k.warnings.push("# Warning: 'vars' is deprecated. Please use 'replacements' instead. [EXPERIMENTAL] Run 'kustomize edit fix' to update your Kustomization automatically.".into());
        }
        k.generators = f.string_list(&["generators"])?;
        k.transformers = f.string_list(&["transformers"])?;
        for item in f.seq(&["helmCharts"])? {
            k.helm_charts.push(HelmChart::decode(item, path)?);
        }
        if let Some(globals) = f.take(&["helmGlobals"]) {
            k.helm_globals = HelmGlobals::decode(globals, path)?;
        }
        if let Some(node) = f.take(&["openapi"]) {
            let mut o = Fields::new(node, path, "openapi")?;
            let openapi = OpenApi {
                path: o.string(&["path"])?,
                version: o.string(&["version"])?,
                pos: node.pos,
            };
            o.finish()?;
            k.openapi = Some(openapi);
        }
        for item in f.seq(&["helmChartInflationGenerator"])? {
            k.helm_charts.push(HelmChart::decode_legacy(item, path)?);
        }
        // kustomize has no built-in validators: every entry names an exec, container or Go
        // plugin, which shipway never runs.
        let validators = f.string_list(&["validators"])?;
        if let Some(first) = validators.first() {
            k.unsupported.push(("validators".into(), first.pos));
        }
        f.finish()?;
        Ok(k)
    }
}

fn decode_label(node: &Node, path: &Path) -> Result<LabelSpec, RenderError> {
    let mut f = Fields::new(node, path, "labels")?;
    let pairs = f.string_map(&["pairs"])?;
    let include_selectors = f.bool(&["includeSelectors"])?.unwrap_or(false);
    let include_templates = f.bool(&["includeTemplates"])?.unwrap_or(false);
    let fields = f.seq(&["fields"])?.to_vec();
    f.finish()?;
    Ok(LabelSpec {
        pairs,
        include_selectors,
        include_templates,
        fields,
    })
}

fn decode_image(node: &Node, path: &Path) -> Result<ImageSpec, RenderError> {
    let mut f = Fields::new(node, path, "images")?;
    let image = ImageSpec {
        name: f.string(&["name"])?.unwrap_or_default(),
        new_name: f.string(&["newName"])?,
        new_tag: scalar_string(f.take(&["newTag"])),
        digest: f.string(&["digest"])?,
        pos: node.pos,
    };
    f.take(&["tagSuffix"]);
    f.finish()?;
    Ok(image)
}

/// `newTag: 1.0` is common; kustomize's YAML-to-JSON step turns the number into a string
/// only when it is quoted, but users write both, so accept any scalar.
fn scalar_string(node: Option<&Node>) -> Option<String> {
    node.and_then(|n| n.value.scalar_text())
}

fn decode_patch(node: &Node, path: &Path, context: &'static str) -> Result<PatchSpec, RenderError> {
    let mut f = Fields::new(node, path, context)?;
    let mut spec = PatchSpec {
        pos: node.pos,
        ..PatchSpec::default()
    };
    spec.path = f.string(&["path"])?;
    spec.patch = f.string(&["patch"])?;
    if let Some(target) = f.take(&["target"]) {
        spec.target = Some(decode_selector(target, path)?);
    }
    if let Some(options) = f.take(&["options"]) {
        let mut o = Fields::new(options, path, "options")?;
        spec.allow_name_change = o.bool(&["allowNameChange"])?.unwrap_or(false);
        spec.allow_kind_change = o.bool(&["allowKindChange"])?.unwrap_or(false);
        o.finish()?;
    }
    f.finish()?;
    Ok(spec)
}

/// Decodes a patch target selector.
pub fn decode_selector(node: &Node, path: &Path) -> Result<Selector, RenderError> {
    let mut f = Fields::new(node, path, "target")?;
    let selector = Selector {
        group: f.string(&["group"])?,
        version: f.string(&["version"])?,
        kind: f.string(&["kind"])?,
        name: f.string(&["name"])?,
        namespace: f.string(&["namespace"])?,
        label_selector: f.string(&["labelSelector"])?,
        annotation_selector: f.string(&["annotationSelector"])?,
    };
    f.finish()?;
    Ok(selector)
}

/// Reads the fields a generator entry and a `ConfigMapGenerator`/`SecretGenerator` plugin
/// configuration share: behavior, literals, files, envs (and `env`), `type` when
/// `with_type`, and options.
pub(crate) fn decode_generator_fields(
    f: &mut Fields<'_>,
    spec: &mut GeneratorSpec,
    path: &Path,
    with_type: bool,
) -> Result<(), RenderError> {
    let list = |f: &mut Fields<'_>, name: &str| -> Result<Vec<String>, RenderError> {
        Ok(f.string_list(&[name])?
            .into_iter()
            .map(|l| l.value)
            .collect())
    };
    spec.behavior = f.string(&["behavior"])?;
    spec.literals = list(f, "literals")?;
    spec.files = list(f, "files")?;
    spec.envs = list(f, "envs")?;
    if let Some(env) = f.string(&["env"])? {
        spec.envs.insert(0, env);
    }
    if with_type {
        spec.secret_type = f.string(&["type"])?;
    }
    if let Some(options) = f.take(&["options"]) {
        spec.options = Some(decode_options(options, path)?);
    }
    Ok(())
}

fn decode_generator(
    node: &Node,
    path: &Path,
    context: &'static str,
) -> Result<GeneratorSpec, RenderError> {
    let mut f = Fields::new(node, path, context)?;
    let mut spec = GeneratorSpec {
        pos: node.pos,
        ..GeneratorSpec::default()
    };
    spec.name = f.string(&["name"])?.unwrap_or_default();
    spec.namespace = f.string(&["namespace"])?;
    decode_generator_fields(&mut f, &mut spec, path, context == "secretGenerator")?;
    f.finish()?;
    Ok(spec)
}

pub(crate) fn decode_options(node: &Node, path: &Path) -> Result<GeneratorOptions, RenderError> {
    let mut f = Fields::new(node, path, "generatorOptions")?;
    let options = GeneratorOptions {
        labels: f.string_map(&["labels"])?,
        annotations: f.string_map(&["annotations"])?,
        disable_name_suffix_hash: f.bool(&["disableNameSuffixHash"])?,
        immutable: f.bool(&["immutable"])?,
    };
    f.finish()?;
    Ok(options)
}
