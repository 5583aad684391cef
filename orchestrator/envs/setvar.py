"""`orchestrate set-var`: the reviewed way a new image tag or module version reaches a stack.

The variable is edited in place in the stack's tfvars file (envs.tfvars). Without --open-pr
the work tree's file is edited and nothing is committed; with --open-pr the change is a
commit on the base branch (built from objects: the work tree is not touched) pushed to
``orchestrate/set-var/<stack>/<name>`` with one pull request per variable and stack.

Which file: the first of the stack's ``var_files`` (inside its directory), ``terraform.tfvars``
and ``*.auto.tfvars`` that sets the variable; else ``terraform.tfvars``. The variable must be
declared in the stack's Terraform files.

``--all-envs`` walks the promotion path: it changes the first environment whose stack does not
have the value yet, and only once the environment before it has applied the value (by the
records), so a value reaches prod one reviewed, applied step at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.discovery import Stack, slugify
from orchestrator.envs.gitops import Repo
from orchestrator.envs.model import EnvModel
from orchestrator.envs.records import Record
from orchestrator.envs.tfvars import NAME, assignments, parse_value, set_var
from orchestrator.errors import ConfigError, OrchestratorError
from orchestrator.workspace import Workspace

BRANCH_PREFIX = "orchestrate/set-var/"
Reader = Callable[[str], str | None]  # repo-root-relative path -> text, None when absent


@dataclass
class Change:
    stack: str
    environment: str | None
    file: str  # root-relative
    name: str
    value: str
    old: str | None
    text: str  # the new file text
    changed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "environment": self.environment,
            "file": self.file,
            "name": self.name,
            "value": self.value,
            "old": self.old,
            "changed": self.changed,
        }


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    waiting: str | None = None  # --all-envs: why nothing was changed yet
    pr: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"changes": [c.to_json() for c in self.changes], "waiting": self.waiting, "pr": self.pr}


def parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not NAME.match(name):
        raise ConfigError(f"'{text}' is not NAME=VALUE", hint="For example: image_tag=1.4.2")
    return name, value


def branch_name(stack: Stack, name: str) -> str:
    return f"{BRANCH_PREFIX}{slugify(stack.id)}/{name}"


def declared_type(stack: Stack, name: str) -> str | None:
    """The type of ``variable "name"`` in the stack's files; ConfigError when it is not declared."""
    if name not in stack.tf.variables:
        raise ConfigError(
            f"stack '{stack.id}' declares no variable '{name}'",
            where=stack.path,
            hint="Check the name; set-var only sets variables the stack declares.",
        )
    import hcl2

    for path in sorted(stack.dir.glob("*.tf")):
        try:
            data = hcl2.loads(path.read_text())
        except Exception:  # discovery already read these files; a failure here is no news
            continue
        for block in data.get("variable") or []:
            for label, body in block.items():
                if label.strip('"') == name and isinstance(body, dict):
                    kind = str(body.get("type", "")).strip('"${}')
                    return kind or None
    return None


def tfvars_file(ws: Workspace, stack: Stack, name: str, read: Reader) -> str:
    """The root-relative tfvars file to edit (see the module docstring)."""
    candidates: list[str] = []
    for vf in stack.config.var_files:
        if ".." in PurePosixPath(vf).parts or PurePosixPath(vf).is_absolute():
            continue  # shared by several stacks: set-var edits only files of this stack
        candidates.append((PurePosixPath(stack.path) / vf).as_posix())
    candidates.append(f"{stack.path}/terraform.tfvars")
    candidates += sorted(p.relative_to(ws.root).as_posix() for p in stack.dir.glob("*.auto.tfvars"))
    for rel in candidates:
        if rel.endswith(".json"):
            continue
        text = read(rel)
        if text is None:
            continue
        try:
            if any(a.name == name for a in assignments(text)):
                return rel
        except ConfigError as exc:
            raise ConfigError(exc.message, where=rel, hint=exc.hint) from None
    return f"{stack.path}/terraform.tfvars"


def change_for(ws: Workspace, model: EnvModel, stack: Stack, name: str, value: str, read: Reader) -> Change:
    kind = declared_type(stack, name)
    rel = tfvars_file(ws, stack, name, read)
    text = read(rel) or ""
    try:
        new, changed, old = set_var(text, name, value, kind)
    except ConfigError as exc:
        raise ConfigError(exc.message, where=rel, hint=exc.hint) from None
    return Change(stack.id, model.env_of.get(stack.id), rel, name, value, old, new, changed)


def target_stack(ws: Workspace, model: EnvModel, arg: str, env: str | None) -> Stack:
    """STACK as a stack id, or with --env as a family (or any stack of it) in that environment."""
    if env is None:
        if arg not in ws.stacks:
            raise OrchestratorError(
                f"unknown stack '{arg}'",
                hint="`orchestrate list` shows the stack ids; with --env, a family name works too.",
            )
        return ws.stacks[arg]
    model.check_env(env)
    family = arg if arg in model.members else model.family.get(arg)
    sid = model.members.get(family or "", {}).get(env)
    if sid is None:
        raise OrchestratorError(
            f"'{arg}' has no stack in environment '{env}'",
            hint="`orchestrate list --env ENV` shows the stacks of an environment.",
        )
    return ws.stacks[sid]


def current_expression(ws: Workspace, stack: Stack, name: str, read: Reader) -> str | None:
    """The expression ``name`` is set to in the stack's tfvars as ``read`` sees them."""
    rel = tfvars_file(ws, stack, name, read)
    return next((a.text for a in assignments(read(rel) or "") if a.name == name), None)


def _applied_value(repo: Repo, ws: Workspace, stack: Stack, name: str, records: list[Record]) -> Any:
    """The value ``name`` had in the stack's last successful apply, per the records."""
    ok = [r for r in records if r.kind == "apply" and any(s.stack == stack.id and s.ok for s in r.stacks)]
    if not ok:
        return None
    last = max(ok, key=lambda r: r.time)
    expr = current_expression(ws, stack, name, lambda rel: repo.show(last.commit, repo.path(rel)))
    return parse_value(expr) if expr is not None else None


def next_on_path(
    ws: Workspace,
    model: EnvModel,
    repo: Repo,
    arg: str,
    name: str,
    value: str,
    read: Reader,
    records: list[Record],
) -> tuple[Change | None, str | None]:
    """--all-envs: (the change for the first environment lacking the value, None) or (None, why)."""
    family = arg if arg in model.members else model.family.get(arg)
    members = model.members.get(family or "", {})
    ordered = [members[e] for e in model.environments if e in members]
    if not ordered:
        raise OrchestratorError(
            f"'{arg}' is not a family with stacks on the promotion path",
            hint="Set environments: in orchestrate.yaml; `orchestrate envs diff` lists the families.",
        )
    previous: Stack | None = None
    for sid in ordered:
        stack = ws.stacks[sid]
        change = change_for(ws, model, stack, name, value, read)
        if change.changed:
            if previous is not None:
                applied = _applied_value(repo, ws, previous, name, records)
                want = parse_value(current_expression(ws, previous, name, read) or '""')
                if applied != want:
                    return None, (
                        f"{previous.id} has {name} = {value} but has not applied it yet; "
                        f"{sid} follows once it has"
                    )
            return change, None
        previous = stack
    return None, None


def write_local(ws: Workspace, change: Change) -> None:
    from orchestrator.fileio import write_atomic

    write_atomic(Path(ws.root / change.file), change.text.encode())
