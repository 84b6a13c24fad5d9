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
         "google.genai")
# One interpreter loads functions-framework (which every function loads first anyway), checks that
# it brought no heavy library, then forks a fresh child per function: each child loads only its own
# function, as a cold container would, without paying for a new interpreter and Flask each time.
PROBE = """
import json, os, sys
from functions_framework import create_app
heavy = set(json.loads(sys.argv[1]))
def names():  # top-level packages, and their subpackages (google.genai beside functions-framework's google.cloud)
    return {p for m in sys.modules for p in (m.split('.')[0], '.'.join(m.split('.')[:2]))}
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
        os.write(write, json.dumps(sorted(names())).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        out[name] = json.loads(pipe.read())
    assert os.waitpid(pid, 0)[1] == 0, name
print(json.dumps(out))
"""
NAMES = [f.name for f in functions()]


@pytest.fixture(scope="module")
def loaded_by_function() -> dict[str, list[str]]:
    sources = {name: str(ROOT / "functions" / name / "main.py") for name in NAMES}
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HEAVY), json.dumps(sources)], capture_output=True,
                         text=True, cwd=ROOT, check=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", NAMES)
def test_loading_a_function_and_answering_healthz_imports_no_heavy_library(name, loaded_by_function):
    loaded = set(loaded_by_function[name])
    assert "functions_framework" in loaded and "shared" in loaded  # the child really loaded its function
    assert not loaded & set(HEAVY), f"{name} imports {sorted(loaded & set(HEAVY))} at start"
