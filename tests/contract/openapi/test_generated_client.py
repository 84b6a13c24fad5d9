"""A client generated from /openapi.json by a standard generator works against Shoal as written (issue 21).

`openapi-python-client` (the test extra; docs/api-reference.md says why) generates a typed httpx
client from the meta function's document; the test imports it and, through an httpx WSGI transport
into the tasks function's own app (on moto), creates a task, gets it, lists it, parses a 409,
then — after its worker reports through the worker API — reads its result and streams its events.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import AUTH, DEV_TOKEN

GENERATOR = "openapi-python-client"


def _generator() -> str:
    found = shutil.which(GENERATOR) or shutil.which(GENERATOR, path=os.path.dirname(sys.executable))
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{GENERATOR} is missing: CI installs the test extra (pip install -e '.[test]')")
        pytest.skip(f"{GENERATOR} is not installed: pip install -e '.[test]' to run this test")
    return found


@pytest.fixture
def shoal_client(function_client, tmp_path, monkeypatch):
    generator = _generator()
    document = function_client("meta").get("/openapi.json").get_json()
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    # `--meta none`: a bare package, importable from tmp_path. Operations it cannot express (an
    # NDJSON or raw-bytes body) are skipped with a warning; the tasks API must not be among them.
    subprocess.run([generator, "generate", "--path", "openapi.json", "--meta", "none", "--output-path", "shoal_client"],
                   cwd=tmp_path, check=True, capture_output=True, text=True, timeout=300)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "shoal_client" or m.startswith("shoal_client.")]:
        del sys.modules[name]
    return importlib.import_module("shoal_client")


def _client(package, app):
    import httpx

    client = package.AuthenticatedClient(base_url="http://shoal", token=DEV_TOKEN)
    client.set_httpx_client(httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://shoal",
                                         headers={"Authorization": f"Bearer {DEV_TOKEN}"}))
    return client


def test_a_generated_client_creates_gets_lists_streams_and_reads_a_task(shoal_client, function_client):
    from shoal_client.api.tasks import (
        tasks_create_task,
        tasks_get_result,
        tasks_get_task,
        tasks_list_tasks,
        tasks_stream,
    )
    from shoal_client.models import OrkaError, Task, TaskCreate, TaskList, TaskResult

    tasks_app = function_client("tasks").application
    client = _client(shoal_client, tasks_app)

    created = tasks_create_task.sync_detailed(client=client, body=TaskCreate.from_dict(
        {"name": "generated", "type": "ai", "prompt": "say hi", "timeout": "10m"}))
    assert created.status_code == 201 and isinstance(created.parsed, Task)
    assert created.parsed.metadata.name == "generated" and created.parsed.spec["prompt"] == "say hi"

    fetched = tasks_get_task.sync(name="generated", client=client)
    assert isinstance(fetched, Task) and fetched.status["phase"] == "Pending"
    listed = tasks_list_tasks.sync(client=client, limit=10)
    assert isinstance(listed, TaskList) and [t.metadata.name for t in listed.items] == ["generated"]

    # The document's error shape parses too (the typed client cannot send an unknown field at all).
    refused = tasks_create_task.sync(client=client, body=TaskCreate.from_dict(
        {"name": "generated", "type": "ai", "prompt": "again"}))
    assert isinstance(refused, OrkaError) and refused.error.message == "task already exists"

    internal = function_client("internal")
    for phase in ("Running", "Succeeded"):
        if phase == "Succeeded":
            assert internal.post("/internal/v1/results/default/generated", data=b"hi!", headers=AUTH).status_code == 204
        assert internal.post("/internal/v1/status/default/generated", json={"phase": phase},
                             headers=AUTH).status_code == 204

    result = tasks_get_result.sync(name="generated", client=client)
    assert isinstance(result, TaskResult) and result.result == "hi!"
    stream = tasks_stream.sync_detailed(name="generated", client=client)
    events = [line.removeprefix("event: ") for line in stream.content.decode().splitlines() if line.startswith("event: ")]
    assert stream.status_code == 200 and events[0] == "task.created" and events[-1] == "task.finished"
