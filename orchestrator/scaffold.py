"""`orchestrate init`: infer an orchestrate.yaml for an existing repository.

Sources, in order: an ``atlantis.yaml`` (projects: dir, workspace, name, depends_on,
execution_order_group, autoplan.when_modified), Terramate stacks (``stack { after before }``
in ``*.tm.hcl``), else root modules found by rule (a backend or provider block, not used
as a module). Targets come from environment and cloud names in the stacks' paths. Every
choice is recorded with its reason, for the user to read. Pure apart from reading files;
the output is deterministic, so running init twice writes the same file.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.config import RootConfig, StacksRules
from orchestrator.errors import ConfigError
from orchestrator.yamlfile import parse_yaml, read_text

ENVIRONMENTS = {
    "dev", "development", "test", "testing", "qa", "uat", "stage", "staging", "preprod",
    "prod", "production", "sandbox", "nonprod",
}  # fmt: skip
CLOUDS = {"aws": "aws", "gcp": "gcp", "google": "gcp", "azure": "azure", "azurerm": "azure"}
_ATLANTIS = ("atlantis.yaml", "atlantis.yml")
_DEFAULT_EXCLUDE = ["**/examples/**", "**/example/**", "**/test/**", "**/tests/**", "**/fixtures/**"]
PLACEHOLDER = "CHANGE-ME"


@dataclass
class Inferred:
    config: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = "# orchestrate.yaml written by `orchestrate init`; edit freely.\n"
        return head + yaml.safe_dump(self.config, sort_keys=False, default_flow_style=False, width=100)


def infer(root: Path) -> Inferred:
    out = Inferred({"version": 1})
    atlantis = next((root / n for n in _ATLANTIS if (root / n).is_file()), None)
    projects: list[dict[str, Any]] | None = (
        _atlantis_projects(atlantis, out) if atlantis is not None else _terramate_projects(root, out)
    )
    if projects is not None:
        out.config["stacks"] = {"root_modules": "listed", "projects": projects}
        dirs = sorted({p["dir"] for p in projects})
    else:
        out.config["stacks"] = {"exclude": list(_DEFAULT_EXCLUDE)}
        out.reasons.append(
            "no atlantis.yaml or Terramate stacks: stacks are root modules (a directory with a backend "
            f"or provider block that no other directory uses as a module), except {', '.join(_DEFAULT_EXCLUDE)}"
        )
        dirs = _root_dirs(root, out.config["stacks"])
    _targets(dirs, out)
    return out


# ---------------------------------------------------------------- atlantis


def _atlantis_projects(path: Path, out: Inferred) -> list[dict[str, Any]]:
    shown = path.name
    data = parse_yaml(read_text(path, shown), shown)
    raw = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise ConfigError("no projects: list", where=shown, hint="Check that it is an Atlantis repo config.")
    entries: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    groups: list[tuple[int, str]] = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict) or not isinstance(p.get("dir"), str):
            raise ConfigError(
                f"projects[{i}] has no dir", where=shown, hint="Every Atlantis project has a dir."
            )
        d = posixpath.normpath(p["dir"].strip("/")) if p["dir"].strip("/") else "."
        entry: dict[str, Any] = {"dir": d}
        ws = p.get("workspace")
        if isinstance(ws, str) and ws != "default":
            entry["workspace"] = ws
        name = p.get("name")
        if isinstance(name, str):
            entry["name"] = _id_from_name(name)
        sid = entry.get("name") or _default_id(d, entry.get("workspace"))
        names[name if isinstance(name, str) else sid] = sid
        group = p.get("execution_order_group")
        groups.append((group if isinstance(group, int) else 0, sid))
        watch = _watch_from_when_modified(p, d)
        if watch:
            entry["watch"] = watch
        entry["_depends_on"] = [x for x in p.get("depends_on") or [] if isinstance(x, str)]
        entries.append(entry)
        out.reasons.append(
            f"{shown}: project {name or d!r} -> stack '{sid}' (dir {d}"
            + (f", workspace {ws}" if entry.get("workspace") else "")
            + ")"
        )
    by_group = sorted({g for g, _ in groups})
    for entry, (group, sid) in zip(entries, groups, strict=True):
        deps = []
        for dep in entry.pop("_depends_on"):
            if dep not in names:
                raise ConfigError(
                    f"project '{sid}' depends on unknown project '{dep}'", where=shown, hint="Fix depends_on."
                )
            deps.append(names[dep])
        idx = by_group.index(group)
        if idx > 0:
            prev = by_group[idx - 1]
            before = [s for g, s in groups if g == prev]
            deps += before
            out.reasons.append(
                f"{shown}: '{sid}' (execution_order_group {group}) runs after group {prev}: {', '.join(before)}"
            )
        if deps:
            entry["depends_on"] = sorted(dict.fromkeys(deps))
    return entries


def _id_from_name(name: str) -> str:
    from orchestrator.config import stack_id_problem

    if stack_id_problem(name) is None:
        return name
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "/._-") else "-" for c in name).strip("-/")
    return cleaned or "project"


def _default_id(d: str, workspace: str | None) -> str:
    if workspace:
        return workspace if d == "." else f"{d}/{workspace}"
    return d


def _watch_from_when_modified(project: dict[str, Any], d: str) -> list[str]:
    """Atlantis when_modified globs outside the project directory become watch globs (those
    inside it are covered: every file of a stack's directory marks it changed)."""
    autoplan = project.get("autoplan")
    patterns = autoplan.get("when_modified") if isinstance(autoplan, dict) else None
    if not isinstance(patterns, list):
        return []
    out = []
    for pat in patterns:
        if isinstance(pat, str) and pat.startswith("../"):
            joined = posixpath.normpath(posixpath.join(d, pat))
            if not joined.startswith(".."):
                out.append(pat)
    return out


# ---------------------------------------------------------------- terramate


def _terramate_projects(root: Path, out: Inferred) -> list[dict[str, Any]] | None:
    from orchestrator.hcl import top_level_blocks

    stacks: dict[str, dict[str, Any]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "node_modules")
        for name in sorted(f for f in filenames if f.endswith(".tm.hcl") or f == "terramate.tm"):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            for line, attrs in top_level_blocks(path.read_bytes(), rel, "stack"):
                d = posixpath.dirname(rel) or "."
                stacks[d] = {"attrs": attrs, "where": f"{rel}:{line}"}
    if not stacks:
        return None
    entries: dict[str, dict[str, Any]] = {d: {"dir": d} for d in sorted(stacks)}
    for d, s in sorted(stacks.items()):
        out.reasons.append(f"{s['where']}: Terramate stack -> stack '{d}'")
        for key in ("after", "before"):
            for ref in s["attrs"].get(key) or []:
                if not isinstance(ref, str) or ref.startswith("tag:"):
                    out.todo.append(f"{s['where']}: {key} = {ref!r} is not a path; add depends_on by hand")
                    continue
                other = posixpath.normpath(ref.lstrip("/") if ref.startswith("/") else posixpath.join(d, ref))
                other = other or "."
                if other not in entries:
                    out.todo.append(f"{s['where']}: {key} {ref!r} is not a Terramate stack")
                    continue
                down, up = (d, other) if key == "after" else (other, d)
                entries[down].setdefault("depends_on", [])
                if up not in entries[down]["depends_on"]:
                    entries[down]["depends_on"].append(up)
                out.reasons.append(f"{s['where']}: {key} {ref} -> '{down}' depends on '{up}'")
    for e in entries.values():
        if "depends_on" in e:
            e["depends_on"] = sorted(e["depends_on"])
    return list(entries.values())


# ---------------------------------------------------------------- root modules and targets


def _root_dirs(root: Path, stacks: dict[str, Any]) -> list[str]:
    from orchestrator.discovery import discover

    config = RootConfig(stacks=StacksRules.model_validate(stacks))
    found = discover(root, config, None, use_cache=False)
    return sorted(s.path or "." for s in found.stacks.values())


def _targets(dirs: list[str], out: Inferred) -> None:
    """Target rules from environment and cloud names in the paths."""
    rules: dict[str, dict[str, str]] = {}
    seen: set[tuple[str, str]] = set()
    for d in dirs:
        segs = d.split("/")
        env_i = next((i for i, s in enumerate(segs) if s in ENVIRONMENTS), None)
        cloud_i = next((i for i, s in enumerate(segs) if s in CLOUDS), None)
        if env_i is None:
            continue
        pattern_segs = segs[: max(env_i, cloud_i if cloud_i is not None else -1) + 1]
        pattern_segs[env_i] = "{environment}"
        pattern = "/".join(pattern_segs) + "/**"
        rule: dict[str, str] = {"match": pattern}
        if cloud_i is not None:
            cloud = CLOUDS[segs[cloud_i]]
            rule["cloud"] = f"{cloud}-{{environment}}"
            seen.add((cloud, segs[env_i]))
        rules.setdefault(pattern, rule)
    if not rules:
        out.reasons.append("no environment names in the stack paths: no target rules")
        return
    out.config["stacks"]["targets"] = [rules[k] for k in sorted(rules)]
    for k in sorted(rules):
        out.reasons.append(
            f"paths like {k}: environment from the path"
            + (f", cloud {rules[k]['cloud']}" if "cloud" in rules[k] else "")
        )
    clouds: dict[str, dict[str, str]] = {}
    for cloud, env in sorted(seen):
        name = f"{cloud}-{env}"
        if cloud == "aws":
            clouds[name] = {"provider": "aws", "region": PLACEHOLDER}
            out.todo.append(f"clouds.{name}.region")
        elif cloud == "gcp":
            clouds[name] = {"provider": "gcp", "project": PLACEHOLDER}
            out.todo.append(f"clouds.{name}.project")
        else:
            clouds[name] = {"provider": "azure", "subscription_id": PLACEHOLDER}
            out.todo.append(f"clouds.{name}.subscription_id")
    if clouds:
        out.config["clouds"] = clouds
