"""Contract: the operator dialect against LogJedi's own documents (tests/fixtures/upstream/logjedi).

LogJedi's service document (FastAPI's openapi.json at f5b59b0) validates Shoal's answers; the bodies
its operator sends (operator/internal/llmclient/types.go: Go nil slices as null, `nodes` omitted when
empty) are accepted; the operator authenticates with the one static header it can send
(LLM_SERVICE_AUTH_HEADER) carrying an operator key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import AUTH
from tests.support.incident_scenarios import NS, SCENARIOS, finding, text, use_scripted_llm

UPSTREAM = Path(__file__).parents[2] / "fixtures" / "upstream" / "logjedi"
JSON = {**AUTH, "Content-Type": "application/json"}


def document() -> dict:
    return json.loads((UPSTREAM / "openapi.json").read_text())


def conforms(body, schema: dict) -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator({**schema, "components": document()["components"]}).validate(body)


def response_schema(path: str, method: str) -> dict:
    return document()["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]


# What the Go operator marshals (types.go): nil slices are null, `nodes` is omitempty, event timestamps
# are omitempty strings, `spec` is the workload spec after redaction.
GO_POD_REQUEST = {"resource_kind": "Pod", "resource_name": "web-7d9f2-abcde", "namespace": NS,
                  "reason": "CrashLoopBackOff",
                  "events": [{"type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container"}],
                  "spec": {"containers": [{"name": "web", "image": "registry.example/shop/web:1.4.2-debug"}]},
                  "recent_logs": None, "historical_logs": None}
GO_DEPLOYMENT_REQUEST = {"resource_kind": "Deployment", "resource_name": "api", "namespace": NS, "reason": "",
                         "events": None, "spec": {"replicas": 2}, "recent_logs": ["panic: DATABASE_URL not set"],
                         "historical_logs": None,
                         "nodes": [{"name": "worker-1", "conditions": [{"type": "Ready", "status": "True"}]}]}


@pytest.fixture
def analyze(function_client):
    return function_client("analyze")


@pytest.fixture
def mock_answer(monkeypatch, tmp_path):
    from shared.config import reset_settings

    def use(*answers: dict) -> None:
        script = tmp_path / "script.json"
        script.write_text(json.dumps([text(a) for a in answers]))
        monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(script))
        monkeypatch.setenv("SHOAL_ANALYZE_ALLOW_MOCK", "true")
        reset_settings()

    return use


def test_resource_kind_alone_is_accepted_with_upstreams_defaults(analyze, mock_answer):
    mock_answer(finding("Nothing to go on.", "Unknown.", recommendation="Look at the pod."))
    response = analyze.post("/analyze", data=json.dumps({"resource_kind": "Pod"}), headers=JSON)
    assert response.status_code == 200
    assert response.get_json() == {"summary": "Nothing to go on.", "root_cause": "Unknown.",
                                   "recommendation": "Look at the pod.", "action": None}
    conforms(response.get_json(), response_schema("/analyze", "post"))
    [stored] = analyze.get("/analyses", headers=AUTH).get_json()
    assert (stored["resource_name"], stored["namespace"], stored["reason"]) == ("", "", "")
    conforms([stored], response_schema("/analyses", "get"))


def test_a_bad_name_is_still_a_422(analyze, mock_answer):
    mock_answer(finding("s", "c"))
    response = analyze.post("/analyze", data=json.dumps({"resource_kind": "Pod", "namespace": "No Such"}),
                            headers=JSON)
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "namespace"]


@pytest.mark.parametrize("request_body,scenario", [(GO_POD_REQUEST, "crashloop"), (GO_DEPLOYMENT_REQUEST, "env")])
def test_the_go_operators_bodies_are_accepted_and_answered_in_its_shape(
        analyze, scripted_llm, monkeypatch, fake_kube, request_body, scenario):
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = SCENARIOS[scenario](fake_kube)
    response = analyze.post("/analyze", data=json.dumps(request_body), headers=JSON)
    assert response.status_code == 200
    body = response.get_json()
    conforms(body, response_schema("/analyze", "post"))
    # types.go AnalyzeResponse/PatchAction: exactly these keys, patch a JSON object.
    assert set(body) == {"summary", "root_cause", "recommendation", "action"}
    if body["action"] is not None:
        assert set(body["action"]) == {"type", "target", "patch_type", "patch"}
        assert set(body["action"]["target"]) == {"kind", "namespace", "name"}
    reports = analyze.get("/reports", headers=AUTH).get_json()
    conforms(reports, response_schema("/reports", "get"))
    outcome = analyze.post("/report-outcome", headers=JSON, data=json.dumps(
        {"resource_kind": request_body["resource_kind"], "resource_name": request_body["resource_name"],
         "namespace": NS, "outcome": "applied"}))
    conforms(outcome.get_json(), response_schema("/report-outcome", "post"))


def test_openapi_describes_the_operator_routes_bodies(function_client):
    doc = function_client("meta").get("/openapi.json").get_json()
    analyze = doc["paths"]["/analyze"]["post"]
    assert analyze["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AnalyzeRequest"}
    assert analyze["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AnalyzeResponse"}
    assert doc["paths"]["/report-outcome"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OutcomeRequest"}
    assert doc["paths"]["/analyses"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Analysis"}}
    assert doc["paths"]["/reports"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Report"}}
    schemas = doc["components"]["schemas"]
    # The same required fields as upstream's models (resource_kind alone required; response summary
    # and recommendation).
    assert schemas["AnalyzeRequest"]["required"] == ["resource_kind"]
    assert set(schemas["AnalyzeResponse"]["required"]) == {"summary", "recommendation"}
    assert schemas["ReportStep"]["properties"]["step"] == {"minimum": 1, "title": "Step", "type": "integer"}
    # The operator's bodies (with lists where Go sends null, as upstream's schema also has it) validate.
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({"$ref": "#/components/schemas/AnalyzeRequest", "components": doc["components"]})
    validator.validate({"resource_kind": "Pod"})
    validator.validate({k: [] if v is None else v for k, v in GO_DEPLOYMENT_REQUEST.items()})


@pytest.mark.parametrize("method,path,status,detail", [("GET", "/analyze", 405, "Method Not Allowed"),
                                                       ("DELETE", "/reports", 405, "Method Not Allowed"),
                                                       ("GET", "/nope", 404, "Not Found")])
def test_routing_errors_are_fastapis(analyze, method, path, status, detail):
    response = analyze.open(path, method=method, headers=AUTH)
    assert response.status_code == status
    assert response.get_json() == {"detail": detail}


# -- operator keys ---------------------------------------------------------------------------------------
def test_an_operator_key_fits_llm_service_auth_header(analyze, mock_answer, capsys):
    from shared.analyze import operator_keys

    mock_answer(finding("s", "c", recommendation="r"), finding("s2", "c2", recommendation="r2"))
    assert operator_keys.main(["create", "logjedi", "--namespaces", f"{NS},payments"]) == 0
    created = json.loads(capsys.readouterr().out)
    key = created.pop("key")
    assert key.startswith("sok_") and created == {"name": "logjedi", "namespaces": ["payments", NS],
                                                  "prefix": key[:12], "createdAt": created["createdAt"]}
    # Only the hash is stored.
    stored = [r.doc for store in (operator_keys.keys, operator_keys.key_hashes)
              for r in store.list_page(operator_keys.SCOPE, limit=None)[0]]
    assert stored and key not in json.dumps(stored)

    header = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}  # LLM_SERVICE_AUTH_HEADER
    ok = analyze.post("/analyze", data=json.dumps({**GO_POD_REQUEST, "spec": {}}), headers=header)
    assert ok.status_code == 200, ok.get_json()
    # The operator sees its own analyses; the dev identity's scope is another.
    assert [a["summary"] for a in analyze.get("/analyses", headers=header).get_json()] == ["s"]
    assert analyze.get("/analyses", headers=AUTH).get_json() == []
    other_ns = analyze.post("/analyze", data=json.dumps({**GO_POD_REQUEST, "namespace": "kube-system"}),
                            headers=header)
    assert (other_ns.status_code, other_ns.get_json()) == (
        403, {"detail": 'namespace "kube-system" not allowed for operator logjedi'})

    operator_keys.main(["revoke", "logjedi"])
    revoked = analyze.post("/analyze", data=json.dumps(GO_POD_REQUEST), headers=header)
    assert (revoked.status_code, revoked.get_json()) == (401, {"detail": "invalid token"})
    assert operator_keys.list_keys() == []


def test_operator_key_administration_refuses_bad_input(aws):
    from shared.analyze import operator_keys
    from shared.errors import Conflict, Invalid, NotFound

    with pytest.raises(Invalid, match="must be a DNS label"):
        operator_keys.create_key("Log Jedi", ["*"])
    with pytest.raises(Invalid, match="namespaces must be"):
        operator_keys.create_key("logjedi", ["Bad NS"])
    operator_keys.create_key("logjedi", ["*"])
    with pytest.raises(Conflict, match="already has a key"):
        operator_keys.create_key("logjedi", ["*"])
    with pytest.raises(NotFound):
        operator_keys.revoke_key("nobody")


def test_the_operator_key_command_says_what_is_wrong_in_one_line(aws, capsys):
    from shared.analyze import operator_keys

    assert operator_keys.main(["create", "Log_Jedi"]) == 1
    assert capsys.readouterr() == ("", "error: operator name 'Log_Jedi' must be a DNS label\n")
    assert operator_keys.main(["create", "logjedi"]) == 0
    capsys.readouterr()
    assert operator_keys.main(["create", "logjedi"]) == 1
    assert capsys.readouterr() == ("", 'error: operator "logjedi" already has a key: revoke it first\n')
    assert operator_keys.main(["revoke", "nobody"]) == 1
    assert capsys.readouterr() == ("", 'error: operator "nobody" has no key\n')


def test_the_operator_key_command_without_credentials_says_how_to_reach_the_tables(monkeypatch, tmp_path, capsys):
    # A new user runs it beside `make run` without AWS_*: it was botocore's NoCredentialsError traceback.
    import shared.store.clients as clients
    from shared.analyze import operator_keys

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached: no credentials to sign with
    monkeypatch.setattr(clients, "_session", None)  # a session of an earlier test holds its credentials
    clients.reset_clients()
    assert operator_keys.main(["list"]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"error: Unable to locate credentials ({operator_keys.REACH})\n")
    assert "AWS_ENDPOINT_URL to the banner's `tables:` URL" in err
    clients.reset_clients()


def test_an_unknown_operator_key_is_401(analyze):
    response = analyze.get("/analyses", headers={"Authorization": "Bearer sok_forged"})
    assert (response.status_code, response.get_json()) == (401, {"detail": "invalid token"})
