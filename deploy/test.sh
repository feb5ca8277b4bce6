#!/usr/bin/env bash
# Checks deploy/: the alert rules with promtool (syntax and unit tests), and every query of
# the Grafana dashboard against a real Prometheus scraping a running `shipway serve`
# (sandbox cluster, one app from a git origin, one signed webhook delivery), so that no
# panel names a metric or label the controller does not export.
# Usage: deploy/test.sh PATH-TO-SHIPWAY-BINARY
set -euo pipefail
bin=$(realpath "$1")
cd "$(dirname "$0")"
tmp=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

python3 - "$tmp/rules.yaml" <<'PY'
import json, sys, yaml
# The PrometheusRule's spec is the plain rule file promtool reads.
doc = yaml.safe_load(open("prometheus/shipway-rules.yaml"))
open(sys.argv[1], "w").write(json.dumps(doc["spec"]))
PY
promtool check rules "$tmp/rules.yaml"
cp prometheus/rules-test.yaml "$tmp/"
(cd "$tmp" && promtool test rules rules-test.yaml)

# A git origin with one app, and serve managing it in its own sandbox.
git init -q --bare -b main "$tmp/origin.git"
mkdir -p "$tmp/work/app" "$tmp/apps"
cat >"$tmp/work/app/kustomization.yaml" <<'YAML'
resources: [cm.yaml]
YAML
cat >"$tmp/work/app/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: info}
YAML
git -C "$tmp/work" init -q -b main
git -C "$tmp/work" add -A
git -C "$tmp/work" -c user.name=ci -c user.email=ci@example.invalid commit -qm first
git -C "$tmp/work" push -q "$tmp/origin.git" main
cat >"$tmp/apps/settings.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: settings, namespace: argocd}
spec:
  project: default
  source: {repoURL: $tmp/origin.git, targetRevision: main, path: app}
  destination: {server: https://kubernetes.default.svc, namespace: default}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
YAML
echo -n "deploy-test-secret" >"$tmp/secret"
"$bin" serve --sandbox --apps "$tmp/apps" --state "$tmp/state" --listen 127.0.0.1:0 \
  --webhook-secret-file "$tmp/secret" --poll 2s >"$tmp/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "metrics on http://" "$tmp/serve.log" && break; sleep 0.2; done
addr=$(sed -n 's/.*metrics on http:\/\/\([^ ]*\).*/\1/p' "$tmp/serve.log")
[ -n "$addr" ] || { cat "$tmp/serve.log"; exit 1; }
body='{"ref":"refs/heads/main","repository":{"clone_url":"'"$tmp/origin.git"'"}}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac deploy-test-secret | awk '{print $NF}')
sleep 2
curl -sf -o /dev/null -X POST -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$sig" \
  --data-binary "$body" "http://$addr/api/webhook"

cat >"$tmp/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [$tmp/rules.yaml]
scrape_configs:
- job_name: shipway
  static_configs: [{targets: ["$addr"]}]
YAML
promport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$promport" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
# Long enough for two samples in every rate() window and a commit-to-applied observation.
sleep 15
python3 - "$promport" <<'PY'
import json, sys, time, urllib.parse, urllib.request
port = sys.argv[1]
dashboard = json.load(open("grafana/shipway-dashboard.json"))
failed = 0
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        expr = target["expr"]
        for attempt in range(20):
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            answer = json.load(urllib.request.urlopen(url))
            result = answer["data"]["result"] if answer["status"] == "success" else []
            if result:
                break
            time.sleep(1)
        if result:
            print(f"dashboard: {panel['title']}: {len(result)} series")
        else:
            print(f"dashboard: {panel['title']}: no data for {expr}")
            failed += 1
sys.exit(1 if failed else 0)
PY
echo "deploy: rules and every dashboard query checked against a running serve"
