"""Run scenarios and score them: the deterministic plumbing mode and the model mode.

- `deterministic`: the scripted provider replays each scenario's reference investigation (its tool
  calls, then its answer) through the real API. Checks: every reference call answers from the
  snapshot with the evidence it names, within the call caps; the flow completes with a valid body;
  the tool calls the API counted are the ones made, none failed; the reference answer scores by the
  rules (so the scenario's expectations agree with its own answer, and the patch passes or is
  refused by the allow-list as the scenario says). It measures no model quality.
- `model`: the configured provider (SHOAL_LLM_PROVIDER …) investigates; rules score the answer, and
  the judge (SHOAL_EVAL_JUDGE_MODEL) too when configured.

Results are appended to `results.jsonl` in the output directory as each scenario finishes, so an
interrupted run resumes where it stopped; scenarios run in parallel worker processes (each its own
platform) up to a bound.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

from shared.evals import judge as judging
from shared.evals import scoring
from shared.evals.harness import Answer, Platform
from shared.evals.scenario import DEFAULT_DIR, Scenario, load_all, load_scenario
from shared.evals.scoring import Check

RESULTS = "results.jsonl"
RUN = "run.json"
MODES = ("deterministic", "model")
NOT_QUALITY = ("Deterministic mode: a scripted model replays each scenario's reference investigation. "
               "This proves the plumbing (tools, API, finding, allow-list, scorer) and measures NO model quality.")


def subject_key(scenario: Scenario) -> str:
    """The engine's first user line for the scenario (the scripted provider picks its script by it)."""
    incident = scenario.incident
    return f"Investigate the failing {incident.kind} {incident.name!r} in namespace {scenario.namespace!r}."


def reference_script(scenarios: list[Scenario]) -> dict[str, list[dict[str, Any]]]:
    """SHOAL_MOCK_SCRIPT for the deterministic mode: per scenario, all reference calls, then the answer."""
    return {subject_key(s): [{"tool_calls": [{"name": c.tool, "arguments": c.args} for c in s.reference.calls]},
                             {"text": json.dumps(s.reference.finding)}] for s in scenarios}


def evidence_checks(scenario: Scenario) -> list[Check]:
    """Each reference call through the engine's own tools (caps and redaction included), directly."""
    from shared.agent.tools import render_result
    from shared.config import get_settings
    from shared.investigation.kube_tools import ToolBudget, kube_tools

    settings = get_settings()
    budget = ToolBudget(settings.incident_tool_cap_per_tool, settings.incident_tool_cap_total,
                        settings.incident_tool_max_failures)
    # As the API grants them: Kubernaut's controller holds the cluster-wide grant (cluster-scoped kinds
    # readable), the operator's /analyze does not.
    tools = kube_tools(scenario.namespace, budget,
                       cluster_wide=scenario.incident.facade == "kubernaut" or scenario.cluster_scoped)
    checks = []
    for call in scenario.reference.calls:
        name = f"evidence {call.tool}({json.dumps(call.args, sort_keys=True)})"
        tool = tools.get(call.tool)
        if tool is None:
            checks.append(Check(name, False, f"no tool {call.tool}"))
            continue
        result = tool.run(call.args)
        text = render_result(result)
        if not result.get("success"):
            checks.append(Check(name, False, str(result.get("error"))[:300]))
            continue
        missing = [e for e in call.expect if e not in text]
        checks.append(Check(name, not missing, f"missing {missing}" if missing else ""))
    return checks


def _plumbing(scenario: Scenario, answer: Answer) -> list[Check]:
    made = len(scenario.reference.calls)
    return [Check("tool calls counted", answer.tool_calls == made, f"{answer.tool_calls} (made {made})"),
            Check("no tool failed", answer.tool_failures == 0, f"{answer.tool_failures} failed"),
            Check("two LLM turns", answer.llm_calls == 2, f"{answer.llm_calls}")]


def _cost(model: str, prompt: int, completion: int, prices: dict[str, Any]) -> float | None:
    price = prices.get(model)
    if not isinstance(price, dict):
        return None
    return round((prompt * float(price.get("input", 0)) + completion * float(price.get("output", 0))) / 1e6, 6)


def evaluate(platform: Platform, scenario: Scenario, mode: str, judge: Any = None,
             prices: dict[str, Any] | None = None) -> dict[str, Any]:
    """One scenario through the API, scored; the result record written to results.jsonl."""
    platform.load(scenario)
    checks = evidence_checks(scenario) if mode == "deterministic" else []
    answer = platform.run(scenario)
    if mode == "deterministic" and answer.ok:
        checks += _plumbing(scenario, answer)
    checks += scoring.score(scenario, answer)
    verdict = None
    if judge is not None and answer.ok:
        try:
            verdict = judging.judge(scenario, answer, judge).as_dict()
        except Exception as exc:  # a judge outage or nonsense is recorded, never a crash of the run
            verdict = {"passed": False, "score": 0.0, "reason": f"judge error: {type(exc).__name__}: {exc}"[:500],
                       "error": True}
    passed = scoring.passed(checks) and (verdict is None or verdict["passed"])
    return {"id": scenario.id, "title": scenario.title, "tags": scenario.tags, "facade": scenario.incident.facade,
            "mode": mode, "passed": passed, "rules_passed": scoring.passed(checks),
            "checks": scoring.as_dicts(checks), "judge": verdict, "error": answer.error,
            "model": answer.model, "tool_calls": answer.tool_calls, "tool_failures": answer.tool_failures,
            "llm_calls": answer.llm_calls, "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "cost_usd": _cost(answer.model, answer.prompt_tokens, answer.completion_tokens, prices or {}),
            "seconds": answer.seconds,
            "answer": {k: v for k, v in asdict(answer).items() if k in (
                "summary", "root_cause", "recommendation", "causal_chain", "remediation_target", "resolved",
                "patch", "patch_target", "warnings", "confidence")}}


