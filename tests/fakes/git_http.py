"""A local smart-HTTP git server in front of a bare repository, with GitHub's access rules.

GitHub serves a private repository's git over HTTPS only to a request that authenticates: a
workflow job's token as ``AUTHORIZATION: basic base64(x-access-token:<token>)`` (what
actions/checkout sends, and leaves in ``.git/config`` unless ``persist-credentials: false``).
The token's ``contents`` permission decides: ``read`` may fetch, ``write`` may also push; no
token (or an unknown one) gets 401, a read-only token pushing gets 403. The git side is the real
``git http-backend`` (CGI), so fetches and pushes are what git does against GitHub.

``authorize(token, write)`` is the access rule (the fake GitHub's job tokens, for the harness).
Every request is recorded as (service, status) for tests to look at.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Authorize = Callable[[str, bool], bool]


class GitHttpServer:
    def __init__(self, bare: Path, repository: str, authorize: Authorize) -> None:
        self.bare = bare.resolve()
        self.repository = repository  # owner/name: served at <url>/<owner>/<name>(.git)
        self.authorize = authorize
        self.requests: list[tuple[str, int]] = []
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server's base URL (what GITHUB_SERVER_URL is on GitHub)."""
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def repo_url(self) -> str:
        return f"{self.url}/{self.repository}"

    def start(self) -> GitHttpServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                outer._handle(self)

            def do_POST(self) -> None:
                outer._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------ one request

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        prefixes = (f"/{self.repository}.git/", f"/{self.repository}/")
        prefix = next((p for p in prefixes if path.startswith(p)), None)
        body = self._body(h)
        if prefix is None:
            self._send(h, 404, b"Repository not found.\n")
            return
        rest = path[len(prefix) :]
        service = "git-receive-pack" if "git-receive-pack" in (rest + parts.query) else "git-upload-pack"
        token = _token(h.headers.get("Authorization", ""))
        if token is None or not self.authorize(token, False):
            self._record(service, 401)
            self._send(h, 401, b"Authentication required\n", {"WWW-Authenticate": 'Basic realm="GitHub"'})
            return
        if service == "git-receive-pack" and not self.authorize(token, True):
            self._record(service, 403)
            self._send(
                h, 403, f"Permission to {self.repository}.git denied to github-actions[bot].\n".encode()
            )
            return
        self._cgi(h, rest, parts.query, body, service)

    def _body(self, h: BaseHTTPRequestHandler) -> bytes:
        if h.command != "POST":
            return b""
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    h.rfile.readline()
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            return b"".join(chunks)
        return h.rfile.read(int(h.headers.get("Content-Length") or 0))

    def _cgi(self, h: BaseHTTPRequestHandler, rest: str, query: str, body: bytes, service: str) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.bare.parent),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{self.bare.name}/{rest}",
            "REQUEST_METHOD": h.command,
            "QUERY_STRING": query,
            "CONTENT_TYPE": h.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",  # authenticated: http-backend then allows receive-pack
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": h.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": h.headers.get("Git-Protocol", ""),
        }
        proc = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120, check=False
        )
        out = proc.stdout
        crlf, lf = out.find(b"\r\n\r\n"), out.find(b"\n\n")
        if crlf != -1 and (lf == -1 or crlf < lf):
            head, payload = out[:crlf], out[crlf + 4 :]
        elif lf != -1:
            head, payload = out[:lf], out[lf + 2 :]
        else:
            head, payload = b"Status: 500", proc.stderr
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers[key.strip()] = value.strip()
        self._record(service, status)
        self._send(h, status, payload, headers)

    def _record(self, service: str, status: int) -> None:
        with self._lock:
            self.requests.append((service, status))

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        h.send_response(status)
        for key, value in (headers or {}).items():
            if key.lower() != "content-length":
                h.send_header(key, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)


def _token(header: str) -> str | None:
    """The token of ``Basic base64(user:token)`` (any user name, as GitHub accepts), else None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    _, sep, token = decoded.partition(":")
    return token if sep and token else None


def basic_header(token: str) -> str:
    """The header actions/checkout configures: ``AUTHORIZATION: basic base64(x-access-token:token)``."""
    return "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
