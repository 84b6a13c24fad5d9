"""The platform an evaluation runs on, in one process: DynamoDB and S3 in moto, the fake Kubernetes
API server over HTTP (the official client talks to it), an event sink over HTTP, and the real
`incidents`, `investigator` and `analyze` function apps built as their containers build them.

A scenario goes through the API exactly as a client's request would: Kubernaut's session flow
(POST analyze → the requested event delivered to the investigator → session, result and stream) or
the operator's synchronous `POST /analyze`. The answer comes back in one shape (`Answer`), with the
audit event's token and tool-call totals and the wall time.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.evals import cluster
from shared.evals.scenario import Scenario
from shared.local.fake_kube import FakeKubeAPI
from shared.logs import get_logger

ROOT = Path(__file__).resolve().parents[2]
KUBERNAUT_NAMESPACE = "kubernaut-system"
REQUESTED = "dev.shoal.investigation.requested"
AUDIT = "aiagent.response.complete"
_API_VERSIONS = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
                 "Job": "batch/v1", "CronJob": "batch/v1", "Ingress": "networking.k8s.io/v1",
                 "HorizontalPodAutoscaler": "autoscaling/v2", "StorageClass": "storage.k8s.io/v1"}
# Variables the platform sets or must not inherit (a developer's AWS endpoint would bypass moto).
_CLEARED = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "K_SINK")


@dataclass
class Answer:
    """What the API answered, in one shape for both facades."""

    facade: str
    ok: bool                                  # the flow completed with a valid body
    error: str = ""
    summary: str = ""
    root_cause: str = ""
    recommendation: str = ""
    causal_chain: list[str] = field(default_factory=list)
    contributing_factors: list[str] = field(default_factory=list)
    remediation_target: dict[str, str] | None = None
    resolved: bool | None = None              # Kubernaut's investigation_outcome == resolved (None: /analyze)
    patch: dict[str, Any] | None = None       # the patch that survived the allow-list and the target check
    patch_target: dict[str, str] | None = None
    warnings: list[str] = field(default_factory=list)
    confidence: float | None = None
    tool_calls: int = 0
    tool_failures: int = 0                    # tool answers with success false (Kubernaut's stream shows them)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    seconds: float = 0.0
    body: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        parts = [self.summary, self.root_cause, self.recommendation, *self.causal_chain, *self.contributing_factors]
        if self.remediation_target:
            parts.append(f"{self.remediation_target.get('kind')}/{self.remediation_target.get('name')}")
        return "\n".join(p for p in parts if p)


class _Server:
    """A WSGI app on a free loopback port, served by a background thread."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per tool call is noise here
                pass

        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


