"""A fake GitHub REST API (pulls, diffs, reviews, issues, comments) over HTTP; records requests."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from werkzeug import Request, Response

from tests.support.servers import BackgroundServer

_REPO = r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_ROUTES = [
    ("pulls", re.compile(_REPO + r"/pulls$")),
    ("pull", re.compile(_REPO + r"/pulls/(?P<number>\d+)$")),
    ("reviews", re.compile(_REPO + r"/pulls/(?P<number>\d+)/reviews$")),
    ("issues", re.compile(_REPO + r"/issues$")),
    ("issue", re.compile(_REPO + r"/issues/(?P<number>\d+)$")),
    ("comments", re.compile(_REPO + r"/issues/(?P<number>\d+)/comments$")),
]


def pull(number: int, sha: str, *, title: str = "Change", draft: bool = False, labels: tuple[str, ...] = (),
         state: str = "open") -> dict[str, Any]:
    return {"number": number, "title": title, "state": state, "draft": draft,
            "html_url": f"https://github.com/example/app/pull/{number}",
            "head": {"sha": sha, "ref": f"branch-{number}"}, "base": {"ref": "main"},
            "labels": [{"name": n} for n in labels]}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeGitHub(BackgroundServer):
    def __init__(self) -> None:
        self.pulls: dict[str, list[dict[str, Any]]] = {}    # "owner/repo" → pulls
        self.issues: dict[str, list[dict[str, Any]]] = {}   # "owner/repo" → issues
        self.diffs: dict[tuple[str, int], str] = {}
        self.reviews: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(self._wsgi)

    def _wsgi(self, environ, start_response):
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        with self._lock:
            self.requests.append({"method": request.method, "path": request.path, "query": dict(request.args),
                                  "authorization": request.headers.get("Authorization"),
                                  "accept": request.headers.get("Accept"), "body": body})
        found_route = next(((n, p, p.match(request.path)) for n, p in _ROUTES if p.match(request.path)), None)
        if found_route is None:
            return _json({"message": "Not Found"}, 404)
        name, pattern, match = found_route
        repo = f"{match['owner']}/{match['repo']}"
        number = int(match["number"]) if "number" in pattern.groupindex else None
        with self._lock:
            if name == "pulls":
                pulls = [p for p in self.pulls.get(repo, []) if p["state"] == request.args.get("state", "open")]
                per_page, page = int(request.args.get("per_page", 30)), int(request.args.get("page", 1))
                return _json(pulls[(page - 1) * per_page: page * per_page])
            if name == "pull":
                found = [p for p in self.pulls.get(repo, []) if p["number"] == number]
                if not found:
                    return _json({"message": "Not Found"}, 404)
                if request.headers.get("Accept") == "application/vnd.github.diff":
                    return Response(self.diffs.get((repo, number), ""), content_type="text/plain")
                return _json(found[0])
            if name == "reviews":
                reviews = self.reviews.setdefault((repo, number), [])
                if request.method == "POST":
                    review = {"id": len(reviews) + 1, "state": "COMMENTED", "user": {"login": "shoal-bot"}, **body}
                    reviews.append(review)
                    return _json(review)
                return _json(reviews)
            if name == "issues":
                return _json(self.issues.get(repo, []))
            if name == "issue":
                found = [i for i in self.issues.get(repo, []) if i["number"] == number]
                return _json(found[0]) if found else _json({"message": "Not Found"}, 404)
            comments = self.comments.setdefault((repo, number), [])
            if request.method == "POST":
                comment = {"id": len(comments) + 1, "html_url": f"https://github.com/{repo}/issues/{number}",
                           "user": {"login": "shoal-bot"}, **body}
                comments.append(comment)
                return _json(comment, 201)
            return _json(comments)
