//! Property tests for the renderer: no kustomization text, however malformed, makes
//! [`crate::render`] panic; it returns the output or an error naming what is wrong.
//!
//! Random text is almost always rejected by the YAML reader, so the second property builds
//! kustomizations from the real field names with values drawn from the names of the fixture
//! files and objects, which drives the loader, generators and transformers with wrong types,
//! missing files and odd combinations.

use std::path::Path;

use proptest::prelude::*;
use shipway_model::yaml::to_kustomize_yaml;
use shipway_model::{Mapping, Node, Value};

use crate::{Options, render};

/// A Deployment and a Service for `resources:` to list, so transformers have objects.
const RESOURCES: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
";

/// A strategic-merge patch for `patches:`.
const PATCH: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
";

/// The fields a kustomization may have, plus a few it may not.
const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "replacements",
    "vars",
    "configurations",
    "crds",
    "openapi",
    "buildMetadata",
    "sortOptions",
    "generators",
    "transformers",
    "helmCharts",
    "nonsense",
];

/// Words the values are made of: the fixture files, the objects' names and kinds, and
/// field names that nested structures (patch targets, generators, replacements) look for.
const WORDS: &[&str] = &[
    "resources.yaml",
    "patch.yaml",
    "app.env",
    "missing.yaml",
    ".",
    "..",
    "/",
    "web",
    "Deployment",
    "Service",
    "apps",
    "v1",
    "name",
    "kind",
    "path",
    "target",
    "patch",
    "files",
    "literals",
    "envs",
    "A=b",
    "nginx",
    "newTag",
    "newName",
    "count",
    "source",
    "targets",
    "fieldPath",
    "spec.replicas",
    "metadata.name",
    "select",
    "options",
    "behavior",
    "merge",
    "replace",
    "legacy",
    "order",
    "",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => (-3i64..5).prop_map(Value::Int),
        6 => proptest::sample::select(WORDS).prop_map(|s| Value::Str(s.to_string())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone().prop_map(Node::new), 0..4).prop_map(Value::Seq),
            proptest::collection::vec(
                (proptest::sample::select(WORDS), inner.prop_map(Node::new)),
                0..4
            )
            .prop_map(|entries| {
                let mut map = Mapping::new();
                for (key, node) in entries {
                    map.insert(key.to_string(), node);
                }
                Value::Map(map)
            }),
        ]
    })
}

fn word() -> impl Strategy<Value = Value> + Clone {
    proptest::sample::select(WORDS).prop_map(|s| Value::Str(s.to_string()))
}

fn list(item: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    proptest::collection::vec(item.prop_map(Node::new), 0..3).prop_map(Value::Seq)
}

/// A mapping with exactly the given keys, each present or not, with values from `values`.
fn object(keys: &'static [&'static str], values: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    proptest::collection::vec(proptest::option::of(values), keys.len())
        .prop_map(move |values| {
            let mut map = Mapping::new();
            for (key, value) in keys.iter().zip(values) {
                if let Some(value) = value {
                    map.insert((*key).to_string(), Node::new(value));
                }
            }
            Value::Map(map)
        })
        .boxed()
}

/// A value of roughly the type `field` expects: the loader's type checks are tested by
/// [`value`], so this reaches the generators and transformers behind them.
fn typed(field: &str) -> BoxedStrategy<Value> {
    let small = (-1i64..4).prop_map(Value::Int).boxed();
    let word_or_int = prop_oneof![word(), small.clone()].boxed();
    match field {
        "resources"
        | "bases"
        | "components"
        | "patchesStrategicMerge"
        | "configurations"
        | "crds"
        | "generators"
        | "transformers"
        | "buildMetadata" => list(word()).boxed(),
        "commonLabels" | "commonAnnotations" => object(&["app", "team", "web", ""], word().boxed()),
        "labels" => list(object(
            &["pairs", "includeSelectors", "includeTemplates", "fields"],
            prop_oneof![word(), any::<bool>().prop_map(Value::Bool), value()].boxed(),
        ))
        .boxed(),
        "images" => list(object(
            &["name", "newName", "newTag", "digest"],
            word_or_int.clone(),
        ))
        .boxed(),
        "replicas" => list(object(&["name", "count"], word_or_int.clone())).boxed(),
        "patches" | "patchesJson6902" => list(object(
            &["path", "patch", "target", "options"],
            prop_oneof![
                word(),
                Just(Value::Str(
                    "- op: replace\n  path: /spec/replicas\n  value: 2\n".into()
                )),
                object(&["kind", "name", "group", "version"], word().boxed()),
            ]
            .boxed(),
        ))
        .boxed(),
        "configMapGenerator" | "secretGenerator" => list(object(
            &["name", "behavior", "literals", "envs", "files", "options"],
            prop_oneof![word(), list(word())].boxed(),
        ))
        .boxed(),
        "replacements" => list(object(
            &["source", "targets"],
            prop_oneof![
                object(&["kind", "name", "fieldPath"], word().boxed()),
                list(object(
                    &["select", "fieldPaths", "options"],
                    prop_oneof![object(&["kind", "name"], word().boxed()), list(word()),].boxed(),
                )),
            ]
            .boxed(),
        ))
        .boxed(),
        "sortOptions" => object(&["order", "legacySortOptions"], value().boxed()),
        _ => word_or_int,
    }
}

/// A kustomization mapping built from [`FIELDS`], as YAML text. Most values have about the
/// type the field expects; some are arbitrary, which exercises the loader's type checks.
fn kustomization() -> impl Strategy<Value = String> {
    let field = proptest::sample::select(FIELDS).prop_flat_map(|field| {
        (
            Just(field),
            prop_oneof![4 => typed(field), 1 => value().boxed()],
        )
    });
    (
        // Usually list the fixture, so that most cases have objects to transform.
        proptest::option::weighted(
            0.8,
            prop_oneof![
                3 => Just(Value::Seq(vec![Node::string("resources.yaml")])),
                1 => list(word()),
            ],
        ),
        proptest::collection::vec(field, 0..6),
    )
        .prop_map(|(resources, fields)| {
            let mut map = Mapping::new();
            if let Some(resources) = resources {
                map.insert("resources".into(), Node::new(resources));
            }
            for (key, value) in fields {
                map.insert(key.to_string(), Node::new(value));
            }
            to_kustomize_yaml(&Node::new(Value::Map(map))).unwrap_or_default()
        })
}

/// Renders `text` as the kustomization of a fresh directory holding the fixture files.
fn render_text(text: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let write = |name: &str, contents: &str| {
        fs_err::write(dir.path().join(name), contents)
            .map_err(|e| TestCaseError::fail(e.to_string()))
    };
    write("kustomization.yaml", text)?;
    write("resources.yaml", RESOURCES)?;
    write("patch.yaml", PATCH)?;
    write("app.env", "LOG_LEVEL=debug\nFEATURE=on\n")?;
    // Ok or Err are both fine; the property is that this returns at all.
    let _ = render(Path::new(dir.path()), &Options::default());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary text as `kustomization.yaml` is rendered or rejected, never a panic.
    #[test]
    fn render_never_panics_on_arbitrary_text(text in any::<String>()) {
        render_text(&text)?;
    }

    /// Structurally plausible kustomizations with wrong or odd values never panic either.
    #[test]
    fn render_never_panics_on_plausible_kustomizations(text in kustomization()) {
        render_text(&text)?;
    }
}
