"""An HTTP proxy in front of moto that answers some calls with throttling or 503, as AWS does.

The scan under test is pointed at the proxy (the cloud target's endpoint), so faults reach it
exactly as a real throttled API would: real botocore parsing of real error bodies, nothing
inside orchestrate patched. Error bodies follow each AWS protocol (EC2 query, query, JSON,
REST-XML) so botocore maps them to the codes AWS sends.
"""

from __future__ import annotations

import http.client
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Rule = Callable[["Request"], tuple[int, str] | None]  # -> (status, code) to fail with, or None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def target(self) -> str:
        """The API operation, whatever the protocol: X-Amz-Target, Action=, or the REST path."""
        target = self.headers.get("x-amz-target", "")
        if target:
            return target
        text = self.body.decode("utf-8", "replace")
        for part in text.split("&"):
            if part.startswith("Action="):
                return part.removeprefix("Action=")
        return f"{self.method} {self.path}"


def _error_body(req: Request, status: int, code: str) -> tuple[bytes, str]:
    message = "Rate exceeded" if status == 400 else "Service Unavailable"
    if "x-amz-target" in req.headers or "json" in req.headers.get("content-type", ""):
        return (f'{{"__type": "{code}", "message": "{message}"}}').encode(), "application/x-amz-json-1.0"
    body = req.body.decode("utf-8", "replace")
    if "Version=2016-11-15" in body:  # EC2's own query error shape
        xml = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>f</RequestID></Response>"
        return xml.encode(), "text/xml"
    if "Action=" in body:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>f</RequestId></ErrorResponse>"
        )
        return xml.encode(), "text/xml"
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode(), "application/xml"


def random_faults(rate: float, seed: int = 7, *, each_operation_once: bool = True) -> Rule:
    """Fail ``rate`` of all calls, half throttling (400) and half 503; with
    ``each_operation_once`` the first call of every operation fails too, so every API the
    scan uses is seen retrying, however few calls it makes."""
    rng = random.Random(seed)
    lock = threading.Lock()
    seen: set[str] = set()

    def rule(req: Request) -> tuple[int, str] | None:
        with lock:
            roll = rng.random()
            kind = rng.random()
            first = each_operation_once and req.target not in seen
            seen.add(req.target)
        if roll >= rate and not first:
            return None
        if kind < 0.5:
            return 503, "ServiceUnavailable"
        if "x-amz-target" in req.headers or "Action=" in req.body.decode("utf-8", "replace"):
            return 400, "Throttling" if "Version=2016-11-15" not in req.body.decode(
                "utf-8", "replace"
            ) else "RequestLimitExceeded"
        return 503, "SlowDown"

    return rule


@dataclass
class FaultProxy:
    upstream: str
    rule: Rule | None = None
    calls: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FaultProxy:
        proxy = self
        up = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                verdict = proxy.rule(req) if proxy.rule is not None else None
                with proxy._lock:
                    proxy.calls.append(req.target)
                    if verdict is not None:
                        proxy.faults.append(req.target)
                if verdict is not None:
                    status, code = verdict
                    payload, ctype = _error_body(req, status, code)
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")
                }
                conn.request(self.command, self.path, body=body if body else None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in (
                        "transfer-encoding",
                        "connection",
                        "content-length",
                        "server",
                        "date",
                    ):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
