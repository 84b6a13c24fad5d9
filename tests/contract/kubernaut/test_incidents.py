"""Contract: the Kubernaut incident API (kubernaut-agent-api.txt, peers.md §2.1), exact bodies."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import AUTH
from tests.support.incident_scenarios import NS, SCENARIOS, deliver, text, use_scripted_llm

RID = {"X-Request-Id": "req-1"}
HEADERS = {**AUTH, **RID, "Content-Type": "application/json"}
REQUESTED = "dev.shoal.investigation.requested"


def problem(slug: str, title: str, status: int, detail: str, instance: str) -> dict:
    return {"type": f"https://kubernaut.ai/problems/{slug}", "title": title, "detail": detail, "status": status,
            "instance": instance, "request_id": "req-1"}


def incident(**overrides) -> dict:
    body = {"incident_id": "inc-1", "remediation_id": "rem-1", "signal_name": "KubePodCrashLooping",
            "severity": "critical", "signal_source": "prometheus", "resource_namespace": NS,
            "resource_kind": "Pod", "resource_name": "web-7d9f2-abcde", "resource_api_version": "v1",
            "error_message": "Back-off restarting failed container", "environment": "production",
            "priority": "P1", "risk_tolerance": "medium", "business_category": "standard",
            "cluster_name": "prod-1"}
    body.update(overrides)
    return body


def submit(client, body=None, headers=HEADERS):
    return client.post("/api/v1/incident/analyze", data=json.dumps(body if body is not None else incident()),
                       headers=headers)


def run_pending(event_sink, investigator) -> None:
    for event in event_sink.of_type(REQUESTED):
        assert deliver(investigator, event) == 200


# -- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("method,path", [
    ("POST", "/api/v1/incident/analyze"), ("GET", "/api/v1/incident/session/x"),
    ("GET", "/api/v1/incident/session/x/result"), ("GET", "/api/v1/incident/session/x/snapshot"),
    ("POST", "/api/v1/incident/session/x/cancel"), ("GET", "/api/v1/incident/session/x/stream")])
def test_every_route_without_credentials_is_a_401_problem(incidents, method, path):
    response = incidents.open(path, method=method, headers=RID)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.get_json() == problem("unauthorized", "Unauthorized", 401, "missing authorization header", path)


# -- validation ----------------------------------------------------------------------------------
def test_empty_remediation_id_is_a_422_validation_error(incidents, event_sink):
    response = submit(incidents, incident(remediation_id=""))
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.get_json() == problem("validation-error", "Unprocessable Entity", 422,
                                          "remediation_id: String should have at least 1 character",
                                          "/api/v1/incident/analyze")
    assert event_sink.events == []


def test_empty_incident_id_is_accepted_as_their_openapi_allows(incidents, event_sink):
    response = submit(incidents, incident(incident_id=""))
    assert response.status_code == 202
    [requested] = event_sink.of_type(REQUESTED)
    assert requested.data["incident_id"] == ""


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_that_is_not_declared_json_is_415_as_the_real_agent_answers(incidents, event_sink, content_type):
    response = incidents.post("/api/v1/incident/analyze", data=json.dumps(incident()),
                              headers={**AUTH, **RID, "Content-Type": content_type})
    assert response.status_code == 415
    assert response.content_type == "application/json"  # what the agent answers (http_contract_test IT-SRV-007)
    assert response.get_json() == problem("unsupported-media-type", "Unsupported Media Type", 415,
                                          f"Content-Type must be application/json, not {content_type}",
                                          "/api/v1/incident/analyze")
    assert event_sink.events == []


def test_missing_field_and_bad_enum_are_named(incidents):
    body = incident(severity="urgent")
    del body["cluster_name"]
    response = submit(incidents, body)
    assert response.status_code == 422
    assert response.get_json()["detail"] == ("severity: Input should be 'critical', 'high', 'warning', 'info' or "
                                             "'unknown'; cluster_name: Field required")


def test_body_that_is_not_json_is_400(incidents):
    response = incidents.post("/api/v1/incident/analyze", data="{nope", headers=HEADERS)
    assert response.status_code == 400
    assert response.get_json() == problem("bad-request", "Bad Request", 400, "request body must be a JSON object",
                                          "/api/v1/incident/analyze")


def test_resource_namespace_must_be_a_kubernetes_name(incidents):
    response = submit(incidents, incident(resource_namespace="../kube-system"))
    assert response.status_code == 422
    assert response.get_json()["detail"].startswith("resource_namespace: String should match pattern")


# -- sessions ------------------------------------------------------------------------------------
def test_submit_answers_202_with_a_session_and_emits_the_request(incidents, event_sink):
    response = submit(incidents)
    assert response.status_code == 202
    session_id = response.get_json()["session_id"]
    assert list(response.get_json()) == ["session_id"] and uuid.UUID(session_id)
    [event] = event_sink.of_type(REQUESTED)
    assert event.data == {"namespace": NS, "name": session_id, "incident_id": "inc-1"}
    status = incidents.get(f"/api/v1/incident/session/{session_id}", headers=AUTH)
    assert status.get_json() == {"session_id": session_id, "status": "pending", "progress": "Queued for investigation",
                                 "acting_user": "dev", "acting_user_groups": ["system:authenticated"]}


def test_result_is_409_while_not_complete(incidents):
    session_id = submit(incidents).get_json()["session_id"]
    path = f"/api/v1/incident/session/{session_id}/result"
    response = incidents.get(path, headers={**AUTH, **RID})
    assert response.status_code == 409
    assert response.get_json() == problem("conflict", "Conflict", 409,
                                          "Session is still pending, result not yet available", path)


def test_unknown_and_foreign_sessions_are_404(incidents):
    from shared.incidents import sessions

    unknown = f"/api/v1/incident/session/{uuid.uuid4()}"
    assert incidents.get(unknown, headers={**AUTH, **RID}).get_json() == problem(
        "not-found", "Not Found", 404, "session not found", unknown)
    assert incidents.get("/api/v1/incident/session/not-a-uuid", headers=AUTH).status_code == 404
    session_id = submit(incidents).get_json()["session_id"]
    sessions.change(session_id, lambda d: d.update(created_by="someone-else"))
    path = f"/api/v1/incident/session/{session_id}"
    assert incidents.get(path, headers={**AUTH, **RID}).get_json() == problem(
        "not-found", "Not Found", 404, "session not found", path)


def test_cancel_then_cancel_again_is_409_and_the_investigator_skips_it(incidents, investigator, event_sink,
                                                                        scripted_llm, monkeypatch):
    use_scripted_llm(monkeypatch, scripted_llm)
    session_id = submit(incidents).get_json()["session_id"]
    path = f"/api/v1/incident/session/{session_id}/cancel"
    response = incidents.post(path, headers=AUTH)
    assert (response.status_code, response.get_json()) == (200, {"session_id": session_id, "status": "cancelled"})
    again = incidents.post(path, headers={**AUTH, **RID})
    assert again.status_code == 409
    assert again.get_json() == problem("session-already-terminal", "Conflict", 409,
                                       "Session is already in a terminal state", path)
    run_pending(event_sink, investigator)
    assert scripted_llm.requests == []
    result = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()
    assert (result["investigation_outcome"], result["confidence"], result["needs_human_review"]) == (
        "cancelled", 0.0, True)
    snapshot = incidents.get(f"/api/v1/incident/session/{session_id}/snapshot", headers=AUTH).get_json()
    assert snapshot["status"] == "cancelled" and snapshot["cancelled_phase"] == "rca"


def test_capacity_full_is_a_500_capacity_exhausted_problem(incidents, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_INCIDENT_MAX_SESSIONS", "2")
    reset_settings()
    first = submit(incidents).get_json()["session_id"]
    submit(incidents)
    response = submit(incidents)
    assert response.status_code == 500
    assert response.get_json() == problem("capacity-exhausted", "Internal Server Error", 500,
                                          "session capacity exhausted: 2 investigations are already in progress",
                                          "/api/v1/incident/analyze")
    incidents.post(f"/api/v1/incident/session/{first}/cancel", headers=AUTH)  # a terminal session frees its slot
    assert submit(incidents).status_code == 202


def test_interactive_session_stays_pending_without_an_investigation(incidents, event_sink):
    session_id = submit(incidents, incident(interactive=True)).get_json()["session_id"]
    assert event_sink.of_type(REQUESTED) == []
    assert incidents.get(f"/api/v1/incident/session/{session_id}", headers=AUTH).get_json()["status"] == "pending"


# -- investigations against the fake cluster ---------------------------------------------------------
def test_crashloop_investigation_end_to_end(incidents, investigator, event_sink, fake_kube, scripted_llm,
                                            monkeypatch):
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = SCENARIOS["crashloop"](fake_kube)
    session_id = submit(incidents).get_json()["session_id"]
    run_pending(event_sink, investigator)
    status = incidents.get(f"/api/v1/incident/session/{session_id}", headers=AUTH).get_json()
    assert (status["status"], status["progress"]) == ("completed", "Investigation complete")
    result = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()
    timestamp = result.pop("timestamp")
    assert timestamp.endswith("Z")
    assert result == {
        "incident_id": "inc-1", "session_id": session_id,
        "analysis": "Pods of web crash-loop since revision 2.",
        "root_cause_analysis": {
            "summary": "Image registry.example/shop/web:1.4.2-debug has no /app/server binary (exit 127).",
            "severity": "high", "remediationTarget": {"kind": "Deployment", "name": "web", "namespace": NS},
            "signal_name": "KubePodCrashLooping", "contributing_factors": [],
            "causal_chain": ["rollout to 1.4.2-debug", "exec fails", "CrashLoopBackOff"],
            "due_diligence": {"tools_used": ["get_resource", "list_events", "pod_logs", "recent_rollouts"],
                              "tool_calls": 4, "llm_calls": 3}},
        "confidence": 0.9,
        "selected_workflow": {
            "workflow_id": "k8s_patch", "workflow_name": "Kubernetes strategic merge patch",
            "action_type": "PatchResource", "version": "1.0.0", "execution_bundle": "", "execution_engine": "job",
            "parameters": {"TARGET_KIND": "Deployment", "TARGET_NAME": "web", "TARGET_NAMESPACE": NS,
                           "PATCH_TYPE": "application/strategic-merge-patch+json",
                           "PATCH": '{"spec":{"template":{"spec":{"containers":[{"name":"web",'
                                    '"image":"registry.example/shop/web:1.4.1"}]}}}}'},
            "declared_parameter_names": ["PATCH", "PATCH_TYPE", "TARGET_KIND", "TARGET_NAME", "TARGET_NAMESPACE"],
            "confidence": 0.9, "rationale": "Roll back the image to 1.4.1."},
        "needs_human_review": False, "human_review_reason": None, "is_actionable": True, "warnings": [],
        "alternative_workflows": [], "validation_attempts_history": [],
        "detected_labels": {"gitOpsManaged": False},
        "root_cause": "Image registry.example/shop/web:1.4.2-debug has no /app/server binary (exit 127).",
        "investigation_outcome": "workflow_selected", "actionable": True,
        "recommendation": "Roll back the image to 1.4.1."}
    # The tools saw the previous container's log and the owner chain, and never wrote or left the namespace.
    tool_messages = [m for m in scripted_llm.requests[2]["json"]["messages"] if m["role"] == "tool"]
    assert "exec /app/server: no such file or directory" in tool_messages[2]["content"]
    assert '"owner_chain": [{"kind": "ReplicaSet", "name": "web-7d9f2"}, {"kind": "Deployment", "name": "web"}]' \
        in tool_messages[0]["content"]
    assert "s3cr3t-token" not in json.dumps(scripted_llm.requests[-1]["json"])  # env values redacted
    assert {r["method"] for r in fake_kube.requests} == {"GET"}
    assert all(f"/namespaces/{NS}/" in r["path"] for r in fake_kube.requests)
    # The audit event carries the token totals (3 calls × 11 prompt tokens in the wire server).
    [audit] = event_sink.of_type("aiagent.response.complete")
    assert audit.data["total_prompt_tokens"] == 33 and audit.data["total_completion_tokens"] > 0
    assert (audit.data["status"], audit.data["name"], audit.data["tool_calls"]) == ("completed", session_id, 4)
    snapshot = incidents.get(f"/api/v1/incident/session/{session_id}/snapshot", headers=AUTH).get_json()
    assert snapshot["total_prompt_tokens"] == 33 and snapshot["rca_summary"] == result["root_cause"]
    # A finished session streams a single `complete` event.
    stream = incidents.get(f"/api/v1/incident/session/{session_id}/stream", headers=AUTH)
    assert stream.content_type.startswith("text/event-stream")
    assert stream.get_data(as_text=True) == (
        'id: 1\nevent: complete\ndata: {"type":"complete","turn":3,"data":{"status":"completed"}}\n\n')


@pytest.mark.parametrize("scenario,outcome,workflow_patch,warning", [
    ("oom", "workflow_selected",
     {"spec": {"template": {"spec": {"containers": [{"name": "worker", "resources": {"limits": {"memory": "256Mi"}}}]}}}},
     "patch fields removed by the allow-list: spec.template.spec.containers[0].securityContext"),
    ("job", "no_workflow", None, "patch dropped: nothing in the proposed patch is an allowed change "
                                 "(container image, env, resources, probes, or replicas)"),
    ("env", "workflow_selected",
     {"spec": {"template": {"spec": {"containers": [{"name": "api", "env": [
         {"name": "DATABASE_URL", "value": "postgres://db.shop.svc:5432/api"}]}]}}}}, None),
])
def test_scenarios(incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch, scenario, outcome,
                   workflow_patch, warning):
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = SCENARIOS[scenario](fake_kube)
    session_id = submit(incidents).get_json()["session_id"]
    run_pending(event_sink, investigator)
    result = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()
    assert result["investigation_outcome"] == outcome
    assert result["is_actionable"] is (workflow_patch is not None) is result["actionable"]
    if workflow_patch is None:
        assert result["selected_workflow"] is None and result["human_review_reason"] == "no_matching_workflows"
    else:
        assert json.loads(result["selected_workflow"]["parameters"]["PATCH"]) == workflow_patch
    if warning:
        assert warning in result["warnings"]
    assert {r["method"] for r in fake_kube.requests} == {"GET"}


def test_unparseable_answers_fail_the_session_with_a_synthesized_result(incidents, investigator, event_sink,
                                                                        fake_kube, scripted_llm, monkeypatch):
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = [{"text": "I think it is the image."}, {"text": "Still prose."}]
    session_id = submit(incidents).get_json()["session_id"]
    run_pending(event_sink, investigator)
    status = incidents.get(f"/api/v1/incident/session/{session_id}", headers=AUTH).get_json()
    assert status["status"] == "failed" and "did not return a valid analysis" in status["error"]
    result = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()
    assert (result["confidence"], result["needs_human_review"], result["human_review_reason"],
            result["is_actionable"], result["investigation_outcome"]) == (0.0, True, "llm_parsing_error", False,
                                                                          "failed")
    [audit] = event_sink.of_type("aiagent.response.complete")
    assert audit.data["status"] == "failed" and audit.data["total_prompt_tokens"] == 22


def test_low_confidence_needs_human_review(incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch):
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = [text({"summary": "Unclear.", "confidence": 0.3})]
    session_id = submit(incidents).get_json()["session_id"]
    run_pending(event_sink, investigator)
    result = incidents.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH).get_json()
    assert (result["investigation_outcome"], result["needs_human_review"], result["human_review_reason"]) == (
        "inconclusive", True, "low_confidence")


def test_live_stream_replays_recorded_events_until_complete(incidents):
    from shared.incidents import sessions
    from shared.incidents.stream import append

    session_id = submit(incidents).get_json()["session_id"]
    sessions.change(session_id, lambda d: d.update(status="investigating"))
    append(session_id, "tool_call", 1, {"id": "call_0", "name": "get_resource", "args": {}})
    append(session_id, "complete", 2, {"status": "completed"})
    body = incidents.get(f"/api/v1/incident/session/{session_id}/stream", headers=AUTH).get_data(as_text=True)
    assert body == (
        'id: 1\nevent: tool_call\ndata: {"type":"tool_call","turn":1,"phase":"rca",'
        '"data":{"id":"call_0","name":"get_resource","args":{}}}\n\n'
        'id: 2\nevent: complete\ndata: {"type":"complete","turn":2,"phase":"rca","data":{"status":"completed"}}\n\n')
    resumed = incidents.get(f"/api/v1/incident/session/{session_id}/stream",
                            headers={**AUTH, "Last-Event-ID": "1"}).get_data(as_text=True)
    assert resumed.startswith("id: 2\nevent: complete")


def test_snapshot_is_409_while_investigating(incidents):
    from shared.incidents import sessions

    session_id = submit(incidents).get_json()["session_id"]
    sessions.change(session_id, lambda d: d.update(status="investigating"))
    path = f"/api/v1/incident/session/{session_id}/snapshot"
    response = incidents.get(path, headers={**AUTH, **RID})
    assert response.status_code == 409
    assert response.get_json() == problem("session-in-progress", "Conflict", 409,
                                          "Session is still investigating, snapshot not yet available", path)


# -- durability: another instance and a restart find the session ---------------------------------------
def test_sessions_survive_a_second_instance_and_a_restart(function_client, event_sink, fake_kube, scripted_llm,
                                                          monkeypatch):
    from shared.config import reset_settings
    from shared.store.clients import reset_clients

    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = SCENARIOS["env"](fake_kube)
    replica_a = function_client("incidents")
    session_id = submit(replica_a).get_json()["session_id"]
    replica_b = function_client("incidents")  # another instance of the function
    assert replica_b.get(f"/api/v1/incident/session/{session_id}", headers=AUTH).get_json()["status"] == "pending"
    # "Restart": fresh settings, fresh boto3 clients, a freshly built app; state is only in the tables.
    reset_settings()
    reset_clients()
    investigator = function_client("investigator")
    run_pending(event_sink, investigator)
    restarted = function_client("incidents")
    result = restarted.get(f"/api/v1/incident/session/{session_id}/result", headers=AUTH)
    assert result.status_code == 200 and result.get_json()["investigation_outcome"] == "workflow_selected"
    assert replica_a.get(f"/api/v1/incident/session/{session_id}", headers=AUTH).get_json()["status"] == "completed"


def test_redelivered_request_for_a_finished_session_does_nothing(incidents, investigator, event_sink, fake_kube,
                                                                 scripted_llm, monkeypatch):
    from shared.events import build

    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = SCENARIOS["env"](fake_kube)
    session_id = submit(incidents).get_json()["session_id"]
    run_pending(event_sink, investigator)
    calls = len(scripted_llm.requests)
    [original] = event_sink.of_type(REQUESTED)
    again = build(REQUESTED, original.data, source="/other")  # a new id: not deduplicated by the consumer
    assert deliver(investigator, again) == 200
    assert len(scripted_llm.requests) == calls
    assert incidents.get(f"/api/v1/incident/session/{session_id}", headers=AUTH).get_json()["status"] == "completed"


# -- config and metrics ----------------------------------------------------------------------------
def test_config_only_in_dev_mode(incidents, monkeypatch):
    from shared.config import reset_settings

    response = incidents.get("/config", headers=AUTH)
    assert response.status_code == 200 and response.get_json()["max_sessions"] == 10
    assert "api_key" not in json.dumps(response.get_json()).lower()
    assert incidents.get("/config").status_code == 401
    monkeypatch.setenv("SHOAL_PLATFORM", "cluster")
    reset_settings()
    response = incidents.get("/config", headers=RID)
    assert response.status_code == 404
    assert response.get_json() == problem("not-found", "Not Found", 404, "not found", "/config")


def test_metrics_are_prometheus_text(incidents):
    submit(incidents)
    response = incidents.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    assert 'shoal_incident_requests_total{facade="kubernaut",outcome="accepted"}' in response.get_data(as_text=True)


# -- RBAC: Kubernaut's gate for cluster-wide investigations -----------------------------------------------
def kubernaut_grant(spec) -> bool:
    attributes = spec["resourceAttributes"]
    return (attributes.get("namespace"), attributes.get("verb"), attributes.get("group") or "",
            attributes.get("resource"), attributes.get("name")) == (
        "shoal", "create", "", "services", "kubernaut-agent")


def test_kubernauts_rbac_grant_lets_its_controller_investigate_any_namespace(incidents, fake_kube, event_sink):
    controller = "system:serviceaccount:kubernaut-system:aianalysis-controller"
    fake_kube.tokens["aa"] = {"authenticated": True, "user": {"username": controller,
                                                              "groups": ["system:serviceaccounts"]}}
    aa = {"Authorization": "Bearer aa", **RID, "Content-Type": "application/json"}
    fake_kube.authorize = kubernaut_grant  # as Kubernaut's chart grants it, in Shoal's namespace
    response = submit(incidents, headers=aa)
    assert response.status_code == 202, response.get_json()
    [requested] = event_sink.of_type(REQUESTED)
    assert requested.subject.startswith(f"{NS}/")  # another namespace than the caller's own

    fake_kube.tokens["other"] = {"authenticated": True, "user": {
        "username": "system:serviceaccount:kubernaut-system:other", "groups": ["system:serviceaccounts"]}}
    fake_kube.authorize = lambda spec: False  # no grant: namespace isolation, as for every caller
    denied = submit(incidents, headers={**aa, "Authorization": "Bearer other"})
    assert denied.status_code == 403
    assert denied.get_json()["type"] == "https://kubernaut.ai/problems/forbidden"


@pytest.mark.parametrize("last_event", [True, False])
def test_a_stream_open_when_the_session_ends_ends_with_its_status(incidents, last_event):
    """The investigation writes its final status, then its `complete` event: a stream that sees the
    status first waits for that event, and without it ends with the status (never a bare
    `session_ended`, which would leave a client without the outcome)."""
    from shared.incidents import sessions
    from shared.incidents.stream import append

    session_id = submit(incidents).get_json()["session_id"]
    sessions.change(session_id, lambda d: d.update(status="investigating", turn=2))
    append(session_id, "tool_call", 1, {"id": "call_0", "name": "get_resource", "args": {}})
    response = incidents.get(f"/api/v1/incident/session/{session_id}/stream", headers=AUTH, buffered=False)
    chunks = iter(response.response)
    first = next(chunk for chunk in chunks if b"event: tool_call" in chunk)
    assert first.startswith(b"id: 1\n")
    sessions.change(session_id, lambda d: d.update(status="completed"))
    if last_event:
        append(session_id, "complete", 2, {"status": "completed", "confidence": 0.9})
    rest = b"".join(chunk for chunk in chunks if not chunk.startswith(b":")).decode()
    if last_event:
        assert rest == ('id: 2\nevent: complete\ndata: {"type":"complete","turn":2,"phase":"rca",'
                        '"data":{"status":"completed","confidence":0.9}}\n\n')
    else:
        assert rest == 'id: 2\nevent: complete\ndata: {"type":"complete","turn":2,"data":{"status":"completed"}}\n\n'
