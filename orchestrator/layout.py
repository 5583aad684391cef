"""The ``.orchestrate/`` directory of a repository, named in one place.

Every path orchestrate writes under a repository is here, relative to the repository root;
modules join them to the root they were given. Nothing here touches the disk.

    .orchestrate/
        audit.jsonl              one JSON line per apply or destroy (audit.py)
        cache/                   parsed HCL and validated YAML by content hash (discovery.py)
        emulate/state.json       what `orchestrate emulate up` started (clouds.py)
        mirrors/<name>/          provider mirror CLI configs for validate (terraform/mirrors.py)
        locks/<slug>.lock        one plan or apply per stack at a time (locks.py)
        plans/<plan set id>/     plan sets (planset.py)
        recovery/<target>/       a disaster recovery's own work/, locks/, plans/, runs/ and
                                 (local backend) state/ (recovery.py)
        plugin-cache/            terraform's shared provider cache (engine/workdir.py)
        runs/<stamp>-<id>/       what each apply did: logs, re-plans, result.json (engine/apply.py)
        state/<stack>/           the default local backend's state (backends.py)
        work/<slug>/             terraform's data dir, backend.hcl, init.json, timings.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".orchestrate"
AUDIT_FILE = Path(STATE_DIR) / "audit.jsonl"
CACHE_DIR = Path(STATE_DIR) / "cache"
EMULATE_DIR = Path(STATE_DIR) / "emulate"
EMULATE_STATE = EMULATE_DIR / "state.json"
LOCKS_DIR = Path(STATE_DIR) / "locks"
MIRRORS_DIR = Path(STATE_DIR) / "mirrors"
PLANS_DIR = Path(STATE_DIR) / "plans"
PLUGIN_CACHE = Path(STATE_DIR) / "plugin-cache"
RUNS_DIR = Path(STATE_DIR) / "runs"
WORK_DIR = Path(STATE_DIR) / "work"
RECOVERY_DIR = Path(STATE_DIR) / "recovery"


def recovery_dir(target: str) -> Path:
    """Everything a recovery onto ``target`` (a cloud target name, or several joined by '+')
    writes, relative to the repository root: never beside the originals' data."""
    return RECOVERY_DIR / target


def local_state_path(stack_id: str) -> str:
    """The default local backend's state file of a stack, relative to the repository root."""
    return f"{STATE_DIR}/state/{stack_id}/terraform.tfstate"


@dataclass(frozen=True)
class StackWork:
    """Paths under .orchestrate/work/<slug>/ for one stack."""

    dir: Path

    @classmethod
    def of(cls, root: Path, slug: str) -> StackWork:
        return cls(root / WORK_DIR / slug)

    @property
    def data_dir(self) -> Path:
        return self.dir / ".terraform"

    @property
    def backend_file(self) -> Path:
        return self.dir / "backend.hcl"

    @property
    def init_record(self) -> Path:
        return self.dir / "init.json"

    @property
    def timings(self) -> Path:
        return self.dir / "timings.json"

    def sub(self, name: str) -> StackWork:
        """A separate work area beside the stack's own (validate, drift refresh)."""
        return StackWork(self.dir / name)
