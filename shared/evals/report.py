"""The run's figures (pass rate overall, per tag and per facade; tool calls, tokens, cost, latency
p50/p95) as `report.json` and `report.md`, and the comparison of two runs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

REPORT_JSON = "report.json"
REPORT_MD = "report.md"


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _rate(records: list[dict[str, Any]]) -> dict[str, Any]:
    passed = sum(1 for r in records if r["passed"])
    return {"passed": passed, "total": len(records), "rate": round(passed / len(records), 4) if records else None}


def summarise(records: list[dict[str, Any]], run: dict[str, Any]) -> dict[str, Any]:
    tags = sorted({t for r in records for t in r["tags"]})
    costs = [r.get("cost_usd") for r in records]
    seconds = [float(r["seconds"]) for r in records if r.get("seconds")]
    judged = [r for r in records if r.get("judge") is not None]
    return {
        "run": run,
        "overall": _rate(records),
        "rules": {"passed": sum(1 for r in records if r["rules_passed"]), "total": len(records)},
        "judge": ({"passed": sum(1 for r in judged if r["judge"]["passed"]), "total": len(judged),
                   "mean_score": round(sum(r["judge"]["score"] for r in judged) / len(judged), 4)}
                  if judged else None),
        "by_tag": {tag: _rate([r for r in records if tag in r["tags"]]) for tag in tags},
        "by_facade": {f: _rate([r for r in records if r["facade"] == f]) for f in sorted({r["facade"] for r in records})},
        "tool_calls": {"total": sum(r["tool_calls"] for r in records),
                       "mean": round(sum(r["tool_calls"] for r in records) / len(records), 2) if records else None},
        "tokens": {"prompt": sum(r["prompt_tokens"] for r in records),
                   "completion": sum(r["completion_tokens"] for r in records)},
        "cost_usd": round(sum(costs), 6) if costs and all(c is not None for c in costs) else None,
        "latency_seconds": {"p50": percentile(seconds, 50), "p95": percentile(seconds, 95)},
        "failed": [{"id": r["id"], "why": _why(r)} for r in records if not r["passed"]],
        "scenarios": records,
    }


def _why(record: dict[str, Any]) -> str:
    failed = [f"{c['name']}" + (f" ({c['detail']})" if c.get("detail") else "") for c in record["checks"] if not c["ok"]]
    judge = record.get("judge")
    if judge is not None and not judge["passed"]:
        failed.append(f"judge: {judge['reason']}")
    return "; ".join(failed)[:400]


def _pct(rate: dict[str, Any]) -> str:
    return "–" if rate["rate"] is None else f"{rate['rate'] * 100:.1f}% ({rate['passed']}/{rate['total']})"


def markdown(summary: dict[str, Any]) -> str:
    run = summary["run"]
    lines = ["# Shoal investigation evaluation", ""]
    lines.append(f"- mode: **{run.get('mode')}**; provider: {run.get('provider')} {run.get('model') or ''}".rstrip())
    if run.get("judge"):
        lines.append(f"- judge: {run['judge']} (rubric v{run.get('rubric_version')})")
    if run.get("note"):
        lines.append(f"- **{run['note']}**")
    lines += ["", f"**Pass rate: {_pct(summary['overall'])}**", ""]
    if summary["judge"]:
        j = summary["judge"]
        lines.append(f"Rules: {summary['rules']['passed']}/{summary['rules']['total']}; judge: "
                     f"{j['passed']}/{j['total']} (mean score {j['mean_score']}).")
        lines.append("")
    latency = summary["latency_seconds"]
    lines += ["| figure | value |", "|---|---|",
              f"| tool calls (total / mean) | {summary['tool_calls']['total']} / {summary['tool_calls']['mean']} |",
              f"| tokens (prompt / completion) | {summary['tokens']['prompt']} / {summary['tokens']['completion']} |",
              f"| cost (USD) | {summary['cost_usd'] if summary['cost_usd'] is not None else 'unknown'} |",
              f"| latency p50 / p95 (s) | {latency['p50']} / {latency['p95']} |", "",
              "| tag | pass rate |", "|---|---|"]
    lines += [f"| {tag} | {_pct(rate)} |" for tag, rate in summary["by_tag"].items()]
    lines += ["", "| facade | pass rate |", "|---|---|"]
    lines += [f"| {facade} | {_pct(rate)} |" for facade, rate in summary["by_facade"].items()]
    lines += ["", "## Scenarios", "", "| scenario | result | tool calls | tokens | seconds |", "|---|---|---|---|---|"]
    for r in summary["scenarios"]:
        lines.append(f"| {r['id']} | {'pass' if r['passed'] else 'FAIL'} | {r['tool_calls']} | "
                     f"{r['prompt_tokens'] + r['completion_tokens']} | {r['seconds']} |")
    if summary["failed"]:
        lines += ["", "## Failures", ""]
        lines += [f"- **{f['id']}**: {f['why']}" for f in summary["failed"]]
    return "\n".join(lines) + "\n"


def write(out: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    run = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    summary = summarise(records, run)
    (out / REPORT_JSON).write_text(json.dumps(summary, indent=1))
    (out / REPORT_MD).write_text(markdown(summary))
    return summary


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Markdown: run B against run A (overall, per tag, the scenarios whose result changed)."""
    def delta(x: dict[str, Any] | None, y: dict[str, Any] | None) -> str:
        if not x or not y or x.get("rate") is None or y.get("rate") is None:
            return "–"
        return f"{(y['rate'] - x['rate']) * 100:+.1f} pts"

    lines = ["# Evaluation comparison", "",
             f"A: {a['run'].get('mode')} {a['run'].get('provider')} {a['run'].get('model') or ''}".rstrip(),
             f"B: {b['run'].get('mode')} {b['run'].get('provider')} {b['run'].get('model') or ''}".rstrip(), "",
             "| | A | B | change |", "|---|---|---|---|",
             f"| overall | {_pct(a['overall'])} | {_pct(b['overall'])} | {delta(a['overall'], b['overall'])} |"]
    for tag in sorted(set(a["by_tag"]) | set(b["by_tag"])):
        x, y = a["by_tag"].get(tag), b["by_tag"].get(tag)
        lines.append(f"| {tag} | {_pct(x) if x else '–'} | {_pct(y) if y else '–'} | {delta(x, y)} |")
    for name, key in (("p50 latency (s)", "p50"), ("p95 latency (s)", "p95")):
        lines.append(f"| {name} | {a['latency_seconds'][key]} | {b['latency_seconds'][key]} | |")
    lines.append(f"| tool calls (mean) | {a['tool_calls']['mean']} | {b['tool_calls']['mean']} | |")
    lines.append(f"| cost (USD) | {a['cost_usd']} | {b['cost_usd']} | |")
    before = {r["id"]: r["passed"] for r in a["scenarios"]}
    after = {r["id"]: r["passed"] for r in b["scenarios"]}
    fixed = sorted(i for i in before.keys() & after.keys() if after[i] and not before[i])
    broke = sorted(i for i in before.keys() & after.keys() if before[i] and not after[i])
    lines += ["", f"Now passing ({len(fixed)}): {', '.join(fixed) or '–'}",
              f"Now failing ({len(broke)}): {', '.join(broke) or '–'}"]
    only = sorted(before.keys() ^ after.keys())
    if only:
        lines.append(f"In one run only: {', '.join(only)}")
    return "\n".join(lines) + "\n"


def load(out: Path) -> dict[str, Any]:
    return json.loads((out / REPORT_JSON).read_text())
