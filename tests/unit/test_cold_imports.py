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
         "prometheus_client")
PROBE = """
import json, sys
from functions_framework import create_app
app = create_app(target=sys.argv[1], source=sys.argv[2])
client = app.test_client()
assert client.get('/healthz').status_code == 200
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


@pytest.mark.parametrize("name", [f.name for f in functions()])
def test_loading_a_function_and_answering_healthz_imports_no_heavy_library(name):
    source = ROOT / "functions" / name / "main.py"
    out = subprocess.run([sys.executable, "-c", PROBE, name, str(source)], capture_output=True, text=True,
                         cwd=ROOT, check=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), f"{name} imports {sorted(loaded & set(HEAVY))} at start"
