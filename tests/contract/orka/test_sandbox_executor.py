"""Sandboxed execution (agent-sandbox) against the fake Kubernetes API server over HTTP.

A task whose `spec.execution.workspace.enabled` is true runs its worker pod in a `Sandbox`
(agents.x-k8s.io/v1beta1), never as a plain Job; the objects sent are checked against the upstream
CRD schemas (tests/fixtures/crds, agent-sandbox v0.5.6).
"""

from __future__ import annotations

import pytest

from shared.events.envelope import to_http
from tests.conftest import AUTH
from tests.support.crds import validate
from tests.support.fake_kube import use_kubernetes_executor

JOBS = "/apis/batch/v1/namespaces/default/jobs"
SANDBOX_API = "/apis/agents.x-k8s.io/v1beta1"
SANDBOXES = f"{SANDBOX_API}/namespaces/default/sandboxes"
TEMPLATE_API = "/apis/extensions.agents.x-k8s.io/v1beta1"
IMAGE = "ghcr.io/shoal-dev/shoal:0.1.0"


@pytest.fixture
def apps(function_client, fake_kube, monkeypatch):
    use_kubernetes_executor(monkeypatch, SHOAL_WORKSPACE_PROVIDERS="agent-sandbox,substrate")
    return function_client("tasks"), function_client("dispatcher")


