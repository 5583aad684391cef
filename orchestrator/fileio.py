"""Writing files whole or not at all: a temporary file beside the target, then a rename.

Every file orchestrate writes that someone else may read while it is written (reports, SARIF,
backend overrides, state of the emulators, the discovery cache) goes through here.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from orchestrator.errors import OrchestratorError
from orchestrator.jsontypes import JSONData


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


def write_json_atomic(path: Path, data: JSONData) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def write_if_changed(path: Path, text: str, *, mode: int | None = None) -> bool:
    """Atomically write ``text`` unless the file already holds it (then only fix its mode).

    Returns True when written: an unchanged file keeps its mtime, so nothing downstream
    (terraform's init, an editor) sees a change.
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


def write_output_file(path: Path, text: str, *, what: str, hint: str) -> None:
    """Write a file the user asked for (--out, --sarif); failures become one clear error."""
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise OrchestratorError(
            f"cannot write {what}: {exc.strerror or exc}", where=str(path), hint=hint
        ) from exc
