"""The investigation evaluation harness (docs/evals.md): scenarios as data, run through the real
investigation engine and API on an in-process platform, scored by rules and an optional LLM judge.

Modules: scenario (the pydantic model of a scenario file), cluster (a snapshot into the fake
Kubernetes API server), harness (the platform and the two facades' flows), scoring (rules), judge
(the LLM judge), runner (modes, resume, parallel workers), report (figures, Markdown, compare).
"""
