#!/usr/bin/env python3
"""Idle memory of `shipway serve` with many apps, and whether objects no app manages change
it: N apps of M ConfigMaps each (default 100 x 50 = 5,000 managed objects) from one git
origin, synced into a `shipway sandbox` process; then U unmanaged ConfigMaps (default
20,000) are created in the cluster. Prints serve's VmRSS once every app is Synced and
idle, and again after the unmanaged objects, as a Markdown table.

    python3 bench/serve-memory.py [--shipway target/release/shipway] [--apps 100]
                                  [--objects 50] [--unmanaged 20000]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request


def run(*args, cwd=None, stdin=None):
    return subprocess.run(args, cwd=cwd, input=stdin, check=True, capture_output=True, text=True).stdout


def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shipway", default="target/release/shipway")
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--unmanaged", type=int, default=20000)
    args = parser.parse_args()
    shipway = os.path.abspath(args.shipway)
    tmp = tempfile.mkdtemp(prefix="shipway-serve-memory-")
    kubeconfig = os.path.join(tmp, "kubeconfig")
    procs = []
    try:
        procs.append(subprocess.Popen([shipway, "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", kubeconfig],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        origin, work = os.path.join(tmp, "origin.git"), os.path.join(tmp, "work")
        run("git", "init", "-q", "--bare", "-b", "main", origin)
        os.makedirs(work)
        run("git", "init", "-q", "-b", "main", cwd=work)
        apps_dir = os.path.join(tmp, "apps")
        os.makedirs(apps_dir)
        for a in range(args.apps):
            path = os.path.join(work, f"app{a:03}")
            os.makedirs(path)
            with open(os.path.join(path, "objects.yaml"), "w") as f:
                for o in range(args.objects):
                    f.write(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app{a:03}-cm{o:02}}}\n"
                            f"data: {{index: \"{o}\", app: app{a:03}}}\n")
            with open(os.path.join(apps_dir, f"app{a:03}.yaml"), "w") as f:
                f.write(f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: app{a:03}, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: {origin}, targetRevision: main, path: app{a:03}}}
  destination: {{server: https://kubernetes.default.svc, namespace: default}}
  syncPolicy: {{automated: {{prune: true, selfHeal: true}}}}
""")
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        run(*git, "add", "-A", cwd=work)
        run(*git, "commit", "-q", "-m", "apps", cwd=work)
        run("git", "push", "-q", origin, "main", cwd=work)
        while not os.path.exists(kubeconfig):
            time.sleep(0.1)
        state = os.path.join(tmp, "state")
        log = open(os.path.join(tmp, "serve.log"), "w")
        serve = subprocess.Popen([shipway, "serve", "--kubeconfig", kubeconfig, "--apps", apps_dir, "--state", state,
                                  "--listen", "127.0.0.1:0", "--poll", "1h"], stdout=subprocess.DEVNULL, stderr=log)
        procs.append(serve)
        address = None
        while address is None:
            text = open(os.path.join(tmp, "serve.log")).read()
            if "metrics on http://" in text:
                address = text.split("metrics on http://")[1].split()[0]
            time.sleep(0.1)
        token = open(os.path.join(state, "admin-token")).read().strip()

        def synced():
            request = urllib.request.Request(f"http://{address}/api/v1/apps",
                                             headers={"Authorization": f"Bearer {token}"})
            apps = json.load(urllib.request.urlopen(request))["apps"]
            return sum(1 for a in apps if a["sync"]["status"] == "Synced")

        started = time.monotonic()
        while synced() < args.apps:
            time.sleep(1)
        all_synced = time.monotonic() - started
        time.sleep(10)
        idle = rss(serve.pid)
        batch = 500
        for start in range(0, args.unmanaged, batch):
            docs = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: unmanaged-{i:05}}}\ndata: {{x: \"{i}\"}}\n"
                           for i in range(start, min(start + batch, args.unmanaged)))
            run("kubectl", "--kubeconfig", kubeconfig, "create", "-f", "-", stdin=docs)
        time.sleep(10)
        after = rss(serve.pid)
        print(f"| {args.apps} apps, {args.apps * args.objects} managed objects | serve VmRSS |")
        print("|---|---|")
        print(f"| idle, every app Synced ({all_synced:.0f} s after start) | {idle:.1f} MiB |")
        print(f"| after {args.unmanaged} unmanaged ConfigMaps were created | {after:.1f} MiB |")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
