"""Create → Running latency with the local executor: POST /api/v1/tasks until GET shows Running.

In one process against moto: the tasks, dispatcher and internal functions as functions-framework
apps, and a minimal broker (an HTTP sink that hands each event to the dispatcher, as Knative's
Trigger would). Workers are real subprocesses reporting through the internal function. Reports
the median and p90 over BENCH_RUNS tasks.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
TOKEN = "bench"


def serve(app) -> tuple[str, object]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def main() -> int:
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
                       "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN, "SHOAL_EXECUTOR": "local"})
    from functions_framework import create_app
    from moto import mock_aws
    from werkzeug import Request, Response

    from shared.config import reset_settings
    from shared.store.bootstrap import ensure_state

    def app(name: str):
        sys.modules.pop("main", None)
        return create_app(target=name, source=str(ROOT / "functions" / name / "main.py"))

    with mock_aws():
        ensure_state()
        tasks, dispatcher, internal = app("tasks").test_client(), app("dispatcher"), app("internal")
        dispatch = dispatcher.test_client()

        @Request.application
        def broker(request):
            if request.headers.get("ce-type") in ("dev.shoal.task.created", "dev.shoal.task.retried"):
                threading.Thread(target=dispatch.post, kwargs={"data": request.get_data(),
                                                               "headers": dict(request.headers)}).start()
            return Response(status=202)

        sink, _ = serve(broker)
        internal_url, _ = serve(internal)
        os.environ.update({"K_SINK": sink, "SHOAL_INTERNAL_URL": internal_url})
        reset_settings()
        logging.getLogger("shoal").setLevel(logging.WARNING)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        samples = []
        for i in range(RUNS):
            name = f"bench-{i}"
            started = time.perf_counter()
            assert tasks.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "hi"},
                              headers=headers).status_code == 201
            while tasks.get(f"/api/v1/tasks/{name}", headers=headers).get_json()["status"]["phase"] == "Pending":
                time.sleep(0.002)
            samples.append(time.perf_counter() - started)
        samples.sort()
        print(f"create → Running (local executor), {RUNS} tasks: median {statistics.median(samples) * 1000:.0f} ms, "
              f"p90 {samples[int(len(samples) * 0.9) - 1] * 1000:.0f} ms")
        time.sleep(3)  # let the last workers report before moto goes away
    return 0


if __name__ == "__main__":
    sys.exit(main())
