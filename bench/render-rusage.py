#!/usr/bin/env python3
"""Sum the CPU that `shipway render` and `kubectl kustomize` use over many kustomizations.

Each command runs as a child process and its CPU (user + system) is read from the
kernel's rusage of that child (os.wait4), to the microsecond: GNU time rounds to 10 ms,
which would hide a render of a few milliseconds. For every directory the median of
BENCH_REPEAT runs is kept; the table ends with the sums over all directories and their
ratio, and with the median CPU of a trivial render (one ConfigMap).

Run from anywhere (paths are relative to the repository root):
    python3 bench/render-rusage.py [DIR ...]

With no DIR it takes the repository's differential corpus
(crates/shipway/tests/render/corpus/*, components excepted) and the example overlays.

Environment:
    SHIPWAY       shipway binary (default target/release/shipway)
    KUBECTL       kubectl binary (default kubectl on PATH)
    BENCH_REPEAT  runs per command and directory, the median is kept (default 5)

Exit status: 0, or 1 when a command failed on a directory where the other succeeded.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_of(argv):
    """Runs argv with its output discarded; returns (exit code, user+sys seconds)."""
    with open(os.devnull, "wb") as null:
        child = subprocess.Popen(argv, stdout=null, stderr=null)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_utime + usage.ru_stime


def median_cpu(argv, repeat):
    codes, cpus = set(), []
    for _ in range(repeat):
        code, cpu = cpu_of(argv)
        codes.add(code)
        cpus.append(cpu)
    return (0 if codes == {0} else 1), statistics.median(cpus)


def default_dirs():
    corpus = ROOT / "crates/shipway/tests/render/corpus"
    dirs = []
    for case in sorted(corpus.iterdir()):
        kfile = next((case / n for n in ("kustomization.yaml", "kustomization.yml", "Kustomization") if (case / n).exists()), None)
        if kfile is None or "kind: Component" in kfile.read_text():
            continue
        dirs.append(case)
    dirs += sorted((ROOT / "examples/platform/overlays").iterdir())
    return dirs


def main():
    shipway = os.environ.get("SHIPWAY", str(ROOT / "target/release/shipway"))
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    if not os.access(shipway, os.X_OK):
        sys.exit(f"error: shipway binary {shipway!r} not found (cargo build --release -p shipway, or set SHIPWAY)")
    if not kubectl:
        sys.exit("error: kubectl not found on PATH (or set KUBECTL)")
    dirs = [Path(d) for d in sys.argv[1:]] or default_dirs()

    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp)
        (trivial / "kustomization.yaml").write_text("resources:\n- cm.yaml\n")
        (trivial / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n")
        _, trivial_shipway = median_cpu([shipway, "render", str(trivial)], max(repeat, 21))
        _, trivial_kubectl = median_cpu([kubectl, "kustomize", str(trivial)], max(repeat, 5))

    failed = 0
    total_s = total_k = 0.0
    compared = 0
    rows = []
    for d in dirs:
        code_s, cpu_s = median_cpu([shipway, "render", str(d)], repeat)
        code_k, cpu_k = median_cpu([kubectl, "kustomize", str(d)], repeat)
        if code_s != code_k:
            failed = 1
        total_s += cpu_s
        total_k += cpu_k
        compared += 1
        rows.append((d, cpu_s, cpu_k, code_s, code_k))
        print(f"{d}: shipway {cpu_s * 1000:.2f} ms, kubectl {cpu_k * 1000:.1f} ms", file=sys.stderr)

    print(f"- shipway: {subprocess.run([shipway, '--version'], capture_output=True, text=True).stdout.strip()}")
    print(f"- kubectl: {subprocess.run([kubectl, 'version', '--client'], capture_output=True, text=True).stdout.strip().splitlines()[0]}")
    print(f"- {compared} kustomizations, median of {repeat} runs each; CPU = user+sys of the child from wait4")
    print()
    print("| | shipway CPU | kubectl CPU | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| trivial render (one ConfigMap), median | {trivial_shipway * 1000:.2f} ms | {trivial_kubectl * 1000:.1f} ms | {trivial_kubectl / trivial_shipway:.1f}x |")
    print(f"| sum over {compared} kustomizations | {total_s:.3f} s | {total_k:.3f} s | {total_k / total_s:.1f}x |")
    for d, cpu_s, cpu_k, code_s, code_k in rows:
        if code_s != code_k:
            print(f"exit status differs on {d}: shipway {code_s}, kubectl {code_k}", file=sys.stderr)
    return failed


if __name__ == "__main__":
    sys.exit(main())
