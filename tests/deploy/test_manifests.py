"""Offline checks of the Kubernetes deployment under deploy/.

Renders the kustomize base and every overlay with `kubectl kustomize` (no cluster
needed), validates each object against the Kubernetes 1.30 OpenAPI schemas
(kubernetes-validate, strict: unknown fields are errors) and asserts the
invariants operators rely on. The NATS users in the Helm values must be the
ones `jinguo_shared.natsauth` generates; tests/security runs a nats-server with
them and probes every permission.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
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
README = DEPLOY / "README.md"
KUBERNETES_VERSION = "1.30"
KUBECTL = shutil.which("kubectl")

OVERLAYS = sorted(
    p.name for p in (DEPLOY / "overlays").iterdir() if (p / "kustomization.yaml").exists()
)
TARGETS = ["base", *(f"overlays/{name}" for name in OVERLAYS)]

# CLI names (`jinguo serve <svc>`), as in every Kubernetes name: <svc>-api, <svc>-pg, ...
SERVICES = ("registry", "employment", "orders", "rights")
ROLES = ("api", "projector", "replay")
# The one Jinguo workload that is no service's: stream provisioning, as the NATS admin.
PROVISIONER = ("streams", "provision")
# Custom resources the overlays may contain; kubernetes-validate has no schema for them.
POSTGRES_CLUSTER = ("postgresql.cnpg.io/v1", "Cluster")
CUSTOM_KINDS = {
    POSTGRES_CLUSTER,
    ("cert-manager.io/v1", "Certificate"),
    ("cert-manager.io/v1", "Issuer"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
# Where a pod finds its NATS user's client certificate (deploy/nats/tls).
NATS_TLS_MOUNT = "/etc/jinguo/nats-tls"

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


def role_of(template: Doc) -> str:
    return template["metadata"]["labels"]["app.kubernetes.io/component"]


def by_kind(docs: list[Doc]) -> dict[str, dict[str, Doc]]:
    kinds: dict[str, dict[str, Doc]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return kinds


def test_labels_match_is_a_real_selector() -> None:
    """Guards the guard: the tests below rely on it to say which pods a policy selects."""
    labels = {"app.kubernetes.io/name": "rights", "app.kubernetes.io/component": "api"}
    assert labels_match({"matchLabels": {"app.kubernetes.io/name": "rights"}}, labels)
    assert not labels_match({"matchLabels": {"app.kubernetes.io/name": "orders"}}, labels)
    assert not labels_match({"matchLabels": {"cnpg.io/cluster": "rights-pg"}}, labels)
    assert labels_match({}, labels)  # the empty selector selects every pod
    expr = {"key": "app.kubernetes.io/component", "operator": "In", "values": ["projector"]}
    assert not labels_match({"matchExpressions": [expr]}, labels)


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


# --------------------------------------------------------------------------- services


def test_services_are_the_ones_the_application_installs() -> None:
    """Kubernetes names, commands, probes and Ingress paths use the CLI names and HTTP
    prefixes of the installed services (e.g. `orders`, not `services-orders`)."""
    from jinguo_shared.services import discover_services

    installed = {d.name: d.prefix for d in discover_services()}
    assert installed == {svc: f"/{svc}" for svc in SERVICES}


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_service_is_deployed(target: str) -> None:
    kinds = by_kind(render(target))
    for svc in SERVICES:
        expected = [
            ("Deployment", f"{svc}-api"),
            ("Deployment", f"{svc}-projector"),
            ("CronJob", f"{svc}-replay"),
            ("Service", f"{svc}-api"),
            ("PodDisruptionBudget", f"{svc}-api"),
            ("NetworkPolicy", svc),
            ("NetworkPolicy", f"{svc}-api"),
            ("Ingress", svc),
        ]
        if target != "base":
            expected += [("Cluster", f"{svc}-pg"), ("NetworkPolicy", f"{svc}-pg")]
        for kind, name in expected:
            assert name in kinds.get(kind, {}), f"{svc}: no {kind}/{name}"
            assert service_of(kinds[kind][name]) == svc, f"{kind}/{name}"
    # Nothing belongs to a service that is not one.
    for objects in kinds.values():
        for doc in objects.values():
            labels = doc["metadata"].get("labels", {})
            if labels.get("app.kubernetes.io/name") not in (None, "nats", PROVISIONER[0]):
                assert service_of(doc) in SERVICES, where(doc)


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_streams_are_provisioned_by_a_job_as_the_nats_admin(target: str) -> None:
    """The streams-provision Job runs `jinguo streams provision` with the admin NATS user,
    whose password no other pod reads, and nothing else of a service's."""
    docs = render(target)
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert [where(j) for j in jobs] == ["Job/streams-provision"]
    (job,) = jobs
    assert role_of(job["spec"]["template"]) == PROVISIONER[1]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["ttlSecondsAfterFinished"] > 0, "gone after a while: apply runs it again"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["jinguo", "streams", "provision"]
    env = {e["name"]: e for e in container["env"]}
    assert env["JINGUO_NATS_USER"]["value"] == "admin"
    assert env["JINGUO_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "nats-admin"
    others = [owner for owner, _ in pod_templates(docs) if owner is not job]
    assert all(name != "nats-admin" for name, _ in referenced_secrets(others))


@needs_kubectl
@pytest.mark.parametrize("target", [t for t in TARGETS if t != "base"])
def test_postgres_clusters_are_sane(target: str) -> None:
    clusters = [d for d in render(target) if (d["apiVersion"], d["kind"]) == POSTGRES_CLUSTER]
    assert sorted(c["metadata"]["name"] for c in clusters) == sorted(f"{s}-pg" for s in SERVICES)
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


def application_settings(svc: str) -> set[str]:
    """Every environment variable the application reads for service `svc`."""
    from jinguo_rights.bootstrap import RightsSettings
    from jinguo_shared.settings import Settings

    names = {f"JINGUO_{field.upper()}" for field in Settings.model_fields}
    names.add(f"JINGUO_{svc.upper()}_DATABASE_URL")  # Settings.database_url(svc)
    if svc == "rights":
        names |= {f"JINGUO_RIGHTS_{field.upper()}" for field in RightsSettings.model_fields}
    return names


def test_application_settings_are_read_from_the_code() -> None:
    """Guards the guard: the list comes from the settings classes, not from the manifests."""
    assert {"JINGUO_NATS_URL", "JINGUO_MASTER_KEY", "JINGUO_NATS_INBOX_PREFIX"} <= (
        application_settings("orders")
    )
    assert "JINGUO_ORDERS_DATABASE_URL" in application_settings("orders")
    assert "JINGUO_RIGHTS_DATABASE_URL" not in application_settings("orders")
    assert "JINGUO_RIGHTS_CALENDAR" in application_settings("rights")
    assert "JINGUO_RIGHTS_CALENDAR" not in application_settings("employment")
    assert "JINGUO_NATS_INBOX_PREFX" not in application_settings("rights")


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_settings_are_ones_the_application_reads(target: str) -> None:
    """A misspelt or another service's variable would be ignored silently by pydantic."""
    docs = render(target)
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for owner, template in pod_templates(docs):
        known = application_settings(service_of(owner))
        for container in containers(template["spec"]):
            names = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                configmap = configmaps[source["configMapRef"]["name"]]
                names |= {source.get("prefix", "") + key for key in configmap.get("data", {})}
            unknown = names - known
            assert not unknown, f"{where(owner)}: the application reads no {sorted(unknown)}"


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_configmaps_referenced_are_in_the_build(target: str) -> None:
    """Every ConfigMap a pod uses is generated here (with a content hash), key by key."""
    docs = render(target)
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for owner, template in pod_templates(docs):
        spec = template["spec"]
        refs: list[tuple[str, list[str]]] = []
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                source = volume["configMap"]
                assert not source.get("optional"), where(owner)
                refs.append((source["name"], [i["key"] for i in source.get("items", [])]))
        for container in containers(spec):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    assert not ref.get("optional"), where(owner)
                    refs.append((ref["name"], [ref["key"]]))
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    refs.append((source["configMapRef"]["name"], []))
        for name, keys in refs:
            assert name in configmaps, f"{where(owner)}: ConfigMap {name} is not in the build"
            # Generated names carry a hash: a change of content rolls the pods.
            assert re.fullmatch(r"[a-z0-9-]+-[a-z0-9]{10}", name), f"{name} is not generated"
            data = {**configmaps[name].get("data", {}), **configmaps[name].get("binaryData", {})}
            for key in keys:
                assert key in data, f"{where(owner)}: ConfigMap {name} has no key {key}"


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_pods_mount_no_secrets(target: str) -> None:
    """Secrets reach a pod only as named keys in `env` (test_workloads_use_the_per_service_secrets
    lists them), never as files or whole Secrets, so each pod's credentials are visible here;
    the one exception is its own NATS user's TLS client certificate (test_nats_client_tls)."""
    for owner, template in pod_templates(render(target)):
        for volume in template["spec"].get("volumes", []):
            kinds = set(volume) - {"name"}
            if kinds == {"secret"}:
                assert volume["secret"]["secretName"] == nats_tls_secret(service_of(owner))
                continue
            assert kinds <= {"emptyDir", "configMap"}, f"{where(owner)}: volume {volume['name']}"
        for container in containers(template["spec"]):
            for env in container.get("env", []):
                assert set(env.get("valueFrom", {})) <= {"secretKeyRef"}, where(owner)


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_rights_calendar_is_mounted_and_valid(target: str, tmp_path: Path) -> None:
    """JINGUO_RIGHTS_CALENDAR names a file the rights pods have, which the service accepts."""
    from jinguo_rights.bootstrap import RightsSettings, deadline_policy

    docs = render(target)
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    rights_pods = [(o, t) for o, t in pod_templates(docs) if service_of(o) == "rights"]
    assert {role_of(t) for _, t in rights_pods} == set(ROLES)
    for owner, template in rights_pods:
        spec = template["spec"]
        (container,) = spec["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        path = Path(env["JINGUO_RIGHTS_CALENDAR"])
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent)]
        assert mount.get("readOnly") is True, where(owner)
        (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
        content = configmaps[volume["configMap"]["name"]]["data"][path.name]
        copy = tmp_path / path.name
        copy.write_text(content)
        deadline_policy(RightsSettings(calendar=copy))  # raises on a calendar the service refuses


def test_the_service_refuses_a_bad_calendar(tmp_path: Path) -> None:
    """Guards the guard: parsing the calendar as the service does can fail."""
    from jinguo_rights.bootstrap import RightsSettings, deadline_policy

    bad = tmp_path / "calendar.json"
    bad.write_text(json.dumps({"holiday": ["2027-01-01"]}))
    with pytest.raises(ValueError, match="unknown calendar keys"):
        deadline_policy(RightsSettings(calendar=bad))


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
    """Each pod gets its own service's NATS user and database and nothing of another's: above
    all, rights-nats (the only service user that can read RIGHTS) reaches rights pods only."""
    for owner, template in pod_templates(render(target)):
        svc = service_of(owner)
        if svc == PROVISIONER[0]:
            continue  # test_streams_are_provisioned_by_a_job_as_the_nats_admin
        for container in containers(template["spec"]):
            env = {e["name"]: e for e in container.get("env", [])}
            refs = {
                name: e["valueFrom"]["secretKeyRef"]["name"]
                for name, e in env.items()
                if "secretKeyRef" in e.get("valueFrom", {})
            }
            needed = {
                "JINGUO_NATS_USER": f"{svc}-nats",
                "JINGUO_NATS_PASSWORD": f"{svc}-nats",
                f"JINGUO_{svc.upper()}_DATABASE_URL": f"{svc}-db",
            }
            if container["name"] != "provision":  # creating tables needs no encryption key
                needed |= {"JINGUO_MASTER_KEY": "jinguo-keys", "JINGUO_LOOKUP_KEY": "jinguo-keys"}
            assert refs == needed, f"{where(owner)} container {container['name']}"
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
    assert {service_of(d) for d in deployments.values()} == set(SERVICES)
    for svc in SERVICES:
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
            (provision,) = deployment["spec"]["template"]["spec"]["initContainers"]
            assert provision["command"] == ["jinguo", "provision", svc]
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
    assert sorted(p["metadata"]["name"] for p in projectors) == sorted(
        f"{svc}-projector" for svc in SERVICES
    )
    for projector in projectors:
        assert projector["spec"]["replicas"] == 1, where(projector)
        assert projector["spec"]["strategy"] == {"type": "Recreate"}, where(projector)
    autoscaled = {
        d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert not autoscaled & {p["metadata"]["name"] for p in projectors}


@needs_kubectl
def test_replicas_per_overlay() -> None:
    """The projectors are set to one replica; the api Deployments set none, their
    HorizontalPodAutoscalers do (an apply would otherwise reset what the HPA chose)."""

    def replicas(target: str) -> dict[str, int | None]:
        return {
            d["metadata"]["name"]: d["spec"].get("replicas")
            for d in render(target)
            if d["kind"] == "Deployment"
        }

    def bounds(target: str) -> dict[str, tuple[int, int]]:
        return {
            d["metadata"]["name"]: (d["spec"]["minReplicas"], d["spec"]["maxReplicas"])
            for d in render(target)
            if d["kind"] == "HorizontalPodAutoscaler"
        }

    for target in TARGETS:
        for svc in SERVICES:
            assert replicas(target)[f"{svc}-api"] is None, (target, svc)
            assert replicas(target)[f"{svc}-projector"] == 1, (target, svc)
    base, dev, production = (bounds(t) for t in ("base", "overlays/dev", "overlays/production"))
    for svc in SERVICES:
        assert base[f"{svc}-api"] == (2, 6), svc
        assert dev[f"{svc}-api"] == (1, 2), svc
        assert production[f"{svc}-api"] == (3, 10), svc


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_api_scales_on_cpu_within_its_disruption_budget(target: str) -> None:
    """One autoscaling/v2 HPA per api Deployment, on CPU utilisation (so the pods request CPU),
    never on a projector; wherever it keeps two or more pods, the PDB's one-at-a-time leaves
    one serving during a drain (production keeps three)."""
    kinds = by_kind(render(target))
    autoscalers = kinds["HorizontalPodAutoscaler"]
    assert sorted(autoscalers) == sorted(f"{svc}-api" for svc in SERVICES)
    for name, hpa in autoscalers.items():
        spec = hpa["spec"]
        assert hpa["apiVersion"] == "autoscaling/v2"
        target_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert spec["scaleTargetRef"] == target_ref
        deployment = kinds["Deployment"][name]
        assert role_of(deployment["spec"]["template"]) == "api"
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"]
        (metric,) = spec["metrics"]
        assert metric["type"] == "Resource"
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["type"] == "Utilization"
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "cpu" in container["resources"]["requests"], f"{name}: utilisation of what?"
        budget = kinds["PodDisruptionBudget"][name]["spec"]
        assert budget == {"maxUnavailable": 1, "selector": deployment["spec"]["selector"]}
        if target == "overlays/production":
            assert spec["minReplicas"] >= 3, f"{name}: a drain would leave one pod"


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
        if (d["apiVersion"], d["kind"]) == POSTGRES_CLUSTER
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
def test_api_is_exposed(target: str) -> None:
    """Each api Deployment has a Service (80 -> http) that selects its pods and no other
    role's, and a PodDisruptionBudget."""
    docs = render(target)
    kinds = by_kind(docs)
    templates = list(pod_templates(docs))
    for svc in SERVICES:
        name = f"{svc}-api"
        service = kinds["Service"][name]
        (port,) = service["spec"]["ports"]
        assert (port["port"], port["targetPort"]) == (80, "http")
        selector = {"matchLabels": service["spec"]["selector"]}
        selected = {
            where(o) for o, t in templates if labels_match(selector, t["metadata"]["labels"])
        }
        assert selected == {f"Deployment/{name}"}, f"Service/{name} selects {selected}"
        assert kinds["PodDisruptionBudget"][name]["spec"]["maxUnavailable"] == 1


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_ingress_routes_every_prefix(target: str) -> None:
    """One host, four prefixes, each to its own service's api (ingress-nginx merges the
    per-service Ingresses)."""
    kinds = by_kind(render(target))
    routes: dict[str, tuple[str, str, Doc]] = {}
    hosts: set[str | None] = set()
    for ingress in kinds["Ingress"].values():
        assert ingress["spec"]["ingressClassName"] == "nginx", where(ingress)
        for rule in ingress["spec"]["rules"]:
            hosts.add(rule.get("host"))
            for path in rule["http"]["paths"]:
                assert path["path"] not in routes, f"{path['path']} is routed twice"
                backend = path["backend"]["service"]
                routes[path["path"]] = (path["pathType"], backend["name"], backend["port"])
    assert routes == {f"/{svc}": ("Prefix", f"{svc}-api", {"name": "http"}) for svc in SERVICES}
    if target == "base":
        assert hosts == {None}, "the overlays set the host"
    else:
        (host,) = hosts
        assert host, "an overlay must set the host of every Ingress"
    if target == "overlays/production":
        for ingress in kinds["Ingress"].values():
            assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "jinguo-tls"}]


