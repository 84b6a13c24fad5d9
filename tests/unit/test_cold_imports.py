"""Cold start stays small: loading a function imports none of the heavy libraries (they load on use).

This checks what is imported, not how long it takes; the timing lives in `make bench`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.local.manifests import functions

ROOT = Path(__file__).resolve().parents[2]
# (cloudevents is not listed: functions-framework itself imports it.)
# (opentelemetry: only when OTEL_* turns tracing on; prometheus_client: on the first non-probe request.)
HEAVY = ("boto3", "botocore", "openai", "anthropic", "kubernetes", "pydantic_settings", "mcp", "opentelemetry",
         "prometheus_client",
         # httpx imports its CLI (rich, pygments) unless shared/__init__.py marks it absent
         "rich", "pygments",
         # the Gemini SDK (functions-framework itself imports google.cloud, so the package is named)
         "google.genai",
         # httpx (with idna and http.cookiejar): loads with the first outbound client (shared.net.outbound)
         "httpx",
         # asyncio: with the MCP SDK on the first /mcp call (shared.mcp_http) and the first MCP tool call
         "asyncio",
         # pydantic's RootModel is built at import, which scans every installed distribution for pydantic
         # plugins: list answers are documented by doc_models modules, loaded with /openapi.json
         "pydantic.root_model")
# One interpreter loads functions-framework (which every function loads first anyway), checks that
# it brought no heavy library, then forks a fresh child per function: each child loads only its own
# function, as a cold container would, without paying for a new interpreter and Flask each time.
PROBE = """
import json, os, sys
from functions_framework import create_app
heavy = set(json.loads(sys.argv[1]))
def names():  # top-level packages, and their subpackages (google.genai beside functions-framework's google.cloud)
    # (a None entry marks a module absent, as shared/__init__.py does with httpx._main)
    return {p for m, module in sys.modules.items() if module is not None
            for p in (m.split('.')[0], '.'.join(m.split('.')[:2]))}
def built_models():  # pydantic models whose validator exists: Shoal's are built at first use (shared.models.base)
    if "pydantic" not in sys.modules:
        return 0, []
    from pydantic import BaseModel
    seen, todo = set(), [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    shoal = [m for m in seen if m.__module__.startswith("shared.")]
    return len(shoal), sorted(f"{m.__module__}.{m.__qualname__}" for m in seen if m.__dict__["__pydantic_complete__"])
base = names()
assert not base & heavy, sorted(base & heavy)
out = {}
for name, source in json.loads(sys.argv[2]).items():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        app = create_app(target=name, source=source)
        assert app.test_client().get('/healthz').status_code == 200
        modules = sorted(names())  # (before built_models, which may import pydantic itself)
        models, built = built_models()
        os.write(write, json.dumps({"modules": modules, "models": models, "built": built}).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        out[name] = json.loads(pipe.read())
    assert os.waitpid(pid, 0)[1] == 0, name
print(json.dumps(out))
"""
NAMES = [f.name for f in functions()]
HTTP = sorted(f.name for f in functions() if f.kind == "http")


@pytest.fixture(scope="module")
def loaded_by_function() -> dict[str, dict]:
    sources = {name: str(ROOT / "functions" / name / "main.py") for name in NAMES}
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HEAVY), json.dumps(sources)], capture_output=True,
                         text=True, cwd=ROOT, check=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", NAMES)
def test_loading_a_function_and_answering_healthz_imports_no_heavy_library(name, loaded_by_function):
    loaded = set(loaded_by_function[name]["modules"])
    assert "functions_framework" in loaded and "shared" in loaded  # the child really loaded its function
    assert not loaded & set(HEAVY), f"{name} imports {sorted(loaded & set(HEAVY))} at start"


@pytest.mark.parametrize("name", NAMES)
def test_loading_a_function_and_answering_healthz_builds_no_pydantic_model(name, loaded_by_function):
    """A model built at import costs its validator and serializer, and the first one scans every
    installed distribution for pydantic plugins: Shoal's models derive from shared.models.base.Model
    (defer_build) and no module builds one at import (e.g. a default `= SomeModel()`)."""
    assert loaded_by_function[name]["built"] == [], f"{name} builds models at start"


@pytest.mark.parametrize("name", HTTP)
def test_an_http_function_answers_its_first_healthz_without_pydantic(name, loaded_by_function):
    """pydantic's import is ~45 ms of a function's cold start, its model classes ~0.3 ms each: an HTTP
    function's routes name their models by import path (shared.http.models.resolve), loaded with the
    first request that validates a body or query, or with /openapi.json. Every route is registered
    (the probe's function loaded its whole route table); only the models wait."""
    loaded = set(loaded_by_function[name]["modules"])
    assert "shared.http" in loaded  # the child really loaded its routes
    assert not loaded & {"pydantic", "pydantic_core",
                         "annotated_types"}, f"{name} imports pydantic by /healthz"
