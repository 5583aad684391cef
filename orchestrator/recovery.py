"""Disaster recovery: an environment's stacks rebuilt on other cloud targets from Git alone
(`orchestrate plan --env ENV --target-cloud NAME`, docs/disaster-recovery.md).

``plan_recovery`` decides, without running anything, what a recovery plan may touch:

- the set: the environment's stacks plus every stack they depend on (their inputs must come
  from the *new* stacks' state, so an upstream outside the environment is rebuilt too);
- per stack, its recovery target: ``--target-cloud NAME`` replaces every target of NAME's
  provider, ``--target-cloud FROM=NAME`` one target; a stack without a cloud target, or
  whose target has no replacement, is refused (it would run against the original account);
- a target is refused when a stack deploys to it or it reaches the same place as one that
  does (same endpoint and region/profile/role, project or subscription);
- per stack, its recovery state: the target's ``backend:`` rendered for the stack, else (local
  state only) ``.orchestrate/recovery/<target>/state/<stack id>/terraform.tfstate``; the key
  must differ from every state key of the repository, and a stack reading state through
  ``terraform_remote_state`` is refused (it would read the original's state).

``recovery_workspace`` is the repository as the recovery engine sees it: only the set, each
stack with its recovery target and backend. The engine keeps its working data, locks, plan
sets and runs under ``.orchestrate/recovery/<label>/`` (layout.recovery_dir), and the plan
set's manifest names the recovery (planset.RecoveryInfo), so it is part of its id.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.backends import effective_backend, render_template, stack_state_key, state_key
from orchestrator.clouds import EmulateState, ResolvedTarget, resolve_target
from orchestrator.config import AwsTarget, AzureTarget, BackendConfig, CloudTarget, GcpTarget
from orchestrator.discovery import Discovery, Stack
from orchestrator.errors import ConfigError
from orchestrator.graph import remote_state_uses
from orchestrator.layout import recovery_dir
from orchestrator.planset import RecoveryInfo
from orchestrator.workspace import Workspace

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class TargetArg:
    """One ``--target-cloud``: NAME (every target of its provider) or FROM=NAME."""

    target: str
    source: str | None = None


def parse_target_args(values: Iterable[str]) -> list[TargetArg]:
    out = []
    for value in values:
        source, sep, target = value.partition("=")
        if not sep:
            source, target = "", value
        if not target.strip() or (sep and not source.strip()):
            raise _fail(
                f"--target-cloud {value!r} is neither NAME nor FROM=NAME",
                "Name a cloud target of orchestrate.yaml, e.g. --target-cloud aws-dr or aws-dev=aws-dr.",
            )
        out.append(TargetArg(target.strip(), source.strip() or None))
    return out


@dataclass(frozen=True)
class RecoveryPlan:
    info: RecoveryInfo
    backends: dict[str, BackendConfig]  # stack id -> its recovery backend (rendered)
    upstreams: tuple[str, ...]  # stacks outside the environment rebuilt because the set needs them


def _fail(message: str, hint: str, where: str | None = None) -> ConfigError:
    return ConfigError(f"recovery refused: {message}", where=where, hint=hint + " Nothing was planned.")


def recovery_set(ws: Workspace, environment: str) -> tuple[list[str], list[str]]:
    """(the environment's stacks, the upstreams outside it they need), in run order."""
    from orchestrator.envs.model import environment_of

    known = ws.config.environments
    if known and environment not in known:
        raise _fail(f"unknown environment '{environment}'", f"The environments are: {', '.join(known)}.")
    own = [sid for sid, s in ws.stacks.items() if environment_of(s, known) == environment]
    if not own:
        raise _fail(
            f"no stack is in environment '{environment}'", "Check --env (orchestrate list shows them)."
        )
    graph = ws.graph
    ups = graph.upstream_of(own)
    return graph.ordered(own), graph.ordered(ups)


def _place(resolved: ResolvedTarget) -> tuple[str | None, ...]:
    """Where a target's API calls land: two targets with the same place are one account/region."""
    t = resolved.target
    if isinstance(t, AwsTarget):
        return ("aws", resolved.endpoint, t.region, t.profile, t.role_arn)
    if isinstance(t, GcpTarget):
        return ("gcp", resolved.endpoint, t.project)
    assert isinstance(t, AzureTarget)
    return ("azure", resolved.endpoint, t.subscription_id)


def map_clouds(
    ws: Workspace, stacks: Sequence[Stack], args: Sequence[TargetArg], emulate: EmulateState | None
) -> dict[str, str]:
    """Original cloud target -> recovery target for every target the set uses (checked)."""
    used = {s.cloud for s in ws.stacks.values() if s.cloud}
    check_target_args(ws, args, used)
    places = {_place(resolve_target(ws.config, c, emulate)): c for c in sorted(used)}
    mapping: dict[str, str] = {}
    for stack in stacks:
        if stack.cloud is None:
            raise _fail(
                f"'{stack.id}' has no cloud target, so it cannot be pointed at the recovery target "
                "(it would run with whatever credentials are around)",
                "Give the stack a cloud: in stack.yaml.",
                stack.config_file,
            )
        if stack.cloud in mapping:
            continue
        target = recovery_target(stack.id, stack.cloud, args, ws.config.clouds)
        same = places.get(_place(resolve_target(ws.config, target, emulate)))
        if same is not None:
            raise _fail(
                f"'{target}' reaches the same place as '{same}' (same endpoint, region or project, "
                "profile or subscription): the recovery would run in the original account",
                "Point the recovery target at another account, project, subscription or region.",
            )
        mapping[stack.cloud] = target
    return mapping


def check_target_args(ws: Workspace, args: Sequence[TargetArg], used: set[str]) -> None:
    """Each --target-cloud names declared targets, a target that can name a directory, and one
    no stack deploys to (``used``)."""
    clouds = ws.config.clouds
    for arg in args:
        for name in (arg.target, arg.source):
            if name is not None and name not in clouds:
                known = ", ".join(sorted(clouds)) or "none are defined"
                raise _fail(
                    f"unknown cloud target '{name}' (known: {known})",
                    "Declare the recovery target under clouds: in orchestrate.yaml on the default branch.",
                    "orchestrate.yaml",
                )
        if not _NAME.match(arg.target):
            raise _fail(
                f"cloud target name '{arg.target}' cannot name a directory",
                "Rename it (letters, digits, _ . -).",
            )
        if arg.target in used:
            users = sorted(s.id for s in ws.stacks.values() if s.cloud == arg.target)
            raise _fail(
                f"'{arg.target}' is the cloud target of {', '.join(users)}; a recovery target must be "
                "one no stack deploys to",
                "Declare a separate target for the recovery account or region.",
            )


def recovery_target(
    stack_id: str, cloud: str, args: Sequence[TargetArg], clouds: Mapping[str, CloudTarget]
) -> str:
    """The one recovery target replacing ``cloud`` for a stack: named FROM=NAME for it, else the
    NAME of its provider; none or several, or one of another provider, is refused."""
    provider = clouds[cloud].provider
    explicit = [a.target for a in args if a.source == cloud]
    generic = [a.target for a in args if a.source is None and clouds[a.target].provider == provider]
    choices = explicit or generic
    if len(set(choices)) != 1:
        what = "no" if not choices else f"more than one ({', '.join(sorted(set(choices)))})"
        raise _fail(
            f"'{stack_id}' runs on '{cloud}' ({provider}) and {what} --target-cloud replaces it",
            f"Pass --target-cloud NAME (a {provider} target), or --target-cloud {cloud}=NAME.",
        )
    target = choices[0]
    if clouds[target].provider != provider:
        raise _fail(
            f"'{target}' is a {clouds[target].provider} target; '{cloud}' is {provider}",
            "Map each target to one of the same provider.",
        )
    return target


def recovery_backend(ws: Workspace, stack: Stack, target: str) -> BackendConfig:
    """Where a recovered stack keeps its state (rendered for the stack on its recovery target)."""
    moved = dataclasses.replace(stack, config=stack.config.model_copy(update={"cloud": target}))
    declared = stack.tf.backend
    template = ws.config.clouds[target].backend
    if template is not None:
        if declared is not None and declared.type != template.type:
            raise _fail(
                f"'{stack.id}' declares backend '{declared.type}' in {declared.file}, but cloud target "
                f"'{target}' keeps recovered state in '{template.type}'",
                "Use a backend of the same type under the target's backend:.",
                stack.config_file,
            )
        return BackendConfig(type=template.type, config=render_template(dict(template.config), moved))
    original = effective_backend(stack, ws.config)
    if original.type != "local":
        raise _fail(
            f"'{stack.id}' keeps its state in {original.type}; orchestrate will not put recovered state "
            "beside the original's by itself",
            f"Declare backend: on cloud target '{target}' (a state bucket in the recovery account, with "
            "{stack} in its key).",
            stack.config_file,
        )
    path = ws.root / recovery_dir(target) / "state" / stack.id / "terraform.tfstate"
    return BackendConfig(type="local", config={"path": str(path)})


def _check_remote_state(ws: Workspace, ids: set[str]) -> None:
    for use in remote_state_uses(ws.discovery):
        if use.stack in ids:
            raise _fail(
                f"'{use.stack}' reads state through {use.name} ({use.file}:{use.line}); rebuilt, it would "
                "still read the original's state",
                "Pass the value with inputs: in stack.yaml (orchestrate reads it from the recovered stack).",
                use.file,
            )


def _check_keys(ws: Workspace, moved: dict[str, Stack]) -> None:
    """Every recovered state key is known, unique, and none of the repository's states."""
    originals = {}
    for sid, stack in ws.stacks.items():
        key = stack_state_key(stack, ws.root, ws.config)
        if key is not None:
            originals[key] = sid
    seen: dict[object, str] = {}
    for sid, stack in moved.items():
        eb = effective_backend(stack, ws.config)
        key = state_key(eb.type, eb.config, stack.dir, stack.workspace)
        if key is None:
            raise _fail(
                f"cannot tell where '{sid}' would keep its recovered state",
                "Give the recovery target's backend: literal settings.",
                sid,
            )
        if key in originals:
            raise _fail(
                f"'{sid}' would keep its recovered state where '{originals[key]}' keeps its state "
                f"({':'.join(str(k) for k in key)})",
                "Give the recovery target's backend: another bucket or key (use {stack} and {cloud}).",
                sid,
            )
        if key in seen:
            raise _fail(
                f"'{sid}' and '{seen[key]}' would share one recovered state",
                "Put {stack} in the key of the recovery target's backend:.",
                sid,
            )
        seen[key] = sid


def plan_recovery(ws: Workspace, environment: str, args: Sequence[TargetArg]) -> RecoveryPlan:
    """What a recovery of ``environment`` onto ``args`` plans, checked (raises ConfigError)."""
    if not args:
        raise _fail("no --target-cloud given", "Name the recovery target(s).")
    own, ups = recovery_set(ws, environment)
    ids = [*own, *ups]
    broken = [sid for sid in ids if ws.stacks[sid].error is not None]
    if broken:
        err = ws.stacks[broken[0]].error
        assert err is not None
        raise err
    _check_remote_state(ws, set(ids))
    stacks = [ws.stacks[sid] for sid in ids]
    mapping = map_clouds(ws, stacks, args, ws.emulate)
    backends = {s.id: recovery_backend(ws, s, mapping[s.cloud or ""]) for s in stacks}
    moved = {s.id: _moved(s, mapping, backends) for s in stacks}
    _check_keys(ws, moved)
    targets = sorted(set(mapping.values()))
    info = RecoveryInfo(
        environment=environment,
        target="+".join(targets),
        clouds=dict(sorted(mapping.items())),
        stacks=sorted(ids),
    )
    return RecoveryPlan(info, backends, tuple(ups))


def _moved(stack: Stack, mapping: dict[str, str], backends: dict[str, BackendConfig]) -> Stack:
    update = {"cloud": mapping[stack.cloud or ""], "backend": backends[stack.id]}
    return dataclasses.replace(stack, config=stack.config.model_copy(update=update))


def check_accounts(ws: Workspace, plan: RecoveryPlan, base_env: Mapping[str, str]) -> list[str]:
    """Ask AWS whose credentials a recovery target's stacks would use (STS GetCallerIdentity) and
    refuse an ``account_id:`` they do not match: ambient credentials of the original account must
    never build the recovery there. Returns notices for AWS targets without account_id."""
    from orchestrator.clouds import stack_terraform_env
    from orchestrator.drift.aws import default_session, translate

    notices = []
    for target in sorted(set(plan.info.clouds.values())):
        declared = ws.config.clouds[target]
        if not isinstance(declared, AwsTarget):
            continue
        if not declared.account_id:
            notices.append(
                f"cloud target '{target}' has no account_id:, so orchestrate cannot check that the "
                "credentials are the recovery account's"
            )
            continue
        resolved = resolve_target(ws.config, target, ws.emulate)
        env = {**base_env, **stack_terraform_env(ws.config, target, ws.emulate)}
        try:
            session = default_session(resolved, env)
            sts = session.client("sts", region_name=declared.region, endpoint_url=resolved.endpoint)
            account = str(sts.get_caller_identity().get("Account", ""))
        except Exception as exc:
            raise translate(
                exc, "asking AWS for the recovery credentials' account", target, resolved.endpoint
            ) from None
        if account != declared.account_id:
            raise _fail(
                f"the credentials for '{target}' are for AWS account {account}, not {declared.account_id}",
                f"Provide the recovery account's credentials (profile/role_arn of '{target}').",
                "orchestrate.yaml",
            )
    return notices


def recovery_workspace(ws: Workspace, plan: RecoveryPlan) -> Workspace:
    """The repository as the recovery engine sees it: only the set, each stack moved."""
    mapping = plan.info.clouds
    stacks = {sid: _moved(ws.stacks[sid], mapping, plan.backends) for sid in plan.info.stacks}
    out = Workspace(root=ws.root, config=ws.config, config_file=ws.config_file, use_cache=ws.use_cache)
    out.rules = ws.rules
    out.recovery = plan.info
    discovery = Discovery(ws.root, ws.config, ws.config_file, stacks)
    out.__dict__["discovery"] = discovery  # the cached_property, set once
    out.__dict__["emulate"] = ws.emulate
    return out


def recovery_root(root: Path, info: RecoveryInfo) -> Path:
    return root / recovery_dir(info.target)