# --------------------------------------------------------------------------- network policies

NATS_SERVERS = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats"}
NATS_BOX = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats-box"}


def policy_types(policy: Doc) -> set[str]:
    spec = policy["spec"]
    default = {"Ingress", "Egress"} if "egress" in spec else {"Ingress"}
    return set(spec.get("policyTypes", default))


def policies_selecting(docs: list[Doc], labels: dict[str, str], policy_type: str) -> list[Doc]:
    return [
        d
        for d in docs
        if d["kind"] == "NetworkPolicy"
        and policy_type in policy_types(d)
        and labels_match(d["spec"]["podSelector"], labels)
    ]


def ports_of(rule: Doc) -> set[tuple[int, str]]:
    return {(p["port"], p.get("protocol", "TCP")) for p in rule.get("ports", [])}


def peer_admits(peer: Doc, labels: dict[str, str], namespace: str = "jinguo") -> bool:
    """Whether a `from` peer matches a pod with these labels in `namespace`."""
    if "ipBlock" in peer:
        return False
    namespaces = peer.get("namespaceSelector")
    if namespaces is not None and not labels_match(
        namespaces, {"kubernetes.io/metadata.name": namespace}
    ):
        return False
    pods = peer.get("podSelector")
    return pods is None or labels_match(pods, labels)


