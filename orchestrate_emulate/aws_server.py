"""moto's server for the emulated AWS, with two repairs for how terraform's Go SDK talks to it.

1. **A retried lock write is not a second writer.** Terraform's S3 backend takes its DynamoDB lock
   with ``PutItem`` + ``attribute_not_exists(LockID)``. When the first attempt is stored but its
   answer is lost (a 5xx from moto under load, a reset connection), the SDK sends the *same* item
   again, gets ``ConditionalCheckFailedException``, reads the lock back, finds its own lock and waits
   ``-lock-timeout`` for itself (seen in CI: ``state is locked: held by root@vm, for apply`` by the
   apply that was waiting). Real DynamoDB has the same race but rarely loses an answer; moto on a
   loaded two-core machine loses enough to fail a test suite. So a conditional ``PutItem`` whose
   condition failed only because *the identical item* is already stored succeeds, as the retry of a
   stored write. Any other difference (another lock ID, another writer) still fails as DynamoDB would.
2. **Failures are visible.** Every 5xx moto answers, and every answer lost because the client hung up
   first, is written to stderr (the emulator's log) with the service target, so the next flake names
   its cause instead of leaving a stuck lock. (The retries seen so far came with neither: the answer
   was lost in the client's transport.)
"""

from __future__ import annotations

import io
import json
import sys
import threading
import zlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from werkzeug.serving import WSGIRequestHandler

_PUT_ITEM = "DynamoDB_20120810.PutItem"
_GET_ITEM = "DynamoDB_20120810.GetItem"
_DESCRIBE_TABLE = "DynamoDB_20120810.DescribeTable"
_CONDITION_FAILED = b"ConditionalCheckFailedException"

_Headers = list[tuple[str, str]]


class _Captured:
    """One answer of the wrapped app, held so it can be inspected before it is sent."""

    def __init__(self) -> None:
        self.status = "500 INTERNAL SERVER ERROR"
        self.headers: _Headers = []
        self.body = b""

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    def start_response(
        self, status: str, headers: _Headers, exc_info: object = None
    ) -> Callable[[bytes], object]:
        self.status, self.headers = status, list(headers)
        return lambda _data: None


def _call(app: WSGIApplication, environ: WSGIEnvironment, body: bytes) -> _Captured:
    environ = dict(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    captured = _Captured()
    chunks: Iterable[bytes] = app(environ, captured.start_response)
    try:
        captured.body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return captured


def _read_body(environ: WSGIEnvironment) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    return bytes(stream.read(length)) if length else b""


def _dynamodb(app: WSGIApplication, environ: WSGIEnvironment, target: str, request: object) -> _Captured:
    environ = dict(environ)
    environ["HTTP_X_AMZ_TARGET"] = target
    return _call(app, environ, json.dumps(request).encode())


def _already_stored(app: WSGIApplication, environ: WSGIEnvironment, body: bytes) -> bool:
    """True when this conditional PutItem's exact item is what the table holds under its key."""
    try:
        request = json.loads(body)
        table, item = request["TableName"], request["Item"]
        if "attribute_not_exists" not in str(request.get("ConditionExpression", "")):
            return False
        described = _dynamodb(app, environ, _DESCRIBE_TABLE, {"TableName": table})
        schema = json.loads(described.body)["Table"]["KeySchema"]
        key = {part["AttributeName"]: item[part["AttributeName"]] for part in schema}
        stored = _dynamodb(app, environ, _GET_ITEM, {"TableName": table, "Key": key, "ConsistentRead": True})
        return bool(json.loads(stored.body).get("Item") == item)
    except (ValueError, KeyError, TypeError):
        return False


def _send(start_response: StartResponse, status: str, headers: _Headers, body: bytes) -> list[bytes]:
    headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "x-amz-crc32")]
    headers += [("Content-Length", str(len(body))), ("X-Amz-Crc32", str(zlib.crc32(body)))]
    start_response(status, headers)
    return [body]


class RepairedMoto:
    """WSGI middleware around moto's app (see the module docstring)."""

    def __init__(self, app: WSGIApplication, log: Callable[[str], None]) -> None:
        self._app = app
        self._log = log

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        body = _read_body(environ)
        try:
            answer = _call(self._app, environ, body)
        except Exception as exc:  # moto raises out of its app on requests it cannot handle
            answer = _Captured()
            answer.headers = [("Content-Type", "application/x-amz-json-1.0")]
            answer.body = json.dumps({"__type": "InternalServerError", "message": repr(exc)}).encode()
        if answer.code >= 500:
            where = target or f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
            self._log(f"aws emulator: {answer.status} for {where}: {answer.body[:300]!r}")
        if (
            target == _PUT_ITEM
            and answer.code == 400
            and _CONDITION_FAILED in answer.body
            and _already_stored(self._app, environ, body)
        ):
            self._log("aws emulator: a retried PutItem of the identical stored item succeeds")
            return _send(start_response, "200 OK", [("Content-Type", "application/x-amz-json-1.0")], b"{}")
        if target:  # JSON protocols: the SDK checks the body against X-Amz-Crc32 when present
            return _send(start_response, answer.status, answer.headers, answer.body)
        start_response(answer.status, answer.headers)
        return [answer.body]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _handler(log: Callable[[str], None]) -> type[WSGIRequestHandler]:
    from werkzeug.serving import WSGIRequestHandler

    class _LoggingHandler(WSGIRequestHandler):
        def connection_dropped(self, error: BaseException, environ: WSGIEnvironment | None = None) -> None:
            target = (environ or {}).get("HTTP_X_AMZ_TARGET") or self.path
            log(f"aws emulator: the client dropped the connection before the answer to {target}: {error!r}")

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # no line per request

    return _LoggingHandler


class AwsServer:
    """moto's server (threaded, like ``ThreadedMotoServer``) behind :class:`RepairedMoto`."""

    def __init__(self, host: str, port: int, log: Callable[[str], None] = _stderr) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = RepairedMoto(DomainDispatcherApplication(create_backend_app), log)
        self._server = make_server(host, port, app, threaded=True, request_handler=_handler(log))
        self._host = host
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
