"""Start, find and stop the emulated clouds of a repository (``orchestrate emulate up|down|env``).

Everything lives under ``<repo>/.orchestrate/emulate/``:

- ``state.json``: ``{"endpoints": {"aws"|"gcp"|"azure": url}, "env": {...}, "pids": {...}}``, what
  the product's ``orchestrator.clouds.read_emulate_state`` reads (extra keys: ``ports``, ``logs``, ``data``,
  ``mirror``, ``extra_mirrors``, ``started_at``)
- ``mirror/`` and ``terraformrc``: the stand-in providers and the CLI config (:mod:`.mirror`)
- ``gcp.json``, ``azure.json``: the GCP and Azure emulators' resources, kept across restarts
  (moto's server keeps nothing: AWS resources are gone once it stops)
- ``logs/<kind>.log``: each server's output; ``run/<kind>.ready``: written by a server once it listens
- ``run/providers.sock``: the provider zygote's socket (:mod:`.providers.zygote`), which makes the
  stand-in providers start in milliseconds; without it they start on their own

Each server is a detached ``python -m orchestrate_emulate.serve <kind>`` process. ``down`` stops
exactly the processes ``state.json`` names, after checking each is still one of ours.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrate_emulate import mirror as mirror_mod
from orchestrate_emulate._fileio import write_json_atomic
from orchestrate_emulate.errors import EmulateError

# The file contract with the product: orchestrator.clouds reads state.json at the same place
# (tests/orchestrate_emulate/test_import_graph.py checks the two agree).
EMULATE_DIR = Path(".orchestrate") / "emulate"
EMULATE_STATE = EMULATE_DIR / "state.json"
KINDS = ("aws", "gcp", "azure")  # the emulated clouds
SERVERS = (*KINDS, "providers")  # and the zygote that forks the stand-in providers
PERSISTENT = ("gcp", "azure")
SERVE_MODULE = "orchestrate_emulate.serve"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Fake credentials and quiet defaults for everything that runs against the emulated clouds.
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "CHECKPOINT_DISABLE": "1",
}
# The endpoint variable each provider kind reads (orchestrator.clouds.terraform_env sets them per stack).
ENDPOINT_VARS = {
    "aws": "AWS_ENDPOINT_URL",
    "gcp": "GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT",
    "azure": "ARM_RESOURCE_MANAGER_ENDPOINT",
}


@dataclass(frozen=True)
class Service:
    """One emulated cloud as ``up`` left it."""

    kind: str
    url: str
    pid: int
    status: str  # started | running | restarted
    note: str = ""


@dataclass(frozen=True)
class Stopped:
    kind: str
    pid: int
    status: str  # stopped | killed | not running | not ours


class Emulation:
    """The emulated clouds of one repository."""

    def __init__(self, root: Path, *, python: str | None = None) -> None:
        self.root = root
        self.dir = root / EMULATE_DIR
        self.state_file = root / EMULATE_STATE
        self.python = python or sys.executable

    # ------------------------------------------------------------ reading

    @property
    def socket_path(self) -> Path:
        """The zygote's unix socket: in run/, or a short path when that one is too long for a socket."""
        path = self.dir / "run" / "providers.sock"
        if len(str(path)) < 100:
            return path
        digest = hashlib.sha256(str(self.dir).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"orchestrate-emulate-{os.getuid()}" / f"{digest}.sock"

    def read_state(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("endpoints"), dict) else None

    def environment(self) -> dict[str, str]:
        """Everything to export for plain terraform and the SDKs: credentials, config, endpoints."""
        state = self.read_state()
        if state is None:
            raise EmulateError(
                "the emulated clouds are not up",
                where=str(self.state_file.relative_to(self.root)),
                hint="Start them with `orchestrate emulate up`.",
            )
        env = {str(k): str(v) for k, v in (state.get("env") or {}).items()}
        for kind, url in state["endpoints"].items():
            if kind in ENDPOINT_VARS:
                env[ENDPOINT_VARS[kind]] = str(url)
        return env

    def alive(self, kind: str, pid: int, url: str | None) -> str | None:
        """None when the server answers; otherwise why not."""
        if not _is_ours(pid, kind):
            return "not running"
        if url is None or not _answers(kind, url):
            return "not answering"
        return None

    # ------------------------------------------------------------ up

    def up(self, *, extra_mirrors: tuple[Path, ...] | None = None) -> tuple[dict[str, Any], list[Service]]:
        """Start what is not running, reuse what is; build the mirror; write state.json."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            previous = self.read_state() or {}
            if not previous:
                # A lost or damaged state.json: servers it named would run on unseen.
                for pid in sorted(self.strays({}).values()):
                    _terminate(pid)
            if extra_mirrors is None:
                extra_mirrors = tuple(Path(p) for p in previous.get("extra_mirrors") or [])
            built = mirror_mod.build(
                self.dir, python=self.python, extra_mirrors=extra_mirrors, zygote_socket=self.socket_path
            )
            decided: dict[str, tuple[int, str | None, str | None]] = {}  # kind -> (old pid, url, why)
            launched: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
            old_urls = previous.get("urls") or previous.get("endpoints") or {}
            for kind in SERVERS:
                old_pid = int((previous.get("pids") or {}).get(kind) or 0)
                old_url = old_urls.get(kind)
                why = self.alive(kind, old_pid, old_url) if old_pid else "never started"
                decided[kind] = (old_pid, old_url, why)
                if why is not None:
                    if why == "not answering":
                        _terminate(old_pid)
                    # Start them all first, then wait: the servers boot in parallel.
                    launched[kind] = self._launch(kind, int((previous.get("ports") or {}).get(kind) or 0))
            services = self._await_all(decided, launched)
            endpoints = {s.kind: s.url for s in services if s.kind in KINDS}
            pids = {s.kind: s.pid for s in services}
            ports = {s.kind: int(s.url.rsplit(":", 1)[1]) for s in services if s.kind in KINDS}
            state = {
                "version": 1,
                "endpoints": endpoints,
                "env": {**BASE_ENV, **built.env()},
                "pids": pids,
                "ports": ports,
                "urls": {s.kind: s.url for s in services},
                "started_at": previous.get("started_at") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "mirror": str(built.root),
                "extra_mirrors": [str(p) for p in extra_mirrors],
                "data": {k: str(self.dir / f"{k}.json") for k in PERSISTENT},
                "logs": {k: str(self._log(k)) for k in SERVERS},
            }
            write_json_atomic(self.state_file, state)
            return state, services

    def _await_all(
        self,
        decided: dict[str, tuple[int, str | None, str | None]],
        launched: dict[str, tuple[subprocess.Popen[bytes], Path]],
    ) -> list[Service]:
        """Each server as it is now: kept running, or launched and answering. One that does not
        answer stops every server this run launched, then its error is raised."""
        services: list[Service] = []
        for kind in SERVERS:
            old_pid, old_url, why = decided[kind]
            if why is None:
                services.append(Service(kind, str(old_url), old_pid, "running"))
                continue
            try:
                url, pid = self._await(kind, *launched[kind])
            except EmulateError:
                # Leave nothing behind that state.json would not name.
                for proc, _ in launched.values():
                    if proc.poll() is None:
                        _terminate(proc.pid)
                raise
            if old_pid:
                note = f"was {why} (pid {old_pid})"
                if kind == "aws":
                    note += "; moto keeps nothing, so AWS resources created before are gone"
                services.append(Service(kind, url, pid, "restarted", note))
            else:
                services.append(Service(kind, url, pid, "started"))
        return services

    def _log(self, kind: str) -> Path:
        return self.dir / "logs" / f"{kind}.log"

    def _launch(self, kind: str, port: int) -> tuple[subprocess.Popen[bytes], Path]:
        """Start one server process; :meth:`_await` waits for it to listen."""
        ready = self.dir / "run" / f"{kind}.ready"
        ready.parent.mkdir(parents=True, exist_ok=True)
        ready.unlink(missing_ok=True)
        log = self._log(kind)
        log.parent.mkdir(parents=True, exist_ok=True)
        argv = [self.python, "-m", SERVE_MODULE, kind, "--ready-file", str(ready)]
        if port:
            argv += ["--port", str(port), "--any-port"]
        if kind in PERSISTENT:
            argv += ["--data", str(self.dir / f"{kind}.json")]
        if kind == "providers":
            argv += ["--socket", str(self.socket_path)]
        with log.open("ab") as out:
            out.write(f"--- {datetime.now(UTC).isoformat()} {' '.join(argv)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # `up` returns; the server stays
                close_fds=True,
                cwd=self.root,
            )
        return proc, ready

    def _await(self, kind: str, proc: subprocess.Popen[bytes], ready: Path) -> tuple[str, int]:
        log = self._log(kind)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if ready.is_file():
                info = json.loads(ready.read_text())
                return str(info["url"]), int(info["pid"])
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            _terminate(proc.pid)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:])
        raise EmulateError(
            f"the {kind} emulator did not start:\n{tail}",
            where=str(log.relative_to(self.root)),
            hint="Check that the emulate extra is installed (pip install 'orchestrate[emulate]').",
        )

    # ------------------------------------------------------------ down

    def down(self, *, wipe: bool = False) -> list[Stopped]:
        """Stop exactly the processes state.json names; ``wipe`` also forgets GCP and Azure resources."""
        with self._locked():
            state = self.read_state() or {}
            named = {str(k): _as_pid(v) for k, v in (state.get("pids") or {}).items()}
            # Servers of this repository state.json does not name (it was damaged or lost).
            pids = {**self.strays(named), **named}
            stopped: list[Stopped] = []
            for kind, pid in sorted(pids.items()):
                if not _is_ours(pid, kind.split(" ")[0]):
                    stopped.append(Stopped(str(kind), pid, "not running"))
                    continue
                stopped.append(Stopped(str(kind), pid, _terminate(pid)))
            self.state_file.unlink(missing_ok=True)
            if wipe:
                for kind in PERSISTENT:
                    (self.dir / f"{kind}.json").unlink(missing_ok=True)
            return stopped

    def strays(self, named: dict[str, int]) -> dict[str, int]:
        """Live servers started for this repository (their ready file is under our run/)
        that ``named`` does not list: kind -> pid."""
        marker = str(self.dir / "run") + os.sep
        known = set(named.values())
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in known:
                continue
            try:
                args = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0")]
            except OSError:
                continue
            if SERVE_MODULE not in args or "--ready-file" not in args:
                continue
            at = args.index(SERVE_MODULE) + 1
            ready = args[args.index("--ready-file") + 1] if args.index("--ready-file") + 1 < len(args) else ""
            if at < len(args) and ready.startswith(marker) and _is_ours(int(entry.name), args[at]):
                found[f"{args[at]} (not in state.json)"] = int(entry.name)
        return found

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / ".lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------- processes


def _as_pid(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _reap(pid: int) -> None:
    """Collect a child that exited (when `up` ran in this process), so it is not a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _command_line(pid: int) -> str | None:
    """The process's command line, or None when there is no such (live) process."""
    _reap(pid)
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            if ") Z" in (proc / "stat").read_text():
                return None  # a zombie: it has exited
            return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
    try:
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "stat=,command="], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = out.stdout.strip()
    if out.returncode != 0 or not line or line.startswith("Z"):
        return None
    return line


def _is_ours(pid: int, kind: str) -> bool:
    """Is ``pid`` a live emulator of this kind (and not a recycled pid of something else)?"""
    if pid <= 0:
        return False
    cmd = _command_line(pid)
    return cmd is not None and SERVE_MODULE in cmd and f" {kind} " in f" {cmd} "


def _terminate(pid: int) -> str:
    """SIGTERM, wait, SIGKILL if needed: 'stopped' or 'killed'."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "stopped"
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if _command_line(pid) is None:
            return "stopped"
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)
    return "killed"


def _answers(kind: str, url: str) -> bool:
    if kind == "providers":
        from orchestrate_emulate.providers.zygote import ping

        return ping(Path(url.removeprefix("unix:")))
    path = "/moto-api/" if kind == "aws" else "/_emulator/health"
    try:
        with urllib.request.urlopen(url + path, timeout=3) as resp:
            return bool(resp.status < 500)
    except (urllib.error.URLError, OSError, ValueError):
        return False
