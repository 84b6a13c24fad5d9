"""A fake GitHub REST API (the pull request endpoints monitors use), over HTTP; records requests."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from werkzeug import Request, Response

from tests.support.servers import BackgroundServer

_PULLS = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls(?:/(?P<number>\d+))?$")


def pull(number: int, sha: str, *, title: str = "Change", draft: bool = False, labels: tuple[str, ...] = (),
         state: str = "open") -> dict[str, Any]:
    return {"number": number, "title": title, "state": state, "draft": draft,
            "html_url": f"https://github.com/example/app/pull/{number}",
            "head": {"sha": sha, "ref": f"branch-{number}"}, "base": {"ref": "main"},
            "labels": [{"name": n} for n in labels]}


class FakeGitHub(BackgroundServer):
    def __init__(self) -> None:
        self.pulls: dict[str, list[dict[str, Any]]] = {}  # "owner/repo" → pulls
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(self._wsgi)

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            self.requests.append({"path": request.path, "query": dict(request.args),
                                  "authorization": request.headers.get("Authorization")})
        match = _PULLS.match(request.path)
        if not match:
            return Response('{"message":"Not Found"}', status=404)(environ, start_response)
        pulls = self.pulls.get(f"{match['owner']}/{match['repo']}", [])
        if match["number"]:
            found = [p for p in pulls if p["number"] == int(match["number"])]
            if not found:
                return Response('{"message":"Not Found"}', status=404)(environ, start_response)
            body: Any = found[0]
        else:
            body = [p for p in pulls if p["state"] == request.args.get("state", "open")]
            body = body[: int(request.args.get("per_page", 30))]
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)
