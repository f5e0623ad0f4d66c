"""deploy/k8s: every manifest against the Kubernetes schemas, and the pieces wired together."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.deployfiles import (
    K8S,
    KUSTOMIZATION,
    Manifest,
    by_kind_name,
    k8s_manifest_files,
    kustomization_files,
    kustomize_resources,
    load_manifests,
    pod_specs,
)

# The oldest Kubernetes these manifests promise to work on, and the newest the package knows.
K8S_VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
# Custom resources: no schema in kubernetes-validate; checked structurally below.
CRD_KINDS = {"ServiceMonitor"}
NAMESPACE = "safethink"

MANIFESTS = load_manifests()
BASE = load_manifests(kustomize_resources(K8S))


def _ids(manifests: list[Manifest]) -> list[str]:
    return [str(m) for m in manifests]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("manifest", [m for m in MANIFESTS if m.kind not in CRD_KINDS],
                         ids=_ids([m for m in MANIFESTS if m.kind not in CRD_KINDS]))
def test_manifest_validates_against_the_kubernetes_schema(manifest: Manifest, version: str) -> None:
    # strict: unknown (misspelled) fields are errors too.
    kubernetes_validate.validate(manifest.doc, version, strict=True)


def test_the_manifests_exist() -> None:
    kinds = {m.kind for m in BASE}
    assert {"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "ServiceAccount",
            "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
            "PersistentVolumeClaim"} <= kinds


# --- kustomize ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", kustomization_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_entries_exist(path: Any) -> None:
    data = yaml.safe_load(path.read_text())
    assert data["apiVersion"].startswith("kustomize.config.k8s.io/")
    assert data["kind"] in ("Kustomization", "Component")
    for entry in [*data.get("resources", []), *data.get("components", [])]:
        assert (path.parent / entry).exists(), f"{path}: {entry} does not exist"
    for entry in data.get("components", []):
        component = yaml.safe_load((path.parent / entry / KUSTOMIZATION).read_text())
        assert component["kind"] == "Component", f"{entry} is not a kustomize Component"


def test_every_manifest_is_in_a_kustomization() -> None:
    included = {p for k in kustomization_files() for p in kustomize_resources(k.parent)}
    missing = [str(p.relative_to(K8S)) for p in k8s_manifest_files() if p not in included]
    assert not missing, f"manifests no kustomization uses: {missing}"


def test_the_base_leaves_out_the_optional_pieces() -> None:
    """The ServiceMonitor needs the Prometheus Operator's CRD; the Redis is only for trying."""
    kinds = {(m.kind, m.name) for m in BASE}
    assert not any(kind == "ServiceMonitor" for kind, _ in kinds)
    assert ("Deployment", "safethink-redis") not in kinds
    optional = load_manifests(kustomize_resources(K8S / "components" / "redis-dev"))
    assert ("Deployment", "safethink-redis") in {(m.kind, m.name) for m in optional}
    try_it = load_manifests(kustomize_resources(K8S / "overlays" / "try-it"))
    assert {(m.kind, m.name) for m in BASE} < {(m.kind, m.name) for m in try_it}


def test_every_namespaced_object_is_in_the_kustomization_namespace() -> None:
    assert yaml.safe_load((K8S / KUSTOMIZATION).read_text())["namespace"] == NAMESPACE
    for m in MANIFESTS:
        if m.kind != "Namespace":
            assert m.doc["metadata"].get("namespace") == NAMESPACE, str(m)


def test_kustomization_images_name_the_images_the_deployments_use() -> None:
    images = {i["name"] for i in yaml.safe_load((K8S / KUSTOMIZATION).read_text())["images"]}
    used = {c["image"].split(":")[0] for _, spec in pod_specs(BASE) for c in spec["containers"]}
    assert images == used


# --- wiring ------------------------------------------------------------------------------------

def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _pods(manifests: list[Manifest]) -> list[tuple[Manifest, dict[str, str], dict[str, Any]]]:
    return [(m, m.doc["spec"]["template"]["metadata"]["labels"], spec)
            for m, spec in pod_specs(manifests)]


def test_deployment_selectors_match_their_pods() -> None:
    for m, labels, _ in _pods(MANIFESTS):
        assert _selects(m.doc["spec"]["selector"]["matchLabels"], labels), str(m)


def test_services_select_one_workload_and_name_its_ports() -> None:
    pods = _pods(MANIFESTS)
    for svc in (m for m in MANIFESTS if m.kind == "Service"):
        matched = [(m, spec) for m, labels, spec in pods if _selects(svc.doc["spec"]["selector"],
                                                                     labels)]
        assert len(matched) == 1, f"{svc} selects {len(matched)} workloads"
        ports = {p["name"]: p["containerPort"] for c in matched[0][1]["containers"]
                 for p in c.get("ports", [])}
        for port in svc.doc["spec"]["ports"]:
            target = port["targetPort"]
            assert target in ports or target in ports.values(), f"{svc}: no port {target}"


