"""A warm parent that forks the stand-in providers, so Terraform's many starts cost little.

Terraform starts a provider three times per plan and once more for ``show -json``. A Go provider
starts in ~20 ms; a Python one pays the interpreter, grpc, protobuf and the framework (~0.13 s of
CPU) every time, and boto3 or the Google SDK on top when it reads. ``orchestrate emulate up`` runs
this zygote: it imports all of that once, listens on a unix socket, and forks a ready provider for
each start.

Protocol (one connection per provider start), spoken by the mirror's ``launch.py``:

1. the launcher sends a 4-byte big-endian length with its stdin, stdout and stderr attached
   (SCM_RIGHTS), then that many bytes of JSON: ``{"kind": "aws", "argv": [...], "env": {...},
   "cwd": "..."}``; a length of 0 is a ping, answered ``pong``;
2. the zygote forks; the child takes the three descriptors as its own, Terraform's environment and
   working directory, and serves the provider (the go-plugin handshake goes straight to
   Terraform's pipe);
3. when the provider stops the child sends one byte, its exit status, and exits; the launcher
   exits with it. If the launcher dies first (Terraform killed it), the child sees the connection
   close and exits too.

The launcher falls back to starting the provider itself when the socket is missing or dead, so
nothing depends on the zygote but speed.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from orchestrate_emulate.providers import STAND_INS

AWS_SERVICES = ("s3", "sqs", "ec2", "iam", "dynamodb", "sts")
_LISTENERS: list[socket.socket] = []  # closed in every child


def preload() -> None:
    """Import what every provider start needs, and what the working starts need on top."""
    import warnings

    warnings.simplefilter("ignore")
    import grpc  # type: ignore[import-untyped]  # noqa: F401
    import tf.provider
    import tf.runner  # noqa: F401

    for s in STAND_INS:
        importlib.import_module(s.module)
    from orchestrate_emulate.providers import _runtime

    with contextlib.suppress(ImportError):
        import boto3  # noqa: F401
        import botocore.loaders

        loader = botocore.loaders.create_loader()
        for name in ("endpoints", "partitions", "sdk-default-configuration"):
            with contextlib.suppress(Exception):
                loader.load_data(name)
        for service in AWS_SERVICES:
            with contextlib.suppress(Exception):
                loader.load_service_model(service, "service-2")
                loader.load_service_model(service, "endpoint-rule-set-1")
        _runtime.WARM["botocore_loader"] = loader
    with contextlib.suppress(ImportError):
        import google.cloud.resourcemanager_v3  # noqa: F401
    with contextlib.suppress(ImportError):
        import azure.mgmt.resource.resources  # noqa: F401


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = conn.recv(min(n, 65536))
        if not chunk:
            raise ConnectionError("the launcher closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _child(conn: socket.socket, fds: list[int], request: dict[str, Any]) -> None:
    """In the forked child: become the provider Terraform started. Never returns."""
    code = 1
    try:
        conn.settimeout(None)  # the zygote's read timeout must not end a long apply
        for listener in _LISTENERS:
            listener.close()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
        with contextlib.suppress(OSError):
            os.chdir(str(request.get("cwd") or "/"))
        kind = str(request["kind"])
        sys.argv = [f"terraform-provider-{kind}", *[str(a) for a in request.get("argv", [])]]

        def watch() -> None:
            # The launcher never sends more; an end of file means Terraform killed it.
            with contextlib.suppress(OSError):
                conn.recv(1)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
        stand_in = next(s for s in STAND_INS if s.name == kind)
        provider_class = getattr(importlib.import_module(stand_in.module), stand_in.provider_class)
        from orchestrate_emulate.providers._runtime import serve

        serve(provider_class())
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            conn.sendall(bytes([code & 0xFF]))
        os._exit(code)


def _handle(conn: socket.socket) -> None:
    msg, fds, _, _ = socket.recv_fds(conn, 4, 3)
    try:
        if len(msg) < 4:
            return
        (length,) = struct.unpack(">I", msg)
        if length == 0:
            conn.sendall(b"pong")
            return
        request = json.loads(_recv_exact(conn, length))
        if len(fds) != 3 or request.get("kind") not in {s.name for s in STAND_INS}:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            _child(conn, fds, request)
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _reap_children(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve_forever(path: Path, stop: threading.Event, ready: Any = None) -> None:
    """Listen on ``path`` (mode 0600) and fork a provider per connection until ``stop`` is set."""
    preload()
    # Reap children as they exit (waitpid, not SIG_IGN, so their CPU time counts as ours: benchmarks
    # read it from /proc/<pid>/stat).
    signal.signal(signal.SIGCHLD, _reap_children)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old_umask)
    sock.listen(64)
    sock.settimeout(0.2)
    _LISTENERS.append(sock)
    if ready is not None:
        ready()
    try:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(10)
                try:
                    _handle(conn)
                except (OSError, ValueError) as exc:
                    print(f"zygote: a launcher's request failed: {exc}", file=sys.stderr, flush=True)
    finally:
        sock.close()
        path.unlink(missing_ok=True)


def ping(path: Path, timeout: float = 3.0) -> bool:
    """Does a zygote answer on ``path``?"""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            socket.send_fds(s, [struct.pack(">I", 0)], [])
            return s.recv(4) == b"pong"
    except OSError:
        return False


LAUNCHER_CLIENT = '''\
"""Start a stand-in provider through the zygote (see orchestrate_emulate/providers/zygote.py).

Run with python -S -E: it imports nothing but the standard library, so it starts in a few
milliseconds. Without a zygote it becomes the provider itself (exec).
"""
import json, os, socket, struct, sys


def main():
    sock_path, kind, python, module = sys.argv[1:5]
    args = sys.argv[5:]
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        payload = json.dumps({"kind": kind, "argv": args, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
        socket.send_fds(s, [struct.pack(">I", len(payload))], [0, 1, 2])
        s.sendall(payload)
    except OSError:
        os.execv(python, [python, "-m", module, *args])
    try:
        code = s.recv(1)
    except KeyboardInterrupt:
        code = b"\\x82"
    sys.exit(code[0] if code else 1)


main()
'''
