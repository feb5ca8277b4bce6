//! The build: accumulate resources through kustomizations and components, run generators
//! and transformers in kustomize's order, then add hash suffixes, fix name references and
//! sort. Everything here is pure apart from reading files through the [`Loader`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use shipway_model::yaml::{Limits, parse_stream};
use shipway_model::{Gvk, Node, Pos, SourceMap, Value};
use shipway_schema::Schema;

use crate::Options;
use crate::error::{RenderError, location};
use crate::fieldspec::{Builtin, FieldSpec, NameReference, builtin, visit_fields};
use crate::generate::{generate, name_hash};
use crate::kustomization::{KUSTOMIZATION_FILE_NAMES, Kustomization, Located, PatchSpec};
use crate::loader::Loader;
use crate::patch::{Target, deletes_target, json6902, strategic_merge};
use crate::replace::{self, Replacement};
use crate::resource::{Behavior, ResMap, Resource, ns_equal};
use crate::vars::{self, Var};

mod plugins;

use plugins::Stage;

/// The field-spec tables in force for one accumulation: kustomize's built-in ones unless a
/// `configurations:` file there or below added to them. The common case shares the
/// built-in tables instead of copying them for each of thousands of kustomizations.
#[derive(Debug, Clone, Default)]
struct Tables(Option<Arc<Builtin>>);

impl Tables {
    fn get(&self) -> &Builtin {
        self.0.as_deref().unwrap_or_else(|| builtin())
    }

    fn merge(&mut self, other: &Builtin) -> Result<(), String> {
        let mut merged = self.get().clone();
        merged.merge(other)?;
        self.0 = Some(Arc::new(merged));
        Ok(())
    }

    fn absorb(&mut self, other: &Tables) -> Result<(), String> {
        match &other.0 {
            Some(extra) => self.merge(extra),
            None => Ok(()),
        }
    }
}

/// A sub-kustomization built on a worker thread, and the vars it declared.
struct SubResult {
    result: Result<(ResMap, Tables), RenderError>,
    vars: Vec<Var>,
}

