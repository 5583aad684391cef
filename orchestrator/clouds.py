"""Cloud targets resolved for use: endpoints (including the emulated clouds while they run)
and the environment terraform gets for a stack. Pure apart from reading the emulate state.

Environment variables per provider (set per stack, never by mutating os.environ):

- aws:   AWS_REGION, AWS_DEFAULT_REGION, AWS_PROFILE, AWS_ENDPOINT_URL
- gcp:   GOOGLE_PROJECT, GOOGLE_CLOUD_PROJECT, GOOGLE_REGION, GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT
- azure: ARM_SUBSCRIPTION_ID, ARM_TENANT_ID, ARM_RESOURCE_MANAGER_ENDPOINT
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.config import AwsTarget, AzureTarget, GcpTarget, RootConfig
from orchestrator.errors import ConfigError, OrchestratorError
from orchestrator.layout import EMULATE_DIR as EMULATE_DIR
from orchestrator.layout import EMULATE_STATE as EMULATE_STATE

Target = AwsTarget | GcpTarget | AzureTarget


@dataclass(frozen=True)
class EmulateState:
    """What `orchestrate emulate up` started (written by orchestrate_emulate)."""

    endpoints: dict[str, str]  # provider ("aws"|"gcp"|"azure") -> http://127.0.0.1:PORT
    env: dict[str, str] = field(default_factory=dict)  # fake credentials, TF_CLI_CONFIG_FILE, ...
    pids: dict[str, int] = field(default_factory=dict)


def read_emulate_state(root: Path) -> EmulateState | None:
    """The emulate state of a repository, or None when the emulated clouds are not up."""
    path = root / EMULATE_STATE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _damaged(path, exc.strerror or str(exc)) from None
    try:
        data = json.loads(text)
        endpoints, env, pids = data["endpoints"], data.get("env") or {}, data.get("pids") or {}
        if not (isinstance(endpoints, dict) and isinstance(env, dict) and isinstance(pids, dict)):
            raise ValueError("wrong shape")
        return EmulateState(
            endpoints={str(k): str(v) for k, v in endpoints.items()},
            env={str(k): str(v) for k, v in env.items()},
            pids={str(k): int(v) for k, v in pids.items()},
        )
    except (ValueError, KeyError, TypeError) as exc:
        # Running on as if nothing were emulated would send terraform to the real clouds.
        raise _damaged(path, str(exc).splitlines()[0][:80] if str(exc) else "wrong shape") from None


def _damaged(path: Path, why: str) -> OrchestratorError:
    return OrchestratorError(
        f"the emulated clouds' state file is damaged ({why})",
        where=str(path),
        hint="Run `orchestrate emulate down` (it finds the servers without it), then `orchestrate emulate up`.",
    )


@dataclass(frozen=True)
class ResolvedTarget:
    name: str
    target: Target
    endpoint: str | None  # the configured endpoint, else the emulated one, else None
    emulated: bool

    @property
    def provider(self) -> str:
        return self.target.provider


def resolve_target(config: RootConfig, name: str, emulate: EmulateState | None = None) -> ResolvedTarget:
    try:
        target = config.clouds[name]
    except KeyError:
        known = ", ".join(sorted(config.clouds)) or "none are defined"
        raise ConfigError(
            f"unknown cloud target '{name}' (known: {known})",
            where="orchestrate.yaml",
            hint="Add it under clouds: or fix the stack's cloud:.",
        ) from None
    if target.endpoint:
        return ResolvedTarget(name, target, target.endpoint, False)
    if emulate is not None and target.provider in emulate.endpoints:
        return ResolvedTarget(name, target, emulate.endpoints[target.provider], True)
    return ResolvedTarget(name, target, None, False)


def terraform_env(resolved: ResolvedTarget, emulate: EmulateState | None = None) -> dict[str, str]:
    """Variables terraform and its providers need for this target (added to a copy of os.environ)."""
    t = resolved.target
    env: dict[str, str] = {}
    if isinstance(t, AwsTarget):
        env["AWS_REGION"] = t.region
        env["AWS_DEFAULT_REGION"] = t.region
        if t.profile:
            env["AWS_PROFILE"] = t.profile
        if resolved.endpoint:
            env["AWS_ENDPOINT_URL"] = resolved.endpoint
    elif isinstance(t, GcpTarget):
        env["GOOGLE_PROJECT"] = t.project
        env["GOOGLE_CLOUD_PROJECT"] = t.project
        if t.region:
            env["GOOGLE_REGION"] = t.region
        if resolved.endpoint:
            env["GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT"] = resolved.endpoint
    elif isinstance(t, AzureTarget):
        env["ARM_SUBSCRIPTION_ID"] = t.subscription_id
        if t.tenant_id:
            env["ARM_TENANT_ID"] = t.tenant_id
        if resolved.endpoint:
            env["ARM_RESOURCE_MANAGER_ENDPOINT"] = resolved.endpoint
    if resolved.emulated and emulate is not None:
        env.update(emulate.env)
    return env


def stack_terraform_env(
    config: RootConfig, cloud: str | None, emulate: EmulateState | None
) -> dict[str, str]:
    """Everything a stack's terraform runs get on top of os.environ.

    While the emulated clouds are up, their env (TF_CLI_CONFIG_FILE pointing at the stand-in
    provider mirror, fake credentials) applies to every stack, with or without a cloud target;
    then the target's own variables (which win).
    """
    env: dict[str, str] = dict(emulate.env) if emulate is not None else {}
    if cloud is not None:
        env.update(terraform_env(resolve_target(config, cloud, emulate)))
    return env


def s3_state_endpoint(config: RootConfig, cloud: str | None, emulate: EmulateState | None) -> str | None:
    """Where an S3 backend without its own endpoint is: the endpoint of the stack's AWS target;
    else of any AWS target (the state bucket serves every stack); else the emulated AWS while
    the emulated clouds are up. The engine tells terraform this; drift reads state from it."""
    names = [cloud] if cloud else []
    names += sorted(n for n, t in config.clouds.items() if isinstance(t, AwsTarget))
    for name in names:
        if isinstance(config.clouds.get(name), AwsTarget):
            resolved = resolve_target(config, name, emulate)
            if resolved.endpoint:
                return resolved.endpoint
    return emulate.endpoints.get("aws") if emulate is not None else None
