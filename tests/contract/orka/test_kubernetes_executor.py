"""The Kubernetes Jobs executor against a fake API server over HTTP: exact Job bodies, read-back, cancel."""

from __future__ import annotations

import pytest

from shared.events.envelope import build, to_http
from tests.conftest import AUTH
from tests.support.fake_kube import use_kubernetes_executor

JOBS = "/apis/batch/v1/namespaces/default/jobs"


@pytest.fixture
def apps(function_client, fake_kube, monkeypatch):
    use_kubernetes_executor(monkeypatch)
    return function_client("tasks"), function_client("dispatcher"), function_client("scheduler")


def dispatch(dispatcher, event_sink, name):
    [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == name]
    headers, body = to_http(created)
    assert dispatcher.post("/", data=body, headers=headers).status_code == 200


def sent_jobs(fake_kube):
    return [r["body"] for r in fake_kube.requests if r["method"] == "POST" and r["path"] == JOBS]


def test_an_ai_task_becomes_a_worker_job(apps, fake_kube, event_sink, function_client):
    tasks, dispatcher, _ = apps
    catalog = function_client("catalog")
    assert catalog.post("/api/v1/skills", json={"name": "terse", "spec": {"content": {"inline": "Be terse."}}},
                        headers=AUTH).status_code == 201
    assert catalog.post("/api/v1/agents", json={"name": "helper", "spec": {
        "provider": "mock", "model": "m1", "systemPrompt": "You help.", "temperature": 0.2, "skills": ["terse"],
        "coordination": {"enabled": True}}}, headers=AUTH).status_code == 201
    body = {"name": "k", "type": "ai", "prompt": "say hi", "agentRef": "helper", "timeout": "10m",
            "env": {"DEBUG": "1"}}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "k")
    status = tasks.get("/api/v1/tasks/k", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Running" and status["jobName"] == "k-1"
    [job] = sent_jobs(fake_kube)
    labels = {"app.kubernetes.io/managed-by": "shoal", "app.kubernetes.io/component": "task-worker",
              "orka.ai/task": "k", "orka.ai/task-type": "ai", "orka.ai/attempt": "1", "orka.ai/agent": "helper"}
    spec = {"type": "ai", "prompt": "say hi", "agentRef": {"name": "helper"}, "timeout": "10m", "priority": 500,
            "env": [{"name": "DEBUG", "value": "1"}]}
    # The dispatcher resolved the agent (the worker has no store access): model, prompt with skills, flags.
    agent = {"agent": "helper", "provider": "mock", "model": "m1", "temperature": 0.2,
             "systemPrompt": "You help.\n\n## Skill: terse\n\nBe terse.", "skills": ["terse"], "tools": [],
             "catalogTools": [], "coordination": {"enabled": True}}
    assert job == {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "k-1", "namespace": "default", "labels": labels},
        "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 3600, "activeDeadlineSeconds": 600,
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "restartPolicy": "Never", "serviceAccountName": "shoal-worker",
                     "containers": [{"name": "worker", "image": "ghcr.io/shoal-dev/shoal:0.1.0",
                                     "command": ["python", "/app/functions/worker/main.py"], "env": [
                         {"name": "SHOAL_TASK_NAMESPACE", "value": "default"},
                         {"name": "SHOAL_TASK_NAME", "value": "k"},
                         {"name": "SHOAL_TASK_ATTEMPT", "value": "1"},
                         {"name": "SHOAL_TASK_LEASE_SECONDS", "value": "60.0"},
                         {"name": "SHOAL_INTERNAL_URL", "value": "http://internal.shoal.svc.cluster.local"},
                         {"name": "SHOAL_PLATFORM", "value": "cluster"},
                         {"name": "SHOAL_LLM_PROVIDER", "value": "mock"},
                         {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {
                             "name": "shoal-llm", "key": "OPENAI_API_KEY", "optional": True}}},
                         {"name": "ANTHROPIC_API_KEY", "valueFrom": {"secretKeyRef": {
                             "name": "shoal-llm", "key": "ANTHROPIC_API_KEY", "optional": True}}},
                         {"name": "DEBUG", "value": "1"}]}]}}}}
    # a redelivered created event does not create a second Job
    dispatch(dispatcher, event_sink, "k")
    assert len(sent_jobs(fake_kube)) == 1
    # The worker reads its spec and the agent resolved for its attempt through the worker API (neither is
    # in the Job: etcd and the environment cap their size), fenced by its attempt.
    internal = function_client("internal")
    answer = internal.get("/internal/v1/tasks/default/k/spec", headers={**AUTH, "X-Shoal-Task-Attempt": "1"})
    assert answer.status_code == 200 and answer.get_json() == {"spec": spec, "agent": agent, "attempt": 1}
    stale = internal.get("/internal/v1/tasks/default/k/spec", headers={**AUTH, "X-Shoal-Task-Attempt": "2"})
    assert stale.status_code == 409 and stale.get_json() == {"error": {"code": 409, "message": "stale attempt"}}