def admits(policy: Doc, labels: dict[str, str], port: int) -> bool:
    """Whether a policy's ingress rules let a pod of namespace jinguo in on `port`/TCP."""
    for rule in policy["spec"].get("ingress", []):
        if rule.get("ports") and (port, "TCP") not in ports_of(rule):
            continue
        if not rule.get("from") or any(peer_admits(p, labels) for p in rule["from"]):
            return True
    return False


def test_policy_helpers_can_refuse() -> None:
    """Guards the guard."""
    policy = {
        "spec": {
            "podSelector": {},
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"a": "b"}}}], "ports": [{"port": 1}]}
            ],
        }
    }
    assert admits(policy, {"a": "b"}, 1)
    assert not admits(policy, {"a": "c"}, 1)
    assert not admits(policy, {"a": "b"}, 2)
    assert not peer_admits({"namespaceSelector": {"matchLabels": {"x": "y"}}}, {"a": "b"})
    assert policy_types(policy) == {"Ingress"}


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_network_policies_isolate_every_pod(target: str) -> None:
    """Every Jinguo pod is selected by policies of both types. It accepts connections from
    Prometheus and, for api pods only, from the ingress controller; it may connect to NATS,
    its own service's database and DNS, and to nothing else. The provisioning pod accepts
    nothing and reaches NATS and DNS only."""
    docs = render(target)
    templates = list(pod_templates(docs))
    assert {(service_of(o), role_of(t)) for o, t in templates} == {
        (svc, role) for svc in SERVICES for role in ROLES
    } | {PROVISIONER}
    for owner, template in templates:
        svc, role = service_of(owner), role_of(template)
        labels = template["metadata"]["labels"]
        ingress_policies = policies_selecting(docs, labels, "Ingress")
        egress_policies = policies_selecting(docs, labels, "Egress")
        assert ingress_policies, f"{where(owner)}: no NetworkPolicy restricts its ingress"
        assert egress_policies, f"{where(owner)}: no NetworkPolicy restricts its egress"

        admitted: set[str] = set()
        for policy in ingress_policies:
            for rule in policy["spec"].get("ingress", []):
                assert rule.get("from"), f"{where(policy)}: a rule without `from` admits anyone"
                assert ports_of(rule) == {(8080, "TCP")}, where(policy)
                for peer in rule["from"]:
                    # Other namespaces only, by name: no pod of this namespace gets in.
                    assert set(peer) == {"namespaceSelector"}, f"{where(policy)}: {peer}"
                    names = peer["namespaceSelector"]["matchLabels"]
                    admitted.add(names["kubernetes.io/metadata.name"])
        expected = {"monitoring", "ingress-nginx"} if role == "api" else {"monitoring"}
        if (svc, role) == PROVISIONER:
            expected = set()
        assert admitted == expected, f"{where(owner)} admits connections from {admitted}"

        reached: set[str] = set()
        for policy in egress_policies:
            for rule in policy["spec"].get("egress", []):
                ports, to = ports_of(rule), rule.get("to")
                if ports == {(53, "UDP"), (53, "TCP")} and not to:
                    reached.add("DNS")
                elif ports == {(4222, "TCP")} and to == [
                    {"podSelector": {"matchLabels": NATS_SERVERS}}
                ]:
                    reached.add("NATS")
                elif ports == {(5432, "TCP")} and to == [
                    {"podSelector": {"matchLabels": {"cnpg.io/cluster": f"{svc}-pg"}}}
                ]:
                    reached.add(f"{svc}-pg")
                else:
                    pytest.fail(f"{where(policy)}: egress {rule} is none of NATS, {svc}-pg, DNS")
        databases = set() if (svc, role) == PROVISIONER else {f"{svc}-pg"}
        assert reached == {"DNS", "NATS", *databases}, where(owner)


