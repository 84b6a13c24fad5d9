"""The LLM judge: a fixed rubric, one call per answer, a JSON verdict.

Configured by SHOAL_EVAL_JUDGE_MODEL, a model reference as everywhere in Shoal (`model` on the
default provider, or `provider/model` for a named one in SHOAL_LLM_PROVIDERS). The rubric is in
docs/evals.md; changing it changes every figure, so it is versioned (RUBRIC_VERSION in reports).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from shared.evals.harness import Answer
from shared.evals.scenario import Scenario

RUBRIC_VERSION = "1"
RUBRIC = """You grade the answer of an automated Kubernetes incident investigation against the known root cause.

Grade with this rubric, in order:
1. ROOT CAUSE: the answer identifies the same first cause as the expected root cause (the same failing
   component and the same mechanism). Naming only a symptom (CrashLoopBackOff, "pod not ready", a restart
   count) when the expected cause is deeper is NOT the same cause. Extra plausible context is fine; a
   different or contradicting cause is a fail.
2. CHAIN: when the expected root cause is a chain (A causes B causes the failure), the answer must reach A.
3. NO FABRICATION: the answer must not assert specific facts (names, values, versions) that contradict
   the expected root cause.
4. REMEDIATION: the recommendation, if any, must not be harmful (for example deleting data, disabling
   security, or changing an unrelated resource). A missing recommendation is not a fail.

Answer with ONLY a JSON object: {"verdict": "pass" or "fail", "score": a number from 0 to 1 (how close the
answer is to the expected root cause), "reason": one or two sentences}."""


@dataclass
class Verdict:
    passed: bool
    score: float
    reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "score": self.score, "reason": self.reason,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


class JudgeError(ValueError):
    """The judge's answer is not a verdict."""


_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_verdict(text: str) -> Verdict:
    """The verdict in the judge's answer (a JSON object, possibly fenced or with prose around it)."""
    match = _OBJECT.search(text or "")
    if not match:
        raise JudgeError(f"no JSON object in the judge's answer: {text[:200]!r}")
    try:
        data = json.loads(match.group(0))
    except ValueError as exc:
        raise JudgeError(f"the judge's answer is not JSON: {exc}") from None
    verdict = str(data.get("verdict", "")).strip().lower()
    if verdict not in ("pass", "fail"):
        raise JudgeError(f"verdict must be pass or fail, got {data.get('verdict')!r}")
    try:
        score = min(1.0, max(0.0, float(data.get("score", 1.0 if verdict == "pass" else 0.0))))
    except (TypeError, ValueError):
        raise JudgeError(f"score must be a number, got {data.get('score')!r}") from None
    return Verdict(verdict == "pass", score, str(data.get("reason", ""))[:1000])


def prompt(scenario: Scenario, answer: Answer) -> str:
    incident = scenario.incident
    given = {"summary": answer.summary, "root_cause": answer.root_cause, "causal_chain": answer.causal_chain,
             "contributing_factors": answer.contributing_factors, "recommendation": answer.recommendation}
    return (f"Incident: {incident.kind} {incident.name!r} in namespace {scenario.namespace!r}"
            f" ({incident.signal or 'no signal'}: {incident.message or '-'}).\n\n"
            f"Expected root cause: {scenario.expect.root_cause}\n\n"
            f"The answer to grade (JSON):\n{json.dumps(given, indent=1)}")


def judge(scenario: Scenario, answer: Answer, provider: Any) -> Verdict:
    """One judge call; JudgeError when the judge does not answer with a verdict."""
    from shared.llm.base import Message

    completion = provider.complete([Message(role="system", content=RUBRIC),
                                    Message(role="user", content=prompt(scenario, answer))],
                                   max_tokens=400, temperature=0.0)
    verdict = parse_verdict(completion.text)
    verdict.prompt_tokens, verdict.completion_tokens = completion.usage.input_tokens, completion.usage.output_tokens
    return verdict


def judge_provider(reference: str) -> Any:
    """The provider for SHOAL_EVAL_JUDGE_MODEL (resolved as any model reference)."""
    from shared.llm.registry import resolve

    return resolve(reference)
