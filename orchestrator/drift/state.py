"""A stack's Terraform state: parsing format v4 (pure) and reading it from its backend.

Local and S3 state are read directly (a file read, one S3 GetObject) without ``terraform
init``; every other backend goes through ``terraform state pull`` (a ``pull`` callable the
caller builds on orchestrator.terraform). Only the default workspace is read.

A state that cannot be read or parsed is a StateError; a state that does not exist yet (the
stack was never applied) is a StateNotFound, which the scan reports as that stack's error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.backends import EffectiveBackend, state_base
from orchestrator.drift.model import AttrPath, Resource, index_suffix
from orchestrator.errors import OrchestratorError
from orchestrator.hcl import Unresolved
from orchestrator.jsontypes import JSONValue
from orchestrator.redact import MIN_SECRET_LENGTH, leaves, state_sensitive_values
from orchestrator.terraform.statejson import StateInstance, StateJSON, StateResource, state_json_of


class StateError(OrchestratorError):
    """A state is unreadable, corrupt or of an unsupported format."""


class StateNotFound(StateError):
    """No state exists where the stack's backend points: the stack was never applied."""


@dataclass(frozen=True)
class StateSnapshot:
    lineage: str | None
    serial: int | None
    terraform_version: str | None
    resources: tuple[Resource, ...]
    secrets: frozenset[str]  # values the state marks sensitive (attributes and outputs)


# ---------------------------------------------------------------- parsing (pure)


def _step(step: JSONValue) -> str | int:
    """One step of a state ``sensitive_attributes`` path: get_attr or index."""
    if not isinstance(step, dict):
        raise ValueError("path step is not an object")
    value = step.get("value")
    if step.get("type") == "get_attr" and isinstance(value, str):
        return value
    if step.get("type") == "index":
        inner = value.get("value") if isinstance(value, dict) else value
        if isinstance(inner, bool):
            raise ValueError("boolean index")
        if isinstance(inner, int | float):
            return int(inner)
        if isinstance(inner, str):
            return inner
    raise ValueError(f"unknown path step {step!r}")


def _sensitive_paths(raw: JSONValue | None) -> tuple[AttrPath, ...]:
    if not raw:
        return ()
    if not isinstance(raw, list):
        raise ValueError("sensitive_attributes is not a list")
    # Terraform writes a list of paths, each a list of steps; tolerate a single flat path.
    paths = [p for p in raw if isinstance(p, list)]
    if len(paths) < len(raw):
        paths = [raw]
    return tuple(tuple(_step(s) for s in p) for p in paths)


def values_at(value: JSONValue, path: AttrPath) -> list[JSONValue]:
    """The value(s) at ``path`` inside ``value``; a missing step gives nothing."""
    for i, step in enumerate(path):
        if isinstance(value, dict):
            if isinstance(step, str) and step in value:
                value = value[step]
                continue
            # terraform_data and other dynamic attributes wrap their value: {"value": .., "type": ..}
            if "value" in value and "type" in value:
                return values_at(value["value"], path[i:])
            return []
        if isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
            continue
        return []
    return [_unwrap_dynamic(value)]


def _unwrap_dynamic(value: JSONValue) -> JSONValue:
    """A dynamic attribute (terraform_data's input/output) is stored as {"value": v, "type": t};
    the secret is v, never the type name."""
    if isinstance(value, dict) and set(value) == {"value", "type"} and isinstance(value["type"], str | list):
        return value["value"]
    return value


