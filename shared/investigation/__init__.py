"""Incident investigation: one engine (the shared agent loop with read-only Kubernetes tools,
answering a structured Finding) behind two facades, the Kubernaut incident API and the
operator's /analyze contract.

Modules: schema (Subject, Finding, parsing), kube_tools (read-only, namespaced tools),
patch_filter (the server-side allow-list), engine (one investigation), metrics (Prometheus).
"""
