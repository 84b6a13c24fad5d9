"""`python -m shared.evals`: validate, compare, and the run command's usage errors (no platform started)."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from shared.evals import report
from shared.evals.__main__ import main
from shared.evals.scenario import DEFAULT_DIR


def record(id_: str, passed: bool, tags: list[str], seconds: float, tool_calls: int = 3) -> dict:
    return {"id": id_, "title": id_, "tags": tags, "facade": "kubernaut", "mode": "model", "passed": passed,
            "rules_passed": passed, "checks": [{"name": "mentions x", "ok": passed, "detail": ""}], "judge": None,
            "error": "", "model": "m", "tool_calls": tool_calls, "tool_failures": 0, "llm_calls": 2,
            "prompt_tokens": 100, "completion_tokens": 10, "cost_usd": 0.001, "seconds": seconds, "answer": {}}


def write_run(path, model: str, records: list[dict]) -> None:
    path.mkdir()
    (path / "run.json").write_text(json.dumps({"mode": "model", "provider": "openai", "model": model, "judge": None}))
    report.write(path, records)


def test_validate_counts_scenarios_and_tags():
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0
    assert result.output.startswith("4") and " scenarios valid; tags: " in result.output
    assert "chain-of-causation 6" in result.output and "self-resolved 3" in result.output


def test_validate_names_the_file_and_field_of_a_bad_scenario(tmp_path):
    shutil.copytree(DEFAULT_DIR / "oom-memory-limit", tmp_path / "oom-memory-limit")
    path = tmp_path / "oom-memory-limit" / "scenario.yaml"
    path.write_text(path.read_text().replace("tags: [oom, crashloop]", "tags: [oom, flaky]"))
    result = CliRunner().invoke(main, ["validate", "--scenarios", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output == (f"error: {path}: tags: Value error, unknown tag(s) flaky; known: autoscaling, "
                             "chain-of-causation, config, crashloop, dependency, image-pull, job, network, no-fix, "
                             "node, oom, probe, quota, red-herring, rollout, scheduling, security, self-resolved, "
                             "storage\n")


def test_run_refuses_an_unknown_scenario_before_starting_anything(tmp_path):
    result = CliRunner().invoke(main, ["run", "--scenario", "no-such-thing", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.output.endswith("error: no such scenario: no-such-thing\n")
    assert not (tmp_path / "run" / "results.jsonl").exists()


def test_compare_shows_rates_per_tag_latency_and_the_scenarios_that_changed(tmp_path):
    write_run(tmp_path / "a", "model-a", [record("oom", True, ["oom"], 2.0), record("net", False, ["network"], 4.0),
                                          record("cfg", True, ["config"], 1.0)])
    write_run(tmp_path / "b", "model-b", [record("oom", False, ["oom"], 3.0), record("net", True, ["network"], 5.0),
                                          record("cfg", True, ["config"], 1.0, tool_calls=5)])
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 0
    assert result.output == (
        "# Evaluation comparison\n\nA: model openai model-a\nB: model openai model-b\n\n"
        "| | A | B | change |\n|---|---|---|---|\n"
        "| overall | 66.7% (2/3) | 66.7% (2/3) | +0.0 pts |\n"
        "| config | 100.0% (1/1) | 100.0% (1/1) | +0.0 pts |\n"
        "| network | 0.0% (0/1) | 100.0% (1/1) | +100.0 pts |\n"
        "| oom | 100.0% (1/1) | 0.0% (0/1) | -100.0 pts |\n"
        "| p50 latency (s) | 2.0 | 3.0 | |\n| p95 latency (s) | 4.0 | 5.0 | |\n"
        "| tool calls (mean) | 3.0 | 3.67 | |\n| cost (USD) | 0.003 | 0.003 | |\n\n"
        "Now passing (1): net\nNow failing (1): oom\n")


def test_compare_of_a_directory_without_a_report_is_a_usage_error(tmp_path):
    (tmp_path / "a").mkdir()
    write_run(tmp_path / "b", "m", [record("oom", True, ["oom"], 1.0)])
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 2 and result.output.startswith("error: cannot read the reports: ")


def test_the_markdown_report_lists_failures_with_their_reasons(tmp_path):
    write_run(tmp_path / "a", "m", [record("oom", True, ["oom"], 2.0), record("net", False, ["network"], 4.0)])
    markdown = (tmp_path / "a" / "report.md").read_text()
    assert "**Pass rate: 50.0% (1/2)**" in markdown
    assert "| latency p50 / p95 (s) | 2.0 / 4.0 |" in markdown
    assert "| cost (USD) | 0.002 |" in markdown
    assert markdown.endswith("## Failures\n\n- **net**: mentions x\n")


def test_validate_refuses_an_object_the_tools_could_never_read(tmp_path):
    shutil.copytree(DEFAULT_DIR / "secret-not-found", tmp_path / "secret-not-found")
    path = tmp_path / "secret-not-found" / "scenario.yaml"
    path.write_text(path.read_text().replace("  events:\n", "  objects:\n    - {kind: Secret, metadata: {name: x}}\n"
                                                            "  events:\n", 1))
    result = CliRunner().invoke(main, ["validate", "--scenarios", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}: cluster.objects: Value error, kind Secret is not one the "
                                    "investigation tools read; one of ConfigMap, CronJob, DaemonSet, ")
