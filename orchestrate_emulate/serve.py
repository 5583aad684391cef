"""Run one emulated cloud as a process: ``python -m orchestrate_emulate.serve gcp|azure|aws``,
or the providers' zygote: ``python -m orchestrate_emulate.serve providers --socket PATH``.

Binds 127.0.0.1 (``--port``, 0 for a free one; when the wanted port is taken it falls back to
a free one with ``--any-port``), then writes ``{"url": ..., "pid": ...}`` to ``--ready-file``
(atomically) and serves until SIGTERM or SIGINT. ``gcp`` and ``azure`` keep their resources in
``--data`` (JSON, rewritten after every change) so a restart finds them again; ``aws`` is moto's
server, which keeps nothing across restarts.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import warnings
from pathlib import Path
from typing import Protocol


class _Server(Protocol):
    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


class _Moto:
    """moto's server (see ``aws_server``) with the same start/url/stop shape as the emulators."""

    def __init__(self, host: str, port: int) -> None:
        from orchestrate_emulate.aws_server import AwsServer

        if port:
            # fail fast and clearly when the port is taken, before moto's imports
            with socket.socket() as probe:
                probe.bind((host, port))
        self._server = AwsServer(host, port)

    @property
    def url(self) -> str:
        return self._server.url

    def stop(self) -> None:
        self._server.stop()


def start(kind: str, host: str, port: int, data: Path | None) -> _Server:
    if kind == "aws":
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        return _Moto(host, port)
    if kind == "gcp":
        from orchestrate_emulate.gcp_api import GcpEmulator

        return GcpEmulator(host, port, data).start()
    if kind == "azure":
        from orchestrate_emulate.azure_api import AzureEmulator

        return AzureEmulator(host, port, data).start()
    raise SystemExit(f"unknown emulator kind {kind!r} (aws, gcp or azure)")


def main(argv: list[str] | None = None) -> int:
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(prog="python -m orchestrate_emulate.serve")
    parser.add_argument("kind", choices=["aws", "gcp", "azure", "providers"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--any-port", action="store_true", help="use a free port when --port is taken")
    parser.add_argument("--data", type=Path, help="state file (gcp, azure)")
    parser.add_argument("--ready-file", type=Path, help="written with the URL once serving")
    parser.add_argument("--socket", type=Path, help="the zygote's unix socket (providers)")
    args = parser.parse_args(argv)

    if args.kind == "providers":
        return _serve_zygote(args.socket, args.ready_file)

    try:
        server = start(args.kind, args.host, args.port, args.data)
    except OSError as exc:
        if not (args.any_port and args.port):
            print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        server = start(args.kind, args.host, 0, args.data)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.ready_file is not None:
        from orchestrate_emulate._fileio import write_json_atomic

        write_json_atomic(args.ready_file, {"url": server.url, "pid": os.getpid(), "kind": args.kind})
    print(f"{args.kind} emulator listening on {server.url}", flush=True)
    stop.wait()
    server.stop()
    return 0


def _serve_zygote(path: Path | None, ready_file: Path | None) -> int:
    from orchestrate_emulate._fileio import write_json_atomic
    from orchestrate_emulate.providers.zygote import serve_forever

    if path is None:
        print("providers needs --socket PATH", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def ready() -> None:
        if ready_file is not None:
            write_json_atomic(ready_file, {"url": f"unix:{path}", "pid": os.getpid(), "kind": "providers"})
        print(f"provider zygote listening on {path}", flush=True)

    serve_forever(path, stop, ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
