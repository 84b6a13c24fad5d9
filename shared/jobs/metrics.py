"""The jobs dialect's counters in Prometheus text, for the platform's `/metrics`.

The counters are the ones `/api/stats` reads (shared.store.counters, kept with atomic ADDs at submit
and by the reactor at each finish), so every replica reports the same numbers: one GetItem for
SHOAL_DEFAULT_NAMESPACE, where API-key and webhook jobs run. Appended to the incidents function's
`/metrics` (the gateway's `/metrics`).
"""

from __future__ import annotations

from shared.config import get_settings

_GROUPS = (("type", "shoal_jobs_submitted_by_type_total", "Jobs submitted, by job type"),
           ("source", "shoal_jobs_submitted_by_source_total", "Jobs submitted, by source"),
           ("model", "shoal_jobs_submitted_by_model_total", "Jobs submitted, by configured model"),
           ("status", "shoal_jobs_finished_total", "Jobs finished, by status"))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition() -> str:
    from shared.jobs.stores import STATS_SET
    from shared.store import counters

    namespace = get_settings().default_namespace
    raw = counters.read(STATS_SET, namespace)
    ns = _label(namespace)
    total = int(raw.get("total", 0))
    finished = sum(v for k, v in raw.items() if k.startswith("status:"))
    lines = ["# HELP shoal_jobs_submitted_total Jobs submitted (labrats dialect)",
             "# TYPE shoal_jobs_submitted_total counter", f'shoal_jobs_submitted_total{{namespace="{ns}"}} {total}']
    for group, name, text in _GROUPS:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} counter"]
        for key, value in sorted(raw.items()):
            prefix, _, item = key.partition(":")
            if prefix == group and item:
                lines.append(f'{name}{{namespace="{ns}",{group}="{_label(item)}"}} {int(value)}')
    lines += ["# HELP shoal_jobs_in_flight Jobs submitted and not finished",
              "# TYPE shoal_jobs_in_flight gauge", f'shoal_jobs_in_flight{{namespace="{ns}"}} {max(0, total - finished)}']
    return "\n".join(lines) + "\n"