# -- a worker process (or the caller's own process) --------------------------------------------------
_worker: dict[str, Any] = {}


def _open(env: dict[str, str], mode: str) -> None:
    from shared.config import get_settings

    platform = Platform(env).__enter__()
    settings = get_settings()
    judge = judging.judge_provider(settings.eval_judge_model) if mode == "model" and settings.eval_judge_model \
        else None
    prices = json.loads(settings.eval_prices) if settings.eval_prices.strip() else {}
    _worker.update(platform=platform, judge=judge, prices=prices, mode=mode)


def _close() -> None:
    platform = _worker.pop("platform", None)
    if platform is not None:
        platform.__exit__(None, None, None)
    _worker.clear()


def _evaluate_in_worker(root: str, scenario_id: str) -> dict[str, Any]:
    return _safe_evaluate(load_scenario(Path(root) / scenario_id))


def _safe_evaluate(scenario: Scenario) -> dict[str, Any]:
    try:
        return evaluate(_worker["platform"], scenario, _worker["mode"], _worker["judge"], _worker["prices"])
    except Exception as exc:  # one broken scenario is a failed result, not a lost run
        return {"id": scenario.id, "title": scenario.title, "tags": scenario.tags, "facade": scenario.incident.facade,
                "mode": _worker["mode"], "passed": False, "rules_passed": False, "judge": None,
                "checks": [{"name": "completed", "ok": False, "detail": f"{type(exc).__name__}: {exc}"[:500]}],
                "error": f"{type(exc).__name__}: {exc}"[:500], "model": "", "tool_calls": 0, "tool_failures": 0,
                "llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None, "seconds": 0.0,
                "answer": {}}


def _init_worker(env: dict[str, str], mode: str) -> None:
    import atexit

    _open(env, mode)
    atexit.register(_close)


def done_ids(out: Path) -> set[str]:
    path = out / RESULTS
    if not path.exists():
        return set()
    ids = set()
    for line in path.read_text().splitlines():
        try:
            ids.add(json.loads(line)["id"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by an interruption: that scenario runs again
    return ids


def read_results(out: Path) -> list[dict[str, Any]]:
    path = out / RESULTS
    records: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
            records[record["id"]] = record
        except (ValueError, KeyError, TypeError):
            continue
    return [records[k] for k in sorted(records)]


def _describe(mode: str, env: dict[str, str]) -> dict[str, Any]:
    from shared.config import get_settings

    settings = get_settings()
    if mode == "deterministic":
        return {"mode": mode, "provider": "scripted (shoal-mock with the scenarios' reference script)",
                "judge": None, "note": NOT_QUALITY}
    from shared.llm.registry import describe_default

    default = describe_default(settings)
    provider, model = default["provider"], default["model"] or ""
    note = ("The mock provider without a script is the demo model: plain rules, not an LLM."
            if provider == "mock" else "")
    return {"mode": mode, "provider": provider, "model": model, "judge": settings.eval_judge_model or None,
            "rubric_version": judging.RUBRIC_VERSION if settings.eval_judge_model else None, "note": note}


def run(out: Path, *, mode: str = "deterministic", root: Path = DEFAULT_DIR, only: list[str] | None = None,
        tags: list[str] | None = None, parallel: int = 1, progress: Callable[[dict[str, Any]], None] | None = None
        ) -> list[dict[str, Any]]:
    """Run the scenarios not yet in `out`'s results (resumable); return every result in `out`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    scenarios = load_all(root, only, tags)
    out.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    script_dir = None
    if mode == "deterministic":
        script_dir = tempfile.TemporaryDirectory(prefix="shoal-eval-")
        script = Path(script_dir.name) / "script.json"
        script.write_text(json.dumps(reference_script(scenarios)))
        env = {"SHOAL_LLM_PROVIDER": "mock", "SHOAL_LLM_MODEL": "", "SHOAL_MOCK_SCRIPT": str(script)}
    description = _describe(mode, env)
    run_file = out / RUN
    if run_file.exists():
        previous = json.loads(run_file.read_text())
        if {k: previous.get(k) for k in ("mode", "provider", "model", "judge")} != \
                {k: description.get(k) for k in ("mode", "provider", "model", "judge")}:
            raise ValueError(f"{out} holds a run of another configuration ({previous.get('mode')}, "
                             f"{previous.get('provider')} {previous.get('model') or ''}): use another --out")
    else:
        run_file.write_text(json.dumps({**description, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                                       indent=1))
    todo = [s for s in scenarios if s.id not in done_ids(out)]
    try:
        with (out / RESULTS).open("a") as sink:
            for record in _records(todo, env, mode, root, parallel):
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                if progress:
                    progress(record)
    finally:
        if script_dir is not None:
            script_dir.cleanup()
    wanted = {s.id for s in scenarios}
    return [r for r in read_results(out) if r["id"] in wanted]


def _records(todo: list[Scenario], env: dict[str, str], mode: str, root: Path, parallel: int
             ) -> Iterator[dict[str, Any]]:
    if not todo:
        return
    if parallel <= 1 or len(todo) == 1:
        _open(env, mode)
        try:
            for scenario in todo:
                yield _safe_evaluate(scenario)
        finally:
            _close()
        return
    import multiprocessing

    # spawn: a fresh interpreter per worker (moto, the kube client and the settings are per process)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(parallel, len(todo)), mp_context=context, initializer=_init_worker,
                             initargs=(env, mode)) as pool:
        futures = [pool.submit(_evaluate_in_worker, str(root), s.id) for s in todo]
        for future in as_completed(futures):
            yield future.result()