def unflatten(flat: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """Terraform 0.11's ``attributes_flat`` ({"tags.%": "1", "tags.Name": "x", "ports.#": "1",
    "ports.0": "22"}) as nested attributes; counts (``%``, ``#``) are dropped."""
    root: dict[str, JSONValue] = {}
    lists: set[tuple[str, ...]] = set()
    for key in sorted(flat):
        parts = key.split(".")
        if parts[-1] in ("%", "#"):
            if parts[-1] == "#":
                lists.add(tuple(parts[:-1]))
            _node(root, parts[:-1])
            continue
        _node(root, parts[:-1])[parts[-1]] = flat[key]

    def fix(node: JSONValue, path: tuple[str, ...]) -> JSONValue:
        if not isinstance(node, dict):
            return node
        fixed = {k: fix(v, (*path, k)) for k, v in node.items()}
        if path in lists and all(k.isdigit() for k in fixed):
            return [fixed[k] for k in sorted(fixed, key=int)]
        return fixed

    attributes = fix(root, ())
    if not isinstance(attributes, dict):
        raise ValueError("attributes_flat is a list, not an object")
    return attributes


def _node(root: dict[str, JSONValue], parts: list[str]) -> dict[str, JSONValue]:
    """The object at ``parts`` under ``root``, created as needed; a scalar already there (a
    key both a value and a prefix) is left alone and the rest goes nowhere."""
    node = root
    for p in parts:
        child = node.setdefault(p, {})
        node = child if isinstance(child, dict) else {}
    return node


class EncryptedStateError(StateError):
    """An OpenTofu-encrypted state: only tofu, with the key, can read it."""


def resource_address(module: str | None, rtype: str, name: str, index_key: int | str | None) -> str:
    prefix = f"{module}." if module else ""
    return f"{prefix}{rtype}.{name}{index_suffix(index_key)}"


_CORRUPT = "The state file is corrupt; restore it from the backend's versioning or a backup."


def _state_document(text: str | bytes, where: str) -> StateJSON:
    """The state's JSON object; StateError for anything orchestrate cannot read as state v4."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StateError(
                "the state is not UTF-8 text",
                where=where,
                hint="Check that the backend points at a state file.",
            ) from exc
    if not text.strip():
        # terraform never writes an empty state: this one was truncated (a full disk, a killed
        # writer). Its resources are still live, so it is not "never applied".
        raise StateError(
            "the state file is empty (it was truncated, or not written by terraform)",
            where=where,
            hint="Restore it from a backup (terraform.tfstate.backup, or the backend's object versioning).",
        )
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"the state is not valid JSON ({exc.msg} at line {exc.lineno})",
            where=where,
            hint="The state file is corrupt; restore it from the backend's versioning or a backup.",
        ) from exc
    if not isinstance(doc, dict):
        raise StateError("the state is not a JSON object", where=where, hint="The state file is corrupt.")
    if "encrypted_data" in doc or "encryption_version" in doc:
        raise EncryptedStateError(
            "the state is encrypted with OpenTofu state encryption, which orchestrate cannot decrypt",
            where=where,
            hint="Scan it with `drift --mode refresh` (tofu decrypts it with its configured key), or "
            "leave the stack out of api drift scans.",
        )
    version = doc.get("version")
    if version != 4:
        raise StateError(
            f"unsupported state format version {version!r} (only version 4, Terraform >= 0.12, is read)",
            where=where,
            hint="Run the stack once with a current Terraform to upgrade its state.",
        )
    return state_json_of(doc, what="the state", where=where, error=StateError, hint=_CORRUPT)


def _instance(entry: StateResource, inst: StateInstance, secrets: set[str]) -> Resource | None:
    """One instance of a managed resource entry; None for a deposed object. Raises ValueError
    for a malformed one; adds its sensitive values to ``secrets``."""
    rtype, name = entry["type"], entry["name"]
    if inst.get("deposed"):
        return None  # a replaced object awaiting destroy: not the resource's current state
    index_key = inst.get("index_key")
    if index_key is not None and not isinstance(index_key, int | str):
        raise ValueError(f"bad index_key {index_key!r}")
    module = entry.get("module") or None
    address = resource_address(module, rtype, name, index_key)
    attributes = inst.get("attributes")
    if attributes is None:
        attributes = unflatten(inst.get("attributes_flat", {}))
    paths = _sensitive_paths(inst.get("sensitive_attributes"))
    for path in paths:
        for found in values_at(attributes, path):
            secrets.update(leaves(found))
    rid = attributes.get("id")
    return Resource(
        address=address,
        type=rtype,
        name=name,
        module=module,
        index_key=index_key,
        id=str(rid) if rid is not None else None,
        attributes=attributes,
        schema_version=int(inst.get("schema_version") or 0),
        provider=entry.get("provider") or "",
        sensitive_paths=paths,
    )


def _resources(doc: StateJSON, secrets: set[str]) -> list[Resource]:
    resources: list[Resource] = []
    for entry in doc.get("resources") or []:
        if entry.get("mode", "managed") != "managed":
            continue
        for inst in entry.get("instances") or []:
            resource = _instance(entry, inst, secrets)
            if resource is not None:
                resources.append(resource)
    return resources


def parse_state(text: str | bytes, where: str) -> StateSnapshot:
    """Managed resource instances of a state v4 document (deposed objects left out)."""
    doc = _state_document(text, where)
    secrets: set[str] = set()
    try:
        secrets.update(state_sensitive_values(doc))
        resources = _resources(doc, secrets)
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise StateError(f"the state is malformed: {detail}", where=where, hint=_CORRUPT) from exc
    return StateSnapshot(
        lineage=doc.get("lineage"),
        serial=doc.get("serial"),
        terraform_version=doc.get("terraform_version"),
        resources=tuple(resources),
        secrets=frozenset(s for s in secrets if len(s) >= MIN_SECRET_LENGTH),
    )


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class StateLocation:
    """Where a stack's state lives, resolved for reading."""

    backend: str
    config: Mapping[str, Any]
    base: Path  # directory relative local paths are resolved against
    root: Path | None = None  # the repository, for showing paths relative to it
    workspace: str | None = None  # None or "default": the default workspace

    @property
    def s3_key(self) -> str:
        """The object key of the workspace's state (terraform's workspace_key_prefix rule)."""
        key = str(self.config.get("key"))
        if self.workspace in (None, "default"):
            return key
        prefix = str(self.config.get("workspace_key_prefix") or "env:")
        return f"{prefix}/{self.workspace}/{key}"

    @property
    def direct(self) -> bool:
        """Readable without terraform: local, or S3 with every needed setting known."""
        if self.backend == "local":
            return not isinstance(self.config.get("path"), Unresolved)
        if self.backend == "s3":
            return all(isinstance(self.config.get(k), str) for k in ("bucket", "key")) and not any(
                isinstance(v, Unresolved) for v in self.config.values()
            )
        return False

    def describe(self) -> str:
        if self.backend == "local":
            path = self.local_path()
            if self.root is not None and path.is_relative_to(self.root):
                return str(path.relative_to(self.root))
            return str(path)
        if self.backend == "s3":
            return f"s3://{self.config.get('bucket')}/{self.s3_key}"
        return f"{self.backend} backend"

    def local_path(self) -> Path:
        raw = self.config.get("path", "terraform.tfstate")
        if self.workspace not in (None, "default"):
            # terraform's local backend: <workspace_dir>/<workspace>/terraform.tfstate
            raw = f"{self.config.get('workspace_dir') or 'terraform.tfstate.d'}/{self.workspace}/terraform.tfstate"
        path = Path(str(raw))
        return path if path.is_absolute() else self.base / path


def locate(
    backend: EffectiveBackend, stack_dir: Path, repo_root: Path, workspace: str | None = None
) -> StateLocation:
    base = state_base(backend, repo_root, stack_dir)
    if workspace not in (None, "default") and backend.type == "local":
        base = stack_dir  # terraform.tfstate.d lives in the working directory
    return StateLocation(backend.type, dict(backend.config), base, repo_root, workspace)


def read_local(location: StateLocation, where: str) -> StateSnapshot:
    path = location.local_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StateNotFound(
            f"no state at {location.describe()}: the stack has not been applied",
            where=where,
            hint="Apply the stack first; drift is measured against applied state.",
        ) from None
    except OSError as exc:
        raise StateError(
            f"cannot read the state {location.describe()}: {exc.strerror or exc}",
            where=where,
            hint="Check the file's permissions.",
        ) from exc
    return parse_state(data, where)


S3Getter = Callable[[StateLocation], bytes | None]  # None: no such object


def read_s3(location: StateLocation, where: str, get: S3Getter) -> StateSnapshot:
    data = get(location)
    if data is None:
        raise StateNotFound(
            f"no state at {location.describe()}: the stack has not been applied",
            where=where,
            hint="Apply the stack first; drift is measured against applied state.",
        )
    return parse_state(data, where)


StatePuller = Callable[[], str]  # runs `terraform state pull` for the stack


def read_state(
    location: StateLocation,
    where: str,
    *,
    s3_get: S3Getter | None = None,
    pull: StatePuller | None = None,
) -> StateSnapshot:
    """The state of one stack: directly for local and S3, else through ``pull``. An encrypted
    state read directly is pulled instead when ``pull`` is given (tofu decrypts it)."""
    try:
        if location.direct and location.backend == "local":
            return read_local(location, where)
        if location.direct and location.backend == "s3" and s3_get is not None:
            return read_s3(location, where, s3_get)
    except EncryptedStateError:
        if pull is None:
            raise
    if pull is None:
        raise StateError(
            f"the {location.backend} backend can only be read with `terraform state pull`, "
            "which is not available here",
            where=where,
            hint="Install terraform (terraform.binary in orchestrate.yaml).",
        )
    text = pull()
    if not text.strip():
        raise StateNotFound(
            f"terraform state pull returned no state ({location.describe()}): the stack has not been applied",
            where=where,
            hint="Apply the stack first; drift is measured against applied state.",
        )
    return parse_state(text, where)