class EventSink:
    """Receives the platform's CloudEvents (K_SINK) and keeps them for the runner."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        from werkzeug import Request, Response

        from shared.events.envelope import parse

        request = Request(environ)
        event = parse(request.headers, request.get_data())
        with self._lock:
            self.events.append(event)
        return Response(status=202)(environ, start_response)

    def since(self, index: int, type_: str) -> list[Any]:
        with self._lock:
            return [e for e in self.events[index:] if e.type == type_]

    def mark(self) -> int:
        with self._lock:
            return len(self.events)


def _function_client(name: str) -> Any:
    from functions_framework import create_app

    sys.modules.pop("main", None)  # every function's source loads as module "main"
    try:
        return create_app(target=name, source=str(ROOT / "functions" / name / "main.py")).test_client()
    finally:
        sys.modules.pop("main", None)


def _reset_process_state() -> None:
    from shared.config import reset_settings
    from shared.kube import reset_client
    from shared.llm.registry import clear_provider_cache
    from shared.store.clients import reset_clients

    reset_settings()
    reset_clients()
    reset_client()
    clear_provider_cache()


class Platform:
    """The in-process platform (see the module docstring); a context manager that restores the environment.

    `env` adds variables (the deterministic mode's scripted provider); the provider settings otherwise
    come from the caller's environment, as for any Shoal process.
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.extra_env = dict(env or {})
        self.kube = FakeKubeAPI()
        self.kube.record_requests = False
        self.sink = EventSink()
        self._saved: dict[str, str | None] = {}
        self._stack: list[Any] = []

    def _set(self, key: str, value: str | None) -> None:
        self._saved.setdefault(key, os.environ.get(key))
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

    def __enter__(self) -> Platform:
        from moto import mock_aws

        from shared.local.moto_atomic import make_writes_atomic
        from shared.store.bootstrap import ensure_state

        kube_server, sink_server = _Server(self.kube), _Server(self.sink)
        self._stack += [kube_server.close, sink_server.close]
        self.token = secrets.token_urlsafe(16)
        # Kubernaut's AI Analysis controller: a ServiceAccount holding Kubernaut's cluster-wide grant
        # (create services/kubernaut-agent in Shoal's namespace), as in a real installation.
        self.kubernaut_token = secrets.token_urlsafe(16)
        self.kube.tokens[self.kubernaut_token] = {"authenticated": True, "user": {
            "username": f"system:serviceaccount:{KUBERNAUT_NAMESPACE}:aianalysis-controller", "uid": "uid-kubernaut",
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{KUBERNAUT_NAMESPACE}",
                       "system:authenticated"]}}
        self.kube.authorize = _kubernaut_grant
        for key in _CLEARED:
            self._set(key, None)
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1"}.items():
            if not os.environ.get(key):
                self._set(key, value)
        env = {"SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": self.token, "SHOAL_KUBE_API_URL": kube_server.url,
               "SHOAL_KUBE_TOKEN": "eval", "K_SINK": sink_server.url, **self.extra_env}
        for key, value in env.items():
            self._set(key, value)
        if (os.environ.get("SHOAL_LLM_PROVIDER") or "mock") == "mock":
            self._set("SHOAL_ANALYZE_ALLOW_MOCK", "true")  # the run says which model answered
        # The functions' request and event logs would bury the run's own output; warnings still show.
        logger = logging.getLogger("shoal")
        get_logger("evals")
        self._stack.append(lambda level=logger.level: logger.setLevel(level))
        logger.setLevel(logging.WARNING)
        make_writes_atomic()
        # Bedrock is an AWS service too: its calls go out, only the platform's tables are in moto.
        mock = mock_aws(config={"core": {"passthrough": {"services": ["bedrock-runtime"]}}})
        mock.start()
        self._stack.append(mock.stop)
        _reset_process_state()
        ensure_state()
        self.incidents = _function_client("incidents")
        self.investigator = _function_client("investigator")
        self.analyze = _function_client("analyze")
        return self

    def __exit__(self, *exc: Any) -> None:
        for close in reversed(self._stack):
            close()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _reset_process_state()

    @property
    def auth(self) -> dict[str, str]:
        """The operator's side (/analyze): the local platform's identity."""
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    @property
    def kubernaut_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.kubernaut_token}", "Content-Type": "application/json"}

    # -- one scenario ------------------------------------------------------------------------------
    def load(self, scenario: Scenario) -> None:
        self.kube.clear()
        cluster.seed(self.kube, scenario)

    def run(self, scenario: Scenario) -> Answer:
        started, mark = time.monotonic(), self.sink.mark()
        if scenario.incident.facade == "kubernaut":
            answer = self._kubernaut(scenario, mark)
        else:
            answer = self._analyze(scenario, mark)
        answer.seconds = round(time.monotonic() - started, 3)
        return answer

    def _audit(self, answer: Answer, mark: int, facade: str, name: str | None, namespace: str) -> None:
        for event in reversed(self.sink.since(mark, AUDIT)):
            data = event.data or {}
            if data.get("facade") == facade and (name is None or data.get("name") == name) \
                    and data.get("namespace") == namespace:
                answer.prompt_tokens = int(data.get("total_prompt_tokens") or 0)
                answer.completion_tokens = int(data.get("total_completion_tokens") or 0)
                answer.llm_calls = int(data.get("llm_calls") or 0)
                answer.tool_calls = int(data.get("tool_calls") or 0)
                answer.model = str(data.get("model") or "")
                return

    def _kubernaut(self, scenario: Scenario, mark: int) -> Answer:
        from shared.events.envelope import to_http

        answer = Answer(facade="kubernaut", ok=False)
        submitted = self.incidents.post("/api/v1/incident/analyze", data=json.dumps(kubernaut_body(scenario)),
                                        headers=self.kubernaut_auth)
        if submitted.status_code != 202:
            answer.error = f"POST /api/v1/incident/analyze answered {submitted.status_code}: {submitted.get_data(True)[:300]}"
            return answer
        session = submitted.get_json()["session_id"]
        requested = [e for e in self.sink.since(mark, REQUESTED) if (e.data or {}).get("name") == session]
        if len(requested) != 1:
            answer.error = f"expected one {REQUESTED} event for the session, got {len(requested)}"
            return answer
        headers, body = to_http(requested[0])
        delivered = self.investigator.post("/", headers=headers, data=body)
        base = f"/api/v1/incident/session/{session}"
        if delivered.status_code != 200:
            answer.error = f"the investigator answered {delivered.status_code}"
            # a session left investigating would hold one of the 10 capacity slots for the rest of the run
            self.incidents.post(f"{base}/cancel", headers=self.kubernaut_auth)
            return answer
        status = self.incidents.get(base, headers=self.kubernaut_auth).get_json()
        result = self.incidents.get(f"{base}/result", headers=self.kubernaut_auth)
        self._audit(answer, mark, "kubernaut", session, scenario.namespace)
        if status.get("status") != "completed" or result.status_code != 200:
            answer.error = f"session {status.get('status')}: {status.get('error', '')}"[:500]
            answer.body = result.get_json(silent=True) or {}
            return answer
        doc = result.get_json()
        answer.body = doc
        rca = doc.get("root_cause_analysis") or {}
        answer.ok = True
        answer.summary, answer.root_cause = doc.get("analysis", ""), doc.get("root_cause", "")
        answer.recommendation = doc.get("recommendation", "")
        answer.causal_chain, answer.contributing_factors = rca.get("causal_chain", []), rca.get("contributing_factors", [])
        answer.remediation_target = rca.get("remediationTarget")
        answer.resolved = doc.get("investigation_outcome") == "resolved"
        answer.warnings, answer.confidence = doc.get("warnings", []), doc.get("confidence")
        workflow = doc.get("selected_workflow") or {}
        parameters = workflow.get("parameters") or {}
        if workflow.get("workflowId") == "k8s_patch" or "PATCH" in parameters:
            answer.patch = json.loads(parameters["PATCH"])
            answer.patch_target = {"kind": parameters.get("TARGET_KIND", ""), "name": parameters.get("TARGET_NAME", "")}
        answer.tool_failures = _tool_failures(session)
        return answer

    def _analyze(self, scenario: Scenario, mark: int) -> Answer:
        answer = Answer(facade="analyze", ok=False)
        response = self.analyze.post("/analyze", data=json.dumps(analyze_body(scenario)), headers=self.auth)
        self._audit(answer, mark, "operator", None, scenario.namespace)
        if response.status_code != 200:
            answer.error = f"POST /analyze answered {response.status_code}: {response.get_data(True)[:300]}"
            return answer
        doc = response.get_json()
        answer.body, answer.ok = doc, True
        answer.summary, answer.root_cause = doc.get("summary", ""), doc.get("root_cause", "")
        answer.recommendation = doc.get("recommendation", "")
        action = doc.get("action")
        if action:
            answer.patch = action["patch"]
            answer.patch_target = {"kind": action["target"]["kind"], "name": action["target"]["name"]}
        return answer


