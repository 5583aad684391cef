"""What one command shares across stacks, composed of small parts:

- ``workdir``: each stack's environment, backend override and ``init`` (engine/workdir.py);
- ``states`` and ``outputs``: reading current state through terraform (engine/state.py);
- ``timings``: last durations, for the scheduler's priorities (engine/timings.py);
- the terraform ``runner`` (with the shared redactor and cancel token), stack ``locks`` and
  ``progress``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.discovery import Stack
from orchestrator.engine.state import Outputs, States
from orchestrator.engine.timings import Timings
from orchestrator.engine.workdir import Workdir, clean_base_env
from orchestrator.layout import PLANS_DIR, PLUGIN_CACHE, RUNS_DIR, recovery_dir
from orchestrator.locks import StackLocks
from orchestrator.progress import Progress, QuietProgress
from orchestrator.redact import Redactor
from orchestrator.terraform import runner as tf
from orchestrator.terraform.binary import TerraformBinary, locate
from orchestrator.terraform.cachelock import PluginCacheLock
from orchestrator.workspace import Workspace


@dataclass
class Engine:
    ws: Workspace
    binary: TerraformBinary
    progress: Progress = field(default_factory=QuietProgress)
    cancel: tf.CancelToken = field(default_factory=tf.CancelToken)
    owner: str | None = None
    base_env: Mapping[str, str] | None = None  # defaults to os.environ at construction

    def __post_init__(self) -> None:
        self.root = self.ws.root
        self.config = self.ws.config
        self.redactor = Redactor(self.config.redact)
        cache_lock = (
            PluginCacheLock(self.root / PLUGIN_CACHE / ".lock")
            if self.config.terraform.plugin_cache
            else None
        )
        self.runner = tf.Runner(
            self.binary,
            self.redactor,
            self.cancel,
            timeout=self.config.terraform.timeout_seconds,
            guard=cache_lock.for_command if cache_lock is not None else None,
        )
        # A disaster recovery (ws.recovery) keeps its work, locks, plan sets and runs apart.
        self.data = recovery_dir(self.ws.recovery.target) if self.ws.recovery is not None else None
        self.locks = StackLocks(
            self.root, owner=self.owner, base=self.data / "locks" if self.data is not None else None
        )
        base = clean_base_env(os.environ if self.base_env is None else self.base_env)
        self.workdir = Workdir(
            self.root,
            self.config,
            self.binary,
            self.runner,
            self.progress,
            self.ws.emulate,
            base,
            work_base=self.data / "work" if self.data is not None else None,
        )
        self.states = States(self.ws, self.workdir)
        self.outputs = Outputs(self.ws, self.workdir, self.redactor)
        self.timings = Timings(self.root, self.workdir.work_base)

    @classmethod
    def create(
        cls, ws: Workspace, *, progress: Progress | None = None, base_env: Mapping[str, str] | None = None
    ) -> Engine:
        t = ws.config.terraform
        binary = locate(t.binary, t.version)
        return cls(ws, binary, progress or QuietProgress(), base_env=base_env)

    @property
    def parallelism(self) -> int:
        return self.config.terraform.effective_parallelism

    def pool_limits(self) -> dict[str, int]:
        return {name: t.max_parallel for name, t in self.config.clouds.items() if t.max_parallel}

    @property
    def plans_dir(self) -> Path:
        """Where this command's plan sets go: a recovery's never beside the originals'."""
        return self.root / (self.data / "plans" if self.data is not None else PLANS_DIR)

    @property
    def runs_dir(self) -> Path:
        return self.root / (self.data / "runs" if self.data is not None else RUNS_DIR)

    def stack(self, sid: str) -> Stack:
        return self.ws.stacks[sid]
