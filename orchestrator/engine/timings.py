"""How long each stack's plan, apply or validate took last time (the scheduler's priorities)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from orchestrator.engine.workdir import read_json
from orchestrator.fileio import write_if_changed
from orchestrator.layout import StackWork


def moving_average(old: object, seconds: float) -> float:
    """One slow run (a cold plugin cache) does not dominate (pure)."""
    value = seconds if not isinstance(old, int | float) else 0.5 * old + 0.5 * seconds
    return round(value, 3)


@dataclass(frozen=True)
class Timings:
    root: Path
    work_base: Path | None = None  # [.orchestrate/work]; a recovery's own

    def _work(self, slug: str) -> StackWork:
        if self.work_base is not None:
            return StackWork(self.root / self.work_base / slug)
        return StackWork.of(self.root, slug)

    def estimated(self, slug: str, op: str) -> float:
        value = read_json(self._work(slug).timings).get(op)
        return float(value) if isinstance(value, int | float) and value > 0 else 1.0

    def record(self, slug: str, op: str, seconds: float) -> None:
        path = self._work(slug).timings
        data = read_json(path)
        data[op] = moving_average(data.get(op), seconds)
        with contextlib.suppress(OSError):
            write_if_changed(path, json.dumps(data) + "\n")
