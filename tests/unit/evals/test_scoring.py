"""The rule scorer and the judge's verdict parsing, on fixed answers (no platform, no model)."""

from __future__ import annotations

import pytest

from shared.evals.harness import Answer
from shared.evals.judge import JudgeError, parse_verdict
from shared.evals.scenario import load_all
from shared.evals.scoring import matches, passed, quantity, score


@pytest.fixture(scope="module")
def oom():
    [scenario] = load_all(only=["oom-memory-limit"])
    return scenario


@pytest.fixture(scope="module")
def no_fix():
    [scenario] = load_all(only=["crashloop-missing-env"])
    return scenario


def good_oom(**overrides) -> Answer:
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "worker", "resources": {"limits": {"memory": "128Mi"}}}]}}}}
    values = dict(facade="kubernaut", ok=True, summary="worker restarts",
                  root_cause="The worker container is OOMKilled: it needs more than its 64Mi memory limit.",
                  recommendation="Raise the limit.", remediation_target={"kind": "Deployment", "name": "worker"},
                  resolved=False, patch=patch, patch_target={"kind": "Deployment", "name": "worker"})
    values.update(overrides)
    return Answer(**values)


def failed(checks) -> list[str]:
    return [c.name for c in checks if not c.ok]


def test_a_right_answer_passes_every_rule(oom):
    checks = score(oom, good_oom())
    assert failed(checks) == [] and passed(checks)
    assert [c.name for c in checks] == [
        "completed", "mentions OOMKilled | out of memory | OOM", "mentions 64Mi", "does not blame image pull",
        "does not blame probe", "names Deployment/worker", "remediation target", "patch returned",
        "patch target", "patch resources.limits.memory", "patch allow-listed"]


def test_keyword_alternatives_match_case_insensitively_and_a_missing_one_fails(oom):
    assert failed(score(oom, good_oom(root_cause="It runs out of memory above 64mi."))) == []
    assert failed(score(oom, good_oom(root_cause="It keeps restarting with exit code 137."))) == [
        "mentions OOMKilled | out of memory | OOM", "mentions 64Mi"]


def test_a_forbidden_keyword_counts_only_in_the_stated_cause(oom):
    # ruling a cause out in the recommendation is fine; blaming it in the root cause is not
    assert failed(score(oom, good_oom(recommendation="Not an image pull problem; raise the limit."))) == []
    assert failed(score(oom, good_oom(root_cause="OOMKilled under 64Mi after an image pull"))) == [
        "does not blame image pull"]


def test_objects_match_as_whole_names(oom):
    answer = good_oom(summary="", root_cause="OOMKilled at 64Mi in workers-2", remediation_target=None)
    assert failed(score(oom, answer)) == ["names Deployment/worker"]


def test_the_wrong_target_the_wrong_field_value_and_a_missing_patch_fail(oom):
    wrong = good_oom(remediation_target={"kind": "Pod", "name": "worker-x"},
                     patch_target={"kind": "Deployment", "name": "other"},
                     patch={"spec": {"template": {"spec": {"containers": [
                         {"name": "worker", "resources": {"limits": {"memory": "32Mi"}}}]}}}})
    assert failed(score(oom, wrong)) == ["remediation target", "patch target", "patch resources.limits.memory"]
    missing = score(oom, good_oom(patch=None, patch_target=None, warnings=["patch dropped: x"]))
    assert failed(missing) == ["patch returned"]
    assert [c.detail for c in missing if c.name == "patch returned"] == ["no patch survived (patch dropped: x)"]


def test_no_fix_fails_when_a_patch_is_served_and_unsafe_patches_fail_the_safety_rule(no_fix):
    answer = Answer(facade="analyze", ok=True, root_cause="DATABASE_URL is not set", summary="checkout crashes",
                    patch={"spec": {"template": {"spec": {"containers": [
                        {"name": "checkout", "command": ["sh"], "env": [{"name": "DATABASE_URL", "value": "x"}]}]}}}},
                    patch_target={"kind": "Deployment", "name": "checkout"})
    checks = score(no_fix, answer)
    assert failed(checks) == ["no patch returned", "patch allow-listed"]
    assert [c.detail for c in checks if c.name == "patch allow-listed"] == [
        "the allow-list would drop ['spec.template.spec.containers[0].command']"]


def test_a_failed_flow_is_one_failed_check(oom):
    checks = score(oom, Answer(facade="kubernaut", ok=False, error="session failed: boom"))
    assert [(c.name, c.ok, c.detail) for c in checks] == [("completed", False, "session failed: boom")]


def test_resolved_is_checked_only_where_the_facade_says_it():
    [scenario] = load_all(only=["self-resolved-oom-spike"])
    text = "pricing was OOMKilled once and is healthy since."
    assert failed(score(scenario, Answer(facade="kubernaut", ok=True, root_cause=text, resolved=False,
                                         remediation_target={"kind": "Deployment", "name": "pricing"}))) == ["resolved"]
    assert failed(score(scenario, Answer(facade="analyze", ok=True, root_cause=text))) == []


@pytest.mark.parametrize("expected,actual,ok", [
    ("*", "anything", True), ("*", None, False), (">64Mi", "128Mi", True), (">64Mi", "64Mi", False),
    (">64Mi", "0.5Gi", True), (">100m", "1", True), (">100m", "100m", False), (">0", 2, True), (">0", 0, False),
    ("2Gi", "2Gi", True), ("2Gi", "2048Mi", False), (1, "1", True), (">1Gi", "lots", False)])
def test_field_matchers(expected, actual, ok):
    assert matches(expected, actual) is ok


def test_quantities():
    assert quantity("128Mi") == 128 * 2**20 and quantity("500m") == 0.5 and quantity("2") == 2.0
    assert quantity("1.5Gi") == 1.5 * 2**30 and quantity("lots") is None


@pytest.mark.parametrize("text,verdict", [
    ('{"verdict": "pass", "score": 0.9, "reason": "same cause"}', (True, 0.9, "same cause")),
    ('Here you go:\n```json\n{"verdict": "FAIL", "score": 0.2, "reason": "symptom only"}\n```',
     (False, 0.2, "symptom only")),
    ('{"verdict": "pass", "reason": "ok"}', (True, 1.0, "ok")),
    ('{"verdict": "fail", "score": 7, "reason": ""}', (False, 1.0, "")),
])
def test_judge_verdicts_parse(text, verdict):
    parsed = parse_verdict(text)
    assert (parsed.passed, parsed.score, parsed.reason) == verdict


@pytest.mark.parametrize("text,message", [
    ("I think it passes.", "no JSON object in the judge's answer"),
    ('{"verdict": "maybe"}', "verdict must be pass or fail, got 'maybe'"),
    ('{"verdict": "pass", "score": "high"}', "score must be a number, got 'high'"),
    ('{"verdict": pass}', "the judge's answer is not JSON"),
])
def test_a_judge_answer_that_is_not_a_verdict_is_refused(text, message):
    with pytest.raises(JudgeError) as error:
        parse_verdict(text)
    assert str(error.value).startswith(message)
