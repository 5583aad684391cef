"""One plan or apply per stack at a time: a lock file per stack under .orchestrate/locks/.

The lock file (created with O_EXCL, so two runs cannot both take it) records the owner,
pid, host, operation, time and the process start time. Terraform's own state lock stays on
underneath; this lock also covers what terraform does not lock (init, the plan set, the
audit record) and gives a clear message naming the holder.

Stale rule (docs/engine.md): a lock is stale, and taken over with a notice, when
- it was taken on this host and its process no longer exists (or the pid was reused by a
  process that started later), or
- it is older than ``STALE_AFTER`` (12 hours; 2 x terraform.timeout when that is longer).
A lock that is not stale is reported with its holder and the command that clears it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.errors import StateLockError
from orchestrator.layout import LOCKS_DIR

STALE_AFTER = 12 * 3600.0


@dataclass(frozen=True)
class LockRecord:
    stack: str
    operation: str
    owner: str
    pid: int
    host: str
    created_at: str  # ISO 8601, UTC
    created_ts: float
    pid_start: int | None = None  # /proc/<pid>/stat start time, against pid reuse
    # The terraform the holder runs (apply): it outlives a killed orchestrate and still
    # writes the state, so the lock stays live while it runs.
    terraform_pid: int | None = None
    terraform_start: int | None = None
    terraform_output: str | None = None  # the file terraform writes its output into

    def describe(self) -> str:
        tf = f", terraform pid {self.terraform_pid}" if self.terraform_pid else ""
        return f"{self.operation} by {self.owner} (pid {self.pid}{tf} on {self.host}) since {self.created_at}"


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "stack": (str,),
    "operation": (str,),
    "owner": (str,),
    "pid": (int,),
    "host": (str,),
    "created_at": (str,),
    "created_ts": (int, float),
    "pid_start": (int, type(None)),
    "terraform_pid": (int, type(None)),
    "terraform_start": (int, type(None)),
    "terraform_output": (str, type(None)),
}
_REQUIRED = ("stack", "operation", "owner", "pid", "host", "created_at", "created_ts")


def parse_record(text: str) -> LockRecord:
    """A lock file's record; ValueError when it is not one orchestrate wrote (pure)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    for key, value in data.items():
        types = _FIELD_TYPES.get(key)
        if types is None:
            raise ValueError(f"unknown field {key!r}")
        if isinstance(value, bool) or not isinstance(value, types):
            raise ValueError(f"{key} has the wrong type")
    return LockRecord(**data)


def current_owner() -> str:
    for var in ("ORCHESTRATE_OWNER", "GITHUB_ACTOR", "USER", "LOGNAME"):
        v = os.environ.get(var)
        if v:
            return v
    return f"uid-{os.getuid()}"


