#!/usr/bin/env bash
# Compare `shipway check` (every rule: schema, Pod Security, reliability, references,
# capacity) with PyPI `kubernetes-validate --strict` (schema only) on the same rendered
# manifests, side by side in one run: wall time, CPU time (user+sys) and peak RSS.
# Prints a Markdown table on stdout; progress goes to stderr.
#
#   bash bench/check-vs-kubernetes-validate.sh
#
# Environment:
#   SHIPWAY          shipway binary (default target/release/shipway)
#   BENCH_OBJECTS    input sizes in objects, approximately (default "1000 10000")
#   BENCH_REPEAT     runs per command, the median is reported (default 3)
#   BENCH_WORKDIR    scratch directory (default ${TMPDIR:-/tmp}/shipway-check-bench)
#   BENCH_KV_MAX_OBJECTS  run kubernetes-validate only up to this many objects (default
#                    1000; it needs about half a minute per 1,000 objects here)
#   KUBERNETES_VALIDATE  kubernetes-validate executable (default: installed from PyPI
#                    into $BENCH_WORKDIR/venv on first use)
#
# The inputs are the prod overlay of bench/gen_large_repo.py (9 objects per service),
# rendered once by shipway into one file that both tools read.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
SHIPWAY=${SHIPWAY:-target/release/shipway}
case $SHIPWAY in /*) ;; *) SHIPWAY="$ROOT/$SHIPWAY" ;; esac
BENCH_OBJECTS=${BENCH_OBJECTS:-"1000 10000"}
BENCH_REPEAT=${BENCH_REPEAT:-3}
WORK=${BENCH_WORKDIR:-${TMPDIR:-/tmp}/shipway-check-bench}
BENCH_KV_MAX_OBJECTS=${BENCH_KV_MAX_OBJECTS:-1000}
mkdir -p "$WORK"
log() { printf '%s\n' "$*" >&2; }
[[ -x $SHIPWAY ]] || { log "error: $SHIPWAY not found (cargo build --release -p shipway)"; exit 2; }

KV=${KUBERNETES_VALIDATE:-}
if [[ -z $KV ]]; then
  KV="$WORK/venv/bin/kubernetes-validate"
  if [[ ! -x $KV ]]; then
    log "installing kubernetes-validate 1.37.0 into $WORK/venv"
    python3 -m venv "$WORK/venv" >&2
    "$WORK/venv/bin/pip" install -q kubernetes-validate==1.37.0 >&2
  fi
fi

# run.py CMD... -> "wall cpu rss_mib" of the median run (by wall time); exit status ignored
cat > "$WORK/run.py" <<'PY'
import os, resource, statistics, subprocess, sys, time
repeat, cmd = int(sys.argv[1]), sys.argv[2:]
rows = []
for _ in range(repeat):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.call(cmd, stdout=null, stderr=null)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows.append((wall, cpu, after.ru_maxrss / 1024.0))
rows.sort()
wall, cpu, _ = rows[len(rows) // 2]
# ru_maxrss of children is the maximum over all children so far: report the largest.
print("%.3f %.3f %.1f" % (wall, cpu, max(r[2] for r in rows)))
PY

ROWS=()
for target in $BENCH_OBJECTS; do
  services=$(( (target + 8) / 9 ))
  repo="$WORK/repo-$services"
  input="$WORK/input-$services.yaml"
  if [[ ! -f $input ]]; then
    log "generating $services services"
    python3 bench/gen_large_repo.py --services "$services" --out "$repo" >&2
    "$SHIPWAY" render "$repo/overlays/prod" > "$input"
  fi
  objects=$(grep -c '^kind:' "$input")
  log "== $objects objects"
  sw=$(python3 "$WORK/run.py" "$BENCH_REPEAT" "$SHIPWAY" check "$input" -o json --pod-security restricted)
  read -r sw_wall sw_cpu sw_rss <<<"$sw"
  if (( objects <= BENCH_KV_MAX_OBJECTS + 9 )); then
    kv=$(python3 "$WORK/run.py" "$BENCH_REPEAT" "$KV" --strict --quiet -k 1.33.0 "$input")
    read -r kv_wall kv_cpu kv_rss <<<"$kv"
    ratio=$(python3 -c "import sys; print('%.0fx' % (float(sys.argv[1]) / max(float(sys.argv[2]), 1e-3)))" "$kv_wall" "$sw_wall")
  else
    kv_wall=- kv_cpu=- kv_rss=- ratio=-
  fi
  ROWS+=("| $objects | $sw_wall | $sw_cpu | $sw_rss | $kv_wall | $kv_cpu | $kv_rss | $ratio |")
done

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
echo "## shipway check vs kubernetes-validate"
echo
echo "- machine: $(nproc) CPUs, $cpu_model, $(uname -sr)"
echo "- shipway check: every rule, \`-o json --pod-security restricted\`; kubernetes-validate $("$KV" --version 2>&1 | head -1): \`--strict -k 1.33.0\` (schema only)"
echo "- median of $BENCH_REPEAT runs (by wall time); CPU = user+sys seconds; RSS = peak resident set (MiB)"
echo "- kubernetes-validate was run only up to $BENCH_KV_MAX_OBJECTS objects (BENCH_KV_MAX_OBJECTS)"
echo
echo "| objects | shipway wall s | shipway CPU s | shipway RSS MiB | kubernetes-validate wall s | kubernetes-validate CPU s | kubernetes-validate RSS MiB | wall ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