def test_a_task_naming_a_missing_agent_fails_without_a_job(apps, fake_kube, event_sink):
    tasks, dispatcher, _ = apps
    assert tasks.post("/api/v1/tasks", json={"name": "lost", "type": "ai", "prompt": "p", "agentRef": "ghost"},
                      headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "lost")
    status = tasks.get("/api/v1/tasks/lost", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Failed" and status["message"] == 'agent "ghost" not found'
    assert sent_jobs(fake_kube) == []


def test_a_container_task_job_with_resources_and_git_workspace(apps, fake_kube, event_sink):
    tasks, dispatcher, _ = apps
    body = {"metadata": {"name": "build", "labels": {"team": "a"}}, "spec": {
        "type": "container", "image": "golang:1.23", "command": ["make"], "args": ["test"],
        "env": [{"name": "GOFLAGS", "value": "-mod=mod"}], "timeout": "1h",
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}},
        "workspace": {"gitRepo": "https://github.com/example/app", "branch": "main"}}}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "build")
    [job] = sent_jobs(fake_kube)
    assert job["spec"]["activeDeadlineSeconds"] == 3600
    assert job["spec"]["template"]["spec"] == {
        "restartPolicy": "Never", "serviceAccountName": "shoal-worker",
        "containers": [{"name": "task", "image": "golang:1.23", "command": ["make"], "args": ["test"],
                        "env": [{"name": "GOFLAGS", "value": "-mod=mod"}],
                        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}},
                        "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}],
                        "workingDir": "/workspace"}],
        "initContainers": [{"name": "git-checkout", "image": "alpine/git:2.45.2",
                            "args": ["clone", "--depth", "1", "--branch", "main", "https://github.com/example/app",
                                     "/workspace"],
                            "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}]}],
        "volumes": [{"name": "workspace", "emptyDir": {}}]}


def test_job_names_stay_within_63_characters():
    from shared.executor.kubernetes import job_name

    long = "a" * 70
    name = job_name(long, 12)
    assert len(name) <= 63 and name.endswith("-12") and name != job_name("a" * 71, 12)
    assert job_name("short", 1) == "short-1"


def test_pod_logs_status_read_back_and_container_output_as_result(apps, fake_kube, event_sink):
    tasks, dispatcher, scheduler = apps
    assert tasks.post("/api/v1/tasks", json={"name": "c", "type": "container", "image": "busybox"},
                      headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "c")
    fake_kube.add("/api/v1", "pods", "default", {"metadata": {"name": "c-1-abcde", "labels": {"job-name": "c-1"}}})
    fake_kube.pod_logs[("default", "c-1-abcde")] = "building\ndone\n"
    assert tasks.get("/api/v1/tasks/c/logs", headers=AUTH).get_json() == {"logs": "building\ndone\n"}
    [log_read] = [r for r in fake_kube.requests if r["path"].endswith("/log")]
    assert log_read["query"]["tailLines"] == "100"
    tick = build("dev.knative.sources.ping", {}, source="/ping")
    headers, body = to_http(tick)
    assert scheduler.post("/", data=body, headers=headers).status_code == 200
    assert tasks.get("/api/v1/tasks/c", headers=AUTH).get_json()["status"]["phase"] == "Running"
    fake_kube.objects[("/apis/batch/v1", "jobs", "default", "c-1")]["status"] = {
        "succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    tick = build("dev.knative.sources.ping", {}, source="/ping")
    headers, body = to_http(tick)
    assert scheduler.post("/", data=body, headers=headers).status_code == 200
    status = tasks.get("/api/v1/tasks/c", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Succeeded" and status["message"] == "job c-1 completed"
    assert tasks.get("/api/v1/tasks/c/result", headers=AUTH).get_json() == {"result": "building\ndone\n"}


def test_a_job_past_its_deadline_fails_the_task(apps, fake_kube, event_sink):
    from shared.tasks.scheduler import run_tick

    tasks, dispatcher, _ = apps
    assert tasks.post("/api/v1/tasks", json={"name": "d", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "d")
    fake_kube.objects[("/apis/batch/v1", "jobs", "default", "d-1")]["status"] = {
        "failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                                     "message": "Job was active longer than specified deadline"}]}
    run_tick()
    status = tasks.get("/api/v1/tasks/d", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Failed"
    assert status["message"] == "job d-1 failed: DeadlineExceeded Job was active longer than specified deadline"
    assert not [c for c in status["conditions"] if c["type"] == "WorkerLost"]  # its own deadline, not a lost worker


def test_a_vanished_job_or_a_failed_pod_is_a_lost_worker_and_retried(apps, fake_kube, event_sink):
    """The task is still Running, so its worker never reported: reason WorkerLost, retried per retryPolicy."""
    from shared.tasks.lifecycle import transition
    from shared.tasks.scheduler import run_tick

    tasks, dispatcher, _ = apps
    body = {"name": "v", "type": "ai", "prompt": "p", "retryPolicy": {"maxRetries": 1, "backoff": "1s"}}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "v")
    del fake_kube.objects[("/apis/batch/v1", "jobs", "default", "v-1")]  # a node drain, a manual delete
    run_tick()
    status = tasks.get("/api/v1/tasks/v", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Failed" and status["message"] == "job v-1 disappeared" and status["nextRetryTime"]
    [lost] = [c for c in status["conditions"] if c["type"] == "WorkerLost"]
    assert lost["reason"] == "WorkerLost" and lost["message"] == "job v-1 disappeared"

    transition("default", "v", "Pending")
    transition("default", "v", "Running")  # attempt 2 (the dispatcher would create Job v-2)
    fake_kube.add("/apis/batch/v1", "jobs", "default", {"metadata": {"name": "v-2"}, "status": {
        "failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                     "message": "Job has reached the specified backoff limit"}]}})
    from shared.tasks.repository import tasks as store

    store.update("default", "v", lambda doc: doc["status"].update(jobName="v-2"))
    run_tick()
    status = tasks.get("/api/v1/tasks/v", headers=AUTH).get_json()["status"]
    assert status["phase"] == "Failed" and status["attempts"] == 2 and "nextRetryTime" not in status
    assert status["message"] == "job v-2 failed: BackoffLimitExceeded Job has reached the specified backoff limit"
    assert [c["message"] for c in status["conditions"] if c["type"] == "WorkerLost"] == [status["message"]]


def test_cancelling_deletes_the_job(apps, fake_kube, event_sink):
    from shared.tasks.service import cancel_task

    tasks, dispatcher, _ = apps
    assert tasks.post("/api/v1/tasks", json={"name": "x", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "x")
    assert cancel_task("default", "x", "no longer needed") is not None
    [finished] = event_sink.of_type("dev.shoal.task.finished")
    headers, body = to_http(finished)
    assert dispatcher.post("/", data=body, headers=headers).status_code == 200
    deletes = [r for r in fake_kube.requests if r["method"] == "DELETE"]
    assert [r["path"] for r in deletes] == [f"{JOBS}/x-1"]
    assert ("/apis/batch/v1", "jobs", "default", "x-1") not in fake_kube.objects
    listed = [r for r in fake_kube.requests if r["method"] == "GET" and r["path"] == JOBS]
    assert listed[0]["query"]["labelSelector"] == "orka.ai/task=x"


def test_label_values_are_kept_valid():
    from shared.executor.kube_common import label_value

    assert label_value("kid-a") == "kid-a"
    long = "x" * 100 + ".y"
    value = label_value(long)
    assert len(value) <= 63 and value != label_value("x" * 101 + ".y") and value == label_value(long)
    assert label_value("bad value!") .startswith("bad-value-")


def test_a_coding_agent_task_runs_in_the_runtimes_image_and_clones_itself(apps, fake_kube, event_sink,
                                                                         function_client):
    tasks, dispatcher, _ = apps
    assert function_client("catalog").post("/api/v1/agents", json={"name": "coder", "spec": {
        "runtime": {"type": "claude", "secretRef": {"name": "claude-key"}}}}, headers=AUTH).status_code == 201
    body = {"name": "fix", "type": "agent", "prompt": "fix it", "agentRef": "coder",
            "workspace": {"gitRepo": "https://github.com/example/app", "ref": "refs/pull/7/head",
                          "gitSecretRef": {"name": "push-creds"}}}
    assert tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    dispatch(dispatcher, event_sink, "fix")
    [job] = sent_jobs(fake_kube)
    pod = job["spec"]["template"]["spec"]
    # No init container: the worker clones at the ref itself, through git's credential helper.
    assert "initContainers" not in pod
    assert pod["volumes"] == [{"name": "workspace", "emptyDir": {}}, {"name": "home", "emptyDir": {}}]
    [container] = pod["containers"]
    assert container["image"] == "ghcr.io/shoal-dev/shoal-runtimes:0.1.0"
    assert container["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001,
                                            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert container["workingDir"] == "/workspace"
    assert container["volumeMounts"] == [{"name": "workspace", "mountPath": "/workspace"},
                                         {"name": "home", "mountPath": "/home/shoal"}]
    env = {e["name"]: e for e in container["env"]}
    assert env["HOME"] == {"name": "HOME", "value": "/home/shoal"}
    assert env["SHOAL_WORKSPACE"] == {"name": "SHOAL_WORKSPACE", "value": "/workspace"}
    # The git Secret's keys arrive as optional references (never values); the Claude key Secret does not
    # reach the Job at all: the runtime's model calls go through Shoal's proxy.
    git_refs = {name: e["valueFrom"]["secretKeyRef"] for name, e in env.items() if name.startswith("SHOAL_GIT_")}
    assert git_refs == {
        "SHOAL_GIT_USERNAME": {"name": "push-creds", "key": "username", "optional": True},
        "SHOAL_GIT_TOKEN": {"name": "push-creds", "key": "token", "optional": True},
        "SHOAL_GIT_PASSWORD": {"name": "push-creds", "key": "password", "optional": True},
        "SHOAL_GIT_GITHUB_TOKEN": {"name": "push-creds", "key": "GITHUB_TOKEN", "optional": True}}
    assert all(e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") != "claude-key" for e in container["env"])
    # The worker reads the resolved agent (its runtime and the Secret's name, never a value) through the API.
    from shared.tasks.repository import resolved_agents

    agent = resolved_agents.get("default", "fix").doc["agent"]
    assert agent["runtime"] == {"type": "claude", "secretRef": {"name": "claude-key"}}
