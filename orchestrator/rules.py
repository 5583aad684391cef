"""The rules that judge a pull request, read from its base commit (never from the PR).

A pull request may edit any file, including the ones that decide whether it may be applied:
``approval``, ``policies`` (and the ``.rego`` files and their ``data``), ``redact``,
``drift``, ``github`` and ``reconcile`` in orchestrate.yaml, and CODEOWNERS. Those are read from
the merge base of the PR with its target branch, out of git's object store. Everything else
(stacks, terraform, backend, clouds) comes from the head: that is the change under review. A
stack's own ``reconcile`` (stack.yaml, the ``stacks:`` rules) lets a drift scan apply by itself;
a PR changing it is a rule change too (drift scans read it from the default branch only).

``BaseRules.changed`` lists the rule sources the PR changes; they take effect only after it
merges, and ``approval.policy_owners`` must approve such a PR.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.config import ROOT_CONFIG_NAME, STACK_CONFIG_NAME, RootConfig, parse_root_config
from orchestrator.errors import ConfigError, GitError
from orchestrator.git import Repo
from orchestrator.yamlfile import parse_yaml

RULE_KEYS = ("approval", "policies", "redact", "drift", "github", "reconcile", "plan_sets")
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # GitHub's order


@dataclass(frozen=True)
class BaseRules:
    commit: str  # the merge base the rules were read from
    config: RootConfig  # the base's orchestrate.yaml (defaults when it had none)
    policy_files: tuple[tuple[str, str], ...]  # (path from the orchestrate root, text)
    codeowners: str | None  # the base's CODEOWNERS text, if any
    changed: tuple[str, ...] = ()  # rule sources the PR changes, e.g. "orchestrate.yaml: approval"

    def judged(self, head: RootConfig) -> RootConfig:
        """``head`` with every rule section replaced by the base's."""
        return head.model_copy(update={k: getattr(self.config, k) for k in RULE_KEYS})

    def change_note(self) -> str | None:
        if not self.changed:
            return None
        return (
            f"This pull request changes the rules that judge it ({', '.join(self.changed)}). It was "
            f"planned and is judged with the rules of its base commit {self.commit[:12]}; the new rules "
            "apply only after it merges."
        )


def _join(prefix: str, rel: str) -> str:
    return posixpath.normpath(posixpath.join(prefix, rel)) if prefix else posixpath.normpath(rel)


def _is_policy_file(rel: str) -> bool:
    parts = rel.split("/")
    return (
        rel.endswith(".rego")
        and not rel.endswith("_test.rego")
        and not any(p.startswith(".") for p in parts[:-1])
    )


def config_path(repo: Repo, config_file: str | None) -> str | None:
    """orchestrate.yaml's path in the repository; None when it lies outside it (a --config the
    PR cannot touch)."""
    name = config_file or ROOT_CONFIG_NAME
    path = Path(name) if Path(name).is_absolute() else repo.root / name
    try:
        return path.resolve().relative_to(repo.top).as_posix()
    except ValueError:
        return None


def base_config(repo: Repo, config_file: str | None, head_config: RootConfig, base: str) -> RootConfig:
    """orchestrate.yaml as it is at commit ``base`` (the defaults when it had none)."""
    cfg_path = config_path(repo, config_file)
    if cfg_path is None:
        return head_config  # not in the repository: no PR can change it
    text = repo.show(base, cfg_path)
    if text is None:
        return RootConfig()
    return parse_root_config(text, f"{cfg_path} at the base commit {base[:12]}")


