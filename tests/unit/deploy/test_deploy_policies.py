"""Policies of the rendered install, as tests: restricted pods, limits, pinned images, routes and
triggers that reach Services that exist, every setting the code needs defined, and the overlays' shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared import yaml_files
from shared.deploy import render
from shared.settings import Settings
from shared.store.manifests import BUCKET, PREFIX
from shared.store.tables import TABLES
from tests.support.deploy import DEPLOY, EXTRAS, OVERLAYS, knative_services, of_kind, pod_specs, rendered

ROOT = Path(__file__).resolve().parents[3]
# Names read by libraries rather than Settings: functions-framework (gunicorn workers/threads), boto3.
LIBRARY_ENV = {"WORKERS", "THREADS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID",
               "AWS_SECRET_ACCESS_KEY"}
# What every function needs in a cluster, where the code's default would be wrong or absent.
REQUIRED_ENV = {"SHOAL_PLATFORM", "SHOAL_EXECUTOR", "K_SINK", "SHOAL_INTERNAL_URL", "AWS_REGION",
                "SHOAL_TABLE_PREFIX", "SHOAL_BUCKET", "SHOAL_WORKER_IMAGE", "SHOAL_RUNTIME_IMAGE",
                "SHOAL_PLATFORM_NAMESPACE"}
# Secrets the operator creates (docs/deploy.md names each and says which are optional).
OPERATOR_SECRETS = {"shoal-llm", "shoal-github", "shoal-state-credentials"}


@pytest.fixture(scope="module", params=OVERLAYS)
def install(request):
    return request.param, rendered(f"overlays/{request.param}")


def settings_env_names() -> set[str]:
    names = set()
    for name, var in Settings.fields.items():
        names |= set(var.aliases) if var.aliases else {f"SHOAL_{name.upper()}"}
    return names


def containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def env_of(container: dict) -> dict[str, dict]:
    return {var["name"]: var for var in container.get("env", [])}


# --- pods -------------------------------------------------------------------------------------------

def restricted_violations(spec: dict) -> list[str]:
    """What breaks the `restricted` Pod Security Standard (the parts a manifest controls)."""
    problems = []
    pod_sc = spec.get("securityContext", {})
    for c in containers(spec):
        sc = c.get("securityContext", {})
        if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))):
            problems.append(f"{c['name']}: runAsNonRoot")
        if (sc.get("runAsUser", pod_sc.get("runAsUser")) or 1) == 0:
            problems.append(f"{c['name']}: runAsUser 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{c['name']}: allowPrivilegeEscalation")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []) or set(sc.get("capabilities", {}).get("add", [])) - {
                "NET_BIND_SERVICE"}:
            problems.append(f"{c['name']}: capabilities")
        if (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault",
                                                                                               "Localhost"):
            problems.append(f"{c['name']}: seccompProfile")
        if sc.get("privileged"):
            problems.append(f"{c['name']}: privileged")
    for volume in spec.get("volumes", []):
        if "hostPath" in volume:
            problems.append(f"volume {volume['name']}: hostPath")
    return problems


def test_the_restricted_check_finds_a_violation():
    spec = {"containers": [{"name": "c", "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": True,
                                                             "capabilities": {"drop": ["ALL"]},
                                                             "seccompProfile": {"type": "RuntimeDefault"}}}]}
    assert restricted_violations(spec) == ["c: allowPrivilegeEscalation"]


def test_every_pod_meets_the_restricted_standard_and_the_namespace_enforces_it(install):
    _, docs = install
    assert pod_specs(docs)
    for label, spec in pod_specs(docs):
        assert restricted_violations(spec) == [], label
        for c in containers(spec):
            assert c["securityContext"].get("readOnlyRootFilesystem") is True, label
    (namespace,) = of_kind(docs, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_container_has_requests_and_limits(install):
    _, docs = install
    for label, spec in pod_specs(docs):
        for c in containers(spec):
            resources = c.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), (label, c["name"])
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), (label, c["name"])


def test_every_image_is_the_one_pinned_image(install):
    _, docs = install
    image = render.base_image()
    assert not image.endswith(":latest") and ":" in image.rsplit("/", 1)[-1]
    for label, spec in pod_specs(docs):
        for c in containers(spec):
            assert c["image"] == image, label
    (config,) = [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == "shoal-config"]
    assert config["data"]["SHOAL_WORKER_IMAGE"] == image
    assert config["data"]["SHOAL_RUNTIME_IMAGE"] == render.runtime_image(image)


def test_a_rendered_image_reaches_every_container_and_the_worker_settings():
    image = "registry.example.com:5000/team/shoal:2.3.4"
    for overlay in OVERLAYS:
        docs = rendered(f"overlays/{overlay}", image)
        for label, spec in pod_specs(docs):
            assert {c["image"] for c in containers(spec)} == {image}, label
        (config,) = [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == "shoal-config"]
        assert config["data"]["SHOAL_WORKER_IMAGE"] == image
        assert config["data"]["SHOAL_RUNTIME_IMAGE"] == "registry.example.com:5000/team/shoal-runtimes:2.3.4"


@pytest.mark.parametrize("image,message", [
    ("registry/shoal:latest", "`latest` tag is not deployable"), ("registry/shoal", "needs a tag or a digest"),
    ("Registry/Shoal:1", "invalid image reference")])
def test_a_bad_image_is_refused(image, message):
    with pytest.raises(render.RenderError, match=re.escape(message)):
        render.split_image(image)


def test_a_digest_is_rendered():
    digest = "sha256:" + "a" * 64
    assert render.split_image(f"r.io/shoal@{digest}") == ("r.io/shoal", None, digest)
    assert render.runtime_image(f"r.io/shoal@{digest}") == f"r.io/shoal-runtimes@{digest}"


def test_services_with_a_minimum_scale_have_a_disruption_budget(install):
    _, docs = install
    budgets = [d["spec"]["selector"]["matchLabels"].get("serving.knative.dev/service")
               for d in of_kind(docs, "PodDisruptionBudget")]
    for service in knative_services(docs):
        annotations = service["spec"]["template"].get("metadata", {}).get("annotations", {})
        if int(annotations.get("autoscaling.knative.dev/min-scale", "0")) > 0:
            assert service["metadata"]["name"] in budgets, service["metadata"]["name"]


# --- routes, triggers, references --------------------------------------------------------------------

def service_names(docs) -> set[str]:
    """Services that exist once applied: core Services and those Knative creates for its Services."""
    return {d["metadata"]["name"] for d in of_kind(docs, "Service")}


def test_every_http_route_attaches_to_the_gateway_and_reaches_a_service(install):
    _, docs = install
    gateways = {d["metadata"]["name"] for d in of_kind(docs, "Gateway")}
    routes = of_kind(docs, "HTTPRoute")
    assert routes
    for route in routes:
        assert {p["name"] for p in route["spec"]["parentRefs"]} <= gateways, route["metadata"]["name"]
        for rule in route["spec"]["rules"]:
            for backend in rule["backendRefs"]:
                assert backend.get("kind", "Service") == "Service" and backend["name"] in service_names(docs)
                for f in rule.get("filters", []):
                    if f["type"] == "URLRewrite":  # the Host Knative routes by names that same Service
                        assert f["urlRewrite"]["hostname"] == f"{backend['name']}.shoal.svc.cluster.local"


def test_every_trigger_and_source_delivers_to_a_service_that_exists(install):
    _, docs = install
    brokers = {d["metadata"]["name"] for d in of_kind(docs, "Broker")}
    functions = {d["metadata"]["name"] for d in knative_services(docs)}
    triggers = of_kind(docs, "Trigger")
    assert triggers
    for trigger in triggers:
        assert trigger["spec"]["broker"] in brokers
        assert trigger["spec"]["subscriber"]["ref"]["name"] in functions
        assert trigger["spec"]["delivery"]["deadLetterSink"]["ref"]["name"] in functions
    for broker in of_kind(docs, "Broker"):
        assert broker["spec"]["delivery"]["deadLetterSink"]["ref"]["name"] in functions
    for source in of_kind(docs, "PingSource"):
        assert source["spec"]["sink"]["ref"]["name"] in functions


def test_every_setting_the_functions_need_is_defined_and_every_one_set_is_read(install):
    name, docs = install
    known = settings_env_names() | LIBRARY_ENV
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in of_kind(docs, "ConfigMap")}
    for service in knative_services(docs):
        (container,) = service["spec"]["template"]["spec"]["containers"]
        env = env_of(container)
        label = f"{name}: {service['metadata']['name']}"
        assert set(env) >= REQUIRED_ENV, (label, REQUIRED_ENV - set(env))
        assert env["SHOAL_PLATFORM"]["value"] == "cluster" and env["SHOAL_EXECUTOR"]["value"] == "kubernetes"
        assert set(env) <= known, (label, set(env) - known)
        for var in env.values():
            ref = var.get("valueFrom", {})
            if "configMapKeyRef" in ref and not ref["configMapKeyRef"].get("optional"):
                cm = ref["configMapKeyRef"]
                if cm["name"] != "shoal-github":  # the operator's (optional keys, docs/github.md)
                    assert cm["key"] in configmaps.get(cm["name"], {}), (label, var["name"])
            if "secretKeyRef" in ref:
                assert ref["secretKeyRef"]["name"] in OPERATOR_SECRETS, (label, var["name"])
        for source in container.get("envFrom", []):
            assert (source.get("secretRef") or source.get("configMapRef"))["name"] in OPERATOR_SECRETS | set(configmaps)


def test_the_operator_secrets_are_documented():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for secret in OPERATOR_SECRETS:
        assert f"`{secret}`" in guide, secret


# --- network ------------------------------------------------------------------------------------------

def selects(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        if expr["operator"] == "Exists" and not present:
            return False
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def test_functions_take_traffic_only_from_the_gateway_knative_and_monitoring(install):
    _, docs = install
    (policy,) = [d for d in of_kind(docs, "NetworkPolicy") if "Ingress" in d["spec"]["policyTypes"]]
    for service in knative_services(docs):  # Knative labels every pod of a Service with its name
        assert selects(policy["spec"]["podSelector"], {"serving.knative.dev/service": service["metadata"]["name"]})
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    assert all(set(p) <= {"podSelector", "namespaceSelector"} and p for p in peers)
    assert not any("ipBlock" in p for p in peers)


def test_task_workers_are_egress_limited_where_their_jobs_run():
    from shared.executor.kubernetes import build_job
    from shared.store.objects import Record

    task = Record("task", "team-a", "t1", 1, {"spec": {"type": "ai", "prompt": "hi"}, "metadata": {}})
    pod_labels = build_job(task, 1)["spec"]["template"]["metadata"]["labels"]
    docs = rendered("task-namespace")
    (policy,) = of_kind(docs, "NetworkPolicy")
    assert selects(policy["spec"]["podSelector"], pod_labels)
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy["spec"]
    for rule in policy["spec"]["egress"]:
        for peer in rule["to"]:
            if "ipBlock" in peer:  # public HTTPS only: never the metadata endpoint or private ranges
                assert {"169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(peer["ipBlock"]["except"])
                assert [p["port"] for p in rule["ports"]] == [443]
    (binding,) = of_kind(docs, "RoleBinding")
    assert binding["roleRef"]["kind"] == "ClusterRole" and binding["roleRef"]["name"] == "shoal-functions"
    assert {d["metadata"]["name"] for d in of_kind(docs, "ServiceAccount")} == {"shoal-worker"}


# --- overlays -----------------------------------------------------------------------------------------

def test_aws_has_every_table_and_the_bucket_and_an_iam_role():
    docs = rendered("overlays/aws")
    assert {d["spec"]["tableName"] for d in of_kind(docs, "Table")} == {PREFIX + t.key for t in TABLES}
    assert [d["spec"]["name"] for d in of_kind(docs, "Bucket")] == [BUCKET]
    account = next(d for d in of_kind(docs, "ServiceAccount") if d["metadata"]["name"] == "shoal-functions")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")


def test_self_hosted_uses_endpoints_and_credentials_and_creates_its_own_tables():
    docs = rendered("overlays/self-hosted")
    assert not of_kind(docs, "Table") and not of_kind(docs, "Bucket")
    (config,) = [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == "shoal-config"]
    assert config["data"]["AWS_ENDPOINT_URL_DYNAMODB"].startswith("http")
    assert config["data"]["AWS_ENDPOINT_URL_S3"].startswith("http")
    for service in knative_services(docs):
        env = env_of(service["spec"]["template"]["spec"]["containers"][0])
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "shoal-state-credentials", "key": key}
        assert env["AWS_ENDPOINT_URL_DYNAMODB"]["valueFrom"]["configMapKeyRef"]["name"] == "shoal-config"
    (job,) = of_kind(docs, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "-m", "shared.store.bootstrap"]


def test_every_manifest_file_under_deploy_is_used_by_a_kustomization():
    used = set()
    for kustomization in DEPLOY.rglob("kustomization.yaml"):
        k = yaml_files.load(kustomization.read_text())
        entries = k.get("resources", []) + [p["path"] for p in k.get("patches", []) if "path" in p]
        used |= {(kustomization.parent / e).resolve() for e in entries}
    files = {p.resolve() for p in DEPLOY.rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert files <= used, sorted(str(p.relative_to(DEPLOY)) for p in files - used)
    assert set(EXTRAS) | {"base", "overlays"} == {p.name for p in DEPLOY.iterdir() if p.is_dir()}
