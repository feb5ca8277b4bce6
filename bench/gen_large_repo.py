#!/usr/bin/env python3
"""Generate a large kustomize repository for benchmarking `shipway render`.

    python3 bench/gen_large_repo.py --services 1000 --out /tmp/bench-1000

Layout of the generated repository:

    components/common/            kind: Component shared by every service overlay
    services/svc-NNNN/base/       Deployment, Service, ServiceAccount, HPA, PDB,
                                  NetworkPolicy + ConfigMap and Secret generators
    services/svc-NNNN/overlays/{dev,staging,prod}/
                                  SMP and JSON 6902 patches, generator merges,
                                  labels, images, replicas (prod adds a
                                  ServiceMonitor)
    overlays/{dev,staging,prod}/  include every service's overlay of that name

Per service the dev and staging overlays render 8 objects and prod renders 9,
plus one Namespace per top-level overlay: at --services 1000 the prod overlay
renders 9,001 objects.

The output depends only on the arguments (no randomness, no clock), so two
runs with the same --services produce identical trees.
"""

import argparse
import hashlib
import os
import shutil
import sys

MARKER = ".gen_large_repo"
ENVS = ("dev", "staging", "prod")
PORTS = (8080, 8081, 8082, 8083, 8084, 3000, 8000)
TEAMS = ("identity", "payments", "catalog", "search", "growth", "messaging",
         "media", "platform", "data", "billing", "ads", "support")
REPLICAS = {"dev": 1, "staging": 2, "prod": 3}
LOG_LEVEL = {"dev": "debug", "staging": "info", "prod": "warn"}


def svc_name(i):
    return "svc-%04d" % i


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def fake_digest(name):
    # Deterministic, obviously synthetic image digest.
    return "sha256:" + hashlib.sha256(("bench-image:" + name).encode()).hexdigest()


def base_files(i, n):
    name = svc_name(i)
    port = PORTS[i % len(PORTS)]
    team = TEAMS[i % len(TEAMS)]
    upstream = svc_name(i % n + 1)
    cpu = 50 + (i % 8) * 25
    mem = 64 * (1 + i % 4)
    files = {}
    files["kustomization.yaml"] = f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

labels:
  - pairs:
      app.kubernetes.io/part-of: bench
      app.kubernetes.io/name: {name}
    includeSelectors: true

commonAnnotations:
  bench.example.com/team: {team}

resources:
  - serviceaccount.yaml
  - deployment.yaml
  - service.yaml
  - hpa.yaml
  - pdb.yaml
  - networkpolicy.yaml

configMapGenerator:
  - name: {name}-config
    literals:
      - SERVICE_NAME={name}
      - HTTP_PORT={port}
      - LOG_LEVEL=info
      - LOG_FORMAT=json
      - UPSTREAM_URL=http://{upstream}
      - CACHE_TTL={30 + i % 90}s
      - FEATURE_FLAGS=alpha,beta

secretGenerator:
  - name: {name}-secrets
    literals:
      - API_TOKEN=placeholder-token-{name}
      - DATABASE_PASSWORD=placeholder-password-{name}
"""
    files["serviceaccount.yaml"] = f"""apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
automountServiceAccountToken: false
"""
    files["deployment.yaml"] = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app.kubernetes.io/component: api
spec:
  replicas: 1
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/instance: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {name}
        app.kubernetes.io/component: api
    spec:
      serviceAccountName: {name}
      containers:
        - name: app
          image: registry.example.com/bench/{name}:latest
          ports:
            - name: http
              containerPort: {port}
          envFrom:
            - configMapRef:
                name: {name}-config
            - secretRef:
                name: {name}-secrets
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: /health
              port: http
            periodSeconds: 20
          resources:
            requests:
              cpu: {cpu}m
              memory: {mem}Mi
            limits:
              memory: {mem * 2}Mi
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {{}}
"""
    files["service.yaml"] = f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app.kubernetes.io/instance: {name}
  ports:
    - name: http
      port: 80
      targetPort: http
"""
    files["hpa.yaml"] = f"""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: 1
  maxReplicas: 3
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 75
"""
    files["pdb.yaml"] = f"""apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/instance: {name}
"""
    files["networkpolicy.yaml"] = f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/instance: {name}
  policyTypes:
    - Ingress
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: ingress-nginx
      ports:
        - protocol: TCP
          port: http
"""
    return files


