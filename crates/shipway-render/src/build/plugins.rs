//! `generators:` and `transformers:` — kustomize's built-in plugins configured by hand.
//!
//! Each entry is a file of plugin configurations, an inline configuration, or a directory
//! whose kustomization renders to configurations. Configurations with `apiVersion:
//! builtin` run the same code the kustomization fields do (`kind: PrefixTransformer`,
//! `LabelTransformer`, `PatchTransformer`, `ConfigMapGenerator`, …), with exactly the field
//! specs the configuration gives. Anything else is an exec, container or Go plugin, which
//! shipway never runs: it is refused with an error naming the file, with or without
//! `--enable-alpha-plugins`.
//!
//! As in kustomize, hand-configured generators run after the kustomization's own
//! generators, and hand-configured transformers after its own transformers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shipway_model::yaml::{Limits, parse_stream};
use shipway_model::{Mapping, Node, Pos, Value};

use super::{Builder, Tables, absorb, add_pairs, rename, set_images, set_namespace, set_replicas};
use crate::error::RenderError;
use crate::fieldspec::FieldSpec;
use crate::generate::generate;
use crate::kustomization::{
    Fields, GeneratorSpec, ImageSpec, Kustomization, Located, PatchSpec, decode_generator_fields,
    decode_selector,
};
use crate::replace::{self, Replacement};
use crate::resource::{ResMap, Resource};

/// One plugin configuration and the file it came from.
struct Config {
    node: Node,
    file: PathBuf,
}

/// Which list an entry came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Generators,
    Transformers,
}

impl Stage {
    fn field(self) -> &'static str {
        match self {
            Stage::Generators => "generators",
            Stage::Transformers => "transformers",
        }
    }
}

