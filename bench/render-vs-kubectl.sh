#!/usr/bin/env bash
# Compare `shipway render DIR` with `kubectl kustomize DIR` (kustomize v5.5.0):
# CPU time (user+sys), wall time and peak RSS of each, and whether the two
# outputs are byte-identical. Prints a Markdown table on stdout; progress
# goes to stderr.
#
# Run from the repository root (the script changes there itself):
#   bash bench/render-vs-kubectl.sh
#
# Environment:
#   SHIPWAY               shipway binary (default target/release/shipway)
#   BENCH_REPEAT          runs per command, the median is reported (default 3)
#   BENCH_SIZES           generated repository sizes, N services (default "50 200 1000")
#   BENCH_GEN_ENV         overlay of the generated repositories to render (default prod)
#   BENCH_KUBECTL_MAX_N   run kubectl only on generated repos with N <= this
#                         (default 200; kubectl needs ~6 minutes per run at N=1000)
#   BENCH_WORKDIR         where repos are generated and outputs kept
#                         (default ${TMPDIR:-/tmp}/shipway-bench)
#   BENCH_TIMER           gnu (/usr/bin/time -f, 10 ms resolution) or python
#                         (resource.getrusage, microseconds); default gnu when
#                         /usr/bin/time is GNU time, python otherwise
#
# Exit status: 0 when every compared pair is identical, 1 when an output
# differs or a command failed, 2 on bad setup.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

SHIPWAY=${SHIPWAY:-target/release/shipway}
BENCH_REPEAT=${BENCH_REPEAT:-3}
BENCH_SIZES=${BENCH_SIZES:-"50 200 1000"}
BENCH_GEN_ENV=${BENCH_GEN_ENV:-prod}
BENCH_KUBECTL_MAX_N=${BENCH_KUBECTL_MAX_N:-200}
BENCH_WORKDIR=${BENCH_WORKDIR:-${TMPDIR:-/tmp}/shipway-bench}

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

