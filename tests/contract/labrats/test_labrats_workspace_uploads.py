"""Workspace uploads in the bucket and their delivery into task workspaces (local and Kubernetes executors)."""

from __future__ import annotations

import base64
import io
import json
import threading

import pytest
from werkzeug.serving import make_server

from shared.events.envelope import to_http
from tests.conftest import AUTH, DEV_TOKEN
from tests.support.fake_kube import use_kubernetes_executor

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def jobs(function_client):
    return function_client("jobs")


def upload(jobs, data: bytes, name: str = "notes.txt", headers=AUTH):
    return jobs.post("/api/workspace-uploads", headers=headers, content_type="multipart/form-data",
                     data={"file": (io.BytesIO(data), name)})


def stored_ids() -> list[str]:
    from shared.executor.workspace_inputs import workspace_uploads

    records, _ = workspace_uploads.list_page("default", limit=None)
    return [r.name for r in records]


def test_routes_need_credentials(jobs):
    for method, path in [("POST", "/api/workspace-uploads"), ("GET", "/api/workspace-uploads"),
                         ("GET", "/api/workspace-uploads/x/y/raw"), ("DELETE", "/api/workspace-uploads/x")]:
        response = jobs.open(path, method=method)
        assert response.status_code == 401, path
        assert response.get_json() == {"error": "missing authorization header"}
    response = jobs.get("/api/workspace-uploads", headers={"Authorization": "Bearer nope"})
    assert response.get_json() == {"error": "invalid API key"}


