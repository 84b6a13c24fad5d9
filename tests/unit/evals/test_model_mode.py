"""The model mode and the judge against a scripted LLM wire server, through the real openai and
anthropic SDKs: the investigation's provider and the judge (SHOAL_EVAL_JUDGE_MODEL) as configured."""

from __future__ import annotations

import json

import pytest

from shared.config import reset_settings
from shared.evals import judge, runner
from shared.evals.harness import Answer
from shared.evals.scenario import load_all

VERDICT_TEXT = json.dumps({"verdict": "pass", "score": 0.9, "reason": "Same cause: the 64Mi limit."})
VERDICT_TOKENS = len(VERDICT_TEXT) // 4  # what the scripted server reports
VERDICT = {"text": json.dumps({"verdict": "pass", "score": 0.9, "reason": "Same cause: the 64Mi limit."})}


@pytest.fixture
def oom():
    [scenario] = load_all(only=["oom-memory-limit"])
    return scenario


def answer() -> Answer:
    return Answer(facade="kubernaut", ok=True, summary="worker restarts", root_cause="OOMKilled under its 64Mi limit.",
                  causal_chain=["limit 64Mi", "OOMKilled"], recommendation="Raise the memory limit.")


def test_the_judge_on_openai_gets_the_rubric_and_the_expected_cause(monkeypatch, scripted_llm, oom):
    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", scripted_llm.url + "/v1")
    reset_settings()
    scripted_llm.script = [VERDICT]
    verdict = judge.judge(oom, answer(), judge.judge_provider("gpt-4.1"))
    assert verdict.as_dict() == {"passed": True, "score": 0.9, "reason": "Same cause: the 64Mi limit.",
                                 "prompt_tokens": 11, "completion_tokens": VERDICT_TOKENS}
    [request] = scripted_llm.requests
    assert request["path"] == "/v1/chat/completions" and request["json"]["model"] == "gpt-4.1"
    assert request["json"]["temperature"] == 0.0
    system, user = request["json"]["messages"]
    assert system == {"role": "system", "content": judge.RUBRIC}
    assert user["role"] == "user" and user["content"] == judge.prompt(oom, answer())
    assert f"Expected root cause: {oom.expect.root_cause}" in user["content"]
    assert '"root_cause": "OOMKilled under its 64Mi limit."' in user["content"]


def test_the_judge_on_a_named_anthropic_provider(monkeypatch, scripted_llm, oom):
    monkeypatch.setenv("SHOAL_LLM_PROVIDERS", json.dumps({"judge": {
        "type": "anthropic", "baseURL": scripted_llm.url, "apiKeyEnv": "JUDGE_KEY"}}))
    monkeypatch.setenv("JUDGE_KEY", "sk-ant-test")
    reset_settings()
    scripted_llm.script = [{"text": "```json\n" + json.dumps({"verdict": "fail", "score": 0.1,
                                                              "reason": "It names only the symptom."}) + "\n```"}]
    verdict = judge.judge(oom, answer(), judge.judge_provider("judge/claude-sonnet-4-5"))
    assert (verdict.passed, verdict.score, verdict.reason) == (False, 0.1, "It names only the symptom.")
    [request] = scripted_llm.requests
    assert request["path"] == "/v1/messages" and request["headers"]["Authorization"] == "Bearer sk-ant-test"
    assert request["json"]["model"] == "claude-sonnet-4-5" and request["json"]["system"] == judge.RUBRIC


def test_model_mode_runs_the_configured_provider_scores_and_judges(monkeypatch, scripted_llm, tmp_path):
    """One scenario end to end: the investigation and the judge both on the scripted OpenAI server."""
    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("SHOAL_LLM_MODEL", "gpt-4.1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", scripted_llm.url + "/v1")
    monkeypatch.setenv("SHOAL_EVAL_JUDGE_MODEL", "gpt-4.1-mini")
    monkeypatch.setenv("SHOAL_EVAL_PRICES", json.dumps({"gpt-4.1": {"input": 2.0, "output": 8.0}}))
    reset_settings()
    [scenario] = load_all(only=["oom-memory-limit"])
    pod = "worker-5f7c9d8b1-fghij"
    scripted_llm.script = [
        {"tool_calls": [{"name": "pod_logs", "arguments": {"pod": pod, "previous": True}}]},
        {"text": json.dumps(scenario.reference.finding)},
        VERDICT,
    ]
    [record] = runner.run(tmp_path / "run", mode="model", only=["oom-memory-limit"])
    assert record["passed"] is True and record["rules_passed"] is True
    assert record["judge"] == {"passed": True, "score": 0.9, "reason": "Same cause: the 64Mi limit.",
                               "prompt_tokens": 11, "completion_tokens": VERDICT_TOKENS}
    assert (record["model"], record["tool_calls"], record["llm_calls"]) == ("gpt-4.1", 1, 2)
    assert record["prompt_tokens"] == 22
    assert record["cost_usd"] == round((22 * 2.0 + record["completion_tokens"] * 8.0) / 1e6, 6)
    # the tool answered from the snapshot: the model's second turn carries the previous log
    second = scripted_llm.requests[1]["json"]["messages"][-1]
    assert second["role"] == "tool" and "loading product catalogue into memory" in second["content"]
    judged = scripted_llm.requests[2]["json"]
    assert judged["model"] == "gpt-4.1-mini" and judged["messages"][0]["content"] == judge.RUBRIC
    run = json.loads((tmp_path / "run" / runner.RUN).read_text())
    assert {k: run[k] for k in ("mode", "provider", "model", "judge", "rubric_version")} == {
        "mode": "model", "provider": "openai", "model": "gpt-4.1", "judge": "gpt-4.1-mini",
        "rubric_version": judge.RUBRIC_VERSION}


def test_a_judge_that_does_not_answer_a_verdict_fails_the_scenario_not_the_run(monkeypatch, scripted_llm, tmp_path):
    monkeypatch.setenv("SHOAL_LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("SHOAL_LLM_BASE_URL", scripted_llm.url + "/v1")
    monkeypatch.setenv("SHOAL_EVAL_JUDGE_MODEL", "gpt-4.1-mini")
    reset_settings()
    [scenario] = load_all(only=["image-pull-unauthorized"])  # the /analyze facade
    scripted_llm.script = [{"text": json.dumps(scenario.reference.finding)}, {"text": "Looks right to me."}]
    [record] = runner.run(tmp_path / "run", mode="model", only=["image-pull-unauthorized"])
    assert record["facade"] == "analyze" and record["rules_passed"] is True and record["passed"] is False
    assert record["judge"] == {"passed": False, "score": 0.0, "error": True,
                               "reason": "judge error: JudgeError: no JSON object in the judge's answer: "
                                         "'Looks right to me.'"}
