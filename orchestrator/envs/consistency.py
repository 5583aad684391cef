"""`envs diff`: does each family run the same code in every environment?

For every family with a stack in two or more of the compared environments, the stacks are
compared on what should be identical and is not a declared variable value:
- module sources and versions (local sources as repository paths),
- provider constraints (``required_providers``, ``required_version``) and the versions
  pinned in a committed ``.terraform.lock.hcl``,
- the Terraform files themselves (``*.tf``, ``*.tf.json`` in the stack directory),
- which variables each environment sets (tfvars files, ``var_files``, stack.yaml ``inputs``).
Variable values are left out: they are what environments are meant to differ in. A family
present in only some environments is listed, not counted as a difference.
"""

from __future__ import annotations

import difflib
import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.discovery import Stack
from orchestrator.envs.model import EnvModel, is_value_file
from orchestrator.errors import ConfigError
from orchestrator.workspace import Workspace

LOCK_FILE = ".terraform.lock.hcl"
DIFF_LINES = 40


@dataclass(frozen=True)
class Difference:
    family: str
    kind: str  # module | provider | terraform | lock | file | variables
    subject: str
    values: Mapping[str, str]  # environment -> what it has ("-" when absent)
    detail: str = ""  # a unified diff for files

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "kind": self.kind,
            "subject": self.subject,
            "values": dict(self.values),
            "detail": self.detail,
        }


@dataclass
class Report:
    environments: list[str]
    families: dict[str, dict[str, str]]  # family -> env -> stack, the compared ones
    differences: list[Difference] = field(default_factory=list)
    only_in: dict[str, list[str]] = field(default_factory=dict)  # family -> the envs that have it

    @property
    def consistent(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "environments": self.environments,
            "consistent": self.consistent,
            "families": self.families,
            "differences": [d.to_json() for d in self.differences],
            "only_in": self.only_in,
        }


# ---------------------------------------------------------------- reading one stack


def _unq(value: Any) -> str:
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            try:
                return str(json.loads(value))
            except ValueError:
                return value[1:-1]
        return value
    return json.dumps(value, sort_keys=True)


def _parse(text: str, shown: str) -> dict[str, Any]:
    import hcl2

    try:
        data = hcl2.loads(text)
    except Exception as exc:  # python-hcl2 raises lark errors of many kinds
        raise ConfigError(f"cannot parse: {str(exc).splitlines()[0][:200]}", where=shown) from exc
    return data if isinstance(data, dict) else {}