@needs_kubectl
@pytest.mark.parametrize("target", [t for t in TARGETS if t != "base"])
def test_nats_and_each_database_admit_their_clients(target: str) -> None:
    """The other side of the egress rules: NATS admits every Jinguo pod; each database its
    own service's pods only, and neither NATS nor nats-box."""
    docs = render(target)
    policies = by_kind(docs)["NetworkPolicy"]
    nats = policies["nats"]
    assert nats["spec"]["podSelector"] == {"matchLabels": NATS_SERVERS}
    for owner, template in pod_templates(docs):
        svc, labels = service_of(owner), template["metadata"]["labels"]
        assert admits(nats, labels, 4222), f"NATS refuses {where(owner)}"
        for other in SERVICES:
            database = policies[f"{other}-pg"]
            allowed = admits(database, labels, 5432)
            assert allowed == (other == svc), f"{where(owner)} -> {other}-pg: {allowed}"
    for svc in SERVICES:
        database = policies[f"{svc}-pg"]
        assert database["spec"]["podSelector"] == {"matchLabels": {"cnpg.io/cluster": f"{svc}-pg"}}
        assert policy_types(database) == {"Ingress"}
        for outsider in (NATS_SERVERS, NATS_BOX, {"app.kubernetes.io/part-of": "jinguo"}):
            assert not admits(database, outsider, 5432), f"{svc}-pg admits {outsider}"


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


