#!/usr/bin/env bash
# Compare `shipway sync` with `kubectl apply --server-side -f` of the same rendered objects,
# each into its own fresh `shipway sandbox` (the simulated cluster, served over loopback
# HTTP), side by side in one run; then time `shipway plan` of the same app once it is in
# sync (every object unchanged). Prints a Markdown table on stdout; progress on stderr.
#
# Run from the repository root (the script changes there itself):
#   bash bench/sync-vs-kubectl.sh
#
# Environment:
#   SHIPWAY         shipway binary (default target/release/shipway)
#   BENCH_SERVICES  services in the generated repository (default 111: 1,001 objects)
#   BENCH_REPEAT    runs per command; the median is reported (default 3)
#   BENCH_WORKDIR   where the repository, kubeconfigs and logs go
#                   (default ${TMPDIR:-/tmp}/shipway-sync-bench)
#
# Both sides apply the same objects with server-side apply; shipway also plans first
# (one dry-run apply per object that is not known to be unchanged), records its inventory
# and waits for nothing (`--wait` is not passed, as `kubectl apply` does not wait either).
# `--no-check` keeps `shipway check` out of the measurement.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SHIPWAY=${SHIPWAY:-target/release/shipway}
BENCH_SERVICES=${BENCH_SERVICES:-111}
BENCH_REPEAT=${BENCH_REPEAT:-3}
BENCH_WORKDIR=${BENCH_WORKDIR:-${TMPDIR:-/tmp}/shipway-sync-bench}

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

[ -x "$SHIPWAY" ] || die "$SHIPWAY not found: run cargo build --release -p shipway"
command -v kubectl >/dev/null || die "kubectl not found"

rm -rf "$BENCH_WORKDIR"
mkdir -p "$BENCH_WORKDIR"
python3 bench/gen_large_repo.py --services "$BENCH_SERVICES" --out "$BENCH_WORKDIR/repo" >/dev/null
app="$BENCH_WORKDIR/repo/overlays/prod"
"$SHIPWAY" render "$app" >"$BENCH_WORKDIR/rendered.yaml"
objects=$(grep -c '^kind:' "$BENCH_WORKDIR/rendered.yaml")
log "generated $objects objects"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a sandbox and waits until it answers; prints its kubeconfig path.
start_sandbox() {
  local name=$1
  local config="$BENCH_WORKDIR/$name.kubeconfig"
  # API only: the comparison is of applying, and neither side waits for pods.
  "$SHIPWAY" sandbox --no-controllers --listen 127.0.0.1:0 --kubeconfig-out "$config" >"$BENCH_WORKDIR/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    if [ -s "$config" ] && kubectl --kubeconfig "$config" get --raw /version >/dev/null 2>&1; then
      # The generated app has ServiceMonitors: both clusters get the operator CRDs first.
      kubectl --kubeconfig "$config" --cache-dir "$BENCH_WORKDIR/crd-cache-$name" \
        apply --server-side -f examples/cluster/crds.yaml >/dev/null
      printf '%s\n' "$config"
      return
    fi
    sleep 0.1
  done
  die "sandbox $name did not start"
}

stop_sandboxes() { cleanup; pids=(); sleep 0.2; }

# Wall seconds of a command (nanosecond clock).
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>>"$BENCH_WORKDIR/errors.log" || { log "failed: $*"; tail -5 "$BENCH_WORKDIR/errors.log" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

sync_times=() kubectl_times=() plan_times=()
for run in $(seq "$BENCH_REPEAT"); do
  log "run $run of $BENCH_REPEAT"
  shipway_config=$(start_sandbox "shipway-$run")
  kubectl_config=$(start_sandbox "kubectl-$run")
  cache="$BENCH_WORKDIR/kubectl-cache-$run"
  sync_times+=("$(seconds "$SHIPWAY" sync --no-check --kubeconfig "$shipway_config" -n bench-prod "$app")")
  kubectl_times+=("$(seconds kubectl --kubeconfig "$kubectl_config" --cache-dir "$cache" apply --server-side -f "$BENCH_WORKDIR/rendered.yaml")")
  plan_times+=("$(seconds "$SHIPWAY" plan --no-check --kubeconfig "$shipway_config" -n bench-prod "$app")")
  "$SHIPWAY" plan --no-check --kubeconfig "$shipway_config" -n bench-prod "$app" | head -1 >&2
  stop_sandboxes
done

sync_s=$(median "${sync_times[@]}")
kubectl_s=$(median "${kubectl_times[@]}")
plan_s=$(median "${plan_times[@]}")
ratio=$(python3 -c "print(f'{$kubectl_s / $sync_s:.1f}x')")

echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "- kubectl: $(kubectl version --client 2>/dev/null | head -1)"
echo "- objects: $objects (bench/gen_large_repo.py --services $BENCH_SERVICES, prod overlay); median of $BENCH_REPEAT runs, wall seconds"
echo
echo "| step | shipway s | kubectl s | ratio |"
echo "|---|---:|---:|---:|"
echo "| sync $objects objects into a fresh sandbox vs kubectl apply --server-side -f | $sync_s | $kubectl_s | $ratio |"
echo "| plan of the same $objects objects, all unchanged | $plan_s | - | - |"
