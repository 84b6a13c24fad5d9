"""Route permissions derived from path and method, and declared ones."""

from __future__ import annotations

import pytest

from shared.auth.authorization import (
    AUTHENTICATED,
    WORKER,
    Permission,
    derive_permission,
    route_permission,
    scope_allows,
)


@pytest.mark.parametrize("rule,method,resource,verb,name_arg,sub", [
    ("/api/v1/tasks", "POST", "tasks", "create", None, None),
    ("/api/v1/tasks", "GET", "tasks", "list", None, None),
    ("/api/v1/tasks/<name>", "GET", "tasks", "get", "name", None),
    ("/api/v1/tasks/<name>", "DELETE", "tasks", "delete", "name", None),
    ("/api/v1/tasks/<name>/artifacts/<path:filename>", "GET", "tasks", "get", "name", None),
    ("/api/v1/agents/<name>", "PUT", "agents", "update", "name", None),
    ("/api/v1/memory-proposals/<id>/review", "POST", "memoryproposals", "review", "id", None),
    ("/api/v1/memory-proposals/<id>/apply", "POST", "memoryproposals", "apply", "id", None),
    ("/api/v1/memory-proposals/<id>/archive", "POST", "memoryproposals", "update", "id", None),
    ("/api/v1/memories/<id>/disable", "POST", "memories", "update", "id", None),
    ("/api/v1/sessions/<id>", "DELETE", "sessions", "delete", "id", None),
    ("/api/v1/chat", "POST", "chats", "create", None, None),
    ("/api/v1/chat/config", "GET", "chats", "get", None, "config"),
    ("/api/v1/chat/<sid>", "DELETE", "chats", "delete", "sid", None),
    ("/api/v1/monitors/repositories", "POST", "repositorymonitors", "create", None, None),
    ("/api/v1/monitors/repositories/<name>/runs", "POST", "repositorymonitors", "update", "name", None),
    ("/api/v1/security/findings/<id>/dismiss", "POST", "securityfindings", "update", "id", None),
    ("/openai/v1/chat/completions", "POST", "chats", "create", None, None),
    ("/anthropic/v1/models", "GET", "chats", "get", None, None),
    ("/api/v1/secrets", "GET", "secrets", "list", None, None),
])
def test_derived(rule, method, resource, verb, name_arg, sub):
    permission = derive_permission(rule, method)
    assert isinstance(permission, Permission)
    assert (permission.resource, permission.verb, permission.name_arg, permission.subresource) == (
        resource, verb, name_arg, sub)
    assert permission.group == "core.orka.ai"


def test_worker_api_and_auth_routes():
    assert derive_permission("/internal/v1/results/<namespace>/<task>", "POST") == WORKER
    assert derive_permission("/api/v1/auth/validate", "GET") == AUTHENTICATED


def test_declared_tuple_keeps_the_name_argument():
    permission = route_permission(("tasks", "create"), "/api/v1/tasks", "POST")
    assert permission == Permission("tasks", "create")
    assert route_permission(("x", "get", "g.io"), "/api/v1/x/<name>", "GET") == Permission("x", "get", "g.io",
                                                                                       name_arg="name")
    with pytest.raises(ValueError):
        route_permission("nonsense", "/api/v1/x", "GET")


@pytest.mark.parametrize("scopes,allowed", [
    ("orka:tasks:create", True), ("orka:tasks:write", True), ("orka:tasks:*", True), ("orka:*", True),
    ("orka:tasks:read", False), ("orka:memories:create", False), ("", False)])
def test_scopes(scopes, allowed):
    assert scope_allows(scopes, Permission("tasks", "create")) is allowed


def test_monitor_runs_need_operate_scope():
    runs = derive_permission("/api/v1/monitors/repositories/<name>/runs", "POST")
    assert scope_allows("orka:monitors:operate", runs) and not scope_allows("orka:monitors:read", runs)
    assert scope_allows("orka:monitors:read", derive_permission("/api/v1/monitors/repositories", "GET"))