impl SchemaChoice {
    /// Whether two choices are the same (custom schemas by identity).
    fn same_as(&self, other: &SchemaChoice) -> bool {
        match (self, other) {
            (SchemaChoice::Unset, SchemaChoice::Unset)
            | (SchemaChoice::Builtin, SchemaChoice::Builtin) => true,
            (SchemaChoice::Custom(a), SchemaChoice::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Which schema strategic merge uses.
#[derive(Debug, Clone)]
enum SchemaChoice {
    /// No kustomization has said: the built-in one, and a later `openapi:` may still choose.
    Unset,
    /// Chosen: the built-in Kubernetes 1.21 schema kustomize embeds.
    Builtin,
    /// Chosen: a custom swagger document, which replaces the built-in one entirely.
    Custom(Arc<Schema>),
}

/// State of one build.
pub(crate) struct Builder<'o> {
    options: &'o Options,
    loader: Loader,
    /// Files read, for positions.
    /// Shared with the builders of sub-kustomizations rendered on other threads, so file
    /// ids stay unique across the whole render.
    pub(crate) sources: Arc<Mutex<SourceMap>>,
    /// Deprecation warnings, printed once each.
    pub(crate) warnings: Vec<String>,
    stack: Vec<PathBuf>,
    /// Every var declared so far, in declaration order.
    vars: Vec<Var>,
    /// The schema strategic merge patches use, once a kustomization chose one: kustomize
    /// keeps the first `openapi:` setting it loads (the top kustomization's first) for
    /// the rest of the build.
    schema: SchemaChoice,
    /// The top kustomization's directory when its `buildMetadata` asks for
    /// `originAnnotations`.
    origin_root: Option<PathBuf>,
    /// The top kustomization's `buildMetadata` asks for `managedByLabel`.
    pub(crate) managed_by_label: bool,
    /// Whether sibling sub-kustomizations may be built on several threads (only the top
    /// builder's are: nested levels stay sequential so threads are not oversubscribed).
    parallel: bool,
}

impl<'o> Builder<'o> {
    /// A builder for one render.
    pub(crate) fn new(options: &'o Options) -> Builder<'o> {
        Builder {
            options,
            loader: Loader::new(options.load_restrictor).with_decrypt(options.decrypt.clone()),
            sources: Arc::default(),
            warnings: Vec::new(),
            stack: Vec::new(),
            vars: Vec::new(),
            schema: SchemaChoice::Unset,
            origin_root: None,
            managed_by_label: false,
            parallel: crate::threads() > 1,
        }
    }

    /// The id of `path` in the shared source map.
    fn add_source(&self, path: &Path) -> shipway_model::FileId {
        self.sources
            .lock()
            // A poisoned lock means another thread panicked mid-insert; the map itself is
            // still a valid list of paths.
            .unwrap_or_else(PoisonError::into_inner)
            .add(path)
    }

    /// A builder for sub-kustomizations on another thread: the same options, sources,
    /// schema choice, cycle stack and vars so far; its own loader cache and warnings.
    fn sub_builder(&self) -> Builder<'o> {
        Builder {
            options: self.options,
            loader: Loader::new(self.options.load_restrictor)
                .with_decrypt(self.options.decrypt.clone()),
            sources: self.sources.clone(),
            warnings: Vec::new(),
            stack: self.stack.clone(),
            vars: self.vars.clone(),
            schema: self.schema.clone(),
            origin_root: self.origin_root.clone(),
            managed_by_label: false,
            parallel: false,
        }
    }

    /// Renders the kustomization in `dir` to its final, ordered resources.
    pub(crate) fn build(&mut self, dir: &Path) -> Result<Vec<Resource>, RenderError> {
        let k = self.load_kustomization(dir, None)?;
        // Only the top kustomization's `buildMetadata` counts, and unknown values are
        // ignored, as in kustomize.
        for item in &k.build_metadata {
            match item.as_str() {
                "originAnnotations" => self.origin_root = Some(dir.to_path_buf()),
                "managedByLabel" => self.managed_by_label = true,
                "transformerAnnotations" => {
                    return Err(RenderError::unsupported(
                        &k.path,
                        Pos::NONE,
                        "`buildMetadata: [transformerAnnotations]` is not supported by shipway; `originAnnotations` and `managedByLabel` are",
                    ));
                }
                _ => {}
            }
        }
        let mut ra = ResMap::default();
        let mut tables = Tables::default();
        self.accumulate(&k, dir, &mut ra, &mut tables)?;
        add_hashes(&mut ra);
        check_role_binding_subjects(&ra)?;
        fix_name_references(&mut ra, &tables.get().name_reference);
        let unused = vars::resolve(&self.vars, ra.resources_mut(), &tables.get().var_reference)?;
        if !unused.is_empty() {
            self.warnings.push(format!(
                "well-defined vars that were never replaced: {}",
                unused.join(",")
            ));
        }
        let mut resources = ra.into_resources();
        // Objects marked `config.kubernetes.io/local-config` take part in the build (as
        // replacement or name-reference sources) and are left out of the output; only the
        // value "false" keeps them (kustomize's `IgnoreLocal`, after vars).
        resources.retain(|r| {
            r.node
                .get("metadata")
                .and_then(|m| m.get("annotations"))
                .and_then(|a| a.get("config.kubernetes.io/local-config"))
                .is_none_or(|v| v.as_str() == Some("false"))
        });
        // `sortOptions` in the kustomization wins over `--reorder` ("Using the
        // kustomization file over the CLI flag", kustomize warns).
        // kustomize removes its internal build annotations from every object at the end,
        // and writing back an empty set removes the field: an empty or null
        // `metadata.annotations` is not printed (labels, and annotations deeper in the
        // object, are; observed with `kubectl kustomize`).
        for resource in &mut resources {
            if let Some(metadata) = resource.node.get_mut("metadata").and_then(Node::as_map_mut)
                && metadata.get("annotations").is_some_and(|a| {
                    a.value.is_null() || a.as_map().is_some_and(shipway_model::Mapping::is_empty)
                })
            {
                metadata.remove("annotations");
            }
        }
        if !self.options.reorder_none || k.sort_options.is_some() {
            sort(&k, &mut resources)?;
        }
        Ok(resources)
    }

    fn load_kustomization(
        &mut self,
        dir: &Path,
        from: Option<(&Path, Pos)>,
    ) -> Result<Kustomization, RenderError> {
        let found: Vec<PathBuf> = KUSTOMIZATION_FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect();
        let path = match found.as_slice() {
            [] => {
                if !dir.exists() {
                    let message = format!("'{}' does not exist", dir.display());
                    return Err(match from {
                        Some((file, pos)) => RenderError::Invalid {
                            location: location(file, pos),
                            message,
                        },
                        None => RenderError::Io {
                            path: dir.to_path_buf(),
                            source: std::io::Error::new(
                                std::io::ErrorKind::NotFound,
                                "no such directory",
                            ),
                        },
                    });
                }
                return Err(RenderError::NoKustomization {
                    dir: dir.to_path_buf(),
                });
            }
            [one] => one.clone(),
            many => {
                return Err(RenderError::Invalid {
                    location: location(dir, Pos::NONE),
                    message: format!(
                        "found multiple kustomization files: {}",
                        many.iter()
                            .filter_map(|p| p.file_name())
                            .map(|n| n.to_string_lossy().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        };
        let docs = self.read_yaml_with(&path, true)?;
        let node = match docs.len() {
            0 => Node::new(Value::Null),
            1 => docs
                .into_iter()
                .next()
                .unwrap_or_else(|| Node::new(Value::Null)),
            _ => {
                return Err(RenderError::invalid(
                    &path,
                    Pos::NONE,
                    "a kustomization file must hold one YAML document",
                ));
            }
        };
        if is_empty_kustomization(&node) {
            return Err(RenderError::invalid(
                &path,
                node.pos,
                "kustomization.yaml is empty",
            ));
        }
        let k = Kustomization::decode(&node, &path)?;
        if let Some(openapi) = &k.openapi
            && matches!(self.schema, SchemaChoice::Unset)
        {
            self.schema = match self.load_openapi(&k, dir, openapi)? {
                Some(custom) => SchemaChoice::Custom(custom),
                None => SchemaChoice::Builtin,
            };
        }
        for warning in &k.warnings {
            if !self.warnings.contains(warning) {
                self.warnings.push(warning.clone());
            }
        }
        if let Some((name, pos)) = k.unsupported.first() {
            return Err(RenderError::unsupported(
                &path,
                *pos,
                format!(
                    "`{name}` runs exec, container or Go plugins, which shipway never runs (with or without `--enable-alpha-plugins`)"
                ),
            ));
        }
        Ok(k)
    }

    /// Reads `openapi:`: the built-in schema for `version: v1.21.2`, a custom swagger
    /// document for `path`.
    fn load_openapi(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        openapi: &crate::kustomization::OpenApi,
    ) -> Result<Option<Arc<Schema>>, RenderError> {
        match (&openapi.path, &openapi.version) {
            (Some(_), Some(_)) => Err(RenderError::invalid(
                &k.path,
                openapi.pos,
                "openapi: builtin version and custom schema provided, cannot use both",
            )),
            (None, Some(version)) if version != "v1.21.2" => Err(RenderError::invalid(
                &k.path,
                openapi.pos,
                format!(
                    "openapi: the specified OpenAPI version {version:?} is not built in (kustomize v5.5.0 has only v1.21.2)"
                ),
            )),
            (None, _) => Ok(None),
            (Some(rel), None) => {
                let path = dir.join(rel);
                let docs = {
                    self.loader.check(&path, dir, &k.path, openapi.pos)?;
                    self.read_yaml(&path)?
                };
                let Some(doc) = docs.into_iter().next() else {
                    return Err(RenderError::invalid(
                        &path,
                        Pos::NONE,
                        "the schema file is empty",
                    ));
                };
                let mut json = doc.to_json();
                hoist_inline_objects(&mut json);
                let schema = Schema::from_swagger(&json).map_err(|e| {
                    RenderError::invalid(&path, doc.pos, format!("openapi schema: {e}"))
                })?;
                Ok(Some(Arc::new(schema)))
            }
        }
    }

    /// Reads the YAML documents of a file a kustomization names (through the load
    /// restrictor), without empty documents; `what` names the file in errors.
    fn read_named_yaml(
        &mut self,
        path: &Path,
        k: &Kustomization,
        pos: Pos,
        what: &str,
    ) -> Result<Vec<Node>, RenderError> {
        let bytes = self.loader.read_file(path, &k.path, pos)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            RenderError::invalid(path, Pos::NONE, format!("{what} file is not UTF-8"))
        })?;
        let file = self.add_source(path);
        let docs =
            parse_stream(&text, file, &Limits::default()).map_err(|source| RenderError::Yaml {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(docs.into_iter().filter(|d| !d.value.is_null()).collect())
    }

    fn read_yaml(&mut self, path: &Path) -> Result<Vec<Node>, RenderError> {
        self.read_yaml_with(path, false)
    }

    /// Reads `path`; `kustomization` files let a repeated key replace the earlier one, as
    /// kustomize's JSON-based reading of them does (resources stay strict, as yaml.v3 is).
    fn read_yaml_with(
        &mut self,
        path: &Path,
        kustomization: bool,
    ) -> Result<Vec<Node>, RenderError> {
        let mut text = fs_err::read_to_string(path).map_err(|e| RenderError::io(path, e))?;
        if !kustomization && let Some(keyring) = &self.options.decrypt {
            text = crate::decrypt::file_text(keyring, path, text)?;
        }
        let file = self.add_source(path);
        let limits = Limits {
            duplicate_keys_keep_last: kustomization,
            ..Limits::default()
        };
        parse_stream(&text, file, &limits).map_err(|source| RenderError::Yaml {
            path: path.to_path_buf(),
            source,
        })
    }

    fn accumulate(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        ra: &mut ResMap,
        tables: &mut Tables,
    ) -> Result<(), RenderError> {
        let real = self.loader.canonical_dir(dir);
        if self.stack.contains(&real) {
            return Err(RenderError::Cycle {
                location: location(&k.path, Pos::NONE),
                dir: real,
            });
        }
        self.stack.push(real);
        let result = self.accumulate_inner(k, dir, ra, tables);
        self.stack.pop();
        result
    }

    fn accumulate_inner(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        ra: &mut ResMap,
        tables: &mut Tables,
    ) -> Result<(), RenderError> {
        let mut prebuilt = self.build_subs_in_parallel(k, dir);
        for (index, entry) in k.resources.iter().enumerate() {
            let done = prebuilt
                .as_mut()
                .and_then(|slots| slots.get_mut(index))
                .and_then(Option::take);
            let Some(SubResult { result, vars }) = done else {
                self.accumulate_resource(k, dir, &entry.value, entry.pos, ra, tables)?;
                continue;
            };
            let (sub_ra, sub_tables) = result?;
            for var in vars {
                if self.vars.iter().any(|v| v.name == var.name) {
                    return Err(RenderError::invalid(
                        &var.file,
                        var.pos,
                        format!("var '{}' already encountered", var.name),
                    ));
                }
                self.vars.push(var);
            }
            tables
                .absorb(&sub_tables)
                .map_err(|e| RenderError::invalid(&k.path, entry.pos, e))?;
            ra.append_all(sub_ra)?;
        }
        for entry in &k.crds {
            let path = dir.join(&entry.value);
            self.loader.check(&path, dir, &k.path, entry.pos)?;
            if !path.is_file() {
                return Err(RenderError::invalid(
                    &k.path,
                    entry.pos,
                    format!("crds: '{}' does not exist", path.display()),
                ));
            }
            for doc in self.read_yaml(&path)? {
                let mut extra = Builtin::from_crd_definitions(&doc);
                // Same-target references from several definitions become one entry.
                let references = std::mem::take(&mut extra.name_reference);
                tables
                    .merge(&extra)
                    .map_err(|e| RenderError::invalid(&path, doc.pos, e))?;
                for reference in references {
                    let one = Builtin {
                        name_reference: vec![reference],
                        ..Builtin::default()
                    };
                    tables
                        .merge(&one)
                        .map_err(|e| RenderError::invalid(&path, doc.pos, e))?;
                }
            }
        }
        for entry in &k.configurations {
            let path = dir.join(&entry.value);
            let docs = self.read_named_yaml(&path, k, entry.pos, "configuration")?;
            for doc in &docs {
                tables
                    .merge(&Builtin::from_config(doc))
                    .map_err(|e| RenderError::invalid(&path, doc.pos, e))?;
            }
        }
        for (specs, secret) in [
            (&k.config_map_generator, false),
            (&k.secret_generator, true),
        ] {
            for spec in specs {
                let mut resource = generate(&self.loader, k, dir, spec, secret)?;
                // Findings about a generated object point at its generator entry.
                let file = self.add_source(&k.path);
                stamp_file(&mut resource.node, file);
                if let Some(root) = &self.origin_root {
                    let origin = format!(
                        "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {}\n",
                        relative_path(root, &k.path),
                        if secret {
                            "SecretGenerator"
                        } else {
                            "ConfigMapGenerator"
                        }
                    );
                    set_annotation(&mut resource.node, ORIGIN_ANNOTATION, origin);
                }
                absorb(ra, resource, &k.path, spec.pos)?;
            }
        }
        for chart in &k.helm_charts {
            let Some(helm) = &self.options.helm_command else {
                return Err(RenderError::invalid(
                    &k.path,
                    chart.pos,
                    "`helmCharts` needs `--enable-helm` (shipway then runs `helm template` from PATH)",
                ));
            };
            let file = self.add_source(&k.path);
            let source: Arc<Path> = Arc::from(k.path.as_path());
            for node in crate::helm::inflate(helm, chart, &k.helm_globals, dir, &k.path, file)? {
                let node = check_resource(node, &k.path)?;
                ra.append(Resource::new(node, source.clone()))?;
            }
        }
        self.run_plugins(k, dir, &k.generators, Stage::Generators, ra)?;
        for entry in &k.components {
            let component_dir = dir.join(&entry.value);
            if is_remote(&entry.value) {
                return Err(remote_refused(&k.path, entry.pos, &entry.value));
            }
            let component = self.load_kustomization(&component_dir, Some((&k.path, entry.pos)))?;
            if component.kind != "Component" {
                return Err(RenderError::invalid(
                    &k.path,
                    entry.pos,
                    format!(
                        "'{}' is not a Component: components must have `kind: Component`",
                        entry.value
                    ),
                ));
            }
            self.accumulate(&component, &component_dir, ra, tables)?;
        }
        self.transform(k, dir, ra, tables.get())?;
        for var in &k.vars {
            if self.vars.iter().any(|v| v.name == var.name) {
                return Err(RenderError::invalid(
                    &k.path,
                    var.pos,
                    format!("var '{}' already encountered", var.name),
                ));
            }
        }
        vars::bind(&k.vars, ra.resources_mut())?;
        self.vars.extend(k.vars.iter().cloned());
        Ok(())
    }

    fn accumulate_resource(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        entry: &str,
        pos: Pos,
        ra: &mut ResMap,
        tables: &mut Tables,
    ) -> Result<(), RenderError> {
        if is_remote(entry) {
            return Err(remote_refused(&k.path, pos, entry));
        }
        let path = dir.join(entry);
        if path.is_dir() {
            let (sub_ra, sub_tables) = self.build_sub(k, entry, &path, pos)?;
            tables
                .absorb(&sub_tables)
                .map_err(|e| RenderError::invalid(&k.path, pos, e))?;
            return ra.append_all(sub_ra);
        }
        if !path.exists() {
            return Err(RenderError::Invalid {
                location: location(&k.path, pos),
                message: format!(
                    "accumulating resources: '{}' does not exist",
                    path.display()
                ),
            });
        }
        self.loader.check(&path, dir, &k.path, pos)?;
        for resource in self.load_resources(&path)? {
            ra.append(resource)?;
        }
        Ok(())
    }

    /// Accumulates the sub-kustomization `entry` (the directory `path`) on its own.
    fn build_sub(
        &mut self,
        k: &Kustomization,
        entry: &str,
        path: &Path,
        pos: Pos,
    ) -> Result<(ResMap, Tables), RenderError> {
        // Name the entry that closes a cycle, not just the directory it leads back to.
        let real = self.loader.canonical_dir(path);
        if self.stack.contains(&real) {
            return Err(RenderError::Cycle {
                location: location(&k.path, pos),
                dir: real,
            });
        }
        let sub = self.load_kustomization(path, Some((&k.path, pos)))?;
        if sub.kind == "Component" {
            return Err(RenderError::invalid(
                &k.path,
                pos,
                format!("'{entry}' is a Component; list it under `components:`, not `resources:`"),
            ));
        }
        let mut sub_ra = ResMap::default();
        let mut sub_tables = Tables::default();
        self.accumulate(&sub, path, &mut sub_ra, &mut sub_tables)?;
        Ok((sub_ra, sub_tables))
    }

    /// Builds the directory entries of `k.resources` on worker threads, when there are
    /// several. Sub-kustomizations are independent: each reads only its own files, and
    /// its result is merged in entry order exactly as the sequential loop would, so the
    /// output (and the first error) is the same. The one global setting a sub-kustomization
    /// can change, the `openapi` schema, would affect its later siblings: when a worker
    /// sees it change, the results are dropped and the caller builds sequentially.
    fn build_subs_in_parallel(
        &mut self,
        k: &Kustomization,
        dir: &Path,
    ) -> Option<Vec<Option<SubResult>>> {
        if !self.parallel || k.resources.len() < 2 {
            return None;
        }
        let entries: Vec<(usize, &Located<String>)> = k
            .resources
            .iter()
            .enumerate()
            .filter(|(_, e)| !is_remote(&e.value) && dir.join(&e.value).is_dir())
            .collect();
        let threads = crate::threads();
        if entries.len() < 2 || threads < 2 {
            return None;
        }
        let chunk = entries.len().div_ceil(threads);
        let start_schema = self.schema.clone();
        let outcomes: Vec<(Builder<'o>, Vec<(usize, SubResult)>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = entries
                .chunks(chunk)
                .map(|part| {
                    let mut builder = self.sub_builder();
                    scope.spawn(move || {
                        let mut results = Vec::with_capacity(part.len());
                        for (index, entry) in part {
                            let vars_before = builder.vars.len();
                            let path = dir.join(&entry.value);
                            let result = builder.build_sub(k, &entry.value, &path, entry.pos);
                            let failed = result.is_err();
                            let vars = builder.vars[vars_before..].to_vec();
                            results.push((*index, SubResult { result, vars }));
                            if failed {
                                break;
                            }
                        }
                        (builder, results)
                    })
                })
                .collect();
            // A worker that panicked leaves its slots empty; those entries are then built
            // by the sequential loop, which reports the problem in order.
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut slots: Vec<Option<SubResult>> = (0..k.resources.len()).map(|_| None).collect();
        for (builder, results) in outcomes {
            if !builder.schema.same_as(&start_schema) {
                return None;
            }
            for warning in builder.warnings {
                if !self.warnings.contains(&warning) {
                    self.warnings.push(warning);
                }
            }
            for (index, result) in results {
                slots[index] = Some(result);
            }
        }
        Some(slots)
    }

    fn load_resources(&mut self, path: &Path) -> Result<Vec<Resource>, RenderError> {
        let source: Arc<Path> = Arc::from(path);
        let mut out = Vec::new();
        for doc in self.read_yaml(path)? {
            match &doc.value {
                Value::Null => {}
                Value::Map(map) => {
                    let is_list = map
                        .get("kind")
                        .and_then(Node::as_str)
                        .is_some_and(|k| k.ends_with("List"))
                        && map
                            .get("items")
                            .is_some_and(|i| matches!(i.value, Value::Seq(_)));
                    if is_list {
                        for item in doc
                            .get("items")
                            .and_then(Node::as_seq)
                            .into_iter()
                            .flatten()
                        {
                            out.push(check_resource(item.clone(), path)?);
                        }
                    } else {
                        out.push(check_resource(doc, path)?);
                    }
                }
                other => {
                    return Err(RenderError::invalid(
                        path,
                        doc.pos,
                        format!(
                            "expected a Kubernetes object (a mapping), found a {}",
                            other.type_name()
                        ),
                    ));
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|mut n| {
                if let Some(root) = &self.origin_root {
                    let origin = format!("path: {}\n", relative_path(root, path));
                    set_annotation(&mut n, ORIGIN_ANNOTATION, origin);
                }
                Resource::new(n, source.clone())
            })
            .collect())
    }

    /// Runs the kustomization's transformers in kustomize v5.5.0's order: strategic merge
    /// patches, patches, namespace, prefix, suffix, labels, annotations, JSON 6902
    /// patches, replicas, images, replacements.
    fn transform(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        ra: &mut ResMap,
        tables: &Builtin,
    ) -> Result<(), RenderError> {
        let mut documents = 0;
        for entry in &k.patches_strategic_merge {
            let spec = PatchSpec {
                pos: entry.pos,
                ..PatchSpec::default()
            };
            let inline = entry.value.contains('\n') || entry.value.trim_start().starts_with('{');
            let spec = if inline {
                PatchSpec {
                    patch: Some(entry.value.clone()),
                    ..spec
                }
            } else {
                PatchSpec {
                    path: Some(entry.value.clone()),
                    ..spec
                }
            };
            documents += self.apply_patch(k, dir, &spec, ra, false)?;
        }
        // kustomize configures one transformer with all the files and rejects it when
        // together they hold no patch (only comments or nothing).
        if documents == 0
            && let Some(first) = k.patches_strategic_merge.first()
        {
            return Err(RenderError::invalid(
                &k.path,
                first.pos,
                "`patchesStrategicMerge` patch appears to be empty: the files hold no object",
            ));
        }
        for spec in &k.patches {
            if self.apply_patch(k, dir, spec, ra, false)? == 0 {
                return Err(RenderError::invalid(
                    &k.path,
                    spec.pos,
                    "the patch is empty: kustomize rejects it as both a strategic merge and a JSON 6902 patch",
                ));
            }
        }
        if let Some(namespace) = &k.namespace {
            set_namespace(
                ra,
                namespace,
                &tables.namespace,
                &NamespaceOptions::default(),
            );
        }
        if let Some(prefix) = &k.name_prefix {
            rename(ra, prefix, true, None);
            affix_fields(ra, prefix, true, &tables.name_prefix);
        }
        if let Some(suffix) = &k.name_suffix {
            rename(ra, suffix, false, None);
            affix_fields(ra, suffix, false, &tables.name_suffix);
        }
        for label in &k.labels {
            let mut specs = vec![FieldSpec {
                path: vec!["metadata".into(), "labels".into()],
                create: true,
                ..FieldSpec::default()
            }];
            if label.include_selectors {
                specs.clone_from(&tables.common_labels);
            } else if label.include_templates {
                specs.extend(
                    tables
                        .template_labels
                        .iter()
                        .filter(|s| s.path != ["metadata", "labels"])
                        .cloned(),
                );
            }
            specs.extend(label.fields.iter().filter_map(FieldSpec::from_node));
            // The `labels` table of `configurations:` applies to every `labels:` entry.
            specs.extend(tables.labels.iter().cloned());
            add_pairs(ra, &label.pairs, &specs);
        }
        if !k.common_labels.is_empty() {
            add_pairs(ra, &k.common_labels, &tables.common_labels);
        }
        if !k.common_annotations.is_empty() {
            add_pairs(ra, &k.common_annotations, &tables.common_annotations);
        }
        for spec in &k.patches_json6902 {
            self.apply_patch(k, dir, spec, ra, true)?;
        }
        for (name, count) in &k.replicas {
            set_replicas(ra, name, count, &tables.replicas, &k.path)?;
        }
        for image in &k.images {
            set_images(ra, image, &tables.images);
        }
        if !k.replacements.is_empty() {
            let replacements = self.load_replacements(k, dir)?;
            replace::apply(&replacements, ra.resources_mut())?;
        }
        self.run_plugins(k, dir, &k.transformers, Stage::Transformers, ra)?;
        Ok(())
    }

    /// Inline replacements, and those of the files `path:` entries name (a list or one).
    fn load_replacements(
        &mut self,
        k: &Kustomization,
        dir: &Path,
    ) -> Result<Vec<(Replacement, PathBuf)>, RenderError> {
        let mut out = Vec::new();
        for r in &k.replacements {
            let Some(rel) = &r.path else {
                out.push((r.clone(), k.path.clone()));
                continue;
            };
            if r.source.is_some() || !r.targets.is_empty() {
                return Err(RenderError::invalid(
                    &k.path,
                    r.pos,
                    "cannot specify both path and inline replacement",
                ));
            }
            let path = dir.join(rel);
            let docs = self.read_named_yaml(&path, k, r.pos, "replacement")?;
            for doc in &docs {
                match &doc.value {
                    Value::Seq(items) => {
                        for item in items {
                            out.push((Replacement::decode(item, &path)?, path.clone()));
                        }
                    }
                    Value::Map(_) => out.push((Replacement::decode(doc, &path)?, path.clone())),
                    other => {
                        return Err(RenderError::invalid(
                            &path,
                            doc.pos,
                            format!(
                                "unsupported replacement type encountered within replacement path: {}",
                                other.type_name()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Applies one patch entry to `ra` and returns how many patch documents it held (0 for
    /// a file of only comments, which the callers reject as kustomize does).
    fn apply_patch(
        &mut self,
        k: &Kustomization,
        dir: &Path,
        spec: &PatchSpec,
        ra: &mut ResMap,
        json_only: bool,
    ) -> Result<usize, RenderError> {
        let (text, file, patch_path) = match (&spec.path, &spec.patch) {
            (Some(_), Some(_)) => {
                return Err(RenderError::invalid(
                    &k.path,
                    spec.pos,
                    "a patch must have either `path` or `patch`, not both",
                ));
            }
            (None, None) => {
                return Err(RenderError::invalid(
                    &k.path,
                    spec.pos,
                    "a patch must have `path` or `patch`",
                ));
            }
            (Some(rel), None) => {
                let path = dir.join(rel);
                let bytes = self.loader.read_file(&path, &k.path, spec.pos)?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    RenderError::invalid(&path, Pos::NONE, "patch file is not UTF-8")
                })?;
                let id = self.add_source(&path);
                (text, id, path)
            }
            (None, Some(inline)) => (inline.clone(), self.add_source(&k.path), k.path.clone()),
        };
        // Lines inside an inline patch count from the start of the patch text, not of the
        // kustomization file; errors about it name the patch entry's line instead.
        let inline = spec.patch.is_some();
        let docs = parse_stream(&text, file, &Limits::default()).map_err(|mut source| {
            if inline {
                source.line = spec.pos.line;
                source.col = spec.pos.col;
            }
            RenderError::Yaml {
                path: patch_path.clone(),
                source,
            }
        })?;
        let mut docs: Vec<Node> = docs.into_iter().filter(|d| !d.value.is_null()).collect();
        if inline {
            for doc in &mut docs {
                doc.set_pos_recursive(Pos { file, ..spec.pos });
            }
        }
        let is_json = json_only || (docs.len() == 1 && matches!(docs[0].value, Value::Seq(_)));
        if json_only && spec.target.is_none() {
            return Err(RenderError::invalid(
                &k.path,
                spec.pos,
                "patchesJson6902 entries need a `target`",
            ));
        }
        let target = spec
            .target
            .as_ref()
            .map(Target::compile)
            .transpose()
            .map_err(|e| RenderError::invalid(&k.path, spec.pos, e))?;
        let custom = match &self.schema {
            SchemaChoice::Custom(schema) => Some(schema.clone()),
            SchemaChoice::Unset | SchemaChoice::Builtin => None,
        };
        let schema = custom
            .as_deref()
            .unwrap_or_else(|| shipway_schema::kustomize_schema());
        if is_json {
            let Some(target) = target else {
                return Err(RenderError::invalid(
                    &k.path,
                    spec.pos,
                    "a JSON 6902 patch needs a `target`",
                ));
            };
            let ops = docs.first().cloned().unwrap_or_else(Node::seq);
            for resource in ra.resources_mut().iter_mut().filter(|r| target.matches(r)) {
                let before = (
                    resource.gvk(),
                    resource.name().to_string(),
                    resource.namespace().to_string(),
                );
                json6902(&mut resource.node, &ops).map_err(|e| {
                    RenderError::invalid(
                        &patch_path,
                        ops.pos,
                        format!("{e} (patching {})", resource.id()),
                    )
                })?;
                settle_identity(resource, &before, spec, true);
            }
            return Ok(docs.len());
        }
        for patch in &docs {
            let mut matched = 0;
            let mut delete = Vec::new();
            let patch_gvk = Gvk::of(patch);
            let patch_name = patch
                .str_at(&["metadata", "name"])
                .unwrap_or("")
                .to_string();
            let patch_ns = patch.str_at(&["metadata", "namespace"]).map(str::to_string);
            for (index, resource) in ra.resources_mut().iter_mut().enumerate() {
                let selected = if let Some(t) = &target {
                    t.matches(resource)
                } else {
                    let gvk = resource.gvk();
                    let ns = patch_ns.as_deref().unwrap_or("");
                    gvk.group == patch_gvk.group
                        && (patch_gvk.version.is_empty() || gvk.version == patch_gvk.version)
                        && ((gvk.kind == patch_gvk.kind && resource.had_id(&patch_name, ns))
                            || resource.previous_kinds.iter().any(|(k, n, s)| {
                                *k == patch_gvk.kind
                                    && *n == patch_name
                                    && (s == ns || s.is_empty() && ns == "default")
                            }))
                };
                if !selected {
                    continue;
                }
                matched += 1;
                if deletes_target(patch) {
                    delete.push(index);
                    continue;
                }
                let gvk = resource.gvk();
                let before = (
                    gvk.clone(),
                    resource.name().to_string(),
                    resource.namespace().to_string(),
                );
                let mut patch = patch.clone();
                if target.is_some()
                    && let Some(map) = patch.as_map_mut()
                {
                    // With an explicit target kustomize gives the patch the target's
                    // apiVersion and keeps its name, namespace and kind: they are merged
                    // and then put back by `settle_identity` unless the patch's options
                    // allow the change (`ApplySmPatch` in kustomize's resmap).
                    map.remove("apiVersion");
                    if map
                        .get("kind")
                        .is_some_and(|k| k.as_str().is_none_or(str::is_empty))
                    {
                        map.remove("kind");
                    }
                }
                strategic_merge(schema, &gvk, &mut resource.node, &patch)
                    .map_err(|e| RenderError::invalid(&patch_path, patch.pos, e))?;
                settle_identity(resource, &before, spec, false);
            }
            if matched == 0 && target.is_none() {
                return Err(RenderError::invalid(
                    &patch_path,
                    patch.pos,
                    format!(
                        "no resource matches strategic merge patch for {} {:?}: failed to find unique target for patch",
                        patch_gvk.kind, patch_name
                    ),
                ));
            }
            if matched > 1 && target.is_none() {
                return Err(RenderError::invalid(
                    &patch_path,
                    patch.pos,
                    format!(
                        "{matched} resources match strategic merge patch for {} {:?}: failed to find unique target for patch",
                        patch_gvk.kind, patch_name
                    ),
                ));
            }
            for index in delete.into_iter().rev() {
                ra.resources_mut().remove(index);
            }
        }
        Ok(docs.len())
    }
}

/// Custom `OpenAPI` files often describe nested objects inline (`spec: {type: object,
/// properties: …}`) rather than through `$ref`s; kustomize's schema walk follows both. The
/// schema reader knows only named definitions, so every inline object (a property's, or
/// an array's items) becomes a definition of its own, named after its path, and is
/// replaced by a `$ref` that keeps the property's patch strategy and merge key.
fn hoist_inline_objects(json: &mut serde_json::Value) {
    fn hoist(
        value: &mut serde_json::Value,
        name: &str,
        out: &mut Vec<(String, serde_json::Value)>,
    ) {
        if let Some(items) = value.get_mut("items") {
            hoist(items, &format!("{name}.items"), out);
        }
        let Some(object) = value.as_object_mut() else {
            return;
        };
        if !object.contains_key("properties") || object.contains_key("$ref") {
            return;
        }
        let mut definition = serde_json::Map::new();
        for key in ["properties", "type", "x-kubernetes-map-type"] {
            if let Some(v) = object.remove(key) {
                definition.insert(key.to_owned(), v);
            }
        }
        object.insert(
            "$ref".to_owned(),
            serde_json::Value::String(format!("#/definitions/{name}")),
        );
        let mut definition = serde_json::Value::Object(definition);
        hoist_properties(&mut definition, name, out);
        out.push((name.to_owned(), definition));
    }
    fn hoist_properties(
        definition: &mut serde_json::Value,
        name: &str,
        out: &mut Vec<(String, serde_json::Value)>,
    ) {
        if let Some(properties) = definition
            .get_mut("properties")
            .and_then(serde_json::Value::as_object_mut)
        {
            for (prop, value) in properties.iter_mut() {
                hoist(value, &format!("{name}.{prop}"), out);
            }
        }
    }
    let Some(definitions) = json
        .get_mut("definitions")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let mut hoisted = Vec::new();
    for (name, definition) in definitions.iter_mut() {
        hoist_properties(definition, name, &mut hoisted);
    }
    for (name, definition) in hoisted {
        definitions.entry(name).or_insert(definition);
    }
}

/// Gives nodes that no file produced (generated ones) the file `file`, keeping their line.
fn stamp_file(node: &mut Node, file: shipway_model::FileId) {
    if node.pos.file == shipway_model::FileId::NONE {
        node.pos.file = file;
    }
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| stamp_file(n, file)),
        Value::Map(map) => map.entries.iter_mut().for_each(|e| {
            if e.key_pos.file == shipway_model::FileId::NONE {
                e.key_pos.file = file;
            }
            stamp_file(&mut e.value, file);
        }),
        _ => {}
    }
}

/// Where an object came from, under `buildMetadata: [originAnnotations]`.
const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

fn set_annotation(node: &mut Node, key: &str, value: String) {
    if let Some(annotations) = node
        .ensure_path(&["metadata", "annotations"])
        .and_then(Node::as_map_mut)
    {
        annotations.insert(key.to_string(), Node::string(value));
    }
}

/// `path` relative to `root`, spelled as kustomize spells origins: both were built by
/// joining entries onto the top directory, so this is lexical (`../base/cm.yaml`).
fn relative_path(root: &Path, path: &Path) -> String {
    use std::path::Component;
    let rest = path.strip_prefix(root).unwrap_or(path);
    let mut parts: Vec<String> = Vec::new();
    for component in rest.components() {
        match component {
            Component::ParentDir => {
                if parts.last().is_some_and(|p| p != "..") {
                    parts.pop();
                } else {
                    parts.push("..".into());
                }
            }
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

/// A YAML value as JSON (schema files may be either).
/// Whether a kustomization document decodes to kustomize's zero `Kustomization`, which
/// kustomize refuses as empty: no document, or only fields holding their zero value
/// (`null`, `""`, `false`, `0`) besides the default `apiVersion` and `kind`. An explicit
/// `[]` or `{}` is not zero, as with Go's `reflect.DeepEqual` on the decoded struct.
fn is_empty_kustomization(node: &Node) -> bool {
    let Some(map) = node.as_map() else {
        return node.value.is_null();
    };
    map.iter().all(|(key, value)| {
        let zero = match &value.value {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Bool(b) => !b,
            Value::Int(i) => *i == 0,
            _ => false,
        };
        zero || (key.eq_ignore_ascii_case("kind") && value.as_str() == Some("Kustomization"))
            || (key.eq_ignore_ascii_case("apiVersion")
                && value.as_str() == Some("kustomize.config.k8s.io/v1beta1"))
    })
}

/// Settles a patched object's identity as kustomize does. A JSON 6902 patch may rename an
/// object or change its kind freely; a strategic merge patch cannot: its name and kind are
/// put back unless `allowNameChange`/`allowKindChange` is set, and its namespace always is
/// (observed with `kubectl kustomize`; no error either way).
fn settle_identity(
    resource: &mut Resource,
    before: &(Gvk, String, String),
    spec: &PatchSpec,
    json: bool,
) {
    let (before_gvk, before_name, before_ns) = before;
    if !json {
        if resource.kind() != before_gvk.kind
            && !spec.allow_kind_change
            && let Some(map) = resource.node.as_map_mut()
        {
            map.insert("kind".into(), Node::string(before_gvk.kind.clone()));
        }
        if resource.name() != before_name && !spec.allow_name_change {
            resource.set_name(before_name);
        }
        if resource.namespace() != before_ns {
            if before_ns.is_empty() {
                if let Some(meta) = resource.node.get_mut("metadata").and_then(Node::as_map_mut) {
                    meta.remove("namespace");
                }
            } else {
                resource.set_namespace(before_ns);
            }
        }
    }
    if resource.kind() != before_gvk.kind {
        resource.previous_kinds.push((
            before_gvk.kind.clone(),
            before_name.clone(),
            before_ns.clone(),
        ));
    }
    if resource.name() != before_name {
        resource
            .previous
            .push((before_name.clone(), resource.namespace().to_string()));
    }
}

fn check_resource(mut node: Node, path: &Path) -> Result<Node, RenderError> {
    if node.str_at(&["kind"]).is_none_or(str::is_empty) {
        return Err(RenderError::invalid(
            path,
            node.pos,
            "missing `kind` in object",
        ));
    }
    // kustomize accepts an object without `apiVersion` (only `kind` is required) and
    // treats it as a core object of no version.
    coerce_annotations(&mut node);
    Ok(node)
}

/// Annotation values are strings to kustomize: an integer or boolean written without
/// quotes is printed quoted (`port: "8080"`), while label values are left as written
/// (observed with `kubectl kustomize`). Floats and nulls are left alone: kustomize keeps
/// their source spelling, which the parsed value no longer has.
fn coerce_annotations(node: &mut Node) {
    let Some(annotations) = node
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Node::as_map_mut)
    else {
        return;
    };
    for entry in &mut annotations.entries {
        let text = match &entry.value.value {
            Value::Int(i) => i.to_string(),
            Value::Uint(u) => u.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        entry.value.value = Value::Str(text);
    }
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.contains("?ref=")
}

fn remote_refused(file: &Path, pos: Pos, entry: &str) -> RenderError {
    RenderError::unsupported(
        file,
        pos,
        format!(
            "remote resource '{entry}' refused: shipway renders only local files; vendor the base into the repository"
        ),
    )
}

/// Adds a generated resource, honouring its behaviour against an existing one.
fn absorb(
    ra: &mut ResMap,
    mut resource: Resource,
    file: &Path,
    pos: Pos,
) -> Result<(), RenderError> {
    let behavior = resource.behavior.unwrap_or_default();
    let id = resource.id();
    if behavior == Behavior::Create {
        // A generated object may not take an id already present; as in kustomize's
        // `ResId.Equals`, no namespace and `default` are the same namespace here.
        let ns_equal = |a: &str, b: &str| {
            a == b || (a.is_empty() && b == "default") || (a == "default" && b.is_empty())
        };
        if ra.resources().iter().any(|r| {
            let rid = r.id();
            rid.gvk == id.gvk && rid.name == id.name && ns_equal(&rid.namespace, &id.namespace)
        }) {
            return Err(RenderError::invalid(
                file,
                pos,
                format!(
                    "{} {:?} exists already; behavior must be merge or replace",
                    id.gvk.kind, id.name
                ),
            ));
        }
        return ra.append(resource);
    }
    let existing = ra.resources_mut().iter_mut().find(|r| {
        let rid = r.id();
        rid.gvk == id.gvk
            && (r.name() == id.name || r.original_name == id.name)
            && (id.namespace.is_empty() || rid.namespace == id.namespace)
    });
    let Some(existing) = existing else {
        return Err(RenderError::invalid(
            file,
            pos,
            format!(
                "cannot {} {} {:?}: no existing resource with that name to {0}",
                if behavior == Behavior::Merge {
                    "merge"
                } else {
                    "replace"
                },
                id.gvk.kind,
                id.name
            ),
        ));
    };
    if behavior == Behavior::Merge {
        for field in ["data", "binaryData"] {
            if let Some(new) = resource.node.get(field).and_then(Node::as_map).cloned() {
                let target = existing
                    .node
                    .ensure_path(&[field])
                    .and_then(Node::as_map_mut);
                if let Some(target) = target {
                    for entry in new.entries {
                        target.insert(entry.key, entry.value);
                    }
                }
            }
        }
        for field in ["labels", "annotations"] {
            if let Some(new) = resource
                .node
                .get_path(&["metadata", field])
                .and_then(Node::as_map)
                .cloned()
                && let Some(target) = existing
                    .node
                    .ensure_path(&["metadata", field])
                    .and_then(Node::as_map_mut)
            {
                for entry in new.entries {
                    target.insert(entry.key, entry.value);
                }
            }
        }
        if let Some(immutable) = resource.node.get("immutable").cloned()
            && let Some(map) = existing.node.as_map_mut()
        {
            map.insert("immutable".into(), immutable);
        }
        existing.needs_hash = existing.needs_hash && resource.needs_hash;
    } else {
        let name = existing.name().to_string();
        let namespace = existing.namespace().to_string();
        resource.set_name(&name);
        if !namespace.is_empty() {
            resource.set_namespace(&namespace);
        }
        // Labels and annotations of the replaced object stay, the new ones winning.
        for field in ["labels", "annotations"] {
            if let Some(old) = existing
                .node
                .get_path(&["metadata", field])
                .and_then(Node::as_map)
                .cloned()
                && let Some(target) = resource
                    .node
                    .ensure_path(&["metadata", field])
                    .and_then(Node::as_map_mut)
            {
                for entry in old.entries {
                    if !target.contains_key(&entry.key) {
                        target.insert(entry.key, entry.value);
                    }
                }
            }
        }
        resource.original_name.clone_from(&existing.original_name);
        resource.previous.clone_from(&existing.previous);
        resource.previous_kinds.clone_from(&existing.previous_kinds);
        resource.prefixes.clone_from(&existing.prefixes);
        resource.suffixes.clone_from(&existing.suffixes);
        *existing = resource;
    }
    Ok(())
}

/// Kinds that have no namespace in Kubernetes 1.21 (the schema kustomize v5.5.0 consults);
/// kustomize treats every other kind, custom resources included, as namespaced.
pub(crate) fn is_cluster_scoped(gvk: &Gvk) -> bool {
    matches!(
        (gvk.group.as_str(), gvk.kind.as_str()),
        (
            "",
            "Namespace" | "Node" | "PersistentVolume" | "ComponentStatus"
        ) | (
            "rbac.authorization.k8s.io",
            "ClusterRole" | "ClusterRoleBinding"
        ) | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | (
                "storage.k8s.io",
                "StorageClass" | "VolumeAttachment" | "CSIDriver" | "CSINode"
            )
            | ("scheduling.k8s.io", "PriorityClass")
            | (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
            )
            | ("apiregistration.k8s.io", "APIService")
            | ("policy" | "extensions", "PodSecurityPolicy")
            | ("certificates.k8s.io", "CertificateSigningRequest")
            | ("networking.k8s.io", "IngressClass")
            | ("node.k8s.io", "RuntimeClass")
            | (
                "flowcontrol.apiserver.k8s.io",
                "FlowSchema" | "PriorityLevelConfiguration"
            )
            | ("authentication.k8s.io", "TokenReview")
            | (
                "authorization.k8s.io",
                "SubjectAccessReview" | "SelfSubjectAccessReview" | "SelfSubjectRulesReview"
            )
    )
}

/// Options of a hand-written `NamespaceTransformer` (the `namespace:` field uses the
/// defaults).
#[derive(Debug, Clone, Default)]
struct NamespaceOptions {
    /// Only set the namespace of objects that have none.
    unset_only: bool,
    /// `setRoleBindingSubjects`: `defaultOnly` (also when empty), `allServiceAccounts` or
    /// `none`.
    subjects: String,
}

fn set_namespace(
    ra: &mut ResMap,
    namespace: &str,
    specs: &[FieldSpec],
    options: &NamespaceOptions,
) {
    let service_accounts: Vec<Resource> = ra
        .resources()
        .iter()
        .filter(|r| r.kind() == "ServiceAccount" && r.gvk().group.is_empty())
        .cloned()
        .collect();
    for resource in ra.resources_mut() {
        let gvk = resource.gvk();
        if options.unset_only && !resource.namespace().is_empty() {
            continue;
        }
        if !is_cluster_scoped(&gvk) && resource.namespace() != namespace {
            resource.remember_id();
            resource.set_namespace(namespace);
        }
        for spec in specs.iter().filter(|s| s.applies_to(&gvk)) {
            let renames = spec.path == ["metadata", "name"];
            // The default `metadata/name` of kind `Namespace` means the core Namespace; a
            // custom resource that happens to be called `Namespace` keeps its name
            // (kustomize's namespace filter checks for the core group).
            if renames && gvk.kind == "Namespace" && spec.group.is_none() && !gvk.group.is_empty() {
                continue;
            }
            if renames && resource.name() != namespace {
                resource.remember_id();
            }
            visit_fields(
                &mut resource.node,
                &spec.path,
                spec.create,
                &mut |map, key| {
                    map.insert(key.to_string(), Node::string(namespace));
                },
            );
        }
        if gvk.group == "rbac.authorization.k8s.io"
            && (gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
            && let Some(subjects) = resource.node.get_mut("subjects").and_then(Node::as_seq_mut)
        {
            // kustomize's `defaultOnly` subject mode: every subject *named* `default`, of
            // any kind and whatever its namespace, moves to the new namespace (observed with
            // `kubectl kustomize`). kustomize's name-reference pass, which runs after every
            // kustomization level, then also moves a ServiceAccount subject that names (by
            // any of its ids) a ServiceAccount of this build; `fix_name_references` runs
            // once at the end and does not do that yet, so it is done here.
            for subject in subjects {
                let name = subject.str_at(&["name"]).unwrap_or("");
                let named_default = name == "default";
                let ns = subject.str_at(&["namespace"]).unwrap_or("");
                let is_sa = subject.str_at(&["kind"]) == Some("ServiceAccount");
                let known_sa = is_sa && service_accounts.iter().any(|sa| sa.had_id(name, ns));
                let by_mode = match options.subjects.as_str() {
                    "none" => false,
                    "allServiceAccounts" => is_sa,
                    _ => named_default,
                };
                if (by_mode || known_sa)
                    && let Some(map) = subject.as_map_mut()
                {
                    map.insert("namespace".into(), Node::string(namespace));
                }
            }
        }
    }
}

fn add_pairs(ra: &mut ResMap, pairs: &[(String, String)], specs: &[FieldSpec]) {
    for resource in ra.resources_mut() {
        let gvk = resource.gvk();
        for spec in specs.iter().filter(|s| s.applies_to(&gvk)) {
            visit_fields(
                &mut resource.node,
                &spec.path,
                spec.create,
                &mut |map, key| {
                    let slot = match map.get_mut(key) {
                        Some(node) if matches!(node.value, Value::Map(_)) => node,
                        Some(node) if node.value.is_null() => {
                            *node = Node::map();
                            node
                        }
                        Some(_) => return,
                        None => {
                            map.insert(key.to_string(), Node::map());
                            match map.get_mut(key) {
                                Some(node) => node,
                                None => return,
                            }
                        }
                    };
                    if let Some(m) = slot.as_map_mut() {
                        for (k, v) in pairs {
                            m.insert(k.clone(), Node::string(v.clone()));
                        }
                    }
                },
            );
        }
    }
}

/// Adds a name prefix or suffix. `only` limits it to the kinds of the `metadata/name`
/// field specs a hand-written `PrefixTransformer`/`SuffixTransformer` gives.
fn rename(ra: &mut ResMap, affix: &str, prefix: bool, only: Option<&[FieldSpec]>) {
    for resource in ra.resources_mut() {
        let gvk = resource.gvk();
        if let Some(specs) = only
            && !specs
                .iter()
                .any(|s| s.path == ["metadata", "name"] && s.applies_to(&gvk))
        {
            continue;
        }
        // kustomize leaves CRDs (whose names must stay `<plural>.<group>`) and Namespaces
        // alone (observed with `kubectl kustomize`).
        if (gvk.kind == "CustomResourceDefinition" && gvk.group == "apiextensions.k8s.io")
            || (gvk.kind == "Namespace" && gvk.group.is_empty())
        {
            continue;
        }
        let name = resource.name().to_string();
        resource.remember_id();
        let new_name = if prefix {
            format!("{affix}{name}")
        } else {
            format!("{name}{affix}")
        };
        resource.set_name(&new_name);
        if prefix {
            resource.prefixes.push(affix.to_string());
        } else {
            resource.suffixes.push(affix.to_string());
        }
    }
}

/// Adds the prefix or suffix to the string fields of the prefix/suffix table other than
/// `metadata/name` (which [`rename`] handles, tracking the old name): fields that
/// `configurations:` or `crds:` marked as part of an object's identity.
fn affix_fields(ra: &mut ResMap, affix: &str, prefix: bool, specs: &[FieldSpec]) {
    let extra: Vec<&FieldSpec> = specs
        .iter()
        .filter(|s| s.path != ["metadata", "name"])
        .collect();
    if extra.is_empty() {
        return;
    }
    for resource in ra.resources_mut() {
        let gvk = resource.gvk();
        for spec in extra.iter().filter(|s| s.applies_to(&gvk)) {
            visit_fields(&mut resource.node, &spec.path, false, &mut |map, key| {
                if let Some(node) = map.get_mut(key)
                    && let Value::Str(s) = &node.value
                {
                    node.value = Value::Str(if prefix {
                        format!("{affix}{s}")
                    } else {
                        format!("{s}{affix}")
                    });
                }
            });
        }
    }
}

fn set_images(ra: &mut ResMap, spec: &crate::kustomization::ImageSpec, specs: &[FieldSpec]) {
    let update = |value: &str| spec.apply(value);
    for resource in ra.resources_mut() {
        let gvk = resource.gvk();
        // Every `containers`/`initContainers` list anywhere in the object, as kustomize's
        // legacy image filter walks them, plus the configured field specs.
        crate::image::walk_containers(&mut resource.node, &update);
        for fs in specs.iter().filter(|s| s.applies_to(&gvk)) {
            visit_fields(&mut resource.node, &fs.path, false, &mut |map, key| {
                if let Some(new) = map.get(key).and_then(Node::as_str).and_then(update) {
                    map.insert(key.to_string(), Node::string(new));
                }
            });
        }
    }
}

/// Sets the replica count of the objects named `name`. As in kustomize, it is an error when
/// no object of a kind with a replicas field has that name (observed: a custom resource of
/// that name does not count).
fn set_replicas(
    ra: &mut ResMap,
    name: &str,
    count: &Node,
    specs: &[FieldSpec],
    file: &Path,
) -> Result<(), RenderError> {
    let mut found = false;
    for resource in ra.resources_mut() {
        if resource.name() != name && !resource.was_named(name) {
            continue;
        }
        let gvk = resource.gvk();
        for spec in specs.iter().filter(|s| s.applies_to(&gvk)) {
            found = true;
            visit_fields(
                &mut resource.node,
                &spec.path,
                spec.create,
                &mut |map, key| {
                    map.insert(key.to_string(), Node::new(count.value.clone()));
                },
            );
        }
    }
    if !found {
        let kinds: Vec<&str> = specs.iter().filter_map(|s| s.kind.as_deref()).collect();
        return Err(RenderError::invalid(
            file,
            count.pos,
            format!(
                "replicas: resource with name {name} does not match a config with the following kinds {kinds:?}"
            ),
        ));
    }
    Ok(())
}

fn add_hashes(ra: &mut ResMap) {
    for resource in ra.resources_mut() {
        if resource.needs_hash {
            let hash = name_hash(&resource.node);
            let name = format!("{}-{hash}", resource.name());
            resource.remember_id();
            resource.set_name(&name);
        }
    }
}

/// A renamed object that references may point at, with what `pick` needs precomputed.
///
/// It holds copies of the few fields needed, not of the object: the referrers are mutated
/// while candidates are consulted, and cloning every object tree cost a third of a render.
struct Candidate {
    name: String,
    namespace: String,
    original_name: String,
    previous: Vec<(String, String)>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    gvk: Gvk,
    cluster_scoped: bool,
}

/// Rewrites references by name (`ConfigMaps` in volumes, `ServiceAccounts` in pods, Roles in
/// bindings…) to the final names of the objects they refer to.
///
/// The candidates of each reference kind are indexed by every name they ever had once,
/// up front: looking them up per referrer field made this quadratic in the number of
/// objects (70 s for 9,000 objects).
/// kustomize's name-reference pass reads the namespaces of a `RoleBinding`'s `ServiceAccount`
/// subjects and fails on one whose `namespace` key is present but not a string (written as
/// `namespace:` with nothing after it).
fn check_role_binding_subjects(ra: &ResMap) -> Result<(), RenderError> {
    for resource in ra.resources() {
        if resource.kind() != "RoleBinding" {
            continue;
        }
        let Some(subjects) = resource.node.get("subjects").and_then(Node::as_seq) else {
            continue;
        };
        for subject in subjects {
            let is_sa = subject.str_at(&["kind"]) == Some("ServiceAccount");
            if let Some(namespace) = subject.get("namespace")
                && is_sa
                && namespace.as_str().is_none()
            {
                return Err(RenderError::invalid(
                    &resource.source,
                    namespace.pos,
                    format!(
                        "Invalid Input: namespace is blank for resource {:?}: a ServiceAccount subject's `namespace` must be a string",
                        resource.id().to_string()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn fix_name_references(ra: &mut ResMap, references: &[NameReference]) {
    let renamed: Vec<Candidate> = ra
        .resources()
        .iter()
        .filter(|r| !r.previous.is_empty())
        .map(|r| {
            let gvk = r.gvk();
            Candidate {
                name: r.name().to_string(),
                namespace: r.namespace().to_string(),
                original_name: r.original_name.clone(),
                previous: r.previous.clone(),
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
                cluster_scoped: is_cluster_scoped(&gvk),
                gvk,
            }
        })
        .collect();
    if renamed.is_empty() {
        return;
    }
    // Per reference: every name (original or previous) -> candidates, in resource order.
    let by_name: Vec<Option<HashMap<&str, Vec<&Candidate>>>> = references
        .iter()
        .map(|reference| {
            let mut index: HashMap<&str, Vec<&Candidate>> = HashMap::new();
            for candidate in renamed
                .iter()
                .filter(|c| reference.target.applies_to(&c.gvk))
            {
                let r = candidate;
                let mut names: Vec<&str> = vec![r.original_name.as_str()];
                names.extend(r.previous.iter().map(|(n, _)| n.as_str()));
                names.sort_unstable();
                names.dedup();
                for name in names {
                    index.entry(name).or_default().push(candidate);
                }
            }
            (!index.is_empty()).then_some(index)
        })
        .collect();
    for referrer in ra.resources_mut().iter_mut() {
        let referrer_gvk = referrer.gvk();
        // The referrer's own name and namespace are not changed below, only its fields.
        let referrer_ns = referrer.namespace().to_string();
        let referrer_prefixes = referrer.prefixes.clone();
        let referrer_suffixes = referrer.suffixes.clone();
        let referrer_cluster = is_cluster_scoped(&referrer_gvk);
        for (reference, names) in references.iter().zip(&by_name) {
            let Some(names) = names else {
                continue;
            };
            if reference.target.kind.is_none() {
                continue;
            }
            for spec in reference
                .field_specs
                .iter()
                .filter(|s| s.applies_to(&referrer_gvk))
            {
                // A `roleRef` names its target's kind and group: only objects of that
                // kind and group are candidates (kustomize's `roleRefFilter`), so a Role
                // renamed by a prefix does not rename a ClusterRole reference.
                let role_ref = (spec
                    .path
                    .ends_with(&["roleRef".to_string(), "name".to_string()]))
                .then(|| {
                    let kind = referrer.node.str_at(&["roleRef", "kind"])?;
                    let group = referrer.node.str_at(&["roleRef", "apiGroup"])?;
                    Some((kind.to_string(), group.to_string()))
                })
                .flatten();
                let pick = |old: &str, ns_hint: Option<&str>| -> Option<(String, String)> {
                    let matching: Vec<&Candidate> = names
                        .get(old)?
                        .iter()
                        .copied()
                        .filter(|r| {
                            role_ref.as_ref().is_none_or(|(kind, group)| {
                                (kind.is_empty() || r.gvk.kind == *kind)
                                    && (group.is_empty() || r.gvk.group == *group)
                            })
                        })
                        .filter(|r| {
                            if referrer_cluster || r.cluster_scoped {
                                return ns_hint.is_none_or(|ns| {
                                    ns_equal(ns, &r.namespace)
                                        || r.previous.iter().any(|(_, p)| ns_equal(p, ns))
                                });
                            }
                            ns_equal(&r.namespace, ns_hint.unwrap_or(&referrer_ns))
                        })
                        .collect();
                    let chosen = match matching.as_slice() {
                        [] => return None,
                        [one] => *one,
                        many => {
                            let same = many
                                .iter()
                                .filter(|r| {
                                    r.prefixes == referrer_prefixes
                                        && r.suffixes == referrer_suffixes
                                })
                                .collect::<Vec<_>>();
                            match same.as_slice() {
                                [one] => **one,
                                _ => many[0],
                            }
                        }
                    };
                    Some((chosen.name.clone(), chosen.namespace.clone()))
                };
                let is_subjects = spec.path.last().is_some_and(|p| p == "subjects");
                if is_subjects {
                    if let Some(subjects) =
                        referrer.node.get_mut("subjects").and_then(Node::as_seq_mut)
                    {
                        // kustomize does not look at a subject's kind here: a User named
                        // like a renamed ServiceAccount follows it (observed with kubectl).
                        for subject in subjects {
                            let Some(old) = subject.str_at(&["name"]).map(str::to_string) else {
                                continue;
                            };
                            let ns = subject.str_at(&["namespace"]).map(str::to_string);
                            if let Some((name, namespace)) = pick(&old, ns.as_deref())
                                && let Some(map) = subject.as_map_mut()
                            {
                                map.insert("name".into(), Node::string(name));
                                // The subject takes the referred object's namespace, even
                                // when it had none (observed with kubectl).
                                if !namespace.is_empty() {
                                    map.insert("namespace".into(), Node::string(namespace));
                                }
                            }
                        }
                    }
                    continue;
                }
                visit_fields(&mut referrer.node, &spec.path, false, &mut |map, key| {
                    // A reference held as a `{name, namespace}` mapping (webhook
                    // `clientConfig.service`, APIService `spec.service`): both follow.
                    if let Some(reference) = map.get_mut(key).and_then(Node::as_map_mut)
                        && let Some(old) = reference.get("name").and_then(Node::as_str)
                    {
                        let old = old.to_string();
                        let ns = reference
                            .get("namespace")
                            .and_then(Node::as_str)
                            .map(str::to_string);
                        if let Some((name, namespace)) = pick(&old, ns.as_deref()) {
                            reference.insert("name".into(), Node::string(name));
                            if ns.is_some() && !namespace.is_empty() {
                                reference.insert("namespace".into(), Node::string(namespace));
                            }
                        }
                        return;
                    }
                    let Some(old) = map.get(key).and_then(Node::as_str).map(str::to_string) else {
                        // Some referrers hold a list of names (e.g. RBAC resourceNames).
                        if let Some(items) = map.get_mut(key).and_then(Node::as_seq_mut) {
                            for item in items {
                                if let Some(old) = item.as_str().map(str::to_string)
                                    && let Some((name, _)) = pick(&old, None)
                                {
                                    item.value = Value::Str(name);
                                }
                            }
                        }
                        return;
                    };
                    if let Some((name, _)) = pick(&old, None) {
                        let pos = map.get(key).map_or(Pos::NONE, |n| n.pos);
                        map.insert(key.to_string(), Node::at(Value::Str(name), pos));
                    }
                });
            }
        }
    }
}

const ORDER_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Orders the output: kustomize's legacy order unless the top kustomization asks for
/// `fifo`, or the caller asked for `--reorder none`.
fn sort(k: &Kustomization, resources: &mut Vec<Resource>) -> Result<(), RenderError> {
    let mut first: Vec<String> = ORDER_FIRST.iter().map(|s| (*s).to_string()).collect();
    let mut last: Vec<String> = ORDER_LAST.iter().map(|s| (*s).to_string()).collect();
    if let Some(options) = &k.sort_options {
        let order = options.str_at(&["order"]).unwrap_or("");
        let legacy = options.get("legacySortOptions");
        match order {
            "fifo" => {
                if legacy.is_some() {
                    return Err(RenderError::invalid(
                        &k.path,
                        options.pos,
                        "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                    ));
                }
                return Ok(());
            }
            "legacy" => {
                if let Some(legacy) = legacy {
                    let list = |key: &str| -> Vec<String> {
                        legacy
                            .get(key)
                            .and_then(Node::as_seq)
                            .map(|l| {
                                l.iter()
                                    .filter_map(|n| n.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    first = list("orderFirst");
                    last = list("orderLast");
                }
            }
            _ => {
                return Err(RenderError::invalid(
                    &k.path,
                    options.pos,
                    "the field 'sortOptions.order' must be one of [fifo, legacy]",
                ));
            }
        }
    }
    let rank = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i as i64 - first.len() as i64;
        }
        if let Some(i) = last.iter().position(|k| k == kind) {
            return 1 + i as i64;
        }
        0
    };
    let gvk_string = |g: &Gvk| {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}_{}_{}",
            or(&g.group, "~G"),
            or(&g.version, "~V"),
            or(&g.kind, "~K")
        )
    };
    let mut keyed: Vec<(i64, String, String, usize)> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r.id();
            let gs = gvk_string(&id.gvk);
            let ns = if id.namespace.is_empty() {
                "~X".to_string()
            } else {
                id.namespace.clone()
            };
            let name = if id.name.is_empty() {
                "~N".to_string()
            } else {
                id.name.clone()
            };
            (
                rank(&id.gvk.kind),
                gs.clone(),
                format!("{gs}|{ns}|{name}"),
                i,
            )
        })
        .collect();
    keyed.sort_by(|a, b| {
        if a.1 != b.1 {
            if a.0 != b.0 {
                return a.0.cmp(&b.0);
            }
            // kustomize puts the core Namespace before any other kind named `Namespace`
            // (`gvkLessThan` in its SortOrderTransformer reverses the comparison there).
            let namespace = |g: &str| g.ends_with("_Namespace");
            let core = |g: &str| g.starts_with("~G_");
            if namespace(&a.1) && namespace(&b.1) && (core(&a.1) || core(&b.1)) {
                return b.1.cmp(&a.1);
            }
            return a.1.cmp(&b.1);
        }
        a.2.cmp(&b.2)
    });
    let mut taken: Vec<Option<Resource>> =
        std::mem::take(resources).into_iter().map(Some).collect();
    resources.extend(keyed.into_iter().filter_map(|k| taken[k.3].take()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::hoist_inline_objects;

    #[test]
    fn inline_objects_of_a_custom_schema_become_named_definitions() {
        let mut json = serde_json::json!({"definitions": {"v1.My": {
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {
                "items": {"type": "array", "x-kubernetes-patch-merge-key": "name",
                          "x-kubernetes-patch-strategy": "merge",
                          "items": {"type": "object", "properties": {"name": {"type": "string"}}}}
            }}}
        }}});
        hoist_inline_objects(&mut json);
        let defs = &json["definitions"];
        assert_eq!(
            defs["v1.My"]["properties"]["spec"]["$ref"],
            "#/definitions/v1.My.spec"
        );
        let items = &defs["v1.My.spec"]["properties"]["items"];
        // The list keeps its strategy; its element type is now a named definition.
        assert_eq!(items["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(
            items["items"]["$ref"],
            "#/definitions/v1.My.spec.items.items"
        );
        assert_eq!(
            defs["v1.My.spec.items.items"]["properties"]["name"]["type"],
            "string"
        );
    }
}