def _blocks(data: Mapping[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for entry in data.get(kind) or []:
        if isinstance(entry, dict):
            for label, body in entry.items():
                if isinstance(body, dict):
                    out.append((_unq(label), body))
    return out


@dataclass
class Profile:
    """What one stack has, environment-neutral."""

    modules: dict[str, str] = field(default_factory=dict)  # name -> "source@version"
    providers: dict[str, str] = field(default_factory=dict)  # name -> "source constraint"
    terraform: dict[str, str] = field(default_factory=dict)  # required_version
    lock: dict[str, str] = field(default_factory=dict)  # provider address -> version
    files: dict[str, str] = field(default_factory=dict)  # name in the stack -> text
    sets: set[str] = field(default_factory=set)  # variable names given values


def _module_source(stack: Stack, root: Path, source: str) -> str:
    if source.startswith(("./", "../")):
        joined = posixpath.normpath(posixpath.join(stack.path, source))
        return joined if not joined.startswith("..") else source
    return source


def _read_tf(profile: Profile, stack: Stack, root: Path, name: str, text: str) -> None:
    profile.files[name] = text
    if not name.endswith(".tf"):
        return
    data = _parse(text, f"{stack.path}/{name}")
    for label, body in _blocks(data, "module"):
        source = _module_source(stack, root, _unq(body.get("source", "")))
        version = _unq(body["version"]) if "version" in body else ""
        profile.modules[label] = f"{source}@{version}" if version else source
    for block in data.get("terraform") or []:
        if not isinstance(block, dict):
            continue
        if "required_version" in block:
            profile.terraform["required_version"] = _unq(block["required_version"])
        for req in block.get("required_providers") or []:
            for pname, spec in (req or {}).items():
                if pname.startswith("__"):
                    continue
                if isinstance(spec, dict):
                    src = _unq(spec.get("source", ""))
                    ver = _unq(spec["version"]) if "version" in spec else ""
                    profile.providers[pname] = f"{src} {ver}".strip()
                else:
                    profile.providers[pname] = _unq(spec)


def _read_values(profile: Profile, name: str, text: str, shown: str) -> None:
    if name.endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"not valid JSON: {exc}", where=shown) from exc
        profile.sets |= set(data) if isinstance(data, dict) else set()
        return
    profile.sets |= {k for k in _parse(text, shown) if not k.startswith("__")}


def profile_of(root: Path, stack: Stack) -> Profile:
    profile = Profile()
    for path in sorted(stack.dir.iterdir()):
        if not path.is_file():
            continue
        name = path.name
        text = path.read_text(errors="replace")
        if name == LOCK_FILE:
            data = _parse(text, f"{stack.path}/{name}")
            for address, body in _blocks(data, "provider"):
                profile.lock[address] = _unq(body.get("version", ""))
        elif is_value_file(name, stack.config.var_files):
            _read_values(profile, name, text, f"{stack.path}/{name}")
        elif name.endswith((".tf", ".tf.json")) and not name.startswith("_orchestrate"):
            _read_tf(profile, stack, root, name, text)
    for vf in stack.config.var_files:
        path = (stack.dir / vf).resolve()
        if path.parent != stack.dir.resolve() and path.is_file():
            _read_values(profile, path.name, path.read_text(errors="replace"), vf)
    profile.sets |= set(stack.config.inputs)
    return profile


# ---------------------------------------------------------------- comparing


def _compare_maps(
    family: str, kind: str, maps: Mapping[str, Mapping[str, str]], out: list[Difference]
) -> None:
    keys = sorted({k for m in maps.values() for k in m})
    for key in keys:
        values = {env: m.get(key, "-") for env, m in maps.items()}
        if len(set(values.values())) > 1:
            out.append(Difference(family, kind, key, values))


def _file_diff(a_env: str, a: str, b_env: str, b: str, name: str) -> str:
    lines = list(
        difflib.unified_diff(
            a.splitlines(), b.splitlines(), f"{a_env}/{name}", f"{b_env}/{name}", n=1, lineterm=""
        )
    )
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... ({len(lines) - DIFF_LINES} more lines)"]
    return "\n".join(lines)


def compare_family(family: str, profiles: Mapping[str, Profile]) -> list[Difference]:
    out: list[Difference] = []
    _compare_maps(family, "module", {e: p.modules for e, p in profiles.items()}, out)
    _compare_maps(family, "provider", {e: p.providers for e, p in profiles.items()}, out)
    _compare_maps(family, "terraform", {e: p.terraform for e, p in profiles.items()}, out)
    _compare_maps(family, "lock", {e: p.lock for e, p in profiles.items()}, out)
    envs = list(profiles)
    names = sorted({n for p in profiles.values() for n in p.files})
    for name in names:
        texts = {e: profiles[e].files.get(name) for e in envs}
        if len(set(texts.values())) <= 1:
            continue
        first = envs[0]
        details = [
            _file_diff(first, texts[first] or "", e, texts[e] or "", name)
            for e in envs[1:]
            if texts[e] != texts[first]
        ]
        values = {e: ("differs" if t is not None else "-") for e, t in texts.items()}
        values[first] = "present" if texts[first] is not None else "-"
        out.append(Difference(family, "file", name, values, "\n".join(details)))
    all_sets = sorted({v for p in profiles.values() for v in p.sets})
    for var in all_sets:
        values = {e: ("sets" if var in p.sets else "-") for e, p in profiles.items()}
        if len(set(values.values())) > 1:
            out.append(Difference(family, "variables", var, values))
    return out


def compare(ws: Workspace, model: EnvModel, envs: Sequence[str]) -> Report:
    for env in envs:
        model.check_env(env)
    report = Report(list(envs), {})
    for family in sorted(model.members):
        members = {e: s for e, s in model.members[family].items() if e in envs}
        if len(members) < 2:
            if members and len(envs) > 1:
                report.only_in[family] = sorted(members, key=list(envs).index)
            continue
        ordered = {e: members[e] for e in envs if e in members}
        report.families[family] = ordered
        profiles = {e: profile_of(ws.root, ws.stacks[sid]) for e, sid in ordered.items()}
        report.differences += compare_family(family, profiles)
    return report


def environments_to_compare(model: EnvModel, a: str | None, b: str | None) -> list[str]:
    if (a is None) != (b is None):
        raise ConfigError("give two environments (ENV_A ENV_B) or none")
    if a is not None and b is not None:
        if a == b:
            raise ConfigError(f"'{a}' compared with itself", hint="Name two different environments.")
        return [a, b]
    if model.environments:
        return list(model.environments)
    found = sorted({e for e in model.env_of.values() if e})
    if len(found) < 2:
        raise ConfigError(
            "fewer than two environments to compare",
            where="orchestrate.yaml",
            hint="List them: environments: [dev, staging, prod] (docs/environments.md).",
        )
    return found
