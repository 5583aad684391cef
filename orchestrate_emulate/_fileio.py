"""Whole-or-nothing file writes for the emulators (state.json, the GCP/Azure data, the mirror).

A copy of the three small helpers of ``orchestrator.fileio``: this package must not import the
product (the product sees the emulated clouds only through ``state.json`` and ``emulate env``), and
a shared third package for twenty lines would cost more than it saves.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one rename. Raises OSError; leaves no temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        if mode is not None:
            Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def write_if_changed(path: Path, text: str, *, mode: int | None = None) -> bool:
    """Atomically write ``text`` unless the file already holds it (then only fix its mode).

    Returns True when written: an unchanged file keeps its mtime, so terraform's init sees no change.
    """
    try:
        if path.read_text(encoding="utf-8") == text:
            if mode is not None and (path.stat().st_mode & 0o777) != mode:
                path.chmod(mode)
            return False
    except (OSError, UnicodeDecodeError):
        pass
    write_atomic(path, text, mode=mode)
    return True
