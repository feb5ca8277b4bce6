#!/usr/bin/env python3
"""Generate shipway's Kubernetes schema data from the PyPI package kubernetes-validate.

Nothing in the output is typed by hand: every strategic-merge fact and every
schema shape is read from the Kubernetes OpenAPI definitions that the PyPI
package `kubernetes-validate` (Apache-2.0, https://github.com/willthames/kubernetes-validate)
ships as JSON Schema (converted from Kubernetes' api/openapi-spec/swagger.json,
swagger v2 `definitions`, by openapi2jsonschema).  The package ships only the
".0" schema of each minor (e.g. v1.21.0-local/_definitions.json).

Usage
-----
    python3 scripts/gen-openapi-data.py                 # generate the default versions (1.21, 1.27-1.33), then check
    python3 scripts/gen-openapi-data.py 1.27 1.28 1.33  # generate these versions, then check
    python3 scripts/gen-openapi-data.py --check         # only check the existing files for the default versions
    python3 scripts/gen-openapi-data.py --check 1.21    # only check data/k8s-1.21.json
    python3 scripts/gen-openapi-data.py --wheel-dir DIR # use wheels already in DIR (offline), no pip download

Needs Python >= 3.11 and the standard library only.  The package is fetched
with `python -m pip download --no-deps --only-binary=:all:` (PyPI is the only
network access), its sha256 is checked against the pin below, and the wheel is
read in place as a zip file; nothing is installed.

Which package release provides which Kubernetes minor
-----------------------------------------------------
Each release of kubernetes-validate ships a window of Kubernetes minors.  No
single release ships both v1.21 and v1.33, so two releases are pinned:

    kubernetes-validate 1.37.0  ships v1.25 .. v1.37   (used for every minor >= 1.25)
    kubernetes-validate 1.28.3  ships v1.20 .. v1.28   (newest release that still ships v1.21;
                                                        used for minors < 1.25)

v1.21 is the minor that kustomize v5.5.0 embeds (v1.21.2) for its strategic
merge; the package has v1.21.0, and patch releases do not change API types.

Output: crates/shipway-schema/data/k8s-<major>.<minor>.json
-----------------------------------------------------------
One compact JSON document per Kubernetes minor, written with sorted keys, no
whitespace, no descriptions, and a trailing newline (byte-for-byte
deterministic for a given package release):

    {
      "format": 1,                                  # version of this layout
      "k8s": "1.21",                                # Kubernetes minor
      "source": {"package": "kubernetes-validate",  # provenance
                 "version": "1.28.3",
                 "file": "kubernetes_validate/kubernetes-json-schema/v1.21.0-local/_definitions.json",
                 "sha256": "<sha256 of the wheel>"},
      "gvks": {"<group>/<version>/<Kind>": "<definition name>", ...},
      "defs": {"<definition name>": DEF, ...}
    }

gvks   From every definition's x-kubernetes-group-version-kind.  The core group
       is the empty string: "/v1/Pod", "apps/v1/Deployment".  Shared kinds
       (DeleteOptions, WatchEvent, ...) appear once per group/version they
       list.  Whether a kind is namespaced is NOT in the data: the package
       ships only the swagger `definitions`, not `paths`, and only paths tell
       namespaced from cluster-scoped.

DEF    Either a struct:      {"p": {"<property>": PROP, ...},  "req": [...], "mt": "..."}
       or a non-struct type: {"t": TYPE, "fmt": "...", "mt": "..."}
         p    properties (present, possibly empty, iff the definition has `properties`)
         req  required property names (sorted), omitted when none
         t    the type of a definition without properties (e.g. Time: "string"
              with fmt "date-time", IntOrString: "int-or-string",
              RawExtension: "object", JSON: "any")
         fmt  format of the (innermost) scalar, omitted when none
         mt   x-kubernetes-map-type ("atomic" | "granular"), omitted when none

PROP   {"t": TYPE, "ps": ..., "pk": ..., "lt": ..., "lk": [...], "mt": ..., "enum": [...], "fmt": ...}
         t    the property's type (always present)
         ps   x-kubernetes-patch-strategy, e.g. "merge", "replace", "retainKeys", "merge,retainKeys"
         pk   x-kubernetes-patch-merge-key, e.g. "name", "containerPort", "port"
         lt   x-kubernetes-list-type: "atomic" | "set" | "map"
         lk   x-kubernetes-list-map-keys, e.g. ["port", "protocol"] (order kept as upstream)
         mt   x-kubernetes-map-type
         enum allowed values.  The converter used by kubernetes-validate >= 1.29
              injects an enum of the kind's own apiVersion/kind into the
              `apiVersion` and `kind` properties; those are not upstream
              OpenAPI facts (the same data is in "gvks") and are dropped, so
              that every version has the same shape.  Other enums are kept.
         fmt  format of the innermost scalar of t (e.g. "int32" for
              {"a": "integer"}, "byte" for Secret.data {"m": "string"})
       Keys are omitted when the upstream extension is absent.

TYPE   "string" | "integer" | "number" | "boolean"   scalars
       "int-or-string"      oneOf [string, integer]   (IntOrString; Quantity in the v1.2x package)
       "number-or-string"   oneOf [string, number]    (Quantity in the newer package's converter)
       "object"             free-form object: type object, no properties, no additionalProperties
       "any"                no type at all (free-form JSON, e.g. apiextensions JSON)
       {"r": "<def name>"}  reference to another definition in "defs"
       {"a": TYPE}          array of TYPE
       {"m": TYPE}          map (additionalProperties) from string to TYPE

The converter's "nullable" encoding (type ["string", "null"]) is dropped:
upstream swagger v2 has no nullability.  x-kubernetes-unions and descriptions
are dropped.  Anything else the script does not recognise is an error, so a
change in the package's format cannot slip through silently.

The script also copies the package's LICENSE (Apache-2.0) to
crates/shipway-schema/data/LICENSE-kubernetes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "kubernetes-validate"

# Pinned releases: version -> (sha256 of the py3-none-any wheel, (lowest minor, highest minor) it ships).
# Ordered by preference: the first release whose window holds a minor provides it.
PINS: dict[str, tuple[str, tuple[int, int]]] = {
    "1.37.0": ("85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9", (25, 37)),
    "1.28.3": ("916b8539c570958ca4742a09d42c9a29b7b89bfb3a04972a40abfa63f797b850", (20, 28)),
}

DEFAULT_VERSIONS = ["1.21", "1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"]

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "crates" / "shipway-schema" / "data"

FORMAT_VERSION = 1

SCALARS = {"string", "integer", "number", "boolean"}

# Schema keywords the converter is known to emit, per position.
DEF_KEYS = {
    "type", "properties", "required", "description", "format", "oneOf",
    "x-kubernetes-group-version-kind", "x-kubernetes-unions", "x-kubernetes-map-type",
}
PROP_KEYS = {
    "type", "items", "additionalProperties", "$ref", "description", "format", "enum",
    "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
}
INNER_KEYS = {"type", "items", "additionalProperties", "$ref", "description", "format"}


class FormatError(Exception):
    pass


# --------------------------------------------------------------------------- fetching


def pick_package(minor: int, forced: str | None) -> str:
    if forced:
        return forced
    for ver, (_sha, (lo, hi)) in PINS.items():
        if lo <= minor <= hi:
            return ver
    raise SystemExit(f"no pinned {PACKAGE} release ships Kubernetes 1.{minor}; add one to PINS")


def fetch_wheel(version: str, cache: Path, wheel_dir: Path | None) -> Path:
    """Return the path of the pinned wheel, downloading it with pip if needed, and verify its sha256."""
    name = f"kubernetes_validate-{version}-py3-none-any.whl"
    for d in [wheel_dir, cache]:
        if d is not None and (d / name).is_file():
            path = d / name
            break
    else:
        if wheel_dir is not None:
            raise SystemExit(f"{name} not found in {wheel_dir}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(cache), f"{PACKAGE}=={version}"]
        if importlib.util.find_spec("pip") is None:
            # No pip in this interpreter: make a throw-away venv (ensurepip) and use its pip.
            venv = cache / "venv"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = venv / ("Scripts" if os.name == "nt" else "bin") / "pip"
            cmd[:3] = [str(pip)]
        print("+", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
        path = cache / name
        if not path.is_file():
            raise SystemExit(f"pip did not produce {name} in {cache}")
    want = PINS.get(version, (None,))[0]
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if want is not None and got != want:
        raise SystemExit(f"sha256 mismatch for {name}: got {got}, pinned {want}")
    return path


class Package:
    def __init__(self, version: str, wheel: Path):
        self.version = version
        self.wheel = wheel
        self.sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        self.zip = zipfile.ZipFile(wheel)

    def definitions_path(self, minor: int) -> str:
        return f"kubernetes_validate/kubernetes-json-schema/v1.{minor}.0-local/_definitions.json"

    def read_definitions(self, minor: int) -> dict:
        path = self.definitions_path(minor)
        try:
            raw = self.zip.read(path)
        except KeyError:
            shipped = sorted({n.split("/")[2] for n in self.zip.namelist()
                              if n.startswith("kubernetes_validate/kubernetes-json-schema/v")
                              and n.count("/") >= 3})
            raise SystemExit(f"{PACKAGE} {self.version} has no {path}; it ships {shipped}")
        doc = json.loads(raw)
        # Older converter: swagger-style "definitions"; newer: JSON Schema 2020-12 "$defs".
        defs = doc.get("definitions", doc.get("$defs"))
        if not isinstance(defs, dict):
            raise FormatError(f"{path}: neither 'definitions' nor '$defs'")
        return defs

    def license_text(self) -> str:
        for n in sorted(self.zip.namelist()):
            parts = n.split("/")
            if parts[0].endswith(".dist-info") and parts[-1].startswith("LICENSE"):
                return self.zip.read(n).decode("utf-8")
        raise SystemExit(f"{PACKAGE} {self.version} ships no LICENSE file")


# --------------------------------------------------------------------------- conversion


def ref_name(ref: str) -> str:
    # "#/definitions/X", "#/$defs/X", "_definitions.json#/definitions/X" -> "X"
    return ref.rsplit("/", 1)[-1]


def scalar_type(t, where: str) -> str | None:
    """Normalise a JSON Schema `type` (string or list with "null") to one type name, or None."""
    if t is None:
        return None
    if isinstance(t, str):
        t = [t]
    ts = [x for x in t if x != "null"]
    if len(ts) != 1:
        raise FormatError(f"{where}: unsupported type {t!r}")
    return ts[0]


def convert_type(s: dict, where: str, allowed: set[str]) -> tuple[object, str | None]:
    """Return (TYPE, innermost scalar format) for a schema node."""
    unknown = set(s) - allowed
    if unknown:
        raise FormatError(f"{where}: unknown keys {sorted(unknown)}")
    if "$ref" in s:
        return {"r": ref_name(s["$ref"])}, None
    if "oneOf" in s:
        alts = []
        for i, alt in enumerate(s["oneOf"]):
            if set(alt) - {"type", "format"}:
                raise FormatError(f"{where}.oneOf[{i}]: unsupported {alt!r}")
            alts.append(scalar_type(alt.get("type"), where))
        kinds = frozenset(alts)
        if kinds == {"string", "integer"}:
            return "int-or-string", s.get("format")
        if kinds == {"string", "number"}:
            return "number-or-string", s.get("format")
        raise FormatError(f"{where}: unsupported oneOf {alts}")
    t = scalar_type(s.get("type"), where)
    if t == "array" or (t is None and "items" in s):
        if not isinstance(s.get("items"), dict):
            raise FormatError(f"{where}: array without items schema")
        inner, fmt = convert_type(s["items"], where + "[]", INNER_KEYS)
        return {"a": inner}, fmt
    if "additionalProperties" in s:
        ap = s["additionalProperties"]
        if t not in (None, "object") or not isinstance(ap, dict):
            raise FormatError(f"{where}: unsupported additionalProperties {ap!r}")
        inner, fmt = convert_type(ap, where + "{}", INNER_KEYS)
        return {"m": inner}, fmt
    if t in SCALARS:
        return t, s.get("format")
    if t == "object":
        if "properties" in s:
            raise FormatError(f"{where}: inline object with properties")
        return "object", None
    if t is None:
        return "any", None
    raise FormatError(f"{where}: unsupported type {t!r}")


PROP_EXT = [
    ("x-kubernetes-patch-strategy", "ps"),
    ("x-kubernetes-patch-merge-key", "pk"),
    ("x-kubernetes-list-type", "lt"),
    ("x-kubernetes-list-map-keys", "lk"),
    ("x-kubernetes-map-type", "mt"),
]


def convert_prop(name: str, s: dict, where: str) -> dict:
    t, fmt = convert_type(s, where, PROP_KEYS)
    out: dict = {"t": t}
    for ext, key in PROP_EXT:
        if ext in s:
            out[key] = s[ext]
    if fmt is not None:
        out["fmt"] = fmt
    if "enum" in s and name not in ("apiVersion", "kind"):
        out["enum"] = s["enum"]
    return out


def convert_def(name: str, d: dict) -> dict:
    unknown = set(d) - DEF_KEYS
    if unknown:
        raise FormatError(f"{name}: unknown keys {sorted(unknown)}")
    out: dict = {}
    if "properties" in d:
        t = scalar_type(d.get("type"), name)
        if t not in (None, "object"):
            raise FormatError(f"{name}: properties on type {t}")
        out["p"] = {p: convert_prop(p, s, f"{name}.{p}") for p, s in d["properties"].items()}
        if d.get("required"):
            out["req"] = sorted(d["required"])
    else:
        stripped = {k: v for k, v in d.items()
                    if k not in ("x-kubernetes-group-version-kind", "x-kubernetes-unions",
                                 "x-kubernetes-map-type", "required")}
        t, fmt = convert_type(stripped, name, DEF_KEYS)
        out["t"] = t
        if fmt is not None:
            out["fmt"] = fmt
    if "x-kubernetes-map-type" in d:
        out["mt"] = d["x-kubernetes-map-type"]
    return out


def convert(defs: dict) -> tuple[dict, dict]:
    gvks: dict[str, str] = {}
    out_defs: dict[str, dict] = {}
    for name in sorted(defs):
        d = defs[name]
        out_defs[name] = convert_def(name, d)
        for g in d.get("x-kubernetes-group-version-kind", []):
            key = f"{g['group']}/{g['version']}/{g['kind']}"
            if key in gvks and gvks[key] != name:
                raise FormatError(f"{key} claimed by {gvks[key]} and {name}")
            gvks[key] = name
    # Every reference must resolve.
    def refs(t):
        if isinstance(t, dict):
            for k, v in t.items():
                if k == "r":
                    yield v
                else:
                    yield from refs(v)
    for name, d in out_defs.items():
        types = [p["t"] for p in d.get("p", {}).values()] + ([d["t"]] if "t" in d else [])
        for t in types:
            for r in refs(t):
                if r not in out_defs:
                    raise FormatError(f"{name}: dangling reference {r}")
    return gvks, out_defs


def dumps(doc: dict) -> bytes:
    return (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def parse_minor(v: str) -> int:
    v = v.lstrip("v")
    parts = v.split(".")
    if len(parts) < 2 or parts[0] != "1" or not parts[1].isdigit():
        raise SystemExit(f"bad Kubernetes version {v!r}: want 1.<minor>")
    return int(parts[1])


# --------------------------------------------------------------------------- checks

CORE = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."

# (definition, property, expected subset of PROP).  Only facts true in every minor >= 1.21.
PROP_CHECKS = [
    (CORE + "PodSpec", "containers", {"pk": "name", "ps": "merge", "t": {"a": {"r": CORE + "Container"}}}),
    (CORE + "PodSpec", "initContainers", {"pk": "name", "ps": "merge"}),
    (CORE + "PodSpec", "ephemeralContainers", {"pk": "name", "ps": "merge"}),
    (CORE + "PodSpec", "volumes", {"pk": "name", "ps": "merge,retainKeys"}),
    (CORE + "PodSpec", "imagePullSecrets", {"pk": "name", "ps": "merge"}),
    (CORE + "PodSpec", "hostAliases", {"pk": "ip", "ps": "merge"}),
    (CORE + "Container", "ports", {"pk": "containerPort", "ps": "merge", "lk": ["containerPort", "protocol"], "lt": "map"}),
    (CORE + "Container", "env", {"pk": "name", "ps": "merge"}),
    (CORE + "Container", "volumeMounts", {"pk": "mountPath", "ps": "merge"}),
    (CORE + "Container", "volumeDevices", {"pk": "devicePath", "ps": "merge"}),
    (CORE + "Container", "args", {"t": {"a": "string"}}),
    (CORE + "ServiceSpec", "ports", {"pk": "port", "ps": "merge", "lt": "map", "lk": ["port", "protocol"]}),
    (CORE + "ServicePort", "targetPort", {"t": {"r": "io.k8s.apimachinery.pkg.util.intstr.IntOrString"}}),
    (CORE + "ServicePort", "port", {"t": "integer", "fmt": "int32"}),
    (CORE + "Secret", "data", {"t": {"m": "string"}, "fmt": "byte"}),
    (CORE + "ResourceRequirements", "limits", {"t": {"m": {"r": "io.k8s.apimachinery.pkg.api.resource.Quantity"}}}),
    (META + "ObjectMeta", "finalizers", {"ps": "merge", "t": {"a": "string"}}),
    (META + "ObjectMeta", "ownerReferences", {"pk": "uid", "ps": "merge"}),
    (META + "ObjectMeta", "labels", {"t": {"m": "string"}}),
    (META + "ObjectMeta", "creationTimestamp", {"t": {"r": META + "Time"}}),
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy", {"ps": "retainKeys", "t": {"r": "io.k8s.api.apps.v1.DeploymentStrategy"}}),
    ("io.k8s.api.apps.v1.DeploymentSpec", "template", {"t": {"r": CORE + "PodTemplateSpec"}}),
]
# (definition, expected subset of DEF)
DEF_CHECKS = [
    ("io.k8s.apimachinery.pkg.util.intstr.IntOrString", {"t": "int-or-string"}),
    (META + "Time", {"t": "string", "fmt": "date-time"}),
    ("io.k8s.apimachinery.pkg.runtime.RawExtension", {"t": "object"}),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON", {"t": "any"}),
    (CORE + "Container", {"req": ["name"]}),
    (CORE + "Volume", {"req": ["name"]}),
]
GVK_CHECKS = [
    ("/v1/Pod", CORE + "Pod"),
    ("/v1/Service", CORE + "Service"),
    ("/v1/ConfigMap", CORE + "ConfigMap"),
    ("apps/v1/Deployment", "io.k8s.api.apps.v1.Deployment"),
    ("batch/v1/Job", "io.k8s.api.batch.v1.Job"),
    ("rbac.authorization.k8s.io/v1/ClusterRole", "io.k8s.api.rbac.v1.ClusterRole"),
    ("apiextensions.k8s.io/v1/CustomResourceDefinition",
     "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"),
]


def run_checks(path: Path) -> int:
    doc = json.loads(path.read_text())
    defs, gvks = doc["defs"], doc["gvks"]
    failures = 0

    def report(ok: bool, what: str, got) -> None:
        nonlocal failures
        failures += not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {what}: {json.dumps(got, sort_keys=True)}")

    print(f"{path.name} (k8s {doc['k8s']}, {doc['source']['package']} {doc['source']['version']}): "
          f"{len(gvks)} gvks, {len(defs)} defs")
    for d, p, want in PROP_CHECKS:
        got = defs.get(d, {}).get("p", {}).get(p)
        ok = got is not None and all(got.get(k) == v for k, v in want.items())
        report(ok, f"{d.rsplit('.', 1)[-1]}.{p} {json.dumps(want, sort_keys=True)}", got)
    for d, want in DEF_CHECKS:
        got = defs.get(d)
        ok = got is not None and all(got.get(k) == v for k, v in want.items())
        shown = {k: v for k, v in (got or {}).items() if k != "p"}
        report(ok, f"def {d.rsplit('.', 1)[-1]} {json.dumps(want, sort_keys=True)}", shown)
    for g, want in GVK_CHECKS:
        report(gvks.get(g) == want, f"gvk {g} -> {want.rsplit('.', 1)[-1]}", gvks.get(g))
    # Summary of the strategic-merge facts, for eyeballing.
    counts: dict[str, int] = {}
    for dd in defs.values():
        for pp in dd.get("p", {}).values():
            if "ps" in pp:
                counts[pp["ps"]] = counts.get(pp["ps"], 0) + 1
    print(f"  patch strategies: {json.dumps(counts, sort_keys=True)}")
    return failures


# --------------------------------------------------------------------------- main


def write_readme(out_dir: Path, generated: list[tuple[str, dict]]) -> None:
    """Regenerate the provenance table at the end of data/README.md, keeping the hand-written part."""
    readme = out_dir / "README.md"
    marker = "<!-- generated files: kept up to date by scripts/gen-openapi-data.py -->"
    head = readme.read_text().split(marker)[0] if readme.exists() else "# Kubernetes schema data\n\n"
    rows = {}
    if readme.exists() and marker in readme.read_text():
        for line in readme.read_text().split(marker)[1].splitlines():
            if line.startswith("| `k8s-"):
                rows[line.split("`")[1]] = line
    for fname, src in generated:
        rows[fname] = (f"| `{fname}` | {src['package']} {src['version']} | "
                       f"`{src['file'].split('/')[-2]}` | `{src['sha256'][:16]}…` |")
    def key(f):
        return tuple(int(x) for x in f[len("k8s-"):-len(".json")].split("."))
    table = ["| file | package | schema | wheel sha256 |", "| --- | --- | --- | --- |"]
    table += [rows[f] for f in sorted(rows, key=key)]
    readme.write_text(head.rstrip("\n") + "\n\n" + marker + "\n\n" + "\n".join(table) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("versions", nargs="*", default=DEFAULT_VERSIONS,
                    help=f"Kubernetes minors, e.g. 1.21 1.33 (default: {' '.join(DEFAULT_VERSIONS)})")
    ap.add_argument("--check", action="store_true", help="only run the spot checks on the existing files")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory (default: {OUT_DIR})")
    ap.add_argument("--package-version", help="use this kubernetes-validate release for every version")
    ap.add_argument("--wheel-dir", type=Path, help="directory holding the pinned wheels (no download)")
    ap.add_argument("--cache", type=Path, help="keep downloaded wheels here (default: a temp dir)")
    args = ap.parse_args()

    minors = [parse_minor(v) for v in args.versions]
    out_dir: Path = args.out

    if not args.check:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = None
        if args.cache is None:
            tmp = tempfile.TemporaryDirectory(prefix="gen-openapi-data-")
            cache = Path(tmp.name)
        else:
            cache = args.cache
            cache.mkdir(parents=True, exist_ok=True)
        packages: dict[str, Package] = {}
        generated = []
        license_text = None
        try:
            for minor in minors:
                ver = pick_package(minor, args.package_version)
                if ver not in packages:
                    packages[ver] = Package(ver, fetch_wheel(ver, cache, args.wheel_dir))
                pkg = packages[ver]
                gvks, defs = convert(pkg.read_definitions(minor))
                source = {"package": PACKAGE, "version": pkg.version,
                          "file": pkg.definitions_path(minor), "sha256": pkg.sha256}
                doc = {"format": FORMAT_VERSION, "k8s": f"1.{minor}", "source": source,
                       "gvks": gvks, "defs": defs}
                data = dumps(doc)
                fname = f"k8s-1.{minor}.json"
                (out_dir / fname).write_bytes(data)
                gz = len(gzip.compress(data, compresslevel=9, mtime=0))
                print(f"wrote {out_dir / fname}: {len(data)} bytes raw, {gz} bytes gzip -9 "
                      f"({len(gvks)} gvks, {len(defs)} defs) from {PACKAGE} {pkg.version}")
                generated.append((fname, source))
                text = pkg.license_text()
                if license_text is not None and text != license_text:
                    raise SystemExit("the pinned releases ship different LICENSE texts; review by hand")
                license_text = text
        finally:
            for p in packages.values():
                p.zip.close()
            if tmp is not None:
                tmp.cleanup()
        (out_dir / "LICENSE-kubernetes").write_text(license_text)
        write_readme(out_dir, generated)

    failures = 0
    for minor in minors:
        path = out_dir / f"k8s-1.{minor}.json"
        if not path.exists():
            print(f"{path}: missing", file=sys.stderr)
            failures += 1
            continue
        failures += run_checks(path)
    print(f"{failures} check(s) failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
