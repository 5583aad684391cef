"""The HTTP machinery the GCP and Azure emulators share: routing, JSON, faults, persistence.

An emulator is a small stateful HTTP server on 127.0.0.1. It runs in-process (tests) or
as a background process (``orchestrate emulate up``), in threads, one lock around its state.

Control API, the same on every emulator (JSON in and out), under ``/_emulator/``:

- ``GET  /_emulator/health``   -> ``{"ok": true, "kind": "gcp"}``
- ``POST /_emulator/faults``   body: the fields of :class:`Fault` -> ``{"id": N}``
- ``DELETE /_emulator/faults`` -> remove every fault
- ``GET  /_emulator/requests`` -> the request log ``[{"method", "path", "query", "status"}]``
- ``DELETE /_emulator/requests`` -> clear the log
- ``POST /_emulator/reset``    -> forget every resource, fault and logged request
- ``GET  /_emulator/state``    -> the emulator's whole state (what it persists)

Control requests are neither logged nor subject to faults.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from orchestrate_emulate._fileio import write_json_atomic

CONTROL_PREFIX = "/_emulator/"


def now_rfc3339() -> str:
    """The current time as the clouds print it: 2024-05-01T12:00:00.123456Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise HttpError(400, "InvalidRequestContent", f"the request body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise HttpError(400, "InvalidRequestContent", "the request body must be a JSON object")
        return data


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raised by a handler; the emulator renders it in its cloud's error shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class Fault:
    """Make matching requests fail.

    ``count`` requests fail (None: every one, for "unreadable cloud" tests); of the matching
    requests a ``fraction`` is picked at random (seeded). ``path`` is a regular expression
    searched in the request path (case-insensitive), ``method`` an HTTP method.
    ``retry_after`` is the Retry-After header in seconds; None sends 1 on 429 and 503 and none
    on other statuses (clients retry whatever carries one), a negative value sends none.
    """

    status: int = 503
    count: int | None = 1
    fraction: float = 1.0
    path: str | None = None
    method: str | None = None
    retry_after: float | None = None
    message: str | None = None
    id: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not (self.path and not re.search(self.path, path, re.IGNORECASE))


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int


Handler = Callable[[Request, "re.Match[str]"], Response]


class Emulator:
    """Base of the cloud emulators: subclasses add routes and render errors."""

    kind = "base"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, data_file: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.data_file = data_file
        self.lock = threading.RLock()
        self.requests: list[Logged] = []
        # Seconds each cloud request takes on top of its work (a network round trip), for
        # benchmarks that compare call patterns; requests wait in parallel, as on a network.
        self.latency = 0.0
        self._faults: list[Fault] = []
        self._fault_ids = 0
        self._random = random.Random(0)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.register_routes()
        if data_file is not None and data_file.is_file():
            self.restore(json.loads(data_file.read_text()))

    # ------------------------------------------------------------ for subclasses

    def register_routes(self) -> None:
        """Add the cloud's routes with :meth:`route`."""

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` is a regular expression matched against the whole (decoded) path."""
        self._routes.append((method, re.compile(pattern + r"/?", re.IGNORECASE), handler))

    def error_body(self, status: int, code: str, message: str) -> Any:
        return {"error": {"code": code, "message": message}}

    def fault_code(self, status: int) -> str:
        return {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(status, "InternalServerError")

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to rebuild the emulator's resources (JSON)."""
        return {}

    def restore(self, data: dict[str, Any]) -> None:
        """Load what :meth:`snapshot` returned."""

    def clear(self) -> None:
        """Forget every resource."""

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> Self:
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                emulator._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.kind}-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ faults and log (in-process API)

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """Add a fault: ``add_fault(status=429, count=2)`` or ``add_fault(Fault(...))``."""
        with self.lock:
            self._fault_ids += 1
            f = fault or Fault(**fields)
            f.id = self._fault_ids
            self._faults.append(f)
            return f

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def seed(self, value: int) -> None:
        """Seed the random choice of ``fraction`` faults."""
        with self.lock:
            self._random.seed(value)

    def reset(self) -> None:
        """Forget every resource, fault and logged request."""
        with self.lock:
            self.clear()
            self._faults.clear()
            self.requests.clear()
            self._persist()

    def _pick_fault(self, method: str, path: str) -> Fault | None:
        for f in self._faults:
            if not f.matches(method, path):
                continue
            if f.fraction < 1.0 and self._random.random() >= f.fraction:
                continue
            if f.count is not None:
                f.count -= 1
                if f.count <= 0:
                    self._faults.remove(f)
            return f
        return None

    # ------------------------------------------------------------ request handling

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(
            method=h.command,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        if path.startswith(CONTROL_PREFIX):
            resp = self._control(req)
        else:
            if self.latency > 0:
                time.sleep(self.latency)
            resp = self._dispatch(req)
            with self.lock:
                self.requests.append(Logged(req.method, path, query, resp.status))
        self._write(h, resp)

    def _dispatch(self, req: Request) -> Response:
        with self.lock:
            fault = self._pick_fault(req.method, req.path)
            if fault is not None:
                headers = {}
                retry_after = fault.retry_after
                if retry_after is None and fault.status in (429, 503):
                    retry_after = 1
                if retry_after is not None and retry_after >= 0:
                    headers["Retry-After"] = f"{retry_after:g}"
                message = fault.message or f"injected fault: HTTP {fault.status}"
                return Response(
                    fault.status,
                    self.error_body(fault.status, self.fault_code(fault.status), message),
                    headers,
                )
            try:
                for method, pattern, handler in self._routes:
                    m = pattern.fullmatch(req.path)
                    if m is None:
                        continue
                    if method != req.method and not (method == "GET" and req.method == "HEAD"):
                        continue
                    resp = handler(req, m)
                    if req.method not in ("GET", "HEAD") and resp.status < 300:
                        self._persist()
                    return resp
                allowed = [method for method, pattern, _ in self._routes if pattern.fullmatch(req.path)]
                if allowed:
                    raise HttpError(405, "MethodNotAllowed", f"{req.method} is not allowed on {req.path}")
                raise HttpError(404, "NotFound", f"no such API: {req.method} {req.path}")
            except HttpError as exc:
                return Response(exc.status, self.error_body(exc.status, exc.code, exc.message), exc.headers)
            except Exception as exc:  # a bug of the emulator: answer 500, keep serving
                message = f"emulator error: {type(exc).__name__}: {exc}"
                return Response(500, self.error_body(500, self.fault_code(500), message))

    def _control(self, req: Request) -> Response:
        what = req.path[len(CONTROL_PREFIX) :].strip("/")
        with self.lock:
            if what == "health" and req.method == "GET":
                return Response(200, {"ok": True, "kind": self.kind})
            if what == "faults" and req.method == "POST":
                data = req.json() if req.body else {}
                known = {k: v for k, v in data.items() if k in Fault.__dataclass_fields__ and k != "id"}
                try:
                    fault = self.add_fault(Fault(**known))
                except TypeError as exc:
                    return Response(400, {"error": str(exc)})
                return Response(200, {"id": fault.id, "fault": asdict(fault)})
            if what == "faults" and req.method == "DELETE":
                self.clear_faults()
                return Response(200, {"ok": True})
            if what == "faults" and req.method == "GET":
                return Response(200, {"faults": [asdict(f) for f in self._faults]})
            if what == "requests" and req.method == "GET":
                return Response(200, {"requests": [asdict(r) for r in self.requests]})
            if what == "requests" and req.method == "DELETE":
                self.requests.clear()
                return Response(200, {"ok": True})
            if what == "reset" and req.method == "POST":
                self.reset()
                return Response(200, {"ok": True})
            if what == "state" and req.method == "GET":
                return Response(200, self.snapshot())
        return Response(404, {"error": f"no such control endpoint: {req.method} {req.path}"})

    @staticmethod
    def _write(h: BaseHTTPRequestHandler, resp: Response) -> None:
        payload = b"" if resp.body is None else json.dumps(resp.body).encode()
        h.send_response(resp.status)
        if resp.body is not None:
            h.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in resp.headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if h.command != "HEAD" and payload:
            h.wfile.write(payload)

    # ------------------------------------------------------------ persistence

    def _persist(self) -> None:
        if self.data_file is None:
            return
        write_json_atomic(self.data_file, self.snapshot())


def paginate(
    items: list[Any], page_size: int | None, token: str | None, default: int, maximum: int
) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next (an offset; opaque to clients)."""
    size = default if not page_size or page_size <= 0 else min(page_size, maximum)
    try:
        start = int(token) if token else 0
    except ValueError:
        raise HttpError(400, "InvalidPageToken", f"invalid page token {token!r}") from None
    page = items[start : start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return page, nxt
