"""The deterministic mode over every scenario: the plumbing (tools answer from the snapshot, both
facades' flows complete, the allow-list keeps or refuses each patch as the scenario says, the
scorer agrees with each reference answer). In process, one platform, the scenarios in sequence.

It measures no model quality (the scripted model replays each scenario's own reference answer).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from shared.evals import report, runner
from shared.evals.scenario import DEFAULT_DIR, load_all


def test_every_scenario_passes_the_plumbing_in_deterministic_mode(tmp_path):
    records = runner.run(tmp_path / "run", mode="deterministic")
    scenarios = load_all()
    assert len(scenarios) >= 40
    failures = {r["id"]: [c for c in r["checks"] if not c["ok"]] for r in records if not r["passed"]}
    assert failures == {}
    assert sorted(r["id"] for r in records) == sorted(s.id for s in scenarios)
    # every record went through the API with the scripted model and counted its calls
    by_id = {s.id: s for s in scenarios}
    for record in records:
        assert record["model"] == "shoal-mock", record["id"]
        assert record["tool_calls"] == len(by_id[record["id"]].reference.calls), record["id"]
        assert record["prompt_tokens"] > 0 and record["seconds"] > 0, record["id"]
    assert {r["facade"] for r in records} == {"kubernaut", "analyze"}
    summary = report.write(tmp_path / "run", records)
    assert summary["overall"] == {"passed": len(records), "total": len(records), "rate": 1.0}
    assert summary["run"]["note"] == runner.NOT_QUALITY
    markdown = (tmp_path / "run" / "report.md").read_text()
    assert "measures NO model quality" in markdown and "**Pass rate: 100.0%" in markdown
    # resumable: a second run finds every scenario done and runs none (no new result lines)
    lines = (tmp_path / "run" / runner.RESULTS).read_text().count("\n")
    again = runner.run(tmp_path / "run", mode="deterministic")
    assert (tmp_path / "run" / runner.RESULTS).read_text().count("\n") == lines
    assert [r["id"] for r in again] == [r["id"] for r in records]


def _broken(root: Path, source: str, name: str, change) -> None:
    data = yaml.safe_load((DEFAULT_DIR / source / "scenario.yaml").read_text())
    data["id"] = name
    change(data)
    (root / name).mkdir()
    (root / name / "scenario.yaml").write_text(yaml.safe_dump(data))


def test_plumbing_regressions_fail_the_run(tmp_path):
    root = tmp_path / "scenarios"
    root.mkdir()

    def evidence_missing(data):  # the snapshot does not hold what the reference call expects
        data["reference"]["calls"][1]["expect"] = ["128Mi"]

    def patch_refused(data):  # the scenario expects a fix but the reference patch is not allow-listed
        data["reference"]["finding"]["patch"]["patch"] = {"spec": {"template": {"spec": {"containers": [
            {"name": "worker", "securityContext": {"privileged": True}}]}}}}

    def tool_fails(data):  # a reference call the tools cannot answer (a Secret is never readable)
        data["reference"]["calls"].append({"tool": "get_resource", "args": {"kind": "Secret", "name": "x"}})

    _broken(root, "oom-memory-limit", "broken-evidence", evidence_missing)
    _broken(root, "oom-memory-limit", "broken-patch", patch_refused)
    _broken(root, "oom-memory-limit", "broken-tool", tool_fails)
    shutil.copytree(DEFAULT_DIR / "image-pull-unauthorized", root / "image-pull-unauthorized")
    records = {r["id"]: r for r in runner.run(tmp_path / "run", mode="deterministic", root=root)}

    def failing(name):
        return [(c["name"], c["detail"]) for c in records[name]["checks"] if not c["ok"]]

    assert failing("broken-evidence") == [
        ('evidence get_resource({"kind": "Deployment", "name": "worker"})', "missing ['128Mi']")]
    assert failing("broken-patch") == [("patch returned", "no patch survived (patch fields removed by the "
                                        "allow-list: spec.template.spec.containers[0].securityContext; patch "
                                        "dropped: nothing in the proposed patch is an allowed change (container "
                                        "image, env, resources, probes, or replicas))")]
    assert [name for name, _ in failing("broken-tool")] == [
        'evidence get_resource({"kind": "Secret", "name": "x"})', "no tool failed"]
    assert records["image-pull-unauthorized"]["passed"] is True
    summary = report.write(tmp_path / "run", list(records.values()))
    assert summary["overall"] == {"passed": 1, "total": 4, "rate": 0.25}
    assert [f["id"] for f in summary["failed"]] == ["broken-evidence", "broken-patch", "broken-tool"]


def test_a_run_directory_of_another_configuration_is_not_resumed(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / runner.RUN).write_text(json.dumps({"mode": "model", "provider": "openai", "model": "gpt-4.1",
                                              "judge": None}))
    with pytest.raises(ValueError) as error:
        runner.run(out, mode="deterministic", only=["oom-memory-limit"])
    assert str(error.value) == f"{out} holds a run of another configuration (model, openai gpt-4.1): use another --out"
    assert not (out / runner.RESULTS).exists()