[[ -x $SHIPWAY ]] || die "shipway binary '$SHIPWAY' not found or not executable (build it with 'cargo build --release', or set SHIPWAY)"
command -v kubectl >/dev/null || die "kubectl not found on PATH"
command -v python3 >/dev/null || die "python3 not found on PATH"
[[ $BENCH_REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer"
[[ $BENCH_KUBECTL_MAX_N =~ ^[0-9]+$ ]] || die "BENCH_KUBECTL_MAX_N must be a number"
case $SHIPWAY in /*) ;; *) SHIPWAY="$ROOT/$SHIPWAY" ;; esac

if [[ -z ${BENCH_TIMER:-} ]]; then
  if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%U' true >/dev/null 2>&1; then
    BENCH_TIMER=gnu
  else
    BENCH_TIMER=python
  fi
fi
case $BENCH_TIMER in
  gnu) /usr/bin/time -f '%U' true >/dev/null 2>&1 ||
         die "BENCH_TIMER=gnu needs GNU time at /usr/bin/time (apt-get install time)" ;;
  python) ;;
  *) die "BENCH_TIMER must be gnu or python" ;;
esac

mkdir -p "$BENCH_WORKDIR"
WORK=$(mktemp -d "$BENCH_WORKDIR/run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Fallback timer: runs a command with stdout to a file and writes
# "user sys wall maxrss_kib" to another file, like the GNU time format below.
cat > "$WORK/timer.py" <<'PY'
import os, resource, subprocess, sys, time
out, stats, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(out, "wb") as f, open(os.devnull, "wb") as err:
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, stdout=f, stderr=err)
    wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(stats, "w") as s:
    s.write("%.4f %.4f %.4f %d\n" % (ru.ru_utime, ru.ru_stime, wall, ru.ru_maxrss))
sys.exit(rc)
PY

# measure OUT STATS CMD... -> exit status of CMD
measure() {
  local out=$1 stats=$2
  shift 2
  if [[ $BENCH_TIMER == gnu ]]; then
    # stderr of the command (kubectl's deprecation warnings) is dropped.
    /usr/bin/time -f '%U %S %e %M' -o "$stats" "$@" >"$out" 2>/dev/null
  else
    python3 "$WORK/timer.py" "$out" "$stats" "$@"
  fi
}

# bench NAME OUT CMD... -> prints "cpu wall rss_mib" medians, or "FAIL"
bench() {
  local name=$1 out=$2
  shift 2
  local i stats="$WORK/$name.stats" all="$WORK/$name.all"
  : >"$all"
  for ((i = 1; i <= BENCH_REPEAT; i++)); do
    if ! measure "$WORK/$name.out" "$stats" "$@"; then
      echo FAIL
      return
    fi
    # The last line: GNU time prepends "Command exited ..." lines on failure.
    tail -n 1 "$stats" >>"$all"
    [[ $i -eq 1 ]] && cp "$WORK/$name.out" "$out"
  done
  python3 - "$all" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
cpu = statistics.median(u + s for u, s, _, _ in rows)
wall = statistics.median(r[2] for r in rows)
rss = statistics.median(r[3] for r in rows) / 1024.0
print("%.3f %.3f %.1f" % (cpu, wall, rss))
PY
}

fmt_s() { [[ $1 == - ]] && echo - || printf '%.2f' "$1"; }

# Directories: label|path|N (N empty for the example platform).
TARGETS=()
for env in dev staging prod; do
  TARGETS+=("examples/platform/overlays/$env|examples/platform/overlays/$env|")
done
for n in $BENCH_SIZES; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZES entries must be positive integers: '$n'"
  repo="$BENCH_WORKDIR/repo-$n"
  log "generating $n services into $repo"
  python3 bench/gen_large_repo.py --services "$n" --out "$repo" >&2
  TARGETS+=("generated N=$n ($BENCH_GEN_ENV)|$repo/overlays/$BENCH_GEN_ENV|$n")
done

ROWS=()
STATUS=0
SKIPPED=0
for t in "${TARGETS[@]}"; do
  IFS='|' read -r label dir n <<<"$t"
  [[ -d $dir ]] || die "no such directory: $dir"
  log "== $label"
  sw_out="$WORK/shipway.yaml"
  kc_out="$WORK/kubectl.yaml"
  rm -f "$sw_out" "$kc_out"

  log "   shipway render ($BENCH_REPEAT runs)"
  sw=$(bench shipway "$sw_out" "$SHIPWAY" render "$dir")

  if [[ -n $n && $n -gt $BENCH_KUBECTL_MAX_N ]]; then
    log "   kubectl kustomize skipped (N=$n > BENCH_KUBECTL_MAX_N=$BENCH_KUBECTL_MAX_N)"
    kc=SKIP
    SKIPPED=1
  else
    log "   kubectl kustomize ($BENCH_REPEAT runs)"
    kc=$(bench kubectl "$kc_out" kubectl kustomize "$dir")
  fi

  resources=-
  if [[ -f $kc_out ]]; then
    resources=$(grep -c '^kind:' "$kc_out" || true)
  elif [[ -f $sw_out ]]; then
    resources=$(grep -c '^kind:' "$sw_out" || true)
  fi

  if [[ $sw == FAIL ]]; then
    sw_cpu=- sw_wall=- sw_rss=-
    STATUS=1
    log "   shipway render FAILED"
  else
    read -r sw_cpu sw_wall sw_rss <<<"$sw"
  fi
  case $kc in
    SKIP) kc_cpu=- kc_wall=- kc_rss=- ;;
    FAIL) kc_cpu=- kc_wall=- kc_rss=-; STATUS=1; log "   kubectl kustomize FAILED" ;;
    *) read -r kc_cpu kc_wall kc_rss <<<"$kc" ;;
  esac

  if [[ $sw == FAIL || $kc == FAIL ]]; then
    same="error"
  elif [[ $kc == SKIP ]]; then
    same="n/a (kubectl skipped)"
  elif cmp -s "$sw_out" "$kc_out"; then
    same=yes
  else
    same=NO
    STATUS=1
    log "   outputs differ; first lines of the diff (kubectl vs shipway):"
    diff "$kc_out" "$sw_out" | head -n 20 >&2 || true
  fi

  ratio=-
  if [[ $sw_cpu != - && $kc_cpu != - ]]; then
    ratio=$(python3 -c '
import sys
k, s = float(sys.argv[1]), float(sys.argv[2])
# GNU time measures in 10 ms steps: below that the ratio is a lower bound.
print("%.1fx" % (k / s) if s >= 0.01 else ">=%.0fx" % (k / 0.01))' "$kc_cpu" "$sw_cpu")
  fi

  ROWS+=("| $label | $resources | $(fmt_s "$sw_cpu") | $(fmt_s "$sw_wall") | $sw_rss | $(fmt_s "$kc_cpu") | $(fmt_s "$kc_wall") | $kc_rss | $ratio | $same |")
done

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[[ -n $cpu_model ]] || cpu_model=unknown
kubectl_version=$(kubectl version --client 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')
shipway_version=$("$SHIPWAY" --version 2>/dev/null | head -n 1 || true)

echo "## shipway render vs kubectl kustomize"
echo
echo "- machine: $(nproc) CPUs, $cpu_model, $(uname -sr)"
echo "- kubectl: ${kubectl_version:-unknown}"
echo "- shipway: ${shipway_version:-$SHIPWAY}"
echo "- median of $BENCH_REPEAT runs; CPU = user+sys seconds; RSS = peak resident set (MiB); timer: $BENCH_TIMER"
echo "- CPU ratio = kubectl CPU / shipway CPU"
if [[ $SKIPPED == 1 ]]; then
  echo "- kubectl was not run for generated repositories with N > BENCH_KUBECTL_MAX_N=$BENCH_KUBECTL_MAX_N (set BENCH_KUBECTL_MAX_N=1000 to include them; ~6 min per kubectl run at N=1000)"
fi
echo
echo "| dir | resources | shipway CPU s | shipway wall s | shipway RSS MiB | kubectl CPU s | kubectl wall s | kubectl RSS MiB | CPU ratio | identical |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
exit $STATUS