def _kubernaut_grant(spec: dict[str, Any]) -> bool:
    """The fake API server's SubjectAccessReview: Kubernaut's ServiceAccount has the cluster-wide grant
    (create services/kubernaut-agent) and the incidents permissions in its own namespace (its sessions)."""
    attributes = spec.get("resourceAttributes") or {}
    if not spec.get("user", "").startswith(f"system:serviceaccount:{KUBERNAUT_NAMESPACE}:"):
        return False
    if attributes.get("resource") == "services":
        return attributes.get("verb") == "create" and attributes.get("name") == "kubernaut-agent"
    return attributes.get("resource") == "incidents" and attributes.get("namespace") == KUBERNAUT_NAMESPACE


def _tool_failures(session_id: str) -> int:
    """Tool answers with success false, from the session's stream records (a finished session's
    /stream replays only its `complete` frame, so the records are read where the investigator wrote them)."""
    from shared.incidents.stream import read

    return sum(1 for _, item in read(session_id) if item.get("type") == "tool_result"
               and '"success": false' in str((item.get("data") or {}).get("result", "")))


def kubernaut_body(scenario: Scenario) -> dict[str, Any]:
    """The IncidentRequest Kubernaut's AI Analysis controller would send, with the scenario's overrides."""
    incident = scenario.incident
    group = _API_VERSIONS.get(incident.kind, "v1")
    body = {"incident_id": f"eval-{scenario.id}", "remediation_id": f"rem-{scenario.id}",
            "signal_name": incident.signal or "KubernetesIncident", "severity": incident.severity,
            "signal_source": "prometheus", "resource_namespace": scenario.namespace,
            "resource_kind": incident.kind, "resource_name": incident.name, "resource_api_version": group,
            "error_message": incident.message or incident.signal, "environment": "production", "priority": "P2",
            "risk_tolerance": "medium", "business_category": "standard", "cluster_name": "eval"}
    return {**body, **incident.body}


def analyze_body(scenario: Scenario) -> dict[str, Any]:
    """The operator's AnalyzeRequest, with the scenario's overrides (events, spec, logs it collected)."""
    incident = scenario.incident
    body = {"resource_kind": incident.kind, "resource_name": incident.name, "namespace": scenario.namespace,
            "reason": incident.message or incident.signal}
    return {**body, **incident.body}
