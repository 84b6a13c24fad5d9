"""Contract: Shoal's incident API against Kubernaut's own documents (tests/fixtures/upstream/kubernaut).

Their OpenAPI (v1.5.7 and v1.6.0-rc4) validates every body Shoal answers; their request bodies are
accepted (the Node incident with resource_namespace "" included); an error's media type is exactly the
one their document declares for it (the ogen client decodes by it); and the fields the AI Analysis
controller routes on (pkg/aianalysis/handlers/response_processor.go, v1.5.7) carry what it expects.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import AUTH
from tests.support.incident_scenarios import NS, SCENARIOS, deliver, finding, text, use_scripted_llm

UPSTREAM = Path(__file__).parents[2] / "fixtures" / "upstream" / "kubernaut"
REQUESTS = json.loads((UPSTREAM / "requests.json").read_text())
DOCUMENTS = ("openapi-v1.5.7.json", "openapi-v1.6.0-rc4.json")
REQUESTED = "dev.shoal.investigation.requested"
JSON = {**AUTH, "Content-Type": "application/json"}
CONTROLLER = "system:serviceaccount:kubernaut-system:aianalysis-controller"


def document(name: str = DOCUMENTS[0]) -> dict:
    return json.loads((UPSTREAM / name).read_text())


def conforms(body, schema_name: str, name: str = DOCUMENTS[0]) -> None:
    """Validate against a component of their document (OpenAPI 3.1 schemas are JSON Schema 2020-12)."""
    from jsonschema import Draft202012Validator

    doc = document(name)
    Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}",
                          "components": doc["components"]}).validate(body)


def declared_media(path: str, method: str, status: int, name: str = DOCUMENTS[0]) -> list[str]:
    return list(document(name)["paths"][path][method]["responses"][str(status)].get("content", {}))


def submit(client, body, headers=JSON):
    return client.post("/api/v1/incident/analyze", data=json.dumps(body), headers=headers)


def run_pending(event_sink, investigator) -> None:
    for event in event_sink.of_type(REQUESTED):
        assert deliver(investigator, event) == 200


def node(kube) -> list[dict]:
    """worker-node-1 NotReady (kubelet stopped posting status) and the scripted investigation of it."""
    kube.add("/api/v1", "nodes", "", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-node-1"},
                                      "status": {"conditions": [{"type": "Ready", "status": "Unknown",
                                                                 "reason": "NodeStatusUnknown",
                                                                 "message": "Kubelet stopped posting node status."}]}})
    kube.add("/api/v1", "events", "default", {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "n1"},
                                              "involvedObject": {"kind": "Node", "name": "worker-node-1"},
                                              "reason": "NodeNotReady", "message": "Node worker-node-1 status is now: "
                                              "NodeNotReady", "type": "Normal", "count": 1})
    return [{"tool_calls": [{"name": "get_resource", "arguments": {"kind": "Node", "name": "worker-node-1"}},
                            {"name": "list_events", "arguments": {"kind": "Node", "name": "worker-node-1"}}]}]


# -- their request bodies ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["it_srv_valid", "it_srv_008", "node_not_ready"])
def test_kubernauts_own_request_bodies_are_accepted(incidents, event_sink, name):
    response = submit(incidents, REQUESTS[name])
    assert response.status_code == 202
    assert response.content_type == "application/json"
    conforms(response.get_json(), "AnalyzeAccepted")
    assert uuid.UUID(response.get_json()["session_id"])
    [requested] = event_sink.of_type(REQUESTED)
    assert requested.data["namespace"] == REQUESTS[name]["resource_namespace"]


def test_the_node_incident_is_investigated_cluster_scoped_and_answered_in_their_shape(
        incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch):
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = [*node(fake_kube), text(finding(
        "worker-node-1 is NotReady: the kubelet stopped posting status.", "Kubelet on worker-node-1 is down.",
        target={"kind": "Node", "name": "worker-node-1", "namespace": ""}, confidence=0.85,
        contributing_factors=["kubelet stopped"], recommendation="Drain and reboot worker-node-1."))]
    session_id = submit(incidents, REQUESTS["node_not_ready"]).get_json()["session_id"]
    run_pending(event_sink, investigator)
    status = incidents.get(f"/api/v1/incident/session/{session_id}", headers=AUTH).get_json()
    conforms(status, "SessionStatus")
    assert status["status"] == "completed"
    result = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()
    for name in DOCUMENTS:
        conforms(result, "IncidentResponse", name)
    assert (result["incident_id"], result["selected_workflow"], result["needs_human_review"],
            result["human_review_reason"]) == ("ai-rr-node-not-ready", None, True, "no_matching_workflows")
    assert result["root_cause_analysis"]["remediationTarget"] == {"kind": "Node", "name": "worker-node-1",
                                                                  "namespace": ""}
    # The tools read the Node and its events cluster-wide, nothing namespaced, nothing written.
    assert sorted((r["method"], r["path"], r["query"].get("fieldSelector", "")) for r in fake_kube.requests) == [
        ("GET", "/api/v1/events", "involvedObject.name=worker-node-1,involvedObject.kind=Node"),
        ("GET", "/api/v1/nodes/worker-node-1", "")]  # the two tool calls of one turn run concurrently
    tool_results = [m["content"] for m in scripted_llm.requests[1]["json"]["messages"] if m["role"] == "tool"]
    assert "Kubelet stopped posting node status." in tool_results[0] and "NodeNotReady" in tool_results[1]
    snapshot = incidents.get(f"/api/v1/incident/session/{session_id}/snapshot", headers=AUTH).get_json()
    conforms(snapshot, "SessionSnapshot")
    assert snapshot["metadata"]["resource_namespace"] == ""


def test_a_cluster_scoped_incident_needs_the_cluster_wide_grant(incidents, fake_kube, event_sink):
    fake_kube.tokens["aa"] = {"authenticated": True, "user": {"username": CONTROLLER,
                                                              "groups": ["system:serviceaccounts"]}}
    headers = {"Authorization": "Bearer aa", "Content-Type": "application/json", "X-Request-Id": "r"}
    grants: list[tuple] = []

    def kubernaut_grant(spec) -> bool:
        a = spec["resourceAttributes"]
        grants.append((a.get("namespace"), a.get("verb"), a.get("resource"), a.get("name")))
        return (a.get("namespace"), a.get("verb"), a.get("group") or "", a.get("resource"), a.get("name")) == (
            "shoal", "create", "", "services", "kubernaut-agent")

    fake_kube.authorize = kubernaut_grant
    assert submit(incidents, REQUESTS["node_not_ready"], headers).status_code == 202
    assert grants[0] == ("shoal", "create", "services", "kubernaut-agent")

    # A grant in every namespace but not the cluster-wide one reaches no Node.
    fake_kube.tokens["other"] = {"authenticated": True, "user": {
        "username": "system:serviceaccount:kubernaut-system:other", "groups": ["system:serviceaccounts"]}}
    fake_kube.authorize = lambda spec: spec["resourceAttributes"].get("resource") != "services"
    denied = submit(incidents, REQUESTS["node_not_ready"], {**headers, "Authorization": "Bearer other"})
    assert denied.status_code == 403
    assert denied.content_type == "application/problem+json"
    assert denied.get_json() == {
        "type": "https://kubernaut.ai/problems/forbidden", "title": "Forbidden", "status": 403,
        "detail": "investigating a cluster-scoped Node needs the cluster-wide grant: create "
                  "services/kubernaut-agent in namespace shoal",
        "instance": "/api/v1/incident/analyze", "request_id": "r"}
    assert len(event_sink.of_type(REQUESTED)) == 1  # only the granted one


def test_a_namespaced_resource_with_no_namespace_is_still_a_422_for_a_bad_name(incidents):
    body = {**REQUESTS["node_not_ready"], "resource_namespace": "Not A Namespace"}
    response = submit(incidents, body)
    assert response.status_code == 422
    assert response.get_json()["detail"].startswith("resource_namespace: String should match pattern")


# -- what the controller routes on -----------------------------------------------------------------------
def controller_route(result: dict) -> str:
    """response_processor.go ProcessIncidentResponse (v1.5.7), the decisions in order."""
    warnings = [w.lower() for w in result.get("warnings") or []]
    has_workflow = result.get("selected_workflow") is not None
    if result.get("needs_human_review"):
        return "human_review"
    resolved = any("problem self-resolved" in w for w in warnings)
    no_workflow_signal = any(s in w for w in warnings for s in ("inconclusive", "no workflows matched",
                                                                 "human review recommended"))
    rca = result.get("root_cause_analysis") or {}
    substantive = bool(rca.get("summary")) and bool(rca.get("contributing_factors"))
    if not has_workflow and result["confidence"] >= 0.7 and not no_workflow_signal and (resolved or not substantive):
        return "problem_resolved"
    if not has_workflow:
        return "no_workflow_failure"
    if result["confidence"] < 0.7:
        return "low_confidence"
    return "workflow_selected"


def test_a_self_resolved_problem_carries_the_warning_the_controller_closes_it_on(
        incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch):
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = [text(finding(
        "The pod recovered after the node came back.", "A transient node outage; the pod is Running again.",
        resolved=True, confidence=0.85, contributing_factors=["node outage"],
        patch={"spec": {"replicas": 3}}, target={"kind": "Deployment", "name": "web", "namespace": NS}))]
    body = {**REQUESTS["it_srv_valid"], "resource_namespace": NS}
    session_id = submit(incidents, body).get_json()["session_id"]
    run_pending(event_sink, investigator)
    result = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()
    conforms(result, "IncidentResponse")
    assert result["warnings"] == ["Problem self-resolved: A transient node outage; the pod is Running again."]
    assert (result["selected_workflow"], result["needs_human_review"], result["is_actionable"],
            result["investigation_outcome"]) == (None, False, False, "resolved")
    # Substantive RCA (contributing factors) and no workflow: without the warning it would go to review.
    assert controller_route(result) == "problem_resolved"
    assert controller_route({**result, "warnings": []}) == "no_workflow_failure"


# -- the workflow catalogue ---------------------------------------------------------------------------------
DRAIN = {"workflow_id": "node-drain-reboot-v1", "workflow_name": "Drain and reboot a node",
         "description": "Cordon, drain and reboot a NotReady node.", "action_type": "RestartNode",
         "version": "1.2.0", "execution_bundle": "quay.io/kubernaut/workflows/node-drain-reboot:1.2.0",
         "execution_bundle_digest": "sha256:" + "a" * 64, "execution_engine": "tekton",
         "service_account_name": "node-remediator", "kinds": ["Node"], "parameters": ["DRAIN_TIMEOUT"]}
# AIAnalysis CRD status.selectedWorkflow (config/crd/bases/kubernaut.ai_aianalyses.yaml, v1.5.7): required
# keys, as the controller reads them from selected_workflow (GetStringFromMap names).
CRD_REQUIRED = {"workflowId": "workflow_id", "executionBundle": "execution_bundle", "version": "version",
                "confidence": "confidence", "rationale": "rationale"}


def run_node_finding(incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch, **answer) -> dict:
    monkeypatch.setenv("SHOAL_INCIDENT_WORKFLOWS", json.dumps([DRAIN]))
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = [*node(fake_kube), text(finding(
        "worker-node-1 is NotReady.", "Kubelet on worker-node-1 is down.", confidence=0.9,
        target={"kind": "Node", "name": "worker-node-1", "namespace": ""},
        recommendation="Drain and reboot worker-node-1.", **answer))]
    session_id = submit(incidents, REQUESTS["node_not_ready"]).get_json()["session_id"]
    run_pending(event_sink, investigator)
    result = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()
    conforms(result, "IncidentResponse")
    return result


def test_a_catalogued_workflow_is_selected_with_every_key_the_crd_requires(
        incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch):
    result = run_node_finding(incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch,
                              workflow_id="node-drain-reboot-v1", workflow_parameters={"DRAIN_TIMEOUT": "5m"})
    assert result["selected_workflow"] == {
        "workflow_id": "node-drain-reboot-v1", "workflow_name": "Drain and reboot a node",
        "action_type": "RestartNode", "version": "1.2.0",
        "execution_bundle": "quay.io/kubernaut/workflows/node-drain-reboot:1.2.0",
        "execution_bundle_digest": "sha256:" + "a" * 64, "execution_engine": "tekton",
        "service_account_name": "node-remediator",
        "parameters": {"DRAIN_TIMEOUT": "5m", "TARGET_KIND": "Node", "TARGET_NAME": "worker-node-1",
                       "TARGET_NAMESPACE": ""},
        "declared_parameter_names": ["DRAIN_TIMEOUT", "TARGET_KIND", "TARGET_NAME", "TARGET_NAMESPACE"],
        "confidence": 0.9, "rationale": "Drain and reboot worker-node-1."}
    assert all(result["selected_workflow"][key] not in ("", None) for key in CRD_REQUIRED.values())
    assert (result["needs_human_review"], result["is_actionable"], result["investigation_outcome"]) == (
        False, True, "workflow_selected")
    assert controller_route(result) == "workflow_selected"
    # The model was offered the catalogue entries that fit a Node (not the built-in patch workflow).
    prompt = scripted_llm.requests[0]["json"]["messages"][1]["content"]
    assert '"workflow_id": "node-drain-reboot-v1"' in prompt and "k8s_patch" not in prompt


@pytest.mark.parametrize("answer,reason,warning", [
    ({"workflow_id": "node-drain-reboot-v1"}, "parameter_validation_failed",
     "parameter validation failed: node-drain-reboot-v1 is missing required parameter(s) DRAIN_TIMEOUT"),
    ({"workflow_id": "cordon-only"}, "workflow_not_found", "workflow 'cordon-only' not found in the workflow catalogue"),
    ({}, "no_matching_workflows", None),
])
def test_no_workflow_when_none_fits(incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch,
                                    answer, reason, warning):
    result = run_node_finding(incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch, **answer)
    assert (result["selected_workflow"], result["needs_human_review"], result["human_review_reason"]) == (
        None, True, reason)
    assert result["warnings"] == ([warning] if warning else [])
    assert controller_route(result) == "human_review"


def test_the_builtin_patch_workflow_takes_its_bundle_from_the_configuration(
        incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch):
    monkeypatch.setenv("SHOAL_INCIDENT_WORKFLOWS", json.dumps([{
        "workflow_id": "k8s_patch", "execution_bundle": "registry.example/ops/k8s-patch:2.0.0", "version": "2.0.0"}]))
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = SCENARIOS["crashloop"](fake_kube)
    body = {**REQUESTS["it_srv_valid"], "resource_namespace": NS, "resource_name": "web-7d9f2-abcde"}
    session_id = submit(incidents, body).get_json()["session_id"]
    run_pending(event_sink, investigator)
    workflow = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()[
        "selected_workflow"]
    assert (workflow["workflow_id"], workflow["execution_bundle"], workflow["version"], workflow["action_type"]) == (
        "k8s_patch", "registry.example/ops/k8s-patch:2.0.0", "2.0.0", "PatchResource")


def test_a_malformed_catalogue_is_named(monkeypatch):
    from shared.config import reset_settings
    from shared.errors import Invalid
    from shared.incidents.workflows import catalogue

    monkeypatch.setenv("SHOAL_INCIDENT_WORKFLOWS", json.dumps([{"workflow_id": "x", "action_type": "A",
                                                                "execution_engine": "helm"}]))
    reset_settings()
    with pytest.raises(Invalid, match=r"SHOAL_INCIDENT_WORKFLOWS\[0\]\.execution_engine: Input should be"):
        catalogue()


# -- media types, as their document declares them -------------------------------------------------------------
@pytest.mark.parametrize("path,suffix", [("/api/v1/incident/session/{session_id}", ""),
                                         ("/api/v1/incident/session/{session_id}/result", "/result"),
                                         ("/api/v1/incident/session/{session_id}/snapshot", "/snapshot"),
                                         ("/api/v1/incident/session/{session_id}/stream", "/stream")])
def test_an_unknown_session_is_404_in_the_declared_media_type(incidents, path, suffix):
    response = incidents.get(f"/api/v1/incident/session/{uuid.uuid4()}{suffix}", headers=AUTH)
    assert response.status_code == 404
    for name in DOCUMENTS:
        assert declared_media(path, "get", 404, name) == [response.content_type]
    conforms(response.get_json(), "HTTPError")


def test_cancel_of_an_unknown_session_is_404_problem_json(incidents):
    response = incidents.post(f"/api/v1/incident/session/{uuid.uuid4()}/cancel", headers=AUTH)
    assert response.status_code == 404
    assert declared_media("/api/v1/incident/session/{session_id}/cancel", "post", 404) == [response.content_type]


def test_a_result_not_ready_is_the_spec_conflict_problem(incidents):
    session_id = submit(incidents, REQUESTS["it_srv_valid"]).get_json()["session_id"]
    response = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH)
    assert response.status_code == 409
    assert declared_media("/api/v1/incident/session/{session_id}/result", "get", 409) == [response.content_type]
    assert response.get_json()["type"] == "https://kubernaut.ai/problems/conflict"
    conforms(response.get_json(), "HTTPError")


@pytest.mark.parametrize("session_id", ["a%0Ab", "a%00b", "x" * 300])
def test_a_malformed_session_id_is_the_same_404_as_an_unknown_one(incidents, session_id):
    # %0A never reaches a functions-framework route (its /<path:path> stops at a newline): the Api answers it.
    for suffix in ("", "/result", "/snapshot", "/stream"):
        response = incidents.get(f"/api/v1/incident/session/{session_id}{suffix}", headers=AUTH)
        assert response.status_code == 404
        assert response.content_type == ("application/json" if suffix == "/stream" else "application/problem+json")
        assert (response.get_json()["type"], response.get_json()["detail"]) == (
            "https://kubernaut.ai/problems/not-found", "session not found")
