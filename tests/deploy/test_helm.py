"""The Helm chart lints with the Helm v4 SDK, renders for the settings a platform team would use, and the
rendered manifests pass ``kubernetes-validate --strict`` for Kubernetes 1.33 (no cluster needed)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="the test extra installs helm-python-sdk")

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "opora"
KUBE_VERSION = "1.33.0"
DB = {"url": "postgresql+asyncpg://opora:secret@postgres.db:5432/opora"}
FULL: dict[str, Any] = {
    "database": DB,
    "replicaCount": 3,
    "ingress": {"enabled": True, "host": "opora.corp.example"},
    "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 8},
    "podAntiAffinity": "hard",
    "secrets": {"OPORA_SLACK__BOT_TOKEN": "xoxb-1", "OPORA_SLACK__APP_TOKEN": "xapp-1"},
    "vectorStore": {
        "url": "http://qdrant.search:6333",
        "collection": "kb",
        "shards": 3,
        "replicationFactor": 2,
    },
    "knowledgeBase": {"paths": ["/kb"]},
    "existingSecret": "opora-extra",
}


def render(values: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    chart = helm.Chart.load(CHART)
    out = chart.render(values, name="opora", namespace="opora", is_install=True, **kwargs)
    docs: list[dict[str, Any]] = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_chart_lints_with_only_the_optional_qdrant_dependency_missing() -> None:
    report = helm.lint(CHART, {"database": DB}, kube_version=f"v{KUBE_VERSION}")
    print("helm lint:", report)
    assert report["errors"] == []
    warnings = [m["error"] for m in report["messages"] if m["severity"] >= 2]
    # Qdrant's chart is declared (condition: qdrant.enabled) but not vendored: it is fetched on demand
    assert warnings == ["chart directory is missing these dependencies: qdrant"]


def kubernetes_validate(docs: list[dict[str, Any]], folder: Path) -> subprocess.CompletedProcess[str]:
    manifest = folder / "rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    exe = Path(sys.executable).with_name("kubernetes-validate")
    return subprocess.run(
        [str(exe), "--strict", "-k", KUBE_VERSION, str(manifest)], capture_output=True, text=True, check=False
    )


def test_rendered_manifests_are_valid_kubernetes_1_33(tmp_path: Path) -> None:
    # the ServiceMonitor is a CRD the validator has no schema for; its shape is checked below
    docs = render(FULL) + render({"database": DB, "webchat": {"enabled": False}})
    result = kubernetes_validate(docs, tmp_path)
    print(result.stdout, result.stderr)
    assert result.returncode == 0
    assert result.stdout.count(" passed for resource ") == len(docs)


def test_kubernetes_validate_strict_catches_a_misspelled_field(tmp_path: Path) -> None:
    docs = render({"database": DB})
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"periodSeconds": 1}
    result = kubernetes_validate(docs, tmp_path)
    assert result.returncode != 0
    assert "readinesProbe" in result.stdout + result.stderr


def test_deployment_probes_rollout_and_anti_affinity() -> None:
    docs = render(FULL)
    (deployment,) = [d for d in by_kind(docs, "Deployment") if d["metadata"]["name"] == "opora"]
    spec = deployment["spec"]
    assert "replicas" not in spec  # the HPA owns the count
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["args"] == ["serve"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    term = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "backend"
    env = {e["name"]: e for e in container["env"]}
    assert env["OPORA_DATABASE__MIGRATE_ON_START"]["value"] == "false"  # the hook Job migrates
    assert [ref.get("secretRef", ref.get("configMapRef"))["name"] for ref in container["envFrom"]] == [
        "opora",
        "opora",
        "opora-extra",
    ]
    (hpa,) = by_kind(docs, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 8)
    (pdb,) = by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook() -> None:
    docs = render({"database": DB})
    (job,) = by_kind(docs, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    hook_secret = next(d for d in by_kind(docs, "Secret") if d["metadata"]["name"] == "opora-migrate")
    assert hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"] == "-10"  # before the Job
    off = render(
        {"database": {"existingSecret": "pg", "existingSecretKey": "url"}, "migrations": {"enabled": False}}
    )
    assert by_kind(off, "Job") == []
    (deployment,) = [d for d in by_kind(off, "Deployment") if d["metadata"]["name"] == "opora"]
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OPORA_DATABASE__MIGRATE_ON_START"]["value"] == "true"
    assert env["OPORA_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "pg", "key": "url"}
    assert not [d for d in by_kind(off, "Secret") if d["metadata"]["name"] == "opora-database"]


def test_ingress_sends_api_and_websocket_to_the_backend_with_long_timeouts() -> None:
    (ingress,) = by_kind(render(FULL), "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    paths = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths["/api"] == "opora" and paths["/"] == "opora-webchat"
    assert ingress["spec"]["tls"][0]["hosts"] == ["opora.corp.example"]


def test_config_map_carries_the_qdrant_layout_and_an_external_url() -> None:
    (config,) = by_kind(render(FULL), "ConfigMap")
    data = config["data"]
    assert data["OPORA_VECTOR_STORE__URL"] == "http://qdrant.search:6333"
    assert (data["OPORA_VECTOR_STORE__SHARDS"], data["OPORA_VECTOR_STORE__REPLICATION_FACTOR"]) == ("3", "2")
    assert data["OPORA_KB__PATHS"] == '["/kb"]'
    bundled = by_kind(render({"database": DB, "qdrant": {"enabled": False}}), "ConfigMap")[0]["data"]
    assert bundled["OPORA_VECTOR_STORE__URL"] == "http://qdrant:6333"


def test_service_monitor_is_optional() -> None:
    assert by_kind(render({"database": DB}), "ServiceMonitor") == []
    (monitor,) = by_kind(render({"database": DB, "serviceMonitor": {"enabled": True}}), "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"database": {"url": "sqlite:///x.db"}}, "database"),
        ({"podAntiAffinity": "sometimes"}, "podAntiAffinity"),
        ({"config": {"LOG_LEVEL": "debug"}}, "LOG_LEVEL"),
        ({"replicaCount": 0}, "replicaCount"),
    ],
)
def test_schema_refuses_bad_values(change: dict[str, Any], needle: str) -> None:
    values = copy.deepcopy({"database": DB})
    values.update(change)
    with pytest.raises(helm.HelmError) as err:
        render(values)
    assert needle in str(err.value)


def test_without_a_database_the_chart_says_what_is_missing() -> None:
    with pytest.raises(helm.HelmError) as err:
        render({})
    assert "database" in str(err.value)
