"""The worker's validation commands (a repository monitor's validation.commands): real processes in
the workspace, their exit codes and output, no worker credentials, a timeout; and the spec check."""

from __future__ import annotations

import pytest

from shared.worker.validation import run_validation, validation_prompt


def test_commands_run_in_the_workspace_and_report_exit_codes(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_should_not_leak")
    monkeypatch.setenv("SHOAL_WORKER_TOKEN", "worker-secret")
    (tmp_path / "Makefile").write_text("x")
    results = run_validation(["ls", "echo out; echo err >&2; exit 3", 'echo "[$GITHUB_TOKEN$SHOAL_WORKER_TOKEN]"',
                              "/no/such/program"], tmp_path, timeout=10)
    assert [(r["command"], r["exitCode"], r["passed"]) for r in results] == [
        ("ls", 0, True), ("echo out; echo err >&2; exit 3", 3, False),
        ('echo "[$GITHUB_TOKEN$SHOAL_WORKER_TOKEN]"', 0, True), ("/no/such/program", 127, False)]
    assert results[0]["output"] == "Makefile\n"
    assert results[1]["output"] == "out\nerr\n"
    assert results[2]["output"] == "[]\n"  # the worker's credentials are not in the command's environment


def test_a_command_over_the_timeout_fails(tmp_path):
    # 1.5 s for bash to start and echo on a loaded machine (0.5 s was all it had), far from the 30 s sleep
    [result] = run_validation(["echo started; sleep 30"], tmp_path, timeout=1.5)
    assert result["exitCode"] is None and result["passed"] is False
    assert result["output"].startswith("started\n") and result["output"].endswith("[timed out after 1.5s]")


def test_the_prompt_tells_the_reviewer_what_failed():
    results = [{"command": "make lint", "exitCode": 0, "passed": True, "output": "ok"},
               {"command": "make test", "exitCode": 2, "passed": False, "output": "FAIL: test_x\n"}]
    assert validation_prompt(results) == (
        "Validation commands ran in the workspace before this review; 1 failed, so the review must not pass:\n"
        "- `make lint`: passed (exit 0)\n- `make test`: FAILED (exit 2)\n  output (tail):\n    FAIL: test_x")
    assert validation_prompt(results[:1]).startswith("Validation commands ran in the workspace before this review; "
                                                     "all passed:")


@pytest.mark.parametrize("commands,reason", [
    ("make test", "must be a list of at most 20 commands"),
    (["make"] * 21, "must be a list of at most 20 commands"),
    (["make", " "], "must hold non-empty commands of at most 2000 characters"),
    ([1], "must hold non-empty commands of at most 2000 characters"),
])
def test_the_spec_check_names_the_field(commands, reason):
    from shared.errors import Invalid
    from shared.tasks.spec_checks import check_git_repo

    with pytest.raises(Invalid) as exc:
        check_git_repo({"workspace": {"gitRepo": "https://github.com/example/app.git", "validationCommands": commands}})
    assert exc.value.message == f"invalid spec.workspace.validationCommands: {reason}"