def overlay_files(i, env):
    name = svc_name(i)
    team = TEAMS[i % len(TEAMS)]
    replicas = REPLICAS[env]
    files = {}
    resources = ["../../base"]
    if env == "prod":
        resources.append("servicemonitor.yaml")
    image = f"  - name: registry.example.com/bench/{name}\n"
    if env == "prod" and i % 10 == 0:
        image += f"    digest: {fake_digest(name)}\n"
    elif env == "dev":
        image += f"    newName: registry.example.com/bench-dev/{name}\n    newTag: main-{i:04x}\n"
    elif env == "staging":
        image += f"    newTag: {1 + i % 3}.{i % 17}.{i % 5 + 1}-rc.1\n"
    else:
        image += f"    newTag: {1 + i % 3}.{i % 17}.{i % 5}\n"
    hpa_min = max(1, replicas)
    hpa_max = replicas * 4
    cpu = (50 + (i % 8) * 25) * (2 if env == "prod" else 1)
    mem = 64 * (1 + i % 4) * (2 if env == "prod" else 1)
    resources_yaml = "".join(f"  - {r}\n" for r in resources)
    files["kustomization.yaml"] = f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
{resources_yaml}
components:
  - ../../../../components/common

labels:
  - pairs:
      environment: {env}
      bench.example.com/team: {team}
    includeSelectors: false
    includeTemplates: true

images:
{image}
replicas:
  - name: {name}
    count: {replicas}

configMapGenerator:
  - name: {name}-config
    behavior: merge
    literals:
      - LOG_LEVEL={LOG_LEVEL[env]}
      - ENVIRONMENT={env}

secretGenerator:
  - name: {name}-secrets
    behavior: merge
    literals:
      - API_TOKEN=placeholder-{env}-token-{name}

patches:
  - path: resources.yaml
  - target:
      group: autoscaling
      version: v2
      kind: HorizontalPodAutoscaler
      name: {name}
    patch: |-
      - op: replace
        path: /spec/minReplicas
        value: {hpa_min}
      - op: replace
        path: /spec/maxReplicas
        value: {hpa_max}
  - target:
      kind: Deployment
      labelSelector: app.kubernetes.io/component=api
    patch: |-
      - op: add
        path: /spec/template/metadata/annotations/bench.example.com~1environment
        value: {env}
"""
    files["resources.yaml"] = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
        - name: app
          resources:
            requests:
              cpu: {cpu}m
              memory: {mem}Mi
            limits:
              memory: {mem * 2}Mi
"""
    if env == "prod":
        files["servicemonitor.yaml"] = f"""apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {name}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  endpoints:
    - port: http
      path: /metrics
      interval: 30s
"""
    return files


COMMON_COMPONENT = """apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component

# Shared by every service overlay: hardening and spreading for Deployments.
patches:
  - target:
      kind: Deployment
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: not-used
      spec:
        template:
          spec:
            securityContext:
              runAsNonRoot: true
              runAsUser: 10001
              seccompProfile:
                type: RuntimeDefault
            topologySpreadConstraints:
              - maxSkew: 1
                topologyKey: kubernetes.io/hostname
                whenUnsatisfiable: ScheduleAnyway
                labelSelector:
                  matchExpressions:
                    - key: app.kubernetes.io/instance
                      operator: Exists
                matchLabelKeys:
                  - app.kubernetes.io/instance
"""


def top_overlay(env, n):
    lines = [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "",
        f"namespace: bench-{env}",
        "",
        "commonAnnotations:",
        "  bench.example.com/generated-by: gen_large_repo.py",
        "",
        "resources:",
        "  - namespace.yaml",
    ]
    lines += [f"  - ../../services/{svc_name(i)}/overlays/{env}" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, required=True, help="number of services (N)")
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args(argv)
    n = args.services
    if n < 1:
        ap.error("--services must be at least 1")
    out = args.out

    if os.path.exists(out):
        if os.path.exists(os.path.join(out, MARKER)):
            shutil.rmtree(out)
        elif os.listdir(out):
            sys.exit(f"{out} exists, is not empty and was not made by this script; refusing to overwrite")
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, MARKER), f"services={n}\n")

    write(os.path.join(out, "components/common/kustomization.yaml"), COMMON_COMPONENT)
    files = 0
    for i in range(1, n + 1):
        sdir = os.path.join(out, "services", svc_name(i))
        for fname, text in base_files(i, n).items():
            write(os.path.join(sdir, "base", fname), text)
            files += 1
        for env in ENVS:
            for fname, text in overlay_files(i, env).items():
                write(os.path.join(sdir, "overlays", env, fname), text)
                files += 1
    for env in ENVS:
        write(os.path.join(out, "overlays", env, "kustomization.yaml"), top_overlay(env, n))
        write(os.path.join(out, "overlays", env, "namespace.yaml"),
              f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-{env}\n")
        files += 2

    expected = {"dev": 8 * n + 1, "staging": 8 * n + 1, "prod": 9 * n + 1}
    print(f"wrote {files + 2} files for {n} services to {out}")
    print("expected objects: " + ", ".join(f"{e}={expected[e]}" for e in ENVS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
