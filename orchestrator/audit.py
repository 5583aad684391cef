"""The audit log: one JSON line per apply or destroy in .orchestrate/audit.jsonl.

Appended under an exclusive flock and fsynced, so concurrent runs never interleave a line
and a crash never leaves half of one.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from orchestrator.layout import AUDIT_FILE


def append(root: Path, record: dict[str, Any]) -> Path:
    path = root / AUDIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return path


def read(root: Path) -> list[dict[str, Any]]:
    path = root / AUDIT_FILE
    out: list[dict[str, Any]] = []
    try:
        text = path.read_text()
    except OSError:
        return out
    for line in text.splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out