def test_bad_uploads_are_refused_and_store_nothing(jobs, monkeypatch):
    from shared.config import reset_settings

    response = jobs.post("/api/workspace-uploads", headers=AUTH, json={"file": "x"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "expected multipart/form-data with a field named file"}
    response = jobs.post("/api/workspace-uploads", headers=AUTH, content_type="multipart/form-data",
                         data={"other": (io.BytesIO(b"x"), "a.txt")})
    assert response.get_json() == {"error": "file is required"}
    assert upload(jobs, b"").get_json() == {"error": "file is empty"}
    for executable in (b"\x7fELF\x02\x01\x01" + b"\x00" * 16, b"MZ\x90\x00" + b"\x00" * 16):
        response = upload(jobs, executable, name="harmless.txt")  # the name does not matter, the bytes do
        assert response.status_code == 400 and response.get_json() == {"error": "Executable files are not accepted"}
    monkeypatch.setenv("SHOAL_WORKSPACE_UPLOAD_MAX_BYTES", str(1024 * 1024))
    reset_settings()
    assert upload(jobs, b"a" * (1024 * 1024)).status_code == 201  # exactly at the limit
    response = upload(jobs, b"a" * (1024 * 1024 + 1))
    assert response.status_code == 413 and response.get_json() == {"error": "File too large (max 1 MB)"}
    response = upload(jobs, b"a" * (1024 * 1024 + 70 * 1024))  # over limit + envelope: refused by Content-Length
    assert response.status_code == 413 and response.get_json() == {"error": "File too large (max 1 MB)"}
    assert len(stored_ids()) == 1


def test_upload_list_download_delete(jobs):
    response = upload(jobs, "héllo wörkspace\n".encode(), name="../../my notes.txt")
    assert response.status_code == 201
    text = response.get_json()
    assert text["name"] == "my_notes.txt" and text["contentType"] == "text/plain; charset=utf-8"
    assert set(text) == {"id", "name", "size", "contentType", "createdAt"}
    image = upload(jobs, PNG, name="diagram.txt").get_json()
    assert image["contentType"] == "image/png"  # by content, not by name

    from shared.store.blobs import get_blob

    assert get_blob(f"workspace-uploads/default/{text['id']}/my_notes.txt") == "héllo wörkspace\n".encode()
    listing = jobs.get("/api/workspace-uploads", headers=AUTH).get_json()
    assert sorted(u["id"] for u in listing) == sorted([text["id"], image["id"]])

    raw = jobs.get(f"/api/workspace-uploads/{text['id']}/my_notes.txt/raw", headers=AUTH)
    assert raw.status_code == 200 and raw.data == "héllo wörkspace\n".encode()
    assert raw.headers["Content-Type"] == "application/octet-stream"
    assert raw.headers["X-Content-Type-Options"] == "nosniff" and "attachment" in raw.headers["Content-Disposition"]
    wrong = jobs.get(f"/api/workspace-uploads/{text['id']}/other.txt/raw", headers=AUTH)
    assert wrong.status_code == 404 and wrong.get_json() == {"error": "Workspace upload not found"}

    assert jobs.delete(f"/api/workspace-uploads/{text['id']}", headers=AUTH).get_json() == {"deleted": text["id"]}
    assert get_blob(f"workspace-uploads/default/{text['id']}/my_notes.txt") is None
    assert jobs.get(f"/api/workspace-uploads/{text['id']}/my_notes.txt/raw", headers=AUTH).status_code == 404
    gone = jobs.delete(f"/api/workspace-uploads/{text['id']}", headers=AUTH)
    assert gone.status_code == 404 and gone.get_json() == {"error": "Workspace upload not found"}


def _submit_with_inputs(jobs) -> tuple[str, str]:
    uploaded = upload(jobs, b"upload body\n", name="data.csv").get_json()
    body = {"source": "manual", "type": "implement-issue", "prompt": "use the files",
            "workspaceUploads": [{"id": uploaded["id"], "name": "data.csv"}],
            "workspaceFiles": [{"name": "docs/readme.md", "data": base64.b64encode(b"# inline\n").decode()}]}
    response = jobs.post("/api/jobs/submit", headers=AUTH, json=body)
    assert response.status_code == 201
    return response.get_json()["jobId"], uploaded["id"]


def test_submit_refuses_unknown_workspace_uploads(jobs):
    uploaded = upload(jobs, b"x", name="a.txt").get_json()
    for ref in ({"id": "nope", "name": "a.txt"}, {"id": uploaded["id"], "name": "b.txt"}):
        response = jobs.post("/api/jobs/submit", headers=AUTH, json={"source": "s", "type": "t", "prompt": "p",
                                                                     "workspaceUploads": [ref]})
        assert response.status_code == 400
        assert response.get_json() == {"error": "workspaceUploads[0] does not name an existing workspace upload"}
    assert jobs.get("/api/jobs", headers=AUTH).get_json()["total"] == 0


def test_local_executor_writes_the_inputs_into_the_workspace(jobs):
    import pathlib
    import shutil

    from shared.executor.local import LocalExecutor
    from shared.tasks.repository import tasks

    job_id, _ = _submit_with_inputs(jobs)
    directory = pathlib.Path(LocalExecutor._workspace(tasks.get("default", job_id)))
    try:
        assert (directory / "data.csv").read_bytes() == b"upload body\n"
        assert (directory / "docs" / "readme.md").read_bytes() == b"# inline\n"
    finally:
        shutil.rmtree(directory)
    plain = jobs.post("/api/jobs/submit", headers=AUTH, json={"source": "s", "type": "t", "prompt": "p"})
    assert LocalExecutor._workspace(tasks.get("default", plain.get_json()["jobId"])) is None


def test_kubernetes_job_gets_an_init_step_that_fetches_the_inputs(function_client, fake_kube, event_sink,
                                                                  monkeypatch, tmp_path):
    use_kubernetes_executor(monkeypatch)
    jobs = function_client("jobs")
    job_id, _ = _submit_with_inputs(jobs)
    [created] = [e for e in event_sink.of_type("dev.shoal.task.created") if e.data["name"] == job_id]
    headers, body = to_http(created)
    assert function_client("dispatcher").post("/", data=body, headers=headers).status_code == 200
    [job] = [r["body"] for r in fake_kube.requests if r["method"] == "POST" and r["path"].endswith("/jobs")]
    pod = job["spec"]["template"]["spec"]
    mount = {"name": "workspace", "mountPath": "/workspace"}
    assert pod["volumes"] == [{"name": "workspace", "emptyDir": {}}]
    assert pod["initContainers"] == [{
        "name": "workspace-inputs", "image": "ghcr.io/shoal-dev/shoal:0.1.0",
        "command": ["python", "-m", "shared.worker.workspace_fetch"],
        "env": [{"name": "SHOAL_TASK_NAMESPACE", "value": "default"}, {"name": "SHOAL_TASK_NAME", "value": job_id},
                {"name": "SHOAL_INTERNAL_URL", "value": "http://internal.shoal.svc.cluster.local"},
                {"name": "SHOAL_WORKSPACE", "value": "/workspace"}],
        "volumeMounts": [mount]}]
    [worker] = pod["containers"]
    assert worker["volumeMounts"] == [mount]
    assert {"name": "SHOAL_WORKSPACE", "value": "/workspace"} in worker["env"]
    # No file content travels in the Job body: the init step downloads it.
    assert "upload body" not in json.dumps(job) and base64.b64encode(b"# inline\n").decode() not in json.dumps(job)

    # The init step itself, against the internal function over real HTTP.
    internal = function_client("internal")
    server = make_server("127.0.0.1", 0, internal.application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SHOAL_INTERNAL_URL", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("SHOAL_TASK_NAMESPACE", "default")
        monkeypatch.setenv("SHOAL_TASK_NAME", job_id)
        monkeypatch.setenv("SHOAL_WORKSPACE", str(tmp_path))
        monkeypatch.setenv("SHOAL_WORKER_TOKEN", DEV_TOKEN)
        from shared.worker.workspace_fetch import main

        assert main() == 0
    finally:
        server.shutdown()
    assert (tmp_path / "data.csv").read_bytes() == b"upload body\n"
    assert (tmp_path / "docs" / "readme.md").read_bytes() == b"# inline\n"


def test_internal_inputs_routes(function_client, jobs):
    job_id, _ = _submit_with_inputs(jobs)
    internal = function_client("internal")
    assert internal.get(f"/internal/v1/workspace-inputs/default/{job_id}").status_code == 401
    listing = internal.get(f"/internal/v1/workspace-inputs/default/{job_id}", headers=AUTH)
    assert listing.get_json() == {"files": [{"path": "data.csv"}, {"path": "docs/readme.md"}]}
    assert internal.get(f"/internal/v1/workspace-inputs/default/{job_id}/1", headers=AUTH).data == b"# inline\n"
    assert internal.get(f"/internal/v1/workspace-inputs/default/{job_id}/2", headers=AUTH).status_code == 404
    assert internal.get(f"/internal/v1/workspace-inputs/default/{job_id}/x", headers=AUTH).status_code == 404
    assert internal.get("/internal/v1/workspace-inputs/default/ir-missing", headers=AUTH).status_code == 404


def test_inputs_never_escape_the_workspace(tmp_path):
    from shared.executor.workspace_inputs import write

    with pytest.raises(ValueError):
        write(tmp_path / "ws", "../outside.txt", b"x")
    assert not (tmp_path / "outside.txt").exists()
