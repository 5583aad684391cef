"""The effective configuration of a stack: everything besides its files that decides where and
how it applies (SPEC §11 "Plan sets"): its cloud target as resolved (region, account, endpoint,
credentials profile), its backend, its var files, and the environment terraform gets for it
(the target's variables and every TF_VAR_ of the calling environment).

The manifest records a digest of each part when planning; apply recomputes them and refuses on
any difference, naming the parts. An uncommitted edit to orchestrate.yaml's region, a var file
outside the stack, or a TF_VAR_ set only in the apply job cannot change what was approved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.backends import effective_backend
from orchestrator.clouds import EmulateState, stack_terraform_env
from orchestrator.config import RootConfig
from orchestrator.discovery import Stack

PARTS = ("target", "backend", "var_files", "environment")


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def effective_parts(
    config: RootConfig,
    stack: Stack,
    emulate: EmulateState | None,
    base_env: Mapping[str, str],
) -> dict[str, str]:
    """sha256 of each part of a stack's effective configuration (values are never stored)."""
    target = config.clouds.get(stack.cloud) if stack.cloud else None
    backend = effective_backend(stack, config)
    env = stack_terraform_env(config, stack.cloud, emulate)
    env.update({k: v for k, v in base_env.items() if k.startswith("TF_VAR_")})
    return {
        "target": _digest(
            # a recovery target's backend: is in the "backend" part (and left out here so that
            # targets digest as they did before it existed)
            {
                "name": stack.cloud,
                "target": target.model_dump(mode="json", exclude={"backend"}) if target else None,
            }
        ),
        "backend": _digest({"type": backend.type, "config": backend.config, "source": backend.source}),
        "var_files": _digest([[f, _file_digest(stack.dir / f)] for f in stack.config.var_files]),
        "environment": _digest(sorted(env.items())),
    }


def differing_parts(planned: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """The parts whose digest changed (a part recorded at plan time and missing now counts)."""
    return [part for part in PARTS if part in planned and planned.get(part) != now.get(part)]
