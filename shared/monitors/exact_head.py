"""Pull-request activity on GitHub (`com.github.pull_request.{opened,synchronize,reopened,ready_for_review}`,
consumed by the `github` function) queues an exact-head run of every monitor that asks for one."""

from __future__ import annotations

from shared.errors import Conflict, NotFound
from shared.events.envelope import Event
from shared.logs import get_logger
from shared.monitors.runs import start_run
from shared.monitors.store import monitors, monitors_for_repo

log = get_logger("github")


def on_pull_request(event: Event) -> None:
    """Pull request activity: an exact-head run for every monitor of the repository that asks for one.

    Monitors are found through the repository index in every namespace (not only the label-trigger
    namespace: Orka #124). A monitor with a run already active skips this head; drafts count only
    when the monitor includes them.
    """
    payload = event.data if isinstance(event.data, dict) else {}
    pr = payload.get("pull_request") if isinstance(payload.get("pull_request"), dict) else {}
    repo = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    number, sha = pr.get("number"), (pr.get("head") or {}).get("sha")
    fields = {"delivery": event.id, "type": event.type, "subject": event.subject}
    if not isinstance(number, int) or not isinstance(sha, str) or not isinstance(repo.get("full_name"), str):
        log.info("pull request event without number, head or repository", extra={"fields": fields})
        return
    for namespace, name in monitors_for_repo(repo["full_name"]):
        record = monitors.get(namespace, name)
        if record is None:
            continue
        spec = record.doc.get("spec") or {}
        prs = (spec.get("targets") or {}).get("pullRequests") or {}
        if not (spec.get("review") or {}).get("exactEventEnabled") or (pr.get("draft") and not prs.get("includeDrafts")):
            continue
        try:
            run = start_run(namespace, name, trigger="webhook", target_kind="pull_request", target_number=number,
                            target_sha=sha.lower(), actor=f"github:{event.id}")
        except (Conflict, NotFound) as exc:
            log.info("exact-head run skipped", extra={"fields": {**fields, "monitor": f"{namespace}/{name}",
                                                                 "reason": exc.message}})
            continue
        log.info("exact-head run queued", extra={"fields": {**fields, "monitor": f"{namespace}/{name}",
                                                            "run": run.name}})
