"""Model operations of the labrats dialect: scan, download, delete as Kubernetes Jobs (fake API server)."""

from __future__ import annotations

import pytest

from tests.conftest import AUTH

JOBS = "/apis/batch/v1/namespaces/default/jobs"
URL = "https://models.example.com/qwen/qwen2.5-7b-q4.gguf"


@pytest.fixture
def jobs(function_client, fake_kube):
    client = function_client("jobs")
    defaults = {"model": "sonnet", "providers": {"qwen": {"model": "qwen2.5-7b", "url": URL},
                                                 "claude": {"model": "opus"}}}
    assert client.put("/api/config/defaults", headers=AUTH, json=defaults).status_code == 200
    return client


def created(fake_kube) -> list[dict]:
    return [r["body"] for r in fake_kube.requests if r["method"] == "POST" and r["path"] == JOBS]


def finish(fake_kube, name: str, log: str, succeeded: bool = True) -> None:
    """The Job ran: mark it complete and give it a pod with a log."""
    job = fake_kube.objects[("/apis/batch/v1", "jobs", "default", name)]
    job["status"] = {"succeeded": 1} if succeeded else {"failed": 1}
    pod = f"{name}-abcde"
    fake_kube.add("/api/v1", "pods", "default", {"metadata": {"name": pod, "labels": {"job-name": name}}})
    fake_kube.pod_logs[("default", pod)] = log


def test_model_operation_routes_need_credentials(function_client):
    jobs = function_client("jobs")
    for method, path in [("POST", "/api/models/scan"), ("POST", "/api/models/download"), ("GET", "/api/models/jobs"),
                         ("GET", "/api/models/jobs/x/logs"), ("DELETE", "/api/models/qwen/x.gguf")]:
        response = jobs.open(path, method=method)
        assert response.status_code == 401 and response.get_json() == {"error": "missing authorization header"}, path


def test_list_shows_configured_models_and_the_pvc(jobs):
    body = jobs.get("/api/models", headers=AUTH).get_json()
    assert body["pvc"] == "models-cache"
    assert {"provider": "qwen", "model": "qwen2.5-7b", "url": URL} in body["models"]


def test_download_only_a_configured_url(jobs, fake_kube):
    for payload, message in [({}, "provider is required"), ({"provider": "qwen"}, "model is required"),
                             ({"provider": "qwen", "model": "qwen2.5-7b"}, "url is required"),
                             ({"provider": "qwen", "model": "qwen2.5-7b", "url": "https://evil.example/x.gguf"},
                              "url does not match a configured model"),
                             ({"provider": "claude", "model": "opus", "url": URL}, "url does not match a configured model"),
                             ({"provider": "../etc", "model": "m", "url": URL},
                              "provider must be a file name (letters, digits, '.', '_', '-')"),
                             # the labrats body is { provider, model, url }: another field is named
                             ({"provider": "qwen", "model": "qwen2.5-7b", "url": URL, "sha256": "x"},
                              "sha256: unknown field")]:
        response = jobs.post("/api/models/download", headers=AUTH, json=payload)
        assert response.status_code == 400 and response.get_json() == {"error": message}, payload
    assert created(fake_kube) == []  # bad input creates nothing

    response = jobs.post("/api/models/download", headers=AUTH,
                         json={"provider": "qwen", "model": "qwen2.5-7b", "url": URL})
    assert response.status_code == 202
    answer = response.get_json()
    [job] = created(fake_kube)
    assert answer == {"job": job["metadata"]["name"], "provider": "qwen", "model": "qwen2.5-7b",
                      "file": "qwen2.5-7b-q4.gguf"}
    assert job["metadata"]["name"].startswith("model-download-")
    assert job["metadata"]["labels"]["shoal.dev/model-operation"] == "download"
    pod = job["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "models", "persistentVolumeClaim": {"claimName": "models-cache"}}]
    [container] = pod["containers"]
    assert container["image"] == "alpine:3.20" and container["command"][:2] == ["sh", "-c"]
    assert URL not in container["command"][2]  # values reach the script only through the environment
    assert {"name": "SOURCE_URL", "value": URL} in container["env"]
    assert {"name": "TARGET", "value": "/models/qwen/qwen2.5-7b-q4.gguf"} in container["env"]
    assert container["volumeMounts"] == [{"name": "models", "mountPath": "/models"}]


def test_delete_jobs_list_and_logs(jobs, fake_kube):
    for path, message in [("/api/models/qwen/..", "filename must be a file name (letters, digits, '.', '_', '-')"),
                          ("/api/models/.hidden/x.gguf", "provider must be a file name (letters, digits, '.', '_', '-')")]:
        response = jobs.delete(path, headers=AUTH)
        assert response.status_code == 400 and response.get_json() == {"error": message}, path
    deleted = jobs.delete("/api/models/qwen/old.gguf", headers=AUTH)
    assert deleted.status_code == 202
    name = deleted.get_json()["job"]
    [job] = created(fake_kube)
    assert {"name": "TARGET", "value": "/models/qwen/old.gguf"} in job["spec"]["template"]["spec"]["containers"][0]["env"]
    scan = jobs.post("/api/models/scan", headers=AUTH).get_json()["job"]

    listing = jobs.get("/api/models/jobs", headers=AUTH).get_json()["jobs"]
    assert [(j["name"], j["operation"], j["provider"], j["status"]) for j in listing] == [
        (name, "delete", "qwen", "pending")]  # scans are not listed

    finish(fake_kube, name, "deleted /models/qwen/old.gguf\n")
    logs = jobs.get(f"/api/models/jobs/{name}/logs", headers=AUTH).get_json()
    assert logs == {"name": name, "status": "completed", "logs": "deleted /models/qwen/old.gguf\n"}
    for missing in ("nope", scan):  # unknown, or not a listed model operation
        response = jobs.get(f"/api/models/jobs/{missing}/logs", headers=AUTH)
        assert response.status_code == 404 and response.get_json() == {"error": "Model job not found"}


def test_scan_creates_one_job_per_30_seconds_and_reports_files(jobs, fake_kube):
    first = jobs.post("/api/models/scan", headers=AUTH)
    assert first.status_code == 202
    name = first.get_json()["job"]
    assert first.get_json() == {"job": name, "cached": False, "status": "pending", "files": None}
    [job] = created(fake_kube)
    assert job["metadata"]["labels"]["shoal.dev/model-operation"] == "scan"
    assert "shoal.dev/model-job" not in job["metadata"]["labels"]

    finish(fake_kube, name, "4096 /models/qwen/qwen2.5-7b-q4.gguf\n12 /models/notes.txt\n")
    again = jobs.post("/api/models/scan", headers=AUTH)
    assert again.status_code == 200 and len(created(fake_kube)) == 1
    assert again.get_json() == {"job": name, "cached": True, "status": "completed", "files": [
        {"provider": "qwen", "file": "qwen2.5-7b-q4.gguf", "path": "qwen/qwen2.5-7b-q4.gguf", "size": 4096},
        {"provider": None, "file": "notes.txt", "path": "notes.txt", "size": 12}]}

    import time

    from shared.jobs.stores import model_scans

    record = model_scans.get("default", "latest")  # 30 seconds later: the cached scan has expired
    model_scans.replace("default", "latest", record.doc, expected_version=record.version, expiry=int(time.time()) - 1)
    assert jobs.post("/api/models/scan", headers=AUTH).status_code == 202 and len(created(fake_kube)) == 2