def test_hpa_pdb_and_network_policies_target_existing_workloads() -> None:
    objects = by_kind_name(MANIFESTS)
    pods = _pods(MANIFESTS)
    for m in MANIFESTS:
        if m.kind == "HorizontalPodAutoscaler":
            ref = m.doc["spec"]["scaleTargetRef"]
            assert (ref["kind"], ref["name"]) in objects, str(m)
            target = objects[(ref["kind"], ref["name"])]
            for _, spec in pod_specs([target]):  # a CPU target needs CPU requests
                assert all("cpu" in c["resources"]["requests"] for c in spec["containers"])
        if m.kind in ("PodDisruptionBudget", "NetworkPolicy"):
            selector = (m.doc["spec"]["selector"] if m.kind == "PodDisruptionBudget"
                        else m.doc["spec"]["podSelector"])["matchLabels"]
            assert any(_selects(selector, labels) for _, labels, _ in pods), str(m)


def test_every_pod_has_an_associated_network_policy() -> None:
    policies = [m.doc["spec"]["podSelector"]["matchLabels"] for m in MANIFESTS
                if m.kind == "NetworkPolicy"]
    for m, labels, _ in _pods(MANIFESTS):
        assert any(_selects(p, labels) for p in policies), str(m)


def test_containers_have_requests_limits_probes_and_run_as_non_root() -> None:
    for m, spec in pod_specs(MANIFESTS):
        assert spec["securityContext"]["runAsNonRoot"] is True, str(m)
        assert spec.get("automountServiceAccountToken") is False, str(m)
        for c in spec["containers"]:
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{m} {c['name']} {kind}"
            assert "livenessProbe" in c and "readinessProbe" in c, f"{m} {c['name']}"
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]


def _container(name: str) -> tuple[dict[str, Any], dict[str, Any], Manifest]:
    m = by_kind_name(BASE)[("Deployment", name)]
    spec = m.doc["spec"]["template"]["spec"]
    return spec, spec["containers"][0], m


def _http_path(probe: dict[str, Any]) -> str:
    return str(probe["httpGet"]["path"])


def test_proxy_probes_and_prometheus_annotations() -> None:
    _, c, m = _container("safethink-proxy")
    assert _http_path(c["livenessProbe"]) == "/healthz"
    assert _http_path(c["readinessProbe"]) == "/readyz"
    _assert_scraped(m, c)


def test_reward_reserves_a_gpu_and_waits_for_the_model() -> None:
    spec, c, m = _container("safethink-reward")
    assert int(c["resources"]["limits"]["nvidia.com/gpu"]) >= 1
    assert spec["nodeSelector"], "the reward service must land on GPU nodes"
    assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"])
    # /readyz answers 503 until the model is loaded: readiness and startup wait on it.
    assert _http_path(c["readinessProbe"]) == "/readyz"
    assert _http_path(c["startupProbe"]) == "/readyz"
    startup = c["startupProbe"]
    # A large guard takes minutes to load.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    assert _http_path(c["livenessProbe"]) == "/healthz"
    _assert_scraped(m, c)


def _assert_scraped(m: Manifest, container: dict[str, Any]) -> None:
    notes = m.doc["spec"]["template"]["metadata"]["annotations"]
    assert notes["prometheus.io/scrape"] == "true"
    assert notes["prometheus.io/path"] == "/metrics"
    assert int(notes["prometheus.io/port"]) in {p["containerPort"] for p in container["ports"]}


def test_proxy_reaches_the_reward_service_and_an_external_redis() -> None:
    objects = by_kind_name(BASE)
    config = objects[("ConfigMap", "safethink-proxy")].doc["data"]
    svc = objects[("Service", "safethink-reward")].doc
    assert config["SAFETHINK_REWARD"] == f"http://{svc['metadata']['name']}:{svc['spec']['ports'][0]['port']}"
    secret = objects[("Secret", "safethink-proxy")].doc["stringData"]
    settings = yaml.safe_load(secret["settings.yaml"])
    assert settings["store"].startswith("redis://")


def test_service_monitor_scrapes_the_services_http_ports() -> None:
    monitors = [m for m in MANIFESTS if m.kind == "ServiceMonitor"]
    assert len(monitors) == 1
    spec = monitors[0].doc["spec"]
    assert monitors[0].doc["apiVersion"] == "monitoring.coreos.com/v1"
    services = [m for m in BASE if m.kind == "Service"
                and _selects(spec["selector"]["matchLabels"], m.doc["metadata"]["labels"])]
    assert {s.name for s in services} == {"safethink-proxy", "safethink-reward"}
    for endpoint in spec["endpoints"]:
        assert endpoint["path"] == "/metrics"
        for s in services:
            assert endpoint["port"] in {p["name"] for p in s.doc["spec"]["ports"]}