def process_start(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    rest = stat.rsplit(")", 1)[-1].split()
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphan_report(record: LockRecord) -> str:
    """What a terraform left running by a killed orchestrate did, from its output file."""
    if record.terraform_pid is None:
        return ""
    head = f"; its terraform (pid {record.terraform_pid}) outlived it and has finished"
    if not record.terraform_output:
        return head
    try:
        lines = Path(record.terraform_output).read_text(errors="replace").splitlines()
    except OSError:
        return head + f" (its output {record.terraform_output} is gone)"
    outcome = [
        ln.strip()
        for ln in lines
        if ln.strip().startswith(("Apply complete!", "Error:", "Destroy complete!"))
    ]
    said = outcome[-1] if outcome else "no outcome line"
    return head + f": {said!r} (full output: {record.terraform_output}); plan again to see where things stand"


def process_alive(pid: int, start: int | None) -> bool:
    """The process that had ``pid`` (and started at ``start``, when known) still runs here."""
    if not pid_alive(pid):
        return False
    if start is not None:
        now = process_start(pid)
        if now is not None and now != start:
            return False
    return True


def is_stale(record: LockRecord, *, now: float, host: str, max_age: float) -> str | None:
    """Why a lock is stale, or None when it is live (pure apart from checking the pid).

    A terraform the holder started that still runs keeps the lock live whatever its age:
    it may be writing the state of an apply whose orchestrate was killed.
    """
    if record.host == host:
        if record.terraform_pid is not None and process_alive(record.terraform_pid, record.terraform_start):
            return None
        if not pid_alive(record.pid):
            return f"its process {record.pid} is gone"
        if record.pid_start is not None:
            start = process_start(record.pid)
            if start is not None and start != record.pid_start:
                return f"pid {record.pid} now belongs to another process"
    age = now - record.created_ts
    if age > max_age:
        return f"it is {age / 3600:.1f} hours old"
    return None


class StackLocks:
    """Locks of one repository. ``hold(stack, op)`` is a context manager."""

    def __init__(
        self, root: Path, *, owner: str | None = None, max_age: float = STALE_AFTER, base: Path | None = None
    ) -> None:
        self.dir = root / (base if base is not None else LOCKS_DIR)
        self.owner = owner or current_owner()
        self.host = socket.gethostname()
        self.max_age = max_age
        self.notices: list[str] = []
        self._held: dict[str, LockRecord] = {}

    def path(self, slug: str) -> Path:
        return self.dir / f"{slug}.lock"

    def read(self, slug: str) -> LockRecord | None:
        """The record of a lock; None when there is none or it is empty (being written)."""
        try:
            text = self.path(slug).read_text(errors="replace")
        except OSError:
            return None
        if not text.strip():
            return None
        return parse_record(text)

    def _read_or_refuse(self, stack: str, slug: str) -> LockRecord | None:
        try:
            return self.read(slug)
        except ValueError as exc:
            path = self.path(slug)
            raise StateLockError(
                f"the stack lock {path} is not a lock orchestrate wrote ({exc})",
                where=stack,
                hint=f"Check that no orchestrate run is working on this stack, then remove it: rm {path}",
            ) from None

    def acquire(self, stack: str, slug: str, operation: str) -> LockRecord:
        self.dir.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        record = LockRecord(
            stack=stack,
            operation=operation,
            owner=self.owner,
            pid=pid,
            host=self.host,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            created_ts=time.time(),
            pid_start=process_start(pid),
        )
        path = self.path(slug)
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                held = self._read_or_refuse(stack, slug)
                if held is None:
                    # Unreadable: a writer died between create and write, or it is being written.
                    try:
                        age = time.time() - path.stat().st_mtime
                    except FileNotFoundError:
                        continue
                    if age < 5:
                        time.sleep(0.2)
                        continue
                    self.notices.append(f"{stack}: removed an unreadable stack lock ({path})")
                    path.unlink(missing_ok=True)
                    continue
                why = is_stale(held, now=time.time(), host=self.host, max_age=self.max_age)
                if why is None:
                    raise StateLockError(
                        f"another orchestrate run holds the lock of this stack: {held.describe()}",
                        where=stack,
                        hint=f"Wait for it to finish. If it is dead, remove the lock: rm {path}",
                    ) from None
                self.notices.append(
                    f"{stack}: took over a stale lock ({why}): {held.describe()}" + orphan_report(held)
                )
                # Replace atomically so a concurrent taker cannot lose its own fresh lock.
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(asdict(record), fh)
            self._held[slug] = record
            return record
        raise StateLockError(
            "could not take the stack lock (it keeps changing hands)",
            where=stack,
            hint=f"Check for concurrent runs; the lock is {path}.",
        )

    def note_terraform(self, slug: str, pid: int, output: Path | None = None) -> None:
        """Record the terraform this run started under the lock: while it lives the lock is
        not stale, even when this process is killed."""
        record = self._held.get(slug)
        if record is None:
            return
        record = replace(
            record,
            terraform_pid=pid,
            terraform_start=process_start(pid),
            terraform_output=str(output) if output is not None else None,
        )
        tmp = self.path(slug).with_suffix(f".lock.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(record)))
        os.replace(tmp, self.path(slug))  # atomic: readers see the old record or the new one
        self._held[slug] = record

    def release(self, slug: str, record: LockRecord) -> None:
        self._held.pop(slug, None)
        try:
            held = self.read(slug)
        except ValueError:
            return
        if held is not None and (held.pid, held.created_ts) == (record.pid, record.created_ts):
            self.path(slug).unlink(missing_ok=True)

    @contextlib.contextmanager
    def hold(self, stack: str, slug: str, operation: str) -> Iterator[LockRecord]:
        record = self.acquire(stack, slug, operation)
        try:
            yield record
        finally:
            self.release(slug, record)
