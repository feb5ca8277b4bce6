#!/usr/bin/env python3
"""Latency of `shipway serve` on the sandbox: commit -> applied after a signed webhook, and
drift -> healed after `kubectl scale`, each measured N times; prints the p50 and p90 and the
controller's resident memory (VmRSS, VmHWM) at the end, as a Markdown table.

    python3 bench/serve-latency.py [--shipway target/release/shipway] [--runs 20]

The sandbox runs as its own process (`shipway sandbox`), the git origin is a bare
repository on disk, and every timestamp is taken by this script: from just before
`git push` (or `kubectl scale`) until `kubectl` shows the new state. There is no peer tool
on this machine to run side by side (Argo CD and Flux need a real cluster), so these are
absolute figures for this machine.
"""

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:TAG
        resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 64Mi}}
"""


def run(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def wait_for(seconds, check):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    raise SystemExit("timed out")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shipway", default="target/release/shipway")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    shipway = os.path.abspath(args.shipway)
    tmp = tempfile.mkdtemp(prefix="shipway-serve-bench-")
    kubeconfig = os.path.join(tmp, "kubeconfig")
    procs = []
    try:
        procs.append(subprocess.Popen([shipway, "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", kubeconfig],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        origin, work = os.path.join(tmp, "origin.git"), os.path.join(tmp, "work")
        os.makedirs(os.path.join(work, "app"))
        run("git", "init", "-q", "--bare", "-b", "main", origin)
        run("git", "init", "-q", "-b", "main", cwd=work)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]

        def commit(tag):
            with open(os.path.join(work, "app/deployment.yaml"), "w") as f:
                f.write(DEPLOYMENT.replace("TAG", tag))
            with open(os.path.join(work, "app/kustomization.yaml"), "w") as f:
                f.write("resources: [deployment.yaml]\n")
            run(*git, "add", "-A", cwd=work)
            run(*git, "commit", "-q", "-m", tag, cwd=work)
            run("git", "push", "-q", origin, "main", cwd=work)

        commit("1.0.0")
        apps = os.path.join(tmp, "apps")
        os.makedirs(apps)
        with open(os.path.join(apps, "web.yaml"), "w") as f:
            f.write(f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: {origin}, targetRevision: main, path: app}}
  destination: {{server: https://kubernetes.default.svc, namespace: bench}}
  syncPolicy:
    automated: {{prune: true, selfHeal: true}}
    syncOptions: [CreateNamespace=true]
""")
        secret = "bench-secret"
        with open(os.path.join(tmp, "secret"), "w") as f:
            f.write(secret)
        wait_for(30, lambda: os.path.exists(kubeconfig))
        log = open(os.path.join(tmp, "serve.log"), "w")
        serve = subprocess.Popen([shipway, "serve", "--kubeconfig", kubeconfig, "--apps", apps, "--state",
                                  os.path.join(tmp, "state"), "--listen", "127.0.0.1:0", "--poll", "1h",
                                  "--webhook-secret-file", os.path.join(tmp, "secret")],
                                 stdout=subprocess.DEVNULL, stderr=log)
        procs.append(serve)
        address = []

        def listening():
            text = open(os.path.join(tmp, "serve.log")).read()
            if "metrics on http://" in text:
                address.append(text.split("metrics on http://")[1].split()[0])
                return True
            return False

        wait_for(30, listening)

        def kubectl(*a):
            return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "-n", "bench", *a],
                                  capture_output=True, text=True).stdout

        image = lambda: kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
        replicas = lambda: kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")
        wait_for(60, lambda: image() == "nginx:1.0.0")

        body = json.dumps({"ref": "refs/heads/main", "repository": {"clone_url": origin}}).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        commit_times, heal_times = [], []
        for i in range(args.runs):
            tag = f"1.0.{i + 1}"
            start = time.monotonic()
            commit(tag)
            request = urllib.request.Request(f"http://{address[0]}/api/webhook", data=body, method="POST",
                                             headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature})
            urllib.request.urlopen(request).read()
            wait_for(60, lambda: image() == f"nginx:{tag}")
            commit_times.append(time.monotonic() - start)
            time.sleep(0.5)
            # Drift far apart, so each heal is a first heal (the backoff resets after quiet).
            start = time.monotonic()
            kubectl("scale", "deploy", "web", "--replicas=3")
            wait_for(60, lambda: replicas() == "1")
            heal_times.append(time.monotonic() - start)
            time.sleep(0.5)
        status = open(f"/proc/{serve.pid}/status").read()
        memory = {line.split(":")[0]: line.split(":")[1].strip() for line in status.splitlines()
                  if line.startswith(("VmRSS", "VmHWM"))}

        def quantiles(values):
            values = sorted(values)
            return statistics.median(values), values[int(0.9 * (len(values) - 1))]

        c50, c90 = quantiles(commit_times)
        h50, h90 = quantiles(heal_times)
        print(f"| measure ({args.runs} runs) | p50 | p90 |")
        print("|---|---|---|")
        print(f"| commit -> applied (signed webhook) | {c50:.2f} s | {c90:.2f} s |")
        print(f"| drift (kubectl scale) -> healed | {h50:.2f} s | {h90:.2f} s |")
        print(f"\nserve memory after the runs: VmRSS {memory.get('VmRSS')}, peak VmHWM {memory.get('VmHWM')} (1 app)")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