def read_base_rules(
    repo: Repo, config_file: str | None, head_config: RootConfig, base: str, head: str | None
) -> BaseRules:
    """The rules at commit ``base``; ``changed`` compares them with ``head_config`` and the
    files the PR changes between ``base`` and ``head``."""
    prefix = repo.root_prefix()
    config = base_config(repo, config_file, head_config, base)
    policy_dir = _join(prefix, config.policies.dir)
    files: list[tuple[str, str]] = []
    if not policy_dir.startswith("../") and policy_dir != "..":
        for path in repo.files_under(base, [policy_dir + "/"]):
            if _is_policy_file(posixpath.relpath(path, policy_dir)):
                rel = posixpath.relpath(path, prefix) if prefix else path
                files.append((rel, repo.show(base, path) or ""))
    owners = None
    for candidate in CODEOWNERS_PATHS:
        owners = repo.show(base, candidate)
        if owners is not None:
            break
    changed = [f"orchestrate.yaml: {k}" for k in RULE_KEYS if getattr(config, k) != getattr(head_config, k)]
    if head is not None and head != base:
        head_dir = _join(prefix, head_config.policies.dir)
        for path in repo.changed_paths(base, head):
            in_policies = any(
                path.startswith(d.rstrip("/") + "/") and _is_policy_file(posixpath.relpath(path, d))
                for d in {policy_dir, head_dir}
            )
            if in_policies or path in CODEOWNERS_PATHS:
                changed.append(posixpath.relpath(path, prefix) if prefix and in_policies else path)
        changed += reconcile_changes(repo, base, head, config, head_config)
    return BaseRules(base, config, tuple(sorted(files)), owners, tuple(dict.fromkeys(changed)))


def _stack_reconcile(repo: Repo, commit: str, path: str) -> object:
    """``reconcile:`` of a stack.yaml at a commit (raw; unreadable counts as a change of its own)."""
    text = repo.show(commit, path)
    if text is None:
        return None
    try:
        data = parse_yaml(text, path)
    except ConfigError:
        return "(unreadable)"
    return data.get("reconcile") if isinstance(data, dict) else None


def reconcile_changes(
    repo: Repo, base: str, head: str, config: RootConfig, head_config: RootConfig
) -> list[str]:
    """Where a PR changes which stacks a drift scan may apply by itself (reconcile: auto is a
    standing approval): a stack.yaml's ``reconcile``, or the ``stacks:`` rules' in orchestrate.yaml.
    ``reconcile:`` at the top of orchestrate.yaml is a rule key of its own."""

    def rules_of(cfg: RootConfig) -> tuple[object, ...]:
        if cfg.stacks is None:
            return ()
        return (
            tuple((t.match, t.reconcile) for t in cfg.stacks.targets if t.reconcile),
            tuple((p.dir, p.name, p.workspace, p.reconcile) for p in cfg.stacks.projects if p.reconcile),
        )

    out = ["orchestrate.yaml: stacks (reconcile)"] if rules_of(config) != rules_of(head_config) else []
    for path in repo.changed_paths(base, head):
        if posixpath.basename(path) == STACK_CONFIG_NAME and _stack_reconcile(
            repo, base, path
        ) != _stack_reconcile(repo, head, path):
            out.append(f"{path}: reconcile")
    return out


# ---------------------------------------------------------------- finding the base


def local_base_candidates(env: Mapping[str, str], base_ref: str | None = None) -> list[str]:
    """Refs that may name the PR's target branch in this clone, best first."""
    refs = []
    for ref in (base_ref, env.get("GITHUB_BASE_REF")):
        if ref:
            refs += [f"refs/remotes/origin/{ref}", f"refs/heads/{ref}"]
    refs += ["refs/remotes/origin/HEAD", "refs/remotes/origin/main", "refs/remotes/origin/master"]
    refs += ["refs/heads/main", "refs/heads/master"]
    return list(dict.fromkeys(refs))


def find_merge_base(repo: Repo, head: str, tips: list[str]) -> tuple[str, str] | None:
    """(merge base, tip) for the first of ``tips`` (shas or refs) this clone has."""
    for tip in tips:
        sha = repo.rev(tip)
        if sha is None:
            continue
        base = repo.merge_base(sha, head)
        if base is not None:
            return base, sha
    return None


def require_merge_base(repo: Repo, head: str, base_tip: str, what: str) -> str:
    """The merge base of ``head`` with ``base_tip`` (both must be here), or a GitError."""
    for sha, name in (
        (base_tip, f"the base commit {base_tip[:12]} of {what}"),
        (head, f"commit {head[:12]}"),
    ):
        if not repo.has_commit(sha):
            raise GitError(
                f"{name} is not in this clone, so the rules cannot be read from the base branch",
                hint="Fetch the history (actions/checkout with fetch-depth: 0) so the base is here. "
                "Nothing was applied.",
            )
    base = repo.merge_base(base_tip, head)
    if base is None:
        raise GitError(f"{what} has no common ancestor with its base branch", hint="Nothing was applied.")
    return base
