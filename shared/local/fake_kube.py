"""A fake Kubernetes API server over HTTP, for the official client (never patch the client).

The tests run it (tests/support/fake_kube.py serves it on a free port per test) and so does `make
run` without a cluster, seeded with the demo namespace (shared/local/demo_cluster.py).

Stores objects per (api prefix, resource, namespace, name); supports create, get, list (with
labelSelector equality), delete, merge-patch; pod logs; TokenReview and SubjectAccessReview
answered by callables the test sets. Every request is recorded for exact-body assertions.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

_PATH = re.compile(r"^(?P<prefix>/api/v1|/apis/[^/]+/[^/]+)(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[^/]+)"
                   r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")


def _status(code: int, reason: str, message: str) -> Response:
    return Response(json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": message, "reason": reason, "code": code}),
                    status=code, content_type="application/json")


class FakeKubeAPI:
    """The WSGI app and its objects; a test server or the local platform serves it."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        # (namespace, pod) or (namespace, pod, container) → log text
        self.pod_logs: dict[tuple[str, ...], str] = {}
        self.previous_logs: dict[tuple[str, ...], str] = {}  # served for ?previous=true
        # token → TokenReview status dict ({"authenticated": True, "user": {...}}) or absent = unauthenticated
        self.tokens: dict[str, dict[str, Any]] = {}
        # SubjectAccessReview spec → allowed?
        self.authorize: Callable[[dict[str, Any]], bool] = lambda spec: True
        self._lock = threading.Lock()
        self.record_requests = True  # the tests assert on them; a long-running platform keeps none

    def add(self, prefix: str, resource: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Seed an object (e.g. a Secret) as if created earlier."""
        obj = json.loads(json.dumps(obj))
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", namespace)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("resourceVersion", "1")
        meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.objects[(prefix, resource, namespace, meta["name"])] = obj
        return obj

    def clear(self) -> None:
        """Forget every object, log and recorded request (a harness reuses one server)."""
        with self._lock:
            self.objects.clear()
            self.pod_logs.clear()
            self.previous_logs.clear()
            self.requests.clear()

    def _wsgi(self, environ, start_response):
        return self._handle(Request(environ))(environ, start_response)

    __call__ = _wsgi

    def _handle(self, request: Request) -> Response:
        raw = request.get_data()
        body = json.loads(raw) if raw else None
        with self._lock:
            if self.record_requests:
                self.requests.append({"method": request.method, "path": request.path, "query": dict(request.args),
                                      "body": body, "headers": dict(request.headers)})
        if request.path == "/apis/authentication.k8s.io/v1/tokenreviews" and request.method == "POST":
            status = self.tokens.get(body["spec"]["token"], {"authenticated": False, "error": "invalid token"})
            if status.get("authenticated") and body["spec"].get("audiences"):
                status = {**status, "audiences": body["spec"]["audiences"]}
            return self._json({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                               "metadata": {}, "spec": body["spec"], "status": status}, 201)
        if request.path == "/apis/authorization.k8s.io/v1/subjectaccessreviews" and request.method == "POST":
            allowed = bool(self.authorize(body["spec"]))
            return self._json({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                               "metadata": {}, "spec": body["spec"], "status": {"allowed": allowed}}, 201)
        match = _PATH.match(request.path)
        if not match:
            return _status(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        prefix, ns, resource, name, sub = match.group("prefix", "ns", "resource", "name", "sub")
        ns = ns or ""
        key = (prefix, resource, ns, name or "")
        with self._lock:
            if sub == "log" and request.method == "GET":
                if (prefix, "pods", ns, name) not in self.objects:
                    return _status(404, "NotFound", f'pods "{name}" not found')
                logs = self.previous_logs if request.args.get("previous") == "true" else self.pod_logs
                container = request.args.get("container")  # a container's own log, else the pod's
                text = logs.get((ns, name, container)) if container else None
                return Response(text if text is not None else logs.get((ns, name), ""), content_type="text/plain")
            if request.method == "POST" and not name:
                meta = body.setdefault("metadata", {})
                if not meta.get("name") and meta.get("generateName"):
                    meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
                key = (prefix, resource, ns, meta["name"])
                if key in self.objects:
                    return _status(409, "AlreadyExists", f'{resource} "{meta["name"]}" already exists')
                return self._json(self.add(prefix, resource, ns, body), 201)
            if request.method == "GET" and not name:
                selector = dict(p.split("=", 1) for p in request.args.get("labelSelector", "").split(",") if "=" in p)
                fields = dict(p.split("=", 1) for p in request.args.get("fieldSelector", "").split(",") if "=" in p)
                items = [o for (p, r, n, _), o in sorted(self.objects.items())
                         if p == prefix and r == resource and (not ns or n == ns)
                         and all(o["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
                         and all(_field(o, k) == v for k, v in fields.items())]
                return self._json({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"},
                                   "items": items})
            if key not in self.objects:
                return _status(404, "NotFound", f'{resource} "{name}" not found')
            if request.method == "GET":
                return self._json(self.objects[key])
            if request.method == "DELETE":
                obj = self.objects.pop(key)
                return self._json({"kind": "Status", "apiVersion": "v1", "status": "Success",
                                   "details": {"name": name, "kind": resource, "uid": obj["metadata"]["uid"]}})
            if request.method == "PATCH":
                _merge(self.objects[key], body or {})
                return self._json(self.objects[key])
        return _status(405, "MethodNotAllowed", "method not allowed")

    @staticmethod
    def _json(obj: Any, status: int = 200) -> Response:
        return Response(json.dumps(obj), status=status, content_type="application/json")


def _field(obj: dict[str, Any], path: str) -> Any:
    """A dotted field of an object, for fieldSelector equality (e.g. involvedObject.name)."""
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
