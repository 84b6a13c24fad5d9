"""The init step of a Kubernetes task Job: download the task's workspace inputs into SHOAL_WORKSPACE.

Runs in the Shoal image with the worker's environment (SHOAL_TASK_NAMESPACE, SHOAL_TASK_NAME,
SHOAL_INTERNAL_URL) and credential (the pod's ServiceAccount token); reads
`/internal/v1/workspace-inputs/<namespace>/<task>` for the list, then each file's bytes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from shared.executor.workspace_inputs import write
from shared.models.worker_contract import INTERNAL_URL_ENV, TASK_NAME_ENV, TASK_NAMESPACE_ENV, WORKSPACE_ENV
from shared.workerapi.client import worker_token


def main() -> int:
    namespace, task = os.environ[TASK_NAMESPACE_ENV], os.environ[TASK_NAME_ENV]
    base = os.environ[INTERNAL_URL_ENV].rstrip("/") + f"/internal/v1/workspace-inputs/{namespace}/{task}"
    directory = Path(os.environ.get(WORKSPACE_ENV) or "/workspace")
    with httpx.Client(timeout=300.0, headers={"Authorization": f"Bearer {worker_token()}"}) as http:
        listing = http.get(base)
        listing.raise_for_status()
        for index, entry in enumerate(listing.json()["files"]):
            response = http.get(f"{base}/{index}")
            response.raise_for_status()
            write(directory, entry["path"], response.content)
            print(f"workspace input {entry['path']} ({len(response.content)} bytes)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
