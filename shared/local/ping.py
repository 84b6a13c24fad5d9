"""The local PingSource: deliver `knative/pingsource.yaml`'s ticks to their sink services.

The cron schedule is Knative's business in a cluster; locally every source ticks every
SHOAL_LOCAL_TICK_SECONDS, so timeouts and retries show up within seconds under `make run`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.events.envelope import build, to_http
from shared.local.manifests import ROOT, load_documents
from shared.logs import get_logger

log = get_logger("ping")


@dataclass(frozen=True)
class PingDef:
    name: str
    sink: str
    data: object


def ping_sources(root: Path = ROOT) -> list[PingDef]:
    path = root / "knative" / "pingsource.yaml"
    if not path.exists():
        return []
    found = []
    for doc in load_documents(path):
        if doc.get("kind") != "PingSource":
            continue
        raw = doc["spec"].get("data", "")
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = raw
        found.append(PingDef(doc["metadata"]["name"], doc["spec"]["sink"]["ref"]["name"], data))
    return found


class Pinger:
    def __init__(self, sources: list[PingDef], service_url: Callable[[str], str | None], interval: float) -> None:
        self.sources, self.service_url, self.interval = sources, service_url, interval
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=30.0)

    def start(self) -> None:
        threading.Thread(target=self._run, name="ping", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def tick(self) -> None:
        for source in self.sources:
            url = self.service_url(source.sink)
            if url is None:
                continue
            event = build("dev.knative.sources.ping", source.data,
                          source=f"/apis/v1/namespaces/shoal/pingsources/{source.name}")
            headers, body = to_http(event)
            try:
                self._client.post(url, headers=headers, content=body)
            except httpx.HTTPError as exc:
                log.warning("tick not delivered", extra={"fields": {"sink": source.sink, "error": str(exc)}})

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