# --------------------------------------------------------------------------- secrets and README


def readme_section(number: int) -> str:
    text = README.read_text()
    start = text.index(f"\n## {number}. ")
    return text[start : text.index(f"\n## {number + 1}. ", start)]


def readme_secret_table() -> dict[str, set[str]]:
    """Secret -> keys, as the table in deploy/README.md section 2 lists them (`<svc>` kept)."""
    lines = readme_section(2).splitlines()
    start = lines.index("| Secret | keys | used by |")
    table: dict[str, set[str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        name_cell, keys_cell, _used_by = (c.strip() for c in line.strip("|").split("|"))
        name = re.fullmatch(r"`([^`]+)`", name_cell)
        assert name, f"README secrets table: {line}"
        keys = {k for k in re.findall(r"`([^`]+)`", keys_cell) if re.fullmatch(r"[\w<>]+", k)}
        assert keys, f"README secrets table: no keys in {line}"
        table[name.group(1)] = keys
    return table


def documented_secrets() -> set[tuple[str, str]]:
    """(Secret, key) pairs the README tells operators to create, `<svc>` expanded."""
    pairs = set()
    for name, keys in readme_secret_table().items():
        for svc in SERVICES if "<svc>" in name else [None]:
            for key in keys:
                if svc is None:
                    assert "<" not in name + key, (name, key)
                    pairs.add((name, key))
                else:
                    pairs.add((name.replace("<svc>", svc), key.replace("<SVC>", svc.upper())))
    return pairs


def referenced_secrets(docs: list[Doc]) -> set[tuple[str, str]]:
    """(Secret, key) pairs the rendered objects need: pods' env, CloudNativePG's bootstrap."""
    pairs = set()
    for _, template in pod_templates(docs):
        for container in containers(template["spec"]):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    pairs.add((ref["name"], ref["key"]))
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) == POSTGRES_CLUSTER:
            owner = doc["spec"]["bootstrap"]["initdb"]["secret"]["name"]
            pairs |= {(owner, "username"), (owner, "password")}  # kubernetes.io/basic-auth
    return pairs


def nats_secrets() -> set[tuple[str, str]]:
    """(Secret, key) pairs the NATS release reads (container.env of values.yaml)."""
    env = nats_values()["container"]["env"]
    refs = [v["valueFrom"]["secretKeyRef"] for v in env.values() if isinstance(v, dict)]
    return {(ref["name"], ref["key"]) for ref in refs}


def test_readme_secret_table_parses() -> None:
    """Guards the guard: the table is found and read as operators read it."""
    pairs = documented_secrets()
    assert ("rights-nats", "JINGUO_NATS_PASSWORD") in pairs
    assert ("orders-db", "JINGUO_ORDERS_DATABASE_URL") in pairs
    assert ("orders-db", "JINGUO_RIGHTS_DATABASE_URL") not in pairs
    assert ("employment-pg-owner", "password") in pairs
    assert len({name for name, _ in pairs}) == 2 + 3 * len(SERVICES)


@needs_kubectl
@pytest.mark.parametrize("target", TARGETS)
def test_every_secret_referenced_is_documented(target: str) -> None:
    """An operator who creates what deploy/README.md says has every Secret and key the
    manifests and the NATS release need (a missing one keeps pods from starting)."""
    undocumented = (referenced_secrets(render(target)) | nats_secrets()) - documented_secrets()
    assert not undocumented, f"referenced but not in deploy/README.md: {sorted(undocumented)}"


@needs_kubectl
def test_every_documented_secret_is_used() -> None:
    unused = documented_secrets() - referenced_secrets(render("overlays/production"))
    unused -= nats_secrets()
    assert not unused, f"deploy/README.md asks for Secrets nothing reads: {sorted(unused)}"


def test_readme_commands_create_the_documented_secrets() -> None:
    """The shell commands of section 2 create exactly the Secrets and keys of its table, for
    every service."""
    section = readme_section(2)
    commands = re.sub(r"\\\n\s*", " ", section)  # join continued lines
    created: dict[str, set[str]] = {}
    for match in re.finditer(r"create secret generic (\S+)([^\n]*)", commands):
        name = match.group(1).strip('"').replace("$svc", "<svc>")
        keys = re.findall(r"--from-literal=([^=]+)=", match.group(2))
        created.setdefault(name, set()).update(k.replace("${SVC}", "<SVC>") for k in keys)
    table = readme_secret_table()
    # basic-auth Secrets are created with --from-literal=username=... like the others
    assert created == table
    loops = re.findall(r"^\s*for svc in ([^;]+); do", README.read_text(), re.M)
    assert len(loops) >= 3
    for loop in loops:
        assert loop.split() == list(SERVICES), f"`for svc in {loop}` misses a service"


def test_dockerfile() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base, "the base image is an ARG"
    # pinned by digest, the tag kept for readers (make pin-base-image moves it)
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", base.group(1))
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["${PYTHON_IMAGE}"] * 2
    assert "pip install --no-deps -r requirements-runtime.lock" in text
    assert "pip install --no-deps ./contracts ./shared ./services/*/" in text
    assert re.search(r"^USER 10001", text, re.M)
    assert 'ENTRYPOINT ["jinguo"]' in text
    # The image user must be the one the pods declare.
    assert "--uid 10001" in text


def test_the_base_image_stays_pinned_and_says_how_to_move_it() -> None:
    """deploy/README.md tells how to move the pin (`make pin-base-image`), `make lint` refuses
    an unpinned base (`--check`), and the Makefile's target runs the tool
    (tests/deploy/test_pin_base_image.py tests the tool)."""
    section = readme_section(1)
    assert "make pin-base-image" in section
    assert "pin_base_image.py --check" in section
    assert "--build-arg PYTHON_IMAGE=python:3.11-slim@sha256:" in section
    assert "make pin-base-image" in (DEPLOY / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^pin-base-image:.*\n\t(.+)$", makefile, re.M)
    assert target, "the Makefile has a pin-base-image target"
    assert target.group(1) == "$(BIN)/python deploy/pin_base_image.py"
    lint = re.search(r"^lint:.*\n((?:\t.+\n)+)", makefile, re.M)
    assert lint, "the Makefile has a lint target"
    assert "$(BIN)/python deploy/pin_base_image.py --check" in lint.group(1)


# --------------------------------------------------------------------------- NATS values


def nats_values() -> Doc:
    return yaml.safe_load((DEPLOY / "nats" / "values.yaml").read_text())


def nats_users() -> dict[str, Doc]:
    account = nats_values()["config"]["merge"]["accounts"]["JINGUO"]
    return {u["user"]: u for u in account["users"]}


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
    ref = env["ADMIN_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "nats-admin", "key": "JINGUO_NATS_PASSWORD"}  # as the Job reads it


def test_nats_users_are_the_ones_natsauth_generates() -> None:
    """The service users of values.yaml, byte for byte as `jinguo streams users`
    prints them from the services' lanes: the permissions the embedded server runs, and the
    ones README.md tabulates and tests/security probes."""
    from jinguo_shared.natsauth import helm_users, lanes
    from jinguo_shared.services import discover_services

    generated = helm_users(lanes(discover_services()))
    assert generated in (DEPLOY / "nats" / "values.yaml").read_text(), (
        "deploy/nats/values.yaml: replace the service users with the output of"
        " `jinguo streams users`"
    )


# --------------------------------------------------------------------------- NATS client TLS


def nats_tls_secret(svc: str) -> str:
    """The Secret cert-manager writes the client certificate of a pod's NATS user into."""
    return "nats-admin-tls" if svc == PROVISIONER[0] else f"{svc}-nats-tls"


def certificates(docs: list[Doc]) -> dict[str, Doc]:
    return {
        d["metadata"]["name"]: d
        for d in docs
        if (d["apiVersion"], d["kind"]) == ("cert-manager.io/v1", "Certificate")
    }


@needs_kubectl
def test_nats_client_tls() -> None:
    """Production: cert-manager issues the servers' certificate (for the host of
    JINGUO_NATS_URL) and a client certificate per NATS user from one CA; every Jinguo container
    reads its own user's, where JINGUO_NATS_TLS_* say, and the NATS values require TLS and
    verify clients against that CA."""
    docs = render("overlays/production")
    issued = certificates(docs)
    ca_issuer = {"name": "jinguo-nats-ca", "kind": "Issuer"}
    assert issued["jinguo-nats-ca"]["spec"]["isCA"] is True
    issuers = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Issuer"}
    assert issuers["jinguo-nats-ca"]["spec"]["ca"]["secretName"] == "jinguo-nats-ca"

    values = nats_values()
    server_tls = values["config"]["nats"]["tls"]
    assert server_tls["enabled"] is True
    assert server_tls["merge"]["verify"] is True, "clients must present a certificate"
    server = issued[server_tls["secretName"]]["spec"]
    assert server["secretName"] == server_tls["secretName"]
    assert server["issuerRef"] == ca_issuer
    assert "server auth" in server["usages"]
    assert values["tlsCA"] == {"enabled": True, "secretName": server["secretName"], "key": "ca.crt"}
    config = next(d for d in docs if d["kind"] == "ConfigMap" and "JINGUO_NATS_URL" in d["data"])
    host = re.fullmatch(r"nats://([^:/]+):4222", config["data"]["JINGUO_NATS_URL"])
    assert host, config["data"]["JINGUO_NATS_URL"]
    assert host.group(1) in server["dnsNames"], "clients check the server's name against the URL"
    assert config["data"]["JINGUO_NATS_TLS_CA"] == f"{NATS_TLS_MOUNT}/ca.crt"
    assert config["data"]["JINGUO_NATS_TLS_CERT"] == f"{NATS_TLS_MOUNT}/tls.crt"
    assert config["data"]["JINGUO_NATS_TLS_KEY"] == f"{NATS_TLS_MOUNT}/tls.key"
    box = values["natsBox"]["contexts"]["default"]["tls"]
    assert box == {"secretName": nats_tls_secret(PROVISIONER[0])}

    templates = list(pod_templates(docs))
    for owner, template in templates:
        secret = nats_tls_secret(service_of(owner))
        client = issued[secret]["spec"]
        assert client["secretName"] == secret
        assert client["issuerRef"] == ca_issuer
        assert client["usages"][0] == "client auth"
        spec = template["spec"]
        mounted = {v["name"]: v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
        assert list(mounted.values()) == [secret], where(owner)
        for container in containers(spec):
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            mount = mounts.get(NATS_TLS_MOUNT)
            assert mount, f"{where(owner)} container {container['name']}: no certificate"
            assert mounted[mount["name"]] == secret
            assert mount["readOnly"] is True
    users = {nats_tls_secret(service_of(owner)) for owner, _ in templates}
    assert users == {f"{svc}-nats-tls" for svc in SERVICES} | {"nats-admin-tls"}


def dns_name_covers(pattern: str, host: str) -> bool:
    """A certificate's DNS name covers the host: equal, or a wildcard for its first label."""
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:]
    return pattern == host


def test_dns_name_covers_one_label_only() -> None:
    assert dns_name_covers("*.nats-headless", "nats-0.nats-headless")
    assert not dns_name_covers("*.nats-headless", "a.nats-0.nats-headless")
    assert not dns_name_covers("*.nats-headless", "nats-headless")
    assert dns_name_covers("nats.jinguo.svc", "nats.jinguo.svc")


@needs_kubectl
def test_nats_routes_use_mutual_tls() -> None:
    """Production: the servers' routes (port 6222) carry every replicated event, so they run
    over TLS too. nats-server always verifies a route's peer, either side presenting the route
    certificate: cert-manager issues it from the clients' CA (the chart's tlsCA gives every TLS
    block that CA), for client and server use, naming every route the chart dials
    (tls://nats-<i>.nats-headless:6222)."""
    issued = certificates(render("overlays/production"))
    values = nats_values()
    cluster = values["config"]["cluster"]
    route_tls = cluster["tls"]
    assert route_tls["enabled"] is True
    route = issued[route_tls["secretName"]]["spec"]
    assert route["secretName"] == route_tls["secretName"]
    assert route["issuerRef"] == {"name": "jinguo-nats-ca", "kind": "Issuer"}
    assert {"server auth", "client auth"} <= set(route["usages"])
    assert values["tlsCA"]["enabled"] is True
    for host in (f"nats-{n}.nats-headless" for n in range(cluster["replicas"])):
        assert any(dns_name_covers(name, host) for name in route["dnsNames"]), host


@needs_kubectl
def test_development_runs_nats_without_tls() -> None:
    """The dev overlay needs no cert-manager: no certificates, no TLS settings, and its NATS
    values turn the servers' TLS off."""
    docs = render("overlays/dev")
    assert not certificates(docs)
    config = next(d for d in docs if d["kind"] == "ConfigMap" and "JINGUO_NATS_URL" in d["data"])
    assert not [key for key in config["data"] if key.startswith("JINGUO_NATS_TLS")]
    dev = yaml.safe_load((DEPLOY / "nats" / "values-dev.yaml").read_text())
    assert dev["config"]["nats"]["tls"]["enabled"] is False
    assert dev["config"]["cluster"]["enabled"] is False  # one server: no routes to secure
    assert dev["tlsCA"]["enabled"] is False


# --------------------------------------------------------------------------- replay options


@needs_kubectl
def test_replay_options_are_given_by_the_documented_patch(tmp_path: Path) -> None:
    """deploy/README.md's patch, in an overlay of production, gives the replay template the
    `--projection` and `--until` that `jinguo replay` reads, for a projection the service has."""
    import typer

    from jinguo_shared.cli.app import app
    from jinguo_shared.cli.environment import pick_service
    from jinguo_shared.natsauth import service_projections

    section = readme_section(6)
    block = section.split("<!-- replay-args-patch -->", 1)[1]
    patch = re.search(r"```yaml\n(.*?)```", block, re.S)
    assert patch, "deploy/README.md section 6: no patch after <!-- replay-args-patch -->"
    overlay = yaml.safe_load(patch.group(1))
    overlay["resources"] = [os.path.relpath(DEPLOY / "overlays" / "production", tmp_path)]
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    assert KUBECTL is not None
    rendered = subprocess.run(
        [KUBECTL, "kustomize", str(tmp_path)], capture_output=True, text=True, check=True
    )
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    (target,) = overlay["patches"]
    replay = by_kind(docs)["CronJob"][target["target"]["name"]]
    container = replay["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    argv = container["command"] + container["args"]
    assert argv[:2] == ["jinguo", "replay"]

    jinguo = typer.main.get_command(app)
    context = jinguo.make_context("jinguo", ["replay", "--help"], resilient_parsing=True)
    command = jinguo.get_command(context, "replay")
    params = command.make_context("replay", argv[2:]).params
    svc = service_of(replay)
    assert params["service"] == svc
    names = [p.name for p in service_projections(pick_service(svc))]
    assert params["projection"] in names
    assert params["until"]