impl Builder<'_> {
    /// Runs every configuration named by `entries` (the kustomization's `generators:` or
    /// `transformers:`) against `ra`.
    pub(super) fn run_plugins(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        entries: &[Located<String>],
        stage: Stage,
        ra: &mut ResMap,
    ) -> Result<(), RenderError> {
        for entry in entries {
            for config in self.load_configs(k, dir, entry, stage)? {
                self.run_plugin(k, dir, &config, stage, ra)?;
            }
        }
        Ok(())
    }

    fn load_configs(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        entry: &Located<String>,
        stage: Stage,
    ) -> Result<Vec<Config>, RenderError> {
        let value = &entry.value;
        if value.contains('\n') {
            // An inline configuration, as kustomize v5 accepts.
            let file = self.add_source(&k.path);
            let docs = parse_stream(value, file, &Limits::default()).map_err(|source| {
                RenderError::Yaml {
                    path: k.path.clone(),
                    source,
                }
            })?;
            return Ok(docs
                .into_iter()
                .filter(|d| !d.value.is_null())
                .map(|node| Config {
                    node,
                    file: k.path.clone(),
                })
                .collect());
        }
        if super::is_remote(value) {
            return Err(super::remote_refused(&k.path, entry.pos, value));
        }
        let path = dir.join(value);
        if path.is_dir() {
            let sub = self.load_kustomization(&path, Some((&k.path, entry.pos)))?;
            let mut sub_ra = ResMap::default();
            let mut tables = Tables::default();
            self.accumulate(&sub, &path, &mut sub_ra, &mut tables)?;
            return Ok(sub_ra
                .into_resources()
                .into_iter()
                .map(|r| Config {
                    node: r.node,
                    file: r.source.to_path_buf(),
                })
                .collect());
        }
        if !path.exists() {
            return Err(RenderError::invalid(
                &k.path,
                entry.pos,
                format!("{}: '{}' does not exist", stage.field(), path.display()),
            ));
        }
        self.loader.check(&path, dir, &k.path, entry.pos)?;
        Ok(self
            .read_yaml(&path)?
            .into_iter()
            .filter(|d| !d.value.is_null())
            .map(|node| Config {
                node,
                file: path.clone(),
            })
            .collect())
    }

    fn run_plugin(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        config: &Config,
        stage: Stage,
        ra: &mut ResMap,
    ) -> Result<(), RenderError> {
        let node = &config.node;
        let file = config.file.as_path();
        let api_version = node.str_at(&["apiVersion"]).unwrap_or("");
        let kind = node.str_at(&["kind"]).unwrap_or("");
        if api_version != "builtin" {
            return Err(RenderError::unsupported(
                file,
                node.pos,
                format!(
                    "plugin `{api_version}/{kind}` is not a built-in plugin: shipway never runs exec, container or Go plugins (with or without `--enable-alpha-plugins`); use `apiVersion: builtin` configurations or render with kustomize"
                ),
            ));
        }
        let mut f = Fields::new(node, file, "plugin")?;
        let specs = |f: &mut Fields<'_>| -> Result<Vec<FieldSpec>, RenderError> {
            Ok(f.seq(&["fieldSpecs"])?
                .iter()
                .filter_map(FieldSpec::from_node)
                .collect())
        };
        let generator = matches!(
            kind,
            "ConfigMapGenerator" | "SecretGenerator" | "IAMPolicyGenerator"
        );
        if generator != (stage == Stage::Generators) {
            return Err(RenderError::invalid(
                file,
                node.pos,
                format!("`{kind}` cannot be listed under `{}:`", stage.field()),
            ));
        }
        match kind {
            "ConfigMapGenerator" | "SecretGenerator" => {
                let secret = kind == "SecretGenerator";
                let spec = generator_spec(&mut f, file, node.pos)?;
                // Plugin configurations do not inherit the kustomization's
                // `generatorOptions`; files resolve against the kustomization's directory.
                let plain = Kustomization {
                    path: k.path.clone(),
                    ..Kustomization::default()
                };
                let resource = generate(&self.loader, &plain, dir, &spec, secret)?;
                absorb(ra, resource, file, node.pos)?;
            }
            "IAMPolicyGenerator" => {
                let resource = iam_policy_service_account(&mut f, file, node.pos)?;
                ra.append(resource)?;
            }
            "PrefixTransformer" | "SuffixTransformer" => {
                let prefix = kind == "PrefixTransformer";
                let affix = f
                    .string(&[if prefix { "prefix" } else { "suffix" }])?
                    .unwrap_or_default();
                let specs = specs(&mut f)?;
                if !affix.is_empty() {
                    rename(ra, &affix, prefix, Some(&specs));
                }
            }
            "PrefixSuffixTransformer" => {
                // kustomize's `MultiTransformer`: its PrefixTransformer, then its
                // SuffixTransformer, both configured from this one config.
                let prefix = f.string(&["prefix"])?.unwrap_or_default();
                let suffix = f.string(&["suffix"])?.unwrap_or_default();
                let specs = specs(&mut f)?;
                if !prefix.is_empty() {
                    rename(ra, &prefix, true, Some(&specs));
                }
                if !suffix.is_empty() {
                    rename(ra, &suffix, false, Some(&specs));
                }
            }
            "LabelTransformer" | "AnnotationsTransformer" => {
                let key = if kind == "LabelTransformer" {
                    "labels"
                } else {
                    "annotations"
                };
                let pairs = f.string_map(&[key])?;
                let specs = specs(&mut f)?;
                add_pairs(ra, &pairs, &specs);
            }
            "NamespaceTransformer" => {
                let namespace = node
                    .str_at(&["metadata", "namespace"])
                    .unwrap_or("")
                    .to_string();
                let specs = specs(&mut f)?;
                let unset_only = f.bool(&["unsetOnly"])?.unwrap_or(false);
                let subjects = f.string(&["setRoleBindingSubjects"])?;
                if !matches!(
                    subjects.as_deref(),
                    None | Some("" | "defaultOnly" | "allServiceAccounts" | "none")
                ) {
                    return Err(RenderError::invalid(
                        file,
                        node.pos,
                        "setRoleBindingSubjects must be one of defaultOnly, allServiceAccounts or none",
                    ));
                }
                if !namespace.is_empty() {
                    set_namespace(
                        ra,
                        &namespace,
                        &specs,
                        &super::NamespaceOptions {
                            unset_only,
                            subjects: subjects.unwrap_or_default(),
                        },
                    );
                }
            }
            "ImageTagTransformer" => {
                let mut image = ImageSpec {
                    pos: node.pos,
                    ..ImageSpec::default()
                };
                if let Some(tag) = f.take(&["imageTag"]) {
                    let mut t = Fields::new(tag, file, "imageTag")?;
                    image.name = t.string(&["name"])?.unwrap_or_default();
                    image.new_name = t.string(&["newName"])?;
                    image.new_tag = t.take(&["newTag"]).and_then(|n| n.value.scalar_text());
                    image.digest = t.string(&["digest"])?;
                }
                let specs = specs(&mut f)?;
                set_images(ra, &image, &specs);
            }
            "ReplicaCountTransformer" => {
                let (name, count) = match f.take(&["replica"]) {
                    Some(replica) => {
                        let mut r = Fields::new(replica, file, "replica")?;
                        (
                            r.string(&["name"])?.unwrap_or_default(),
                            r.take(&["count"])
                                .cloned()
                                .unwrap_or_else(|| Node::new(Value::Int(0))),
                        )
                    }
                    None => (String::new(), Node::new(Value::Int(0))),
                };
                let specs = specs(&mut f)?;
                set_replicas(ra, &name, &count, &specs, file)?;
            }
            "PatchTransformer" | "PatchJson6902Transformer" => {
                let json = kind == "PatchJson6902Transformer";
                let mut spec = PatchSpec {
                    pos: node.pos,
                    ..PatchSpec::default()
                };
                spec.path = f.string(&["path"])?;
                spec.patch = f.string(&[if json { "jsonOp" } else { "patch" }])?;
                if let Some(target) = f.take(&["target"]) {
                    spec.target = Some(decode_selector(target, file)?);
                }
                if let Some(options) = f.take(&["options"]) {
                    let mut o = Fields::new(options, file, "options")?;
                    spec.allow_name_change = o.bool(&["allowNameChange"])?.unwrap_or(false);
                    spec.allow_kind_change = o.bool(&["allowKindChange"])?.unwrap_or(false);
                }
                let plain = Kustomization {
                    path: k.path.clone(),
                    ..Kustomization::default()
                };
                self.apply_patch(&plain, dir, &spec, ra, json)?;
            }
            "PatchStrategicMergeTransformer" => {
                let mut patches = Vec::new();
                for path in f.string_list(&["paths"])? {
                    patches.push(PatchSpec {
                        path: Some(path.value),
                        pos: path.pos,
                        ..PatchSpec::default()
                    });
                }
                if let Some(inline) = f.string(&["patches"])? {
                    patches.push(PatchSpec {
                        patch: Some(inline),
                        pos: node.pos,
                        ..PatchSpec::default()
                    });
                }
                let plain = Kustomization {
                    path: k.path.clone(),
                    ..Kustomization::default()
                };
                for spec in &patches {
                    self.apply_patch(&plain, dir, spec, ra, false)?;
                }
            }
            "ReplacementTransformer" => {
                let mut list = Kustomization {
                    path: file.to_path_buf(),
                    ..Kustomization::default()
                };
                for item in f.seq(&["replacements"])? {
                    list.replacements.push(Replacement::decode(item, file)?);
                }
                let replacements = self.load_replacements(&list, dir)?;
                replace::apply(&replacements, ra.resources_mut())?;
            }
            other => {
                return Err(RenderError::unsupported(
                    file,
                    node.pos,
                    format!(
                        "built-in plugin `{other}` is not supported by shipway; supported: ConfigMapGenerator, SecretGenerator, IAMPolicyGenerator, PrefixTransformer, SuffixTransformer, PrefixSuffixTransformer, LabelTransformer, AnnotationsTransformer, NamespaceTransformer, ImageTagTransformer, ReplicaCountTransformer, PatchTransformer, PatchJson6902Transformer, PatchStrategicMergeTransformer, ReplacementTransformer"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The `IAMPolicyGenerator` built-in (kustomize's `iampolicygenerator` filter): for
/// `cloud: gke`, a `ServiceAccount` bound to a Google service account through the
/// `iam.gke.io/gcp-service-account` annotation; other clouds are refused as kustomize
/// refuses them.
fn iam_policy_service_account(
    f: &mut Fields<'_>,
    file: &Path,
    pos: Pos,
) -> Result<Resource, RenderError> {
    let cloud = f.string(&["cloud"])?.unwrap_or_default();
    if cloud != "gke" {
        return Err(RenderError::invalid(
            file,
            pos,
            format!("IAMPolicyGenerator: cloud provider {cloud:?} not supported yet"),
        ));
    }
    let empty = Node::map();
    let kubernetes = f.take(&["kubernetesService"]).unwrap_or(&empty);
    let account = f.take(&["serviceAccount"]).unwrap_or(&empty);
    let text = |node: &Node, key: &str| node.str_at(&[key]).unwrap_or("").to_string();
    let mut annotations = Mapping::new();
    annotations.insert(
        "iam.gke.io/gcp-service-account".into(),
        Node::string(format!(
            "{}@{}.iam.gserviceaccount.com",
            text(account, "name"),
            text(account, "projectId")
        )),
    );
    let mut metadata = Mapping::new();
    metadata.insert("annotations".into(), Node::new(Value::Map(annotations)));
    metadata.insert("name".into(), Node::string(text(kubernetes, "name")));
    let namespace = text(kubernetes, "namespace");
    if !namespace.is_empty() {
        metadata.insert("namespace".into(), Node::string(namespace));
    }
    let mut object = Mapping::new();
    object.insert("apiVersion".into(), Node::string("v1"));
    object.insert("kind".into(), Node::string("ServiceAccount"));
    object.insert("metadata".into(), Node::new(Value::Map(metadata)));
    let mut node = Node::new(Value::Map(object));
    node.set_pos_recursive(pos);
    Ok(Resource::new(node, Arc::from(file)))
}

/// A `ConfigMapGenerator`/`SecretGenerator` configuration as a generator entry: the name
/// and namespace come from its `metadata`.
fn generator_spec(f: &mut Fields<'_>, file: &Path, pos: Pos) -> Result<GeneratorSpec, RenderError> {
    let mut spec = GeneratorSpec {
        pos,
        ..GeneratorSpec::default()
    };
    if let Some(meta) = f.take(&["metadata"]) {
        spec.name = meta.str_at(&["name"]).unwrap_or("").to_string();
        spec.namespace = meta.str_at(&["namespace"]).map(str::to_string);
    }
    decode_generator_fields(f, &mut spec, file, true)?;
    Ok(spec)
}
