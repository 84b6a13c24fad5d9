"""A fake GitHub REST API (pulls, diffs, reviews, merges, CI, issues, comments) over HTTP; records requests."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import unquote

from werkzeug import Request, Response

from tests.support.servers import BackgroundServer

_REPO = r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_ROUTES = [
    ("pulls", re.compile(_REPO + r"/pulls$")),
    ("pull", re.compile(_REPO + r"/pulls/(?P<number>\d+)$")),
    ("reviews", re.compile(_REPO + r"/pulls/(?P<number>\d+)/reviews$")),
    ("merge", re.compile(_REPO + r"/pulls/(?P<number>\d+)/merge$")),
    ("check_runs", re.compile(_REPO + r"/commits/(?P<sha>[0-9a-f]+)/check-runs$")),
    ("statuses", re.compile(_REPO + r"/commits/(?P<sha>[0-9a-f]+)/status$")),
    ("issues", re.compile(_REPO + r"/issues$")),
    ("issue", re.compile(_REPO + r"/issues/(?P<number>\d+)$")),
    ("comments", re.compile(_REPO + r"/issues/(?P<number>\d+)/comments$")),
    ("label", re.compile(_REPO + r"/issues/(?P<number>\d+)/labels/(?P<label>[^/]+)$")),
    ("permission", re.compile(_REPO + r"/collaborators/(?P<login>[^/]+)/permission$")),
    ("compare", re.compile(_REPO + r"/compare/(?P<base>[0-9a-f]+)\.\.\.(?P<head>[0-9a-f]+)$")),
]


def pull(number: int, sha: str, *, title: str = "Change", draft: bool = False, labels: tuple[str, ...] = (),
         state: str = "open", head_repo: str = "example/app", mergeable_state: str = "clean") -> dict[str, Any]:
    return {"number": number, "title": title, "state": state, "draft": draft,
            "html_url": f"https://github.com/example/app/pull/{number}",
            "head": {"sha": sha, "ref": f"branch-{number}", "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "sha": "0" * 40, "repo": {"full_name": "example/app"}},
            "labels": [{"name": n} for n in labels], "mergeable_state": mergeable_state}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeGitHub(BackgroundServer):
    def __init__(self) -> None:
        self.pulls: dict[str, list[dict[str, Any]]] = {}    # "owner/repo" → pulls
        self.issues: dict[str, list[dict[str, Any]]] = {}   # "owner/repo" → issues
        self.diffs: dict[tuple[str, int], str] = {}
        self.reviews: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        # CI per (repo, sha): a list of answers, one per read (the last repeats), so a test can script
        # "pending, then success"; each answer is {"check_runs": [...], "statuses": [...]}.
        self.ci: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.unmergeable: set[tuple[str, int]] = set()
        self.permissions: dict[str, str] = {}  # login → role (admin, maintain, write, triage); others: read
        self.compares: dict[tuple[str, str, str], str] = {}  # (repo, base, head) → ahead|identical|…; else behind
        self.login = "shoal-bot"  # the token's own account (GET /user); reviews and comments are posted as it
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
        if request.path == "/user":
            return _json({"login": self.login, "id": 1, "type": "Bot"})
        found_route = next(((n, p, p.match(request.path)) for n, p in _ROUTES if p.match(request.path)), None)
        if found_route is None:
            return _json({"message": "Not Found"}, 404)
        name, pattern, match = found_route
        repo = f"{match['owner']}/{match['repo']}"
        number = int(match["number"]) if "number" in pattern.groupindex else None
        with self._lock:
            if name == "pulls" and request.method == "POST":
                return self._create_pull(repo, body)
            if name == "merge":
                return self._merge(repo, number, body)
            if name in ("check_runs", "statuses"):
                answers = self.ci.get((repo, match["sha"])) or [{}]
                answer = answers.pop(0) if len(answers) > 1 and name == "statuses" else answers[0]
                key = "check_runs" if name == "check_runs" else "statuses"
                return _json({key: answer.get(key, [])})
            if name == "pulls":
                pulls = [p for p in self.pulls.get(repo, []) if p["state"] == request.args.get("state", "open")]
                if request.args.get("head"):
                    pulls = [p for p in pulls if f"{repo.split('/')[0]}:{p['head']['ref']}" == request.args["head"]]
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
            if name == "permission":
                role = self.permissions.get(match["login"], "read")
                legacy = {"maintain": "write", "triage": "read"}.get(role, role)  # GitHub's legacy field
                return _json({"permission": legacy, "role_name": role,
                              "user": {"login": match["login"]}})
            if name == "label" and request.method == "DELETE":
                found = [p for p in self.pulls.get(repo, []) if p["number"] == number]
                labels = found[0]["labels"] if found else []
                wanted = unquote(match["label"])
                if not any(label["name"] == wanted for label in labels):
                    return _json({"message": "Label does not exist"}, 404)
                labels[:] = [label for label in labels if label["name"] != wanted]
                return _json(labels)
            if name == "compare":
                return _json({"status": self.compares.get((repo, match["base"], match["head"]), "behind")})
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

    def _create_pull(self, repo: str, body: dict[str, Any]) -> Response:
        pulls = self.pulls.setdefault(repo, [])
        if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in pulls) or body["head"] == body["base"]:
            return _json({"message": "Validation Failed", "errors": [{"resource": "PullRequest"}]}, 422)
        made = pull(max([p["number"] for p in pulls], default=0) + 1, "f" * 40, title=body["title"])
        made["head"]["ref"], made["base"]["ref"], made["body"] = body["head"], body["base"], body.get("body")
        pulls.append(made)
        return _json(made, 201)

    def _merge(self, repo: str, number: int, body: dict[str, Any]) -> Response:
        found = [p for p in self.pulls.get(repo, []) if p["number"] == number and p["state"] == "open"]
        if not found or (repo, number) in self.unmergeable:
            return _json({"message": "Pull Request is not mergeable"}, 405)
        if body.get("sha") and body["sha"] != found[0]["head"]["sha"]:
            return _json({"message": "Head branch was modified. Review and try the merge again."}, 409)
        found[0].update(state="closed", merged=True, merge_commit_sha="m" * 40)
        return _json({"sha": "m" * 40, "merged": True, "message": "Pull Request successfully merged"})
