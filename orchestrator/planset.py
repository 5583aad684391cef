"""Plan sets (SPEC §6): the manifest model, its content-derived id, atomic write and read.

Layout of a plan set directory::

    manifest.json
    policy.json                     # policy results for every stack (when policies ran)
    <stack-slug>/plan.tfplan        # the saved plan terraform applies
    <stack-slug>/plan.json          # terraform show -json plan.tfplan
    <stack-slug>/plan.txt           # terraform show plan.tfplan (redacted)
    <stack-slug>/log.txt            # everything terraform printed (redacted)

The directory appears whole or not at all: it is built under a temporary name beside its
final place and renamed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import PlanSetError
from orchestrator.layout import PLANS_DIR
from orchestrator.planset_crypto import read_stored
from orchestrator.terraform.planjson import PlanJSON, load_plan_json

MANIFEST = "manifest.json"
POLICY_FILE = "policy.json"
PLAN_FILE = "plan.tfplan"
PLAN_JSON = "plan.json"
PLAN_TEXT = "plan.txt"
LOG_FILE = "log.txt"

StackStatus = Literal["changes", "no-changes", "failed", "skipped", "provisional"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Counts(_Model):
    add: int = 0
    change: int = 0
    destroy: int = 0
    replace: int = 0

    @property
    def total(self) -> int:
        return self.add + self.change + self.destroy + self.replace


class ResourceChange(_Model):
    """One planned change, enough to compare a re-plan with what was approved."""

    address: str
    actions: list[str]


class StackPlan(_Model):
    stack: str
    slug: str
    path: str
    cloud: str | None = None
    environment: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    status: StackStatus
    counts: Counts = Field(default_factory=Counts)
    resource_changes: list[ResourceChange] = Field(default_factory=list)
    output_changes: bool = False
    plan_sha256: str | None = None  # of plan.tfplan
    plan_json_sha256: str | None = None
    lineage: str | None = None
    serial: int | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)  # variable -> value used (redacted)
    provisional_on: list[str] = Field(default_factory=list)  # upstream stacks it waits for
    unknown_inputs: list[str] = Field(default_factory=list)  # inputs planned with a placeholder
    reason: str | None = None  # why provisional (without a plan) or skipped
    source_sha256: str | None = None  # of the stack's files and local modules when planned
    # sha256 per part of the effective configuration (engine.effective): target, backend,
    # var_files, environment
    config_sha256: dict[str, str] = Field(default_factory=dict)
    error: str | None = None
    duration_s: float | None = None

    @property
    def has_plan(self) -> bool:
        return self.plan_sha256 is not None


class RecoveryInfo(_Model):
    """A disaster-recovery plan set (orchestrator/recovery.py): it rebuilds ``environment`` on other
    cloud targets, with its own state, and applies only on those (part of the manifest's id)."""

    environment: str
    target: str  # the recovery target names, sorted and joined by '+'
    clouds: dict[str, str]  # original cloud target -> recovery target
    stacks: list[str]  # the stacks rebuilt (the environment's and the upstreams they need)


class Encryption(_Model):
    """How plan.tfplan and plan.json of every stack are stored (orchestrator.planset_crypto):
    age files to these X25519 recipients (public keys only)."""

    format: Literal["age"] = "age"
    recipients: list[str] = Field(min_length=1)


class Manifest(_Model):
    format: int = 1
    id: str = ""
    commit: str | None = None
    dirty: bool = False
    created_at: str
    kind: Literal["plan", "destroy", "drift-remediation"] = "plan"
    terraform_version: str | None = None
    terraform_binary: str | None = None
    orchestrate_version: str
    pr: int | None = None
    stacks: list[StackPlan]
    policy: dict[str, Any] | None = None  # summary: {"enforcement", "denied", "warned", "errors"}
    recovery: RecoveryInfo | None = None  # set only for a disaster-recovery plan set
    # set when plan.tfplan and plan.json are age files (orchestrator.planset_crypto); the
    # digests above are then of the stored (encrypted) bytes
    encryption: Encryption | None = None

    @property
    def encrypted(self) -> bool:
        return self.encryption is not None

    def stack(self, stack_id: str) -> StackPlan | None:
        return next((s for s in self.stacks if s.stack == stack_id), None)

    def content_id(self) -> str:
        """The id derived from everything else in the manifest."""
        body = self.canonical()
        del body["id"]
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        return f"ps-{digest[:16]}"

    def _unset_later_fields(self) -> set[str] | None:
        """Fields added after format 1 that are left out when unset (``recovery``,
        ``encryption``), so plan sets made before them keep their ids, digests and bytes."""
        unset = {name for name in ("recovery", "encryption") if getattr(self, name) is None}
        return unset or None

    def canonical(self) -> dict[str, Any]:
        """The manifest as JSON data (fields added later only when set)."""
        return self.model_dump(mode="json", exclude=self._unset_later_fields())

    def to_json(self) -> str:
        """manifest.json's text (fields added later only when set, as before they existed)."""
        return self.model_dump_json(indent=2, exclude=self._unset_later_fields())

    def with_id(self) -> Manifest:
        return self.model_copy(update={"id": self.content_id()})


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_plan_set(
    parent: Path,
    manifest: Manifest | None,
    populate: Callable[[Path], Manifest | None],
    *,
    final_dir: Path | None = None,
) -> tuple[Manifest, Path]:
    """Create a plan set atomically.

    ``populate(tmp_dir)`` writes the per-stack files into a temporary directory and may
    return the manifest (built from what it planned), which replaces ``manifest``; then the
    manifest gets its id, is written, and the directory is renamed to
    ``final_dir`` (``--out``) or ``parent/<id>``. Returns the manifest with its id and the path.
    """
    target_parent = final_dir.parent if final_dir is not None else parent
    try:
        # Before anything is planned: a directory that cannot be written is one clear error.
        parent.mkdir(parents=True, exist_ok=True)
        target_parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".planset-", dir=target_parent))
    except OSError as exc:
        shown = final_dir if final_dir is not None else parent
        raise PlanSetError(
            f"cannot write the plan set to {shown}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename else ""),
            hint="Choose a writable directory for --out (a new or empty directory)."
            if final_dir is not None
            else "Make .orchestrate/plans writable.",
        ) from None
    try:
        built = populate(tmp)
        if built is not None:
            manifest = built
        if manifest is None:
            raise PlanSetError("internal: a plan set needs a manifest")
        manifest = manifest.with_id()
        (tmp / MANIFEST).write_text(manifest.to_json() + "\n")
        dest = final_dir if final_dir is not None else parent / manifest.id
        if dest.exists():
            if final_dir is not None and not any(dest.iterdir()):
                dest.rmdir()
            elif final_dir is None:
                # Same content, same id: the plan set already exists; keep the older one.
                shutil.rmtree(tmp)
                return manifest, dest
            else:
                raise PlanSetError(
                    f"{dest} already exists and is not empty",
                    hint="Choose another --out directory or remove it first.",
                )
        tmp.replace(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest, dest


@dataclass(frozen=True)
class LoadedPlanSet:
    """A plan set read once at a command's boundary: everything after (approval, verification,
    apply) works from this value and never reads manifest.json again."""

    dir: Path
    manifest: Manifest
    sha256: str  # of the manifest.json bytes that were read

    def manifest_unchanged(self) -> bool:
        """Whether manifest.json on disk is still the one that was read."""
        try:
            return sha256_file(self.dir / MANIFEST) == self.sha256
        except OSError:
            return False


def load_plan_set(plan_set: Path) -> LoadedPlanSet:
    """Read and check a plan set's manifest (its content id) once."""
    path = plan_set / MANIFEST
    if not plan_set.is_dir():
        raise PlanSetError(
            "the plan set does not exist",
            where=str(plan_set),
            hint="Run `orchestrate plan` first, or pass the directory of an existing plan set.",
        )
    try:
        raw = path.read_bytes()
        manifest = Manifest.model_validate(json.loads(raw))
    except OSError as exc:
        raise PlanSetError(
            f"cannot read {MANIFEST}: {exc.strerror or exc}",
            where=str(plan_set),
            hint="The plan set is incomplete; plan again.",
        ) from exc
    except (ValueError, ValidationError) as exc:
        raise PlanSetError(
            f"{MANIFEST} is corrupt ({str(exc).splitlines()[0][:120]})",
            where=str(path),
            hint="Plan again; never edit a plan set by hand.",
        ) from exc
    if manifest.id != manifest.content_id():
        raise PlanSetError(
            f"{MANIFEST} does not match its id {manifest.id} (it was changed after planning)",
            where=str(path),
            hint="Plan again; never edit a plan set by hand.",
        )
    return LoadedPlanSet(plan_set, manifest, hashlib.sha256(raw).hexdigest())


def read_manifest(plan_set: Path) -> Manifest:
    return load_plan_set(plan_set).manifest


APPLY_BY_DEFAULT = ("plan", "drift-remediation")


def manifest_kind(plan_set: Path) -> str | None:
    """The kind a manifest declares, without checking the rest of it (None when unreadable)."""
    try:
        data = json.loads((plan_set / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    kind = data.get("kind", "plan") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def latest_plan_set(root: Path, kinds: tuple[str, ...] = APPLY_BY_DEFAULT, *, base: Path = PLANS_DIR) -> Path:
    """The most recently written plan set under .orchestrate/plans/ of one of ``kinds``.

    A destroy plan set is never the default: it is applied only when named (--plan-set DIR)
    and confirmed (--confirm-destroy)."""
    where = root / base
    candidates = []
    if where.is_dir():
        for d in where.iterdir():
            readable = d.is_dir() and not d.name.startswith(".") and (d / MANIFEST).is_file()
            if readable and manifest_kind(d) in kinds:
                candidates.append(d)
    if not candidates:
        raise PlanSetError(
            f"no plan set found under {base}"
            + (" (destroy plan sets are applied only by name)" if "destroy" not in kinds else ""),
            hint="Run `orchestrate plan` first, or pass --plan-set DIR.",
        )
    return max(candidates, key=lambda d: (d / MANIFEST).stat().st_mtime_ns)


def read_plan_json(plan_set: Path, slug: str, *, encrypted: bool) -> PlanJSON:
    """A stack's plan.json, decrypted in memory when the manifest says the set is ``encrypted``
    (a file of the other form is refused)."""
    path = plan_set / slug / PLAN_JSON
    try:
        text = read_stored(path, encrypted=encrypted, what=f"{slug}/{PLAN_JSON}")
    except OSError as exc:
        raise PlanSetError(f"cannot read {PLAN_JSON}: {exc.strerror or exc}", where=str(path)) from exc
    hint = "The plan set is damaged or was altered: plan again; never edit a plan set by hand."
    return load_plan_json(text, what=PLAN_JSON, where=str(path), error=PlanSetError, hint=hint)
