"""Run the shipped GitHub workflows' steps locally, in order, as GitHub would (issue 15, item 6).

- ``run:`` steps run as written with bash, with the GitHub environment variables, the event
  payload in ``$GITHUB_EVENT_PATH``, ``$GITHUB_OUTPUT``/``$GITHUB_ENV``/``$GITHUB_PATH``/
  ``$GITHUB_STEP_SUMMARY``, a job token limited to the job's ``permissions`` by the fake GitHub
  API (tests/fakes/github.py), and a PATH that has what ubuntu-latest has and no Terraform.
- ``uses: ./x`` runs the composite action ``x/action.yml`` step by step; other ``uses:`` run the
  stand-ins of tests/workflows/standins.py.
- Jobs run in ``needs`` order with ``if:``, matrices (one at a time, in order), outputs,
  ``environment`` (its deployment branch rule and its secrets) and concurrency groups recorded.
- Before a workflow runs, the rules GitHub cannot enforce for us are checked: actions pinned by
  full commit SHA with the tag in a comment, no ``${{ }}`` inside ``run:``, per-job permissions
  and no write permission for the whole workflow, and an ``environment`` (apply credentials)
  only in workflows whose definition always comes from the default branch.
After each job, a checkout that kept the token in ``.git/config`` is a violation.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.git_http import GitHttpServer, basic_header
from tests.fakes.github import FakeGitHub
from tests.workflows.expressions import ExpressionError, condition, interpolate, to_string
from tests.workflows.standins import PIP_STANDIN, STANDINS, Artifact, StepFailed

# Triggers whose workflow definition is the default branch's: a pull request cannot change it.
# (push runs the pushed branch's own copy: trusted only when limited to named branches, which
# the environment's deployment branch rule must then restrict to the default branch.)
TRUSTED_DEFINITION = {"issue_comment", "workflow_dispatch", "workflow_run", "schedule"}
_PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
_BASE_TOOLS = [
    "bash",
    "sh",
    "env",
    "git",
    "jq",
    "curl",
    "cat",
    "echo",
    "sed",
    "awk",
    "grep",
    "sort",
    "xargs",
    "find",
    "cut",
    "sha256sum",
    "base64",
    "printf",
    "mkdir",
    "rm",
    "cp",
    "mv",
    "ls",
    "tr",
    "head",
    "tail",
    "wc",
    "dirname",
    "basename",
    "date",
    "sleep",
    "test",
    "[",
    "true",
    "false",
    "mktemp",
    "tee",
    "uname",
    "readlink",
    "seq",
    "expr",
    "touch",
    "chmod",
    "ln",
    "pwd",
    "id",
]


def _on(doc: dict[str, Any]) -> dict[str, Any]:
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as True
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {k: {} for k in on}
    return dict(on or {})


def lint(path: Path) -> list[str]:
    """The rules of the module docstring, for one workflow or composite action file."""
    text = path.read_text()
    doc = yaml.safe_load(text)
    problems = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)\s*(#.*)?$", line)
        if m and not m.group(1).startswith("./"):
            if not _PINNED.match(m.group(1)):
                problems.append(f"{path.name}:{lineno}: {m.group(1)} is not pinned by a full commit SHA")
            elif not (m.group(2) and re.search(r"v\d", m.group(2))):
                problems.append(f"{path.name}:{lineno}: {m.group(1)} has no tag comment")
    for step in _all_steps(doc):
        if "run" in step and "${{" in str(step["run"]):
            problems.append(
                f"{path.name}: step {step.get('name', step['run'][:40])!r} has ${{{{ }}}} in run:"
            )
    if "jobs" in doc:
        top = doc.get("permissions")
        if top == "write-all" or (isinstance(top, dict) and "write" in top.values()):
            problems.append(f"{path.name}: write permissions for the whole workflow")
        on = _on(doc)
        triggers = set(on)
        branches = (on.get("push") or {}).get("branches") if isinstance(on.get("push"), dict) else None
        if branches and not any(ch in str(b) for b in branches for ch in "*?[!"):
            triggers.discard("push")  # pushes to the named branches only
        for job_id, job in doc["jobs"].items():
            if (
                "permissions" not in job
                and "uses" not in job
                and not (isinstance(top, dict) and "write" not in top.values())
            ):
                problems.append(f"{path.name}: job {job_id} has no permissions of its own")
            if job.get("environment") and not triggers <= TRUSTED_DEFINITION:
                problems.append(
                    f"{path.name}: job {job_id} holds environment credentials in a workflow triggered by "
                    f"{', '.join(sorted(triggers - TRUSTED_DEFINITION))}, which runs the pull request's own copy"
                )
    return problems


_SCOPES = (
    "actions",
    "checks",
    "contents",
    "deployments",
    "id-token",
    "issues",
    "packages",
    "pages",
    "pull-requests",
    "statuses",
)


def _permissions(spec: Any) -> dict[str, str]:
    """A job token's permissions: the job's, else the workflow's, else GitHub's default for a
    repository with read-only workflow permissions (contents and packages read)."""
    if spec is None:
        return {"contents": "read", "packages": "read"}
    if spec in ("read-all", "write-all"):
        return dict.fromkeys(_SCOPES, spec.removesuffix("-all"))
    return {str(k): str(v) for k, v in dict(spec or {}).items()}


def _all_steps(doc: Any) -> Iterator[dict[str, Any]]:
    if isinstance(doc, dict):
        if "jobs" in doc:
            for job in doc["jobs"].values():
                yield from job.get("steps", [])
        elif "runs" in doc:
            yield from doc["runs"].get("steps", [])


@dataclass
class JobResult:
    job: str
    result: str  # success | failure | skipped | cancelled
    outputs: dict[str, str] = field(default_factory=dict)
    matrix: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    concurrency: str | None = None
    environment: str | None = None
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    workspace: Path | None = None
    token: str | None = None  # the job's GITHUB_TOKEN
    summary: str = ""  # what the job wrote to $GITHUB_STEP_SUMMARY


@dataclass
class RunResult:
    workflow: str
    run_id: int
    event: str
    jobs: dict[str, list[JobResult]]
    concurrency: str | None
    violations: list[str]

    def job(self, name: str) -> JobResult:
        return self.jobs[name][-1]

    @property
    def ok(self) -> bool:
        return not self.violations and all(
            r.result in ("success", "skipped") for rs in self.jobs.values() for r in rs
        )

    def explain(self) -> str:
        lines = [f"run {self.run_id} of {self.workflow} ({self.event}):", *self.violations]
        for name, results in self.jobs.items():
            for r in results:
                lines.append(f"-- job {name} {r.matrix or ''}: {r.result}")
                if r.result not in ("success", "skipped"):
                    lines += [f"   {x}" for x in r.log[-60:]]
        return "\n".join(lines)


class World:
    """GitHub (the fake API, a bare repository, artifacts, environments) and the clouds."""

    def __init__(
        self,
        tmp: Path,
        bare: Path,
        github: FakeGitHub,
        *,
        terraform: dict[str, str],
        secrets: dict[str, str],
        environments: dict[str, dict[str, Any]],
        trust: dict[str, set[str]],
        cloud_state: Path | None,
    ) -> None:
        self.tmp = tmp
        self.bare = bare
        self.github = github
        self.terraform = terraform
        self.secrets = secrets
        self.environments = environments
        self.trust = trust
        self.cloud_state = cloud_state  # the emulated account a login hands a job
        self.artifacts: list[Artifact] = []
        self.runs = itertools.count(9001)
        self.ids = itertools.count(501)
        self.clock = itertools.count(1)
        self.approvals: list[tuple[int, str, str]] = []  # (run, job, environment) approved
        subprocess.run(
            ["git", "--git-dir", str(bare), "config", "uploadpack.allowAnySHA1InWant", "true"], check=True
        )
        # The repository's git as GitHub serves a private one: over HTTP, to a job token only
        # (contents: read fetches, contents: write pushes); GITHUB_SERVER_URL points here.
        self.git = GitHttpServer(bare, github.repository, self.git_access).start()

    def git_access(self, token: str, write: bool) -> bool:
        granted = self.github.job_tokens.get(token)
        if granted is None:
            return False
        level = granted.get("contents")
        return level == "write" or (level == "read" and not write)

    def stop(self) -> None:
        self.git.stop()

    def python_shims(self, bin_dir: Path) -> None:
        """python/python3/pip as setup-python (or the runner image) provides them."""
        bin_dir.mkdir(parents=True, exist_ok=True)
        standin = bin_dir / "pip_standin.py"
        standin.write_text(PIP_STANDIN)
        real = sys.executable
        py = (
            "#!/bin/bash\n"
            f'if [ "$1" = -m ] && [ "$2" = pip ]; then shift 2; exec {real} {standin} "$@"; fi\n'
            f'exec {real} "$@"\n'
        )
        for name in ("python", "python3"):
            (bin_dir / name).write_text(py)
            (bin_dir / name).chmod(0o755)
        for name in ("pip", "pip3"):
            (bin_dir / name).write_text(f'#!/bin/bash\nexec {real} {standin} "$@"\n')
            (bin_dir / name).chmod(0o755)

    def new_artifact(self, name: str, run: WorkflowRun) -> Artifact:
        aid = next(self.ids)
        artifact = Artifact(aid, name, run.run_id, self.tmp / "artifacts" / str(aid), next(self.clock))
        artifact.files.mkdir(parents=True)
        self.artifacts.append(artifact)
        self.github.artifacts.append(
            {
                "id": artifact.id,
                "name": name,
                "size_in_bytes": 1,
                "expired": False,
                "created_at": f"2026-12-03T09:{artifact.created // 60:02d}:{artifact.created % 60:02d}Z",
                "workflow_run": {"id": run.run_id, "head_sha": run.sha},
            }
        )
        return artifact

    def delete_artifact(self, artifact: Artifact) -> None:
        self.artifacts.remove(artifact)
        self.github.artifacts[:] = [a for a in self.github.artifacts if a["id"] != artifact.id]

    def artifact(self, name: str) -> Artifact | None:
        found = [a for a in self.artifacts if a.name == name]
        return found[-1] if found else None

    def grant_cloud(self, job: JobRun, role: str) -> None:
        """What a successful login hands the job: access to the (emulated) account."""
        if self.cloud_state is None:
            return
        for checkout in job.checkouts:
            if (checkout / "orchestrate.yaml").is_file():
                target = checkout / ".orchestrate" / "emulate" / "state.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.cloud_state, target)

    def run(
        self,
        workflow: Path,
        event: str,
        payload: dict[str, Any],
        *,
        sha: str,
        ref: str = "refs/heads/main",
        checks: bool = True,
    ) -> RunResult:
        """Run ``workflow`` for one event. ``checks=False`` skips the static rules (to show what a
        workflow that breaks them does when it runs anyway)."""
        return WorkflowRun(self, workflow, event, payload, sha=sha, ref=ref, checks=checks).execute()


class WorkflowRun:
    def __init__(
        self,
        world: World,
        path: Path,
        event: str,
        payload: dict[str, Any],
        *,
        sha: str,
        ref: str,
        checks: bool = True,
    ) -> None:
        self.checks = checks
        self.world = world
        self.path = path
        self.doc = yaml.safe_load(path.read_text())
        self.event = event
        self.payload = payload
        self.sha = sha
        self.ref = ref
        self.run_id = next(world.runs)
        self.dir = world.tmp / f"run-{self.run_id}"
        self.dir.mkdir(parents=True)
        self.event_path = self.dir / "event.json"
        self.event_path.write_text(json.dumps(payload))
        pr = payload.get("pull_request") or {}
        self.fork_pull_request = bool(pr) and pr.get("head", {}).get("repo", {}).get("fork", False)

    def github_ctx(self) -> dict[str, Any]:
        return {
            "event": self.payload,
            "event_name": self.event,
            "repository": self.world.github.repository,
            "repository_owner": self.world.github.owner,
            "ref": self.ref,
            "ref_name": self.ref.split("/", 2)[-1] if self.ref.startswith("refs/") else self.ref,
            "sha": self.sha,
            "workflow_sha": self.sha,
            "run_id": str(self.run_id),
            "run_attempt": "1",
            "api_url": self.world.github.url,
            "server_url": self.world.git.url,
            "workflow": self.doc.get("name", self.path.name),
            "actor": "octocat",
            "base_ref": (self.payload.get("pull_request") or {}).get("base", {}).get("ref", ""),
            "head_ref": (self.payload.get("pull_request") or {}).get("head", {}).get("ref", ""),
        }

    def execute(self) -> RunResult:
        violations = lint(self.path) if self.checks else []
        jobs: dict[str, list[JobResult]] = {}
        if self.event not in _on(self.doc):
            return RunResult(self.path.name, self.run_id, self.event, jobs, None, violations)
        base_ctx: dict[str, Any] = {
            "github": self.github_ctx(),
            "vars": {},
            "secrets": {},
            "inputs": self.payload.get("inputs") or {},
            "runner": {"os": "Linux", "temp": str(self.dir / "tmp")},
        }
        concurrency = self.doc.get("concurrency")
        group = None
        if concurrency is not None:
            spec = concurrency if isinstance(concurrency, dict) else {"group": concurrency}
            group = to_string(interpolate(spec.get("group"), base_ctx))
        if violations:
            return RunResult(self.path.name, self.run_id, self.event, jobs, group, violations)
        base_ctx["env"] = {
            k: to_string(interpolate(v, base_ctx)) for k, v in (self.doc.get("env") or {}).items()
        }
        for job_id in self._order():
            jobs[job_id] = self._run_job(job_id, base_ctx, jobs)
            for r in jobs[job_id]:
                violations += self._credential_leaks(job_id, r)
        return RunResult(self.path.name, self.run_id, self.event, jobs, group, violations)

    def _order(self) -> list[str]:
        jobs = self.doc["jobs"]
        done: list[str] = []
        while len(done) < len(jobs):
            for job_id, job in jobs.items():
                needs = job.get("needs") or []
                needs = [needs] if isinstance(needs, str) else needs
                if job_id not in done and all(n in done for n in needs):
                    done.append(job_id)
        return done

    def _credential_leaks(self, job_id: str, result: JobResult) -> list[str]:
        out = []
        if result.workspace is None:
            return out
        for config in result.workspace.rglob(".git/config"):
            text = config.read_text()
            if "extraheader" in text or (result.token and result.token in text):
                out.append(
                    f"job {job_id}: the checkout in {config.parent.parent.name} kept the token in .git/config"
                )
        if result.token:
            forms = {result.token, basic_header(result.token).split()[-1]}
            for where, text in (("log", "\n".join(result.log)), ("job summary", result.summary)):
                if any(form in text for form in forms):
                    out.append(f"job {job_id}: the job token appears in its {where}")
        return out

    def _run_job(
        self, job_id: str, base_ctx: dict[str, Any], done: dict[str, list[JobResult]]
    ) -> list[JobResult]:
        job = self.doc["jobs"][job_id]
        needs = job.get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        needs_ctx = {}
        for n in needs:
            results = done[n]
            outs: dict[str, str] = {}
            for r in results:
                outs.update(r.outputs)
            states = {r.result for r in results}
            result = (
                "failure"
                if "failure" in states
                else "cancelled"
                if "cancelled" in states
                else ("success" if "success" in states else "skipped")
            )
            needs_ctx[n] = {"outputs": outs, "result": result}

        def job_status(fn: str) -> bool:
            results = [v["result"] for v in needs_ctx.values()]
            return {
                "always": True,
                "success": all(r == "success" for r in results),
                "failure": any(r == "failure" for r in results),
                "cancelled": False,
            }[fn]

        ctx = {**base_ctx, "needs": needs_ctx, "job": {"status": "success"}}
        try:
            run_it = condition(job.get("if"), ctx, job_status)
        except ExpressionError as exc:
            return [JobResult(job_id, "failure", log=[f"if: {exc}"])]
        if not run_it:
            return [JobResult(job_id, "skipped")]
        strategy = job.get("strategy") or {}
        combos = self._matrix(strategy.get("matrix"), ctx)
        if combos is None:
            return [JobResult(job_id, "failure", log=["strategy.matrix has no values"])]
        results = []
        failed = False
        for combo in combos:
            if failed and strategy.get("fail-fast", True):
                results.append(JobResult(job_id, "cancelled", matrix=combo))
                continue
            result = JobRun(self, job_id, job, {**ctx, "matrix": combo, "strategy": strategy}).execute()
            result.matrix = combo
            results.append(result)
            failed = failed or result.result == "failure"
        return results

    def _matrix(self, spec: Any, ctx: dict[str, Any]) -> list[dict[str, Any]] | None:
        if spec is None:
            return [{}]
        value = interpolate(spec, ctx)
        if not isinstance(value, dict):
            return None
        include = value.pop("include", None) or []
        keys = [k for k in value if k != "exclude"]
        combos: list[dict[str, Any]] = []
        if keys:
            lists = [value[k] if isinstance(value[k], list) else [value[k]] for k in keys]
            if any(not v for v in lists):
                return None
            combos = [dict(zip(keys, c, strict=True)) for c in itertools.product(*lists)]
        combos += [dict(x) for x in include]
        return combos or None


class JobRun:
    def __init__(self, run: WorkflowRun, job_id: str, job: dict[str, Any], ctx: dict[str, Any]) -> None:
        self.run = run
        self.job_id = job_id
        self.job = job
        self.ctx = ctx
        n = sum(1 for _ in run.dir.glob(f"{job_id}-*"))
        self.root = run.dir / f"{job_id}-{n}"
        self.workspace = self.root / "work"
        self.home = self.root / "home"
        self.tool_bin = self.root / "python-bin"
        for d in (self.workspace, self.home, self.root / "tmp"):
            d.mkdir(parents=True)
        self.permissions = _permissions(job.get("permissions", run.doc.get("permissions")))
        self.token = f"ghs_{run.run_id}_{job_id}_{n}"
        run.world.github.add_job_token(self.token, self.permissions)
        self.paths: list[Path] = []
        self.checkouts: list[Path] = []
        self.logins: list[tuple[str, str, str]] = []
        self.lines: list[str] = []
        self.environment = interpolate(job.get("environment"), ctx) if job.get("environment") else None
        if isinstance(self.environment, dict):
            self.environment = self.environment.get("name")
        base = self.root / "image-bin"  # what ubuntu-latest has on PATH: no Terraform
        base.mkdir()
        for tool in _BASE_TOOLS:
            found = shutil.which(tool, path="/usr/bin:/bin")
            if found:
                (base / tool).symlink_to(found)
        run.world.python_shims(base)  # the image's system Python and pip
        self.base_bin = base

    def log(self, line: str) -> None:
        self.lines.append(line)

    def add_path(self, directory: Path) -> None:
        if directory not in self.paths:
            self.paths.insert(0, directory)

    def oidc_subject(self) -> str:
        repo = self.run.world.github.repository
        if self.environment:
            return f"repo:{repo}:environment:{self.environment}"
        if self.run.event == "pull_request":
            return f"repo:{repo}:pull_request"
        return f"repo:{repo}:ref:{self.run.ref}"

    def execute(self) -> JobResult:
        result = JobResult(self.job_id, "success", workspace=self.workspace, environment=self.environment)
        secrets = dict(self.run.world.secrets)
        if self.environment:
            rules = self.run.world.environments.get(str(self.environment))
            if rules is None:
                secrets = secrets  # GitHub creates an unprotected environment on first use
            else:
                branches = rules.get("branches")
                if branches is not None and self.run.ref not in {f"refs/heads/{b}" for b in branches}:
                    result.result = "failure"
                    result.log.append(
                        f"Branch {self.run.ref} is not allowed to deploy to {self.environment} due to "
                        "environment protection rules."
                    )
                    return result
                self.run.world.approvals.append((self.run.run_id, self.job_id, str(self.environment)))
                secrets.update(rules.get("secrets") or {})
        if self.run.fork_pull_request:
            secrets = {}
        ctx = {**self.ctx, "secrets": secrets}
        ctx["github"] = {**ctx["github"], "token": self.token, "job": self.job_id}
        conc = self.job.get("concurrency")
        if conc is not None:
            spec = conc if isinstance(conc, dict) else {"group": conc}
            result.concurrency = to_string(interpolate(spec.get("group"), ctx))
        env = dict(ctx.get("env") or {})
        env.update({k: to_string(interpolate(v, ctx)) for k, v in (self.job.get("env") or {}).items()})
        ctx["env"] = env
        steps_ctx: dict[str, Any] = {}
        ctx["steps"] = steps_ctx
        failed = False
        for index, step in enumerate(self.job.get("steps") or []):
            ok = self.step(step, index, ctx, steps_ctx, failed, self.job.get("defaults", {}).get("run", {}))
            failed = failed or not ok
        if failed:
            result.result = "failure"
        try:
            result.outputs = {
                k: to_string(interpolate(v, ctx)) for k, v in (self.job.get("outputs") or {}).items()
            }
        except ExpressionError as exc:
            result.result = "failure"
            self.log(f"outputs: {exc}")
        result.log = self.lines
        result.logins = self.logins
        result.token = self.token
        summary = self.root / "summary.md"
        result.summary = summary.read_text() if summary.is_file() else ""
        return result

    def step(
        self,
        step: dict[str, Any],
        index: int,
        ctx: dict[str, Any],
        steps_ctx: dict[str, Any],
        failed: bool,
        defaults: dict[str, Any],
        action_path: Path | None = None,
    ) -> bool:
        name = step.get("name") or step.get("uses") or str(step.get("run", ""))[:40]

        def status(fn: str) -> bool:
            return {"always": True, "success": not failed, "failure": failed, "cancelled": False}[fn]

        try:
            if not condition(step.get("if"), ctx, status):
                if step.get("id"):
                    steps_ctx[step["id"]] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
                return True
            step_env = {
                **ctx["env"],
                **{k: to_string(interpolate(v, ctx)) for k, v in (step.get("env") or {}).items()},
            }
            with_ = {k: interpolate(v, {**ctx, "env": step_env}) for k, v in (step.get("with") or {}).items()}
            if "run" in step:
                outputs = self.run_script(step, step_env, defaults, action_path)
            else:
                outputs = self.use(str(step["uses"]), with_, ctx, step_env)
            ok = True
        except (StepFailed, ExpressionError, subprocess.TimeoutExpired) as exc:
            self.log(f"step {name!r} failed: {exc}")
            outputs, ok = {}, False
        if step.get("id"):
            steps_ctx[step["id"]] = {
                "outputs": outputs,
                "outcome": "success" if ok else "failure",
                "conclusion": "success" if ok or step.get("continue-on-error") else "failure",
            }
        return ok or bool(step.get("continue-on-error"))

    def runner_env(
        self, step_env: dict[str, str], files: dict[str, Path], action_path: Path | None
    ) -> dict[str, str]:
        gh = self.ctx["github"]
        env = {
            "PATH": os.pathsep.join([*map(str, self.paths), str(self.base_bin)]),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "RUNNER_TEMP": str(self.root / "tmp"),
            "RUNNER_OS": "Linux",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REPOSITORY": gh["repository"],
            "GITHUB_REPOSITORY_OWNER": gh["repository_owner"],
            "GITHUB_API_URL": gh["api_url"],
            "GITHUB_SERVER_URL": gh["server_url"],
            "GITHUB_EVENT_NAME": self.run.event,
            "GITHUB_EVENT_PATH": str(self.run.event_path),
            "GITHUB_SHA": self.run.sha,
            "GITHUB_REF": self.run.ref,
            "GITHUB_RUN_ID": str(self.run.run_id),
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_JOB": self.job_id,
            "GITHUB_OUTPUT": str(files["output"]),
            "GITHUB_ENV": str(files["env"]),
            "GITHUB_PATH": str(files["path"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]),
            "HARNESS_PIP_BIN": str(self.tool_bin if self.tool_bin.is_dir() else self.base_bin),
            "HARNESS_REAL_PYTHON": sys.executable,
            "NO_COLOR": "1",
        }
        if action_path is not None:
            env["GITHUB_ACTION_PATH"] = str(action_path)
        env.update(step_env)
        return env

    def run_script(
        self,
        step: dict[str, Any],
        step_env: dict[str, str],
        defaults: dict[str, Any],
        action_path: Path | None,
    ) -> dict[str, str]:
        files = {
            k: self.root / "tmp" / f"{k}-{len(self.lines)}" for k in ("output", "env", "path", "summary")
        }
        for f in files.values():
            f.write_text("")
        script = self.root / "tmp" / f"step-{len(self.lines)}.sh"
        script.write_text(str(step["run"]))
        shell = step.get("shell") or defaults.get("shell")
        argv = (
            ["bash", "-e", str(script)]
            if shell in (None, "")
            else ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
        )
        cwd = self.workspace / str(step.get("working-directory") or defaults.get("working-directory") or ".")
        env = self.runner_env(step_env, files, action_path)
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
        for line in (proc.stdout + proc.stderr).splitlines():
            self.log(line)
        summary = files["summary"].read_text()
        if summary:
            (self.root / "summary.md").open("a").write(summary)
        for line in files["path"].read_text().splitlines():
            if line.strip():
                self.add_path(Path(line.strip()))
        new_env = _parse_kv(files["env"].read_text())
        self.ctx.setdefault("env", {}).update(new_env)
        if proc.returncode != 0:
            raise StepFailed(f"exit code {proc.returncode}")
        return _parse_kv(files["output"].read_text())

    def use(
        self, uses: str, with_: dict[str, Any], ctx: dict[str, Any], step_env: dict[str, str]
    ) -> dict[str, str]:
        if uses.startswith("./"):
            return self.composite(self.workspace / uses[2:], with_, ctx)
        action = uses.split("@", 1)[0]
        standin = STANDINS.get(action)
        if standin is None:
            raise StepFailed(f"no stand-in for {uses}")
        return standin(self, with_).outputs

    def composite(self, directory: Path, with_: dict[str, Any], ctx: dict[str, Any]) -> dict[str, str]:
        path = directory / "action.yml"
        if not path.is_file():
            raise StepFailed(f"Can't find 'action.yml' under {directory}")
        problems = lint(path)
        if problems:
            raise StepFailed("; ".join(problems))
        action = yaml.safe_load(path.read_text())
        inputs = {}
        for key, spec in (action.get("inputs") or {}).items():
            given = with_.get(key)
            inputs[key] = to_string(given) if given is not None else str((spec or {}).get("default", ""))
        for key in with_:
            if key not in inputs:
                self.log(f"Warning: Unexpected input '{key}' for {directory.name}")
        steps_ctx: dict[str, Any] = {}
        inner = {**ctx, "inputs": inputs, "steps": steps_ctx}
        inner["github"] = {**ctx["github"], "action_path": str(directory)}
        failed = False
        for index, step in enumerate(action["runs"]["steps"]):
            if "run" in step and not step.get("shell"):
                raise StepFailed(f"{path}: a composite run step needs shell:")
            ok = self.step(step, index, inner, steps_ctx, failed, {}, action_path=directory)
            failed = failed or not ok
        if failed:
            raise StepFailed(f"composite action {directory.name} failed")
        return {
            k: to_string(interpolate(v.get("value"), inner)) for k, v in (action.get("outputs") or {}).items()
        }


def drops_waiting(waiting: RunResult, newer: RunResult) -> list[str]:
    """The concurrency groups in which ``newer`` would replace ``waiting``'s job that waits for an
    environment's approval (GitHub keeps one pending run or job per group and cancels the older)."""
    held = {waiting.concurrency} if waiting.concurrency else set()
    held |= {r.concurrency for rs in waiting.jobs.values() for r in rs if r.environment and r.concurrency}
    if not any(r.environment for rs in waiting.jobs.values() for r in rs):
        return []
    taken = {newer.concurrency} if newer.concurrency else set()
    taken |= {
        r.concurrency for rs in newer.jobs.values() for r in rs if r.result != "skipped" and r.concurrency
    }
    return sorted(g for g in held & taken if g)


def _parse_kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            body = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


Approver = Callable[[int, str, str], bool]