def add_template(fake_kube, name="gvisor", namespace="default", **spec):
    """A SandboxTemplate as an operator would apply it: a worker-incompatible workload, pod-level isolation."""
    template = {"apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxTemplate",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"podTemplate": {
                    "metadata": {"labels": {"sandbox": "gvisor"}, "annotations": {"team": "a"}},
                    "spec": {"runtimeClassName": "gvisor", "nodeSelector": {"sandbox.gke.io/runtime": "gvisor"},
                             "automountServiceAccountToken": False, "serviceAccountName": "sandbox",
                             "containers": [{"name": "python-runtime", "image": "python-runtime:v1",
                                             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                             "volumes": [{"name": "data", "emptyDir": {}}]}},
                    **spec}}
    validate(template, "agent-sandbox-sandboxtemplate.yaml", "v1beta1")
    return fake_kube.add(TEMPLATE_API, "sandboxtemplates", namespace, template)


def create_task(tasks, name, request, **spec):
    body = {"name": name, "type": "agent", "prompt": "fix it", "execution": {"workspace": request}, **spec}
    response = tasks.post("/api/v1/tasks", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()


def dispatch(dispatcher, event_sink, name, event_type="dev.shoal.task.created"):
    [event] = [e for e in event_sink.of_type(event_type) if e.data["name"] == name]
    headers, body = to_http(event)
    assert dispatcher.post("/", data=body, headers=headers).status_code == 200


def sent(fake_kube, method, path):
    return [r for r in fake_kube.requests if r["method"] == method and r["path"] == path]


def status_of(tasks, name):
    return tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()["status"]


def start(apps, fake_kube, event_sink, name="sbx", request=None, **spec):
    """Create and dispatch an agent task with `request` as its execution.workspace (an Unmanaged template)."""
    tasks, dispatcher = apps
    if (TEMPLATE_API, "sandboxtemplates", "default", "gvisor") not in fake_kube.objects:
        add_template(fake_kube, networkPolicyManagement="Unmanaged")
    create_task(tasks, name, request or {"enabled": True, "templateRef": {"name": "gvisor"}}, **spec)
    dispatch(dispatcher, event_sink, name)
    return fake_kube.objects[(SANDBOX_API, "sandboxes", "default", f"{name}-1")]


def set_status(sandbox, *conditions):
    sandbox["status"] = {"conditions": [{"type": t, "status": s, "reason": r, "message": "",
                                         "lastTransitionTime": "2026-08-22T10:00:00Z"} for t, s, r in conditions]}


def test_a_sandbox_request_runs_the_worker_pod_in_a_sandbox(apps, fake_kube, event_sink):
    tasks, _ = apps
    start(apps, fake_kube, event_sink, timeout="10m")
    status = status_of(tasks, "sbx")
    assert status["phase"] == "Running" and status["jobName"] == "sbx-1"
    assert sent(fake_kube, "POST", JOBS) == []
    [read] = [r for r in fake_kube.requests if r["path"].startswith(TEMPLATE_API)]
    assert (read["method"], read["path"]) == ("GET", f"{TEMPLATE_API}/namespaces/default/sandboxtemplates/gvisor")
    [created] = sent(fake_kube, "POST", SANDBOXES)
    labels = {"app.kubernetes.io/managed-by": "shoal", "app.kubernetes.io/component": "task-worker",
              "orka.ai/task": "sbx", "orka.ai/task-type": "agent", "orka.ai/attempt": "1",
              "orka.ai/workspace-provider": "agent-sandbox"}
    assert created["body"] == {
        "apiVersion": "agents.x-k8s.io/v1beta1", "kind": "Sandbox",
        "metadata": {"name": "sbx-1", "namespace": "default",
                     "labels": {**labels, "orka.ai/workspace-cleanup": "delete"}},
        "spec": {"podTemplate": {
            # The template's pod labels and annotations stay (an Unmanaged NetworkPolicy may select them).
            "metadata": {"labels": {"sandbox": "gvisor", **labels}, "annotations": {"team": "a"}},
            "spec": {
                # From the template: pod-level isolation and placement.
                "runtimeClassName": "gvisor", "nodeSelector": {"sandbox.gke.io/runtime": "gvisor"},
                # From the Job Shoal would have run: the worker, exactly; its deadline on the pod.
                "restartPolicy": "Never", "serviceAccountName": "shoal-worker", "activeDeadlineSeconds": 600,
                "containers": [{"name": "worker", "image": IMAGE,
                                "command": ["python", "/app/functions/worker/main.py"], "env": [
                    {"name": "SHOAL_TASK_NAMESPACE", "value": "default"},
                    {"name": "SHOAL_TASK_NAME", "value": "sbx"},
                    {"name": "SHOAL_TASK_ATTEMPT", "value": "1"},
                    {"name": "SHOAL_TASK_LEASE_SECONDS", "value": "60.0"},
                    {"name": "SHOAL_INTERNAL_URL", "value": "http://internal.shoal.svc.cluster.local"},
                    {"name": "SHOAL_PLATFORM", "value": "cluster"},
                    {"name": "SHOAL_LLM_PROVIDER", "value": "mock"},
                    {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {
                        "name": "shoal-llm", "key": "OPENAI_API_KEY", "optional": True}}},
                    {"name": "ANTHROPIC_API_KEY", "valueFrom": {"secretKeyRef": {
                        "name": "shoal-llm", "key": "ANTHROPIC_API_KEY", "optional": True}}}]}]}}}}
    # Valid for the CRD's storage version, and (the same body) for the deprecated v1alpha1.
    validate(created["body"], "agent-sandbox-sandbox.yaml", "v1beta1")
    validate({**created["body"], "apiVersion": "agents.x-k8s.io/v1alpha1"}, "agent-sandbox-sandbox.yaml", "v1alpha1")
    # A redelivered created event neither creates a second Sandbox nor falls back to a Job.
    dispatch(apps[1], event_sink, "sbx")
    assert len(sent(fake_kube, "POST", SANDBOXES)) == 1 and sent(fake_kube, "POST", JOBS) == []


def test_the_sandbox_pod_is_the_pod_build_job_builds(apps, fake_kube, event_sink, function_client):
    """Whatever build_job puts in the pod (here a coding-agent runtime with a git workspace) reaches the
    Sandbox unchanged; only the template's pod-level fields are added."""
    from shared.executor.kubernetes import build_job
    from shared.tasks.repository import tasks as repository

    assert function_client("catalog").post("/api/v1/agents", json={"name": "coder", "spec": {
        "runtime": {"type": "claude", "secretRef": {"name": "claude-key"}}}}, headers=AUTH).status_code == 201
    sandbox = start(apps, fake_kube, event_sink, name="fix", agentRef="coder",
                    request={"enabled": True, "templateRef": {"name": "gvisor"}, "cleanupPolicy": "retain"},
                    workspace={"gitRepo": "https://github.com/example/app", "ref": "main"})
    record = repository.get("default", "fix")
    job = build_job(record, 1)  # the dispatcher stored the resolved agent for the attempt
    pod = dict(sandbox["spec"]["podTemplate"]["spec"])
    assert (pod.pop("runtimeClassName"), pod.pop("nodeSelector")) == ("gvisor", {"sandbox.gke.io/runtime": "gvisor"})
    assert pod == job["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "workspace", "emptyDir": {}}, {"name": "home", "emptyDir": {}}]
    assert sandbox["metadata"]["labels"]["orka.ai/workspace-cleanup"] == "retain"
    assert sandbox["spec"]["podTemplate"]["metadata"]["labels"] == {
        "sandbox": "gvisor", **job["spec"]["template"]["metadata"]["labels"],
        "orka.ai/workspace-provider": "agent-sandbox"}
    validate(sent(fake_kube, "POST", SANDBOXES)[0]["body"], "agent-sandbox-sandbox.yaml", "v1beta1")
    assert sent(fake_kube, "POST", JOBS) == []


def test_cancelling_deletes_the_sandbox(apps, fake_kube, event_sink):
    from shared.tasks.service import cancel_task

    tasks, dispatcher = apps
    start(apps, fake_kube, event_sink)
    assert cancel_task("default", "sbx", "no longer needed") is not None
    dispatch(dispatcher, event_sink, "sbx", "dev.shoal.task.finished")
    [listed] = sent(fake_kube, "GET", SANDBOXES)
    assert listed["query"]["labelSelector"] == "orka.ai/task=sbx"
    assert [r["path"] for r in fake_kube.requests if r["method"] == "DELETE"] == [f"{SANDBOXES}/sbx-1"]
    assert (SANDBOX_API, "sandboxes", "default", "sbx-1") not in fake_kube.objects
    assert status_of(tasks, "sbx")["phase"] == "Cancelled"


def test_cancelling_a_retained_sandbox_suspends_it(apps, fake_kube, event_sink):
    """cleanupPolicy retain: the work stops (operatingMode Suspended ends the pod), the Sandbox stays."""
    from shared.tasks.service import cancel_task

    _, dispatcher = apps
    sandbox = start(apps, fake_kube, event_sink,
                    request={"enabled": True, "templateRef": {"name": "gvisor"}, "cleanupPolicy": "retain"})
    set_status(sandbox, ("Ready", "True", "DependenciesReady"))
    assert cancel_task("default", "sbx", "stop") is not None
    dispatch(dispatcher, event_sink, "sbx", "dev.shoal.task.finished")
    [patch] = sent(fake_kube, "PATCH", f"{SANDBOXES}/sbx-1")
    assert patch["body"] == {"spec": {"operatingMode": "Suspended"}}
    assert patch["headers"]["Content-Type"] == "application/merge-patch+json"
    assert sent(fake_kube, "DELETE", f"{SANDBOXES}/sbx-1") == []
    assert sandbox["spec"]["operatingMode"] == "Suspended"
    validate({k: v for k, v in sandbox.items() if k != "status"}, "agent-sandbox-sandbox.yaml", "v1beta1")


@pytest.mark.parametrize("cleanup,deleted", [("delete", True), ("retain", False)])
def test_a_task_that_ends_on_its_own_releases_its_sandbox_by_cleanup_policy(apps, fake_kube, event_sink,
                                                                             cleanup, deleted):
    from shared.tasks.lifecycle import transition

    _, dispatcher = apps
    sandbox = start(apps, fake_kube, event_sink,
                    request={"enabled": True, "templateRef": {"name": "gvisor"}, "cleanupPolicy": cleanup})
    set_status(sandbox, ("Ready", "True", "DependenciesReady"))
    transition("default", "sbx", "Succeeded", message="done")  # as the worker's report does
    dispatch(dispatcher, event_sink, "sbx", "dev.shoal.task.finished")
    assert bool(sent(fake_kube, "DELETE", f"{SANDBOXES}/sbx-1")) is deleted
    assert ((SANDBOX_API, "sandboxes", "default", "sbx-1") in fake_kube.objects) is not deleted
    assert [r for r in fake_kube.requests if r["method"] == "PATCH"] == []  # a retained one is left as it is


def test_poll_maps_the_sandbox_to_the_task_phase(apps, fake_kube, event_sink):
    from shared.tasks.scheduler import run_tick

    tasks, _ = apps
    running = start(apps, fake_kube, event_sink, name="ok")
    set_status(running, ("Ready", "True", "DependenciesReady"))
    run_tick()
    assert status_of(tasks, "ok")["phase"] == "Running"
    set_status(running, ("Ready", "False", "PodSucceeded"), ("Finished", "True", "PodSucceeded"))
    run_tick()
    status = status_of(tasks, "ok")
    assert (status["phase"], status["message"]) == ("Succeeded", "sandbox ok-1 completed")

    failed = start(apps, fake_kube, event_sink, name="bad")
    set_status(failed, ("Ready", "False", "PodFailed"), ("Finished", "True", "PodFailed"))
    fake_kube.add("/api/v1", "pods", "default", {"metadata": {"name": "bad-1"}, "status": {
        "phase": "Failed", "reason": "DeadlineExceeded",
        "message": "Pod was active on the node longer than the specified deadline"}})
    run_tick()
    status = status_of(tasks, "bad")
    assert status["phase"] == "Failed"
    assert status["message"] == ("sandbox bad-1 failed: DeadlineExceeded Pod was active on the node longer than "
                                 "the specified deadline")

    crashed = start(apps, fake_kube, event_sink, name="crash")
    set_status(crashed, ("Ready", "False", "PodFailed"))  # a controller before v0.5: no Finished condition
    fake_kube.add("/api/v1", "pods", "default", {"metadata": {"name": "crash-1"}, "status": {
        "phase": "Failed", "containerStatuses": [{"name": "worker", "image": IMAGE, "imageID": "", "ready": False,
                                                  "restartCount": 0, "state": {"terminated": {
                                                      "exitCode": 1, "reason": "Error"}}}]}})
    run_tick()
    assert status_of(tasks, "crash")["message"] == "sandbox crash-1 failed: Error (exit code 1)"

    start(apps, fake_kube, event_sink, name="gone")
    del fake_kube.objects[(SANDBOX_API, "sandboxes", "default", "gone-1")]
    run_tick()
    status = status_of(tasks, "gone")
    assert (status["phase"], status["message"]) == ("Failed", "sandbox gone-1 disappeared")

    expired = start(apps, fake_kube, event_sink, name="old")
    set_status(expired, ("Ready", "False", "SandboxExpired"))
    run_tick()
    assert (status_of(tasks, "old")["phase"], status_of(tasks, "old")["message"]) == ("Failed", "sandbox old-1 expired")
    assert not any(r["path"].startswith("/apis/batch") for r in fake_kube.requests)  # never a Job


def test_regression_an_enabled_request_never_creates_a_job(apps, fake_kube, event_sink):
    """Through dispatch, a failed attempt, its retry and a timeout: Sandboxes only, never a Job."""
    from datetime import UTC, datetime, timedelta

    from shared.tasks.repository import tasks as repository
    from shared.tasks.scheduler import run_tick

    tasks, dispatcher = apps
    first = start(apps, fake_kube, event_sink, name="again", timeout="10m",
                  retryPolicy={"maxRetries": 1, "backoff": "10s"})
    set_status(first, ("Ready", "False", "PodFailed"), ("Finished", "True", "PodFailed"))
    run_tick()
    assert status_of(tasks, "again")["message"] == "sandbox again-1 failed"  # no pod to say more
    dispatch(dispatcher, event_sink, "again", "dev.shoal.task.finished")
    assert sent(fake_kube, "DELETE", f"{SANDBOXES}/again-1")  # released: cleanupPolicy delete
    run_tick(datetime.now(UTC) + timedelta(seconds=12))  # the backoff is over: back to Pending
    dispatch(dispatcher, event_sink, "again", "dev.shoal.task.retried")
    status = status_of(tasks, "again")
    assert (status["phase"], status["jobName"], status["attempts"]) == ("Running", "again-2", 2)
    repository.update("default", "again",
                      lambda doc: doc["status"].update(phaseTransitionTime="2020-01-01T00:00:00Z"))
    run_tick()  # timed out: the scheduler stops it
    assert status_of(tasks, "again")["message"] == "task timed out after 10m"
    assert sent(fake_kube, "DELETE", f"{SANDBOXES}/again-2")
    assert [r["path"] for r in fake_kube.requests if r["method"] == "POST"] == [SANDBOXES, SANDBOXES]
    assert not any(r["path"].startswith("/apis/batch") and r["method"] != "GET" for r in fake_kube.requests)


def test_logs_are_read_from_the_sandbox_pod(apps, fake_kube, event_sink):
    tasks, _ = apps
    sandbox = start(apps, fake_kube, event_sink)
    assert tasks.get("/api/v1/tasks/sbx/logs", headers=AUTH).get_json() == {"logs": ""}  # no pod yet
    # The controller names the pod after the Sandbox and records it in an annotation (warm-pool pods differ).
    sandbox["metadata"]["annotations"] = {"agents.x-k8s.io/pod-name": "sbx-1-adopted"}
    fake_kube.add("/api/v1", "pods", "default", {"metadata": {"name": "sbx-1-adopted"}})
    fake_kube.pod_logs[("default", "sbx-1-adopted")] = "thinking\ndone\n"
    assert tasks.get("/api/v1/tasks/sbx/logs", headers=AUTH).get_json() == {"logs": "thinking\ndone\n"}
    reads = [r for r in fake_kube.requests if r["path"].endswith("/log")]
    assert [r["path"] for r in reads] == ["/api/v1/namespaces/default/pods/sbx-1/log",
                                          "/api/v1/namespaces/default/pods/sbx-1-adopted/log"]
    assert {r["query"]["tailLines"] for r in reads} == {"100"}


@pytest.mark.parametrize("workspace,template,message", [
    ({"enabled": True, "provider": "substrate", "templateRef": {"name": "gvisor"}}, {"networkPolicyManagement":
                                                                                    "Unmanaged"},
     'workspace provider "substrate" is not supported by Shoal\'s executors (only agent-sandbox, with '
     "SHOAL_EXECUTOR=kubernetes); the task was not run without its sandbox"),
    ({"enabled": True, "templateRef": {"name": "missing"}}, {"networkPolicyManagement": "Unmanaged"},
     'could not read SandboxTemplate default/missing: sandboxtemplates "missing" not found'),
    ({"enabled": True, "templateRef": {"name": "gvisor"}}, {},
     "SandboxTemplate default/gvisor has a Managed NetworkPolicy, which agent-sandbox applies only to the pods of "
     "claimed Sandboxes (and which by default denies the in-cluster traffic the worker reports over); Shoal "
     "creates the Sandbox itself, so the task would run outside that policy: set networkPolicyManagement: "
     "Unmanaged and select the pods with your own NetworkPolicy (they carry "
     "orka.ai/workspace-provider=agent-sandbox and the template's pod labels)"),
    ({"enabled": True, "templateRef": {"name": "gvisor"}, "reusePolicy": "session"},
     {"networkPolicyManagement": "Unmanaged"},
     "workspace reusePolicy session is not supported by agent-sandbox execution yet; the task was not run"),
], ids=["substrate", "missing-template", "managed-network-policy", "session-reuse"])
def test_a_sandbox_request_that_cannot_be_honoured_fails_at_dispatch(apps, fake_kube, event_sink, workspace,
                                                                     template, message):
    tasks, dispatcher = apps
    add_template(fake_kube, **template)
    extra = {"sessionRef": {"name": "s1"}} if workspace.get("reusePolicy") else {}
    create_task(tasks, "no", workspace, **extra)
    dispatch(dispatcher, event_sink, "no")
    status = status_of(tasks, "no")
    assert (status["phase"], status["message"]) == ("Failed", message)
    assert "jobName" not in status
    # Never run without the sandbox: nothing was created at all.
    assert [r for r in fake_kube.requests if r["method"] == "POST"] == []


def test_a_provider_disabled_after_the_task_was_accepted_fails_it(apps, fake_kube, event_sink, monkeypatch):
    from shared.config import reset_settings

    tasks, dispatcher = apps
    add_template(fake_kube, networkPolicyManagement="Unmanaged")
    create_task(tasks, "late", {"enabled": True, "templateRef": {"name": "gvisor"}})
    monkeypatch.setenv("SHOAL_WORKSPACE_PROVIDERS", "substrate")
    reset_settings()
    dispatch(dispatcher, event_sink, "late")
    status = status_of(tasks, "late")
    assert (status["phase"], status["message"]) == (
        "Failed", 'workspace provider "agent-sandbox" is not enabled on this platform (SHOAL_WORKSPACE_PROVIDERS); '
                  "the task was not run without its sandbox")
    assert [r for r in fake_kube.requests if r["method"] == "POST"] == []


def test_the_default_template_or_one_in_another_namespace(apps, fake_kube, event_sink, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_WORKSPACE_DEFAULT_TEMPLATE", "gvisor")
    reset_settings()
    start(apps, fake_kube, event_sink, name="dflt", request={"enabled": True})
    add_template(fake_kube, name="kata", namespace="sandboxes", networkPolicyManagement="Unmanaged")
    start(apps, fake_kube, event_sink, name="other",
          request={"enabled": True, "templateRef": {"name": "kata", "namespace": "sandboxes"}})
    reads = [r["path"] for r in fake_kube.requests if r["path"].startswith(TEMPLATE_API)]
    assert reads == [f"{TEMPLATE_API}/namespaces/default/sandboxtemplates/gvisor",
                     f"{TEMPLATE_API}/namespaces/sandboxes/sandboxtemplates/kata"]
    # The Sandbox lives with its task, wherever the template is.
    assert [r["path"] for r in fake_kube.requests if r["method"] == "POST"] == [SANDBOXES, SANDBOXES]


def test_no_template_left_to_use_fails_the_task(apps, fake_kube, event_sink, monkeypatch):
    from shared.config import reset_settings

    tasks, dispatcher = apps
    monkeypatch.setenv("SHOAL_WORKSPACE_DEFAULT_TEMPLATE", "gvisor")
    reset_settings()
    create_task(tasks, "bare", {"enabled": True})
    monkeypatch.delenv("SHOAL_WORKSPACE_DEFAULT_TEMPLATE")
    reset_settings()
    dispatch(dispatcher, event_sink, "bare")
    status = status_of(tasks, "bare")
    assert (status["phase"], status["message"]) == (
        "Failed", "the workspace request names no templateRef and SHOAL_WORKSPACE_DEFAULT_TEMPLATE is not set; "
                  "the task was not run without its sandbox")
    assert fake_kube.requests == []


def test_the_local_executor_refuses_a_sandbox_request(function_client, event_sink, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_EXECUTOR", "local")
    monkeypatch.setenv("SHOAL_WORKSPACE_PROVIDERS", "agent-sandbox")
    reset_settings()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    create_task(tasks, "here", {"enabled": True, "templateRef": {"name": "gvisor"}})
    dispatch(dispatcher, event_sink, "here")
    status = status_of(tasks, "here")
    assert status["phase"] == "Failed"
    assert status["message"] == ("sandboxed execution (agent-sandbox) needs the Kubernetes executor "
                                 "(SHOAL_EXECUTOR=kubernetes)")
    assert "jobName" not in status


@pytest.mark.parametrize("execution", [None, {"workspace": {"enabled": False, "templateRef": {"name": "gvisor"}}}],
                         ids=["no-execution", "disabled"])
def test_without_an_enabled_request_the_task_runs_as_a_job_as_before(function_client, fake_kube, event_sink,
                                                                     monkeypatch, execution):
    """The platform does not enable agent-sandbox: not one request touches the sandbox APIs."""
    from shared.config import reset_settings
    from shared.executor.kubernetes import build_job
    from shared.tasks.repository import tasks as repository
    from shared.tasks.service import cancel_task

    monkeypatch.setenv("SHOAL_EXECUTOR", "kubernetes")
    reset_settings()
    tasks, dispatcher = function_client("tasks"), function_client("dispatcher")
    body = {"name": "plain", "type": "agent", "prompt": "p", **({"execution": execution} if execution else {})}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "plain")
    [job] = sent(fake_kube, "POST", JOBS)
    assert job["body"] == build_job(repository.get("default", "plain"), 1)
    assert job["body"]["kind"] == "Job" and "orka.ai/workspace-provider" not in job["body"]["metadata"]["labels"]
    assert cancel_task("default", "plain", "done") is not None
    dispatch(dispatcher, event_sink, "plain", "dev.shoal.task.finished")
    assert [r["path"] for r in fake_kube.requests if r["method"] == "DELETE"] == [f"{JOBS}/plain-1"]
    assert not any(r["path"].startswith(("/apis/agents.x-k8s.io", TEMPLATE_API)) for r in fake_kube.requests)
