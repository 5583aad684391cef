"""Find, check and compile the policy files of a repository into a reusable PolicySet.

Conftest conventions: in each package named by ``policies.namespaces``, rules named
``deny``, ``violation`` or ``warn``, optionally with a suffix (``deny_public_bucket``),
are queried. ``*_test.rego`` files (OPA unit tests) are not loaded. ``policies.data`` is
visible to policies as ``data.orchestrate.params``.

A compiled set is cached per process by the content of its files, data and namespaces,
so `plan` and a later evaluation in the same process (and the benchmark) compile once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from orchestrator.config import PolicySettings
from orchestrator.errors import PolicyError
from orchestrator.policy.engine import Program
from orchestrator.policy.source import ModuleInfo, scan_module

RULE_NAME = re.compile(r"^(deny|violation|warn)(_[A-Za-z0-9_]+)?$")
_CACHE_SIZE = 4
_cache: OrderedDict[str, PolicySet] = OrderedDict()

Severity = Literal["deny", "warn"]


@dataclass(frozen=True)
class RuleRef:
    """One queried rule: ``main.deny`` and the file that first declares it."""

    namespace: str
    name: str
    severity: Severity
    file: str
    line: int

    @property
    def id(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def entrypoint(self) -> str:
        return "/".join([*self.namespace.split("."), self.name])


@dataclass
class PolicySet:
    """Loaded policies: the modules, the rules queried, and the compiled program."""

    directory: str  # repo-relative
    modules: list[ModuleInfo]
    rules: list[RuleRef]
    program: Program
    namespaces: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [m.file for m in self.modules]

    def rule(self, entrypoint: str) -> RuleRef:
        return next(r for r in self.rules if r.entrypoint == entrypoint)

    def describe(self) -> list[dict[str, Any]]:
        """The modules, as policy.json lists them."""
        return [
            {
                "file": m.file,
                "package": m.package,
                "rules": sorted(n for n in m.rules if RULE_NAME.match(n)),
                "description": m.header,
            }
            for m in self.modules
        ]


def _policy_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".rego") and not name.endswith("_test.rego"):
                found.append(Path(dirpath) / name)
    return found


def _read(path: Path, shown: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"not valid UTF-8 (byte {exc.start})", where=shown, hint="Save it as UTF-8."
        ) from None
    except OSError as exc:
        raise PolicyError(
            f"cannot read the policy file: {exc.strerror or exc}",
            where=shown,
            hint="Check that it exists and that you may read it.",
        ) from exc


def _check_calls(modules: list[ModuleInfo]) -> None:
    """Refuse calls to functions that are neither builtins regopy has nor defined in the policies."""
    import regopy

    probe = regopy.Interpreter()
    user_functions = {f for m in modules for f in m.functions} | {r for m in modules for r in m.rules}
    known: dict[str, bool] = {}
    for module in modules:
        for name, line in module.calls:
            last = name.rsplit(".", 1)[-1]
            if last in user_functions:
                continue
            if name not in known:
                known[name] = bool(probe.is_builtin(name))
            if not known[name]:
                raise PolicyError(
                    f"unknown function {name}() (not a builtin regopy provides, nor defined in the policies)",
                    where=f"{module.file}:{line}",
                    hint="Check the spelling; regopy (rego-cpp) lacks a few OPA builtins such as "
                    "net.cidr_contains and http.send.",
                )


def policy_dir(root: Path, settings: PolicySettings) -> tuple[Path, str]:
    directory = (root / settings.dir).resolve()
    try:
        shown = directory.relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = str(directory)
    return directory, shown


def load_policy_set(root: Path, settings: PolicySettings, *, explicit: bool = False) -> PolicySet:
    """Load ``settings.dir`` under ``root``.

    A missing directory is an empty set unless ``explicit`` (the user configured the
    directory), when it is an error.
    """
    directory, shown = policy_dir(root, settings)
    if not directory.is_dir():
        if explicit:
            raise PolicyError(
                f"the policies directory '{settings.dir}' does not exist",
                where="orchestrate.yaml",
                hint="Create it, or fix policies.dir.",
            )
        return PolicySet(shown, [], [], Program.compile([], {}, []), list(settings.namespaces))
    texts: list[tuple[str, str]] = []
    for path in _policy_files(directory):
        rel = (
            path.resolve().relative_to(root.resolve()).as_posix() if path.is_relative_to(root) else str(path)
        )
        texts.append((rel, _read(path, rel)))
    data = {"orchestrate": {"params": settings.data}}
    key = hashlib.sha256(
        json.dumps([texts, data, settings.namespaces], sort_keys=True, default=str).encode()
    ).hexdigest()
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    policy_set = compile_policy_set(shown, texts, settings.namespaces, settings.data)
    _cache[key] = policy_set
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return policy_set


def compile_policy_set(
    directory: str, texts: list[tuple[str, str]], namespaces: list[str], params: dict[str, Any]
) -> PolicySet:
    """Check (Rego v1, known functions) and compile modules given as (file, text)."""
    modules = [scan_module(text, name) for name, text in texts]
    _check_calls(modules)
    rules: list[RuleRef] = []
    seen: set[tuple[str, str]] = set()
    warnings: list[str] = []
    for ns in namespaces:
        in_ns = [m for m in modules if m.package == ns]
        if modules and not in_ns:
            warnings.append(
                f"no policy file declares package {ns} (listed in policies.namespaces), so none of its rules run"
            )
        for m in in_ns:
            for name, line in sorted(m.rules.items(), key=lambda kv: kv[1]):
                match = RULE_NAME.match(name)
                if match is None or (ns, name) in seen:
                    continue
                seen.add((ns, name))
                severity: Severity = "warn" if match.group(1) == "warn" else "deny"
                rules.append(RuleRef(ns, name, severity, m.file, line))
    if modules and not any(RULE_NAME.match(n) for m in modules for n in m.rules):
        warnings.append("no deny, violation or warn rule in any policy file")
    data = {"orchestrate": {"params": params}}
    program = Program.compile(texts, data, [r.entrypoint for r in rules])
    return PolicySet(directory, modules, rules, program, list(namespaces), warnings)
