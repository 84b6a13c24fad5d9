"""A real git server on loopback: bare repositories served by `git http-backend` (smart HTTP, push on).

Each request runs `git http-backend` as a CGI program, the way a web server in front of it would.
A repository may require HTTP Basic auth (a private repo); the server records every request's path,
query and whether it carried an Authorization header, so tests can see where a credential travelled.
Repository content is made with plumbing on the bare repository: no working tree, no local clone.
"""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from werkzeug.wsgi import get_input_stream

from tests.support.servers import BackgroundServer

_GIT_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


@dataclass(frozen=True)
class ServedRequest:
    method: str
    path: str
    query: str
    authorization: bool  # an Authorization header came with it (its value is never kept)
    status: int


class GitServer(BackgroundServer):
    """`with GitServer(tmp_path) as server:` then `server.create_repo("app")` → its clone URL."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "git-server"
        self.root.mkdir(parents=True, exist_ok=True)
        self.requests: list[ServedRequest] = []
        self._auth: dict[str, str] = {}  # repo name → the Authorization header it requires
        super().__init__(self._app)

    # -- repositories -------------------------------------------------------------------------

    def create_repo(self, name: str, *, auth: tuple[str, str] | None = None,
                    files: dict[str, str] | None = None) -> str:
        """A bare repo whose `main` has one commit (a README, or `files`); its URL. `auth` makes it private."""
        path = self.path(name)
        self.git(name, "init", "-q", "--bare", "-b", "main", str(path), cwd=self.root)
        self.git(name, "config", "http.receivepack", "true")  # push over HTTP (auth, when set, still applies)
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self._auth[name] = f"Basic {token}"
        self.commit(name, files or {"README.md": f"# {name}\n"}, message="initial commit")
        return self.repo_url(name)

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}.git"

    def path(self, name: str) -> Path:
        return self.root / f"{name}.git"

    def commit(self, name: str, files: dict[str, str], *, branch: str | None = "main",
               message: str = "change", parent: str | None = None) -> str:
        """A commit writing `files` on top of `parent` (default: the branch's tip); moves `branch` unless None."""
        ref = f"refs/heads/{branch}" if branch else None
        parent = parent or (self.ref(name, ref) if ref else None)
        index = self.path(name) / "shoal-test-index"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if parent:
                self.git(name, "read-tree", parent, env=env)
            for file, content in files.items():
                blob = self.git(name, "hash-object", "-w", "--stdin", input=content, env=env)
                self.git(name, "update-index", "--add", "--cacheinfo", f"100644,{blob},{file}", env=env)
            tree = self.git(name, "write-tree", env=env)
        finally:
            index.unlink(missing_ok=True)
        commit = self.git(name, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
        if ref:
            self.git(name, "update-ref", ref, commit)
        return commit

    def tag(self, name: str, tag: str, *, commit: str | None = None, annotated: bool = False) -> str:
        """Tag `commit` (default: main's tip); returns the tagged commit."""
        commit = commit or self.ref(name, "refs/heads/main")
        self.git(name, "tag", *(["-a", "-m", tag] if annotated else []), tag, commit)
        return commit

    def pr_head(self, name: str, number: int = 7, files: dict[str, str] | None = None) -> str:
        """`refs/pull/<number>/head` at a new commit on top of main that no branch holds."""
        commit = self.commit(name, files or {f"pr-{number}.txt": "from a fork\n"}, branch=None,
                             message=f"pull request {number}", parent=self.ref(name, "refs/heads/main"))
        self.git(name, "update-ref", f"refs/pull/{number}/head", commit)
        return commit

    def reject_pushes_to(self, name: str, branch: str, message: str = "pushes to this branch are refused") -> None:
        """A pre-receive hook that declines any push updating `branch`."""
        hook = self.path(name) / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\n"
                        "while read old new ref; do\n"
                        f'  if [ "$ref" = "refs/heads/{branch}" ]; then echo "{message}" >&2; exit 1; fi\n'
                        "done\nexit 0\n")
        hook.chmod(0o755)

    def ref(self, name: str, ref: str) -> str | None:
        """The commit `ref` points at in the bare repo, or None."""
        out = subprocess.run(["git", "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"], cwd=self.path(name),
                             env=_GIT_ENV, capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None

    def branches(self, name: str) -> list[str]:
        return self.git(name, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()

    def changed_files(self, name: str, commit: str) -> list[str]:
        """The paths `commit` changed against its first parent, sorted."""
        out = self.git(name, "diff-tree", "-r", "-z", "--name-only", "--no-renames", "--no-commit-id", commit)
        return sorted(p for p in out.split("\0") if p)

    def read(self, name: str, commit: str, file: str) -> str:
        return self.git(name, "show", f"{commit}:{file}", strip=False)

    def git(self, name: str, *args: str, cwd: Path | None = None, input: str | None = None,
            env: dict[str, str] | None = None, strip: bool = True) -> str:
        out = subprocess.run(["git", *args], cwd=cwd or self.path(name), input=input, capture_output=True,
                             text=True, env={**_GIT_ENV, **(env or {})}, timeout=30, check=True).stdout
        return out.strip() if strip else out

    # -- HTTP ---------------------------------------------------------------------------------

    def _app(self, environ, start_response):
        path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
        header = environ.get("HTTP_AUTHORIZATION")
        repo = path.lstrip("/").split("/", 1)[0].removesuffix(".git")
        required = self._auth.get(repo)
        if required and header != required:
            self._record(environ, path, query, header, 401)
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"'),
                                                ("Content-Type", "text/plain")])
            return [b"authentication required\n"]
        status, headers, body = self._backend(environ, path, query, user="git" if header else None)
        self._record(environ, path, query, header, int(status.split()[0]))
        start_response(status, headers)
        return [body]

    def _backend(self, environ, path: str, query: str, user: str | None) -> tuple[str, list, bytes]:
        cgi = {**_GIT_ENV, "HOME": str(self.root), "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
               "REQUEST_METHOD": environ["REQUEST_METHOD"], "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""), "REMOTE_ADDR": "127.0.0.1",
               "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1"}
        for header in ("HTTP_GIT_PROTOCOL", "HTTP_CONTENT_ENCODING"):  # protocol v2; gzipped request bodies
            if environ.get(header):
                cgi[header] = environ[header]
        if user:
            cgi["REMOTE_USER"] = user
        body = get_input_stream(environ).read()
        cgi["CONTENT_LENGTH"] = str(len(body))
        out = subprocess.run(["git", "http-backend"], input=body, env=cgi, capture_output=True, timeout=60).stdout
        # CGI output: headers, a blank line, the body (which is binary: split at the first blank line only).
        ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := out.find(sep)) >= 0]
        end, size = min(ends) if ends else (len(out), 0)
        head, payload = out[:end], out[end + size:]
        status, headers = "200 OK", []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = value.strip()
            elif key:
                headers.append((key.strip(), value.strip()))
        return status, headers, payload

    def _record(self, environ, path: str, query: str, header: str | None, status: int) -> None:
        self.requests.append(ServedRequest(environ["REQUEST_METHOD"], path, query, bool(header), status))
