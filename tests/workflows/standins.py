"""Local stand-ins for the actions the shipped workflows use, following each action's documented
behaviour (inputs, defaults, what it writes), for the workflow harness.

- actions/checkout: clones the repository at ``ref`` (default: the event's sha) into ``path``
  from the harness's git server (tests/fakes/git_http.py: a job token is needed, ``contents:
  write`` to push), authenticating with the job token; ``fetch-depth`` 1 (the default) is a
  shallow clone; ``persist-credentials`` true (the default) leaves the token in ``.git/config``
  as an ``http.<server>/.extraheader``, false leaves later git commands without credentials.
- actions/setup-python: checks the version against the Python here; puts ``python``/``pip`` on PATH.
- hashicorp/setup-terraform: only a version present on this machine (nothing is downloaded).
- opentofu/setup-opentofu: no OpenTofu exists here: refuses.
- actions/cache: a miss every time (a fresh runner), after checking ``path`` and ``key``.
- actions/upload-artifact (v4.4+): hidden files and directories are skipped unless
  ``include-hidden-files``; an artifact name is immutable within a run unless ``overwrite``;
  ``if-no-files-found`` (warn|error|ignore); the root is the least common ancestor of the paths.
- actions/download-artifact (v4): by ``name`` (into ``path``) or ``pattern`` (each into
  ``path/<name>``); from another run with ``run-id`` + ``github-token`` (needs ``actions: read``).
- aws-actions/configure-aws-credentials, google-github-actions/auth, azure/login: an OIDC token
  exists only with ``id-token: write`` and not for pull requests from forks; the role's trust
  policy must accept the token's subject claim. A successful login hands the job the (emulated)
  account: credentials and endpoints, as the real login hands it credentials.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fakes.git_http import basic_header

if TYPE_CHECKING:
    from tests.workflows.harness import JobRun


class StepFailed(Exception):
    pass


@dataclass
class Artifact:
    id: int
    name: str
    run_id: int
    files: Path
    created: int
    expired: bool = False


@dataclass
class ActionResult:
    outputs: dict[str, str] = field(default_factory=dict)


def _git(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise StepFailed(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def _bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() == "true"


def checkout(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    world = job.run.world
    dest = (job.workspace / str(inputs.get("path") or ".")).resolve()
    ref = str(inputs.get("ref") or job.run.sha)
    given = inputs.get("fetch-depth")
    depth = 1 if given is None or str(given).strip() == "" else int(str(given))
    if dest.exists() and any(dest.iterdir()):
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    url = world.git.repo_url
    # actions/checkout authenticates its own fetches with the job token (an http.extraheader)...
    auth = ["-c", f"http.{world.git.url}/.extraheader={basic_header(job.token)}"]
    _git("init", "-q", str(dest))
    _git("remote", "add", "origin", url, cwd=dest)
    if depth == 0:
        _git(*auth, "fetch", "-q", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*", cwd=dest)
        _git(*auth, "fetch", "-q", "--no-tags", "origin", ref, cwd=dest)
    else:
        _git(*auth, "fetch", "-q", "--no-tags", f"--depth={depth}", "origin", ref, cwd=dest)
    _git("checkout", "-q", "--detach", "FETCH_HEAD", cwd=dest)
    _git("config", "user.name", "github-actions[bot]", cwd=dest)
    _git("config", "user.email", "41898282+github-actions[bot]@users.noreply.github.com", cwd=dest)
    if _bool(inputs.get("persist-credentials"), True):
        # ...and, unless persist-credentials is false, leaves it in .git/config for later steps
        # (and anything they run) to read. Without it, a later push or fetch has no credentials.
        _git("config", "--local", f"http.{world.git.url}/.extraheader", basic_header(job.token), cwd=dest)
    job.checkouts.append(dest)
    return ActionResult()


def setup_python(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    wanted = str(inputs.get("python-version") or "").strip()
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted and not (have == wanted or have.startswith(wanted + ".") or wanted in ("3", "3.x")):
        raise StepFailed(f"setup-python: Python {wanted} is not available (this runner has {have})")
    job.run.world.python_shims(job.tool_bin)
    job.add_path(job.tool_bin)
    return ActionResult({"python-version": have})


def setup_terraform(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    version = str(inputs.get("terraform_version") or "latest")
    binaries = job.run.world.terraform
    if version not in binaries:
        raise StepFailed(
            f"setup-terraform: terraform {version} cannot be downloaded here (available: {', '.join(binaries)})"
        )
    tf_dir = job.home / "terraform-bin"
    tf_dir.mkdir(parents=True, exist_ok=True)
    link = tf_dir / "terraform"
    if link.exists():
        link.unlink()
    link.symlink_to(binaries[version])
    job.add_path(tf_dir)
    return ActionResult()


def setup_opentofu(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    raise StepFailed("setup-opentofu: no OpenTofu release can be downloaded here")


def cache(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    if not str(inputs.get("path") or "").strip() or not str(inputs.get("key") or "").strip():
        raise StepFailed("cache: Input required and not supplied: path/key")
    return ActionResult({"cache-hit": "false"})


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in rel.parts)


def upload_artifact(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    world = job.run.world
    name = str(inputs.get("name") or "artifact").strip()
    include_hidden = _bool(inputs.get("include-hidden-files"), False)
    overwrite = _bool(inputs.get("overwrite"), False)
    if_none = str(inputs.get("if-no-files-found") or "warn")
    patterns = [p.strip() for p in str(inputs.get("path") or "").splitlines() if p.strip()]
    if not patterns:
        raise StepFailed("upload-artifact: Input required and not supplied: path")
    roots: list[Path] = []
    files: list[Path] = []
    for pattern in patterns:
        base = (job.workspace / pattern).resolve() if not Path(pattern).is_absolute() else Path(pattern)
        matches = [Path(p) for p in sorted(_glob(job.workspace, pattern))] or (
            [base] if base.exists() else []
        )
        for m in matches:
            roots.append(m if m.is_dir() else m.parent)
            candidates = [m] if m.is_file() else [f for f in m.rglob("*") if f.is_file()]
            for f in candidates:
                rel = f.relative_to(job.workspace) if f.is_relative_to(job.workspace) else f
                if not include_hidden and _hidden(rel):
                    job.log(f"upload-artifact: skipping hidden file {rel}")
                    continue
                files.append(f)
    if not files:
        message = f"No files were found with the provided path: {' '.join(patterns)}. No artifacts will be uploaded."
        if if_none == "error":
            raise StepFailed("upload-artifact: " + message)
        job.log("upload-artifact: " + message)
        return ActionResult()
    root = Path(os.path.commonpath([str(r) for r in roots])) if len(patterns) > 1 else roots[0]
    existing = [a for a in world.artifacts if a.run_id == job.run.run_id and a.name == name]
    if existing and not overwrite:
        raise StepFailed(
            f"upload-artifact: Failed to CreateArtifact: an artifact with this name already exists on the "
            f"workflow run: {name}"
        )
    for a in existing:
        world.delete_artifact(a)
    artifact = world.new_artifact(name, job.run)
    for f in files:
        rel = f.relative_to(root) if f.is_relative_to(root) else Path(f.name)
        target = artifact.files / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    return ActionResult({"artifact-id": str(artifact.id)})


def _glob(workspace: Path, pattern: str) -> list[str]:
    if not any(c in pattern for c in "*?["):
        return []
    return [str(p) for p in workspace.glob(pattern)]


def download_artifact(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    world = job.run.world
    name = str(inputs.get("name") or "").strip()
    pattern = str(inputs.get("pattern") or "").strip()
    run_id = str(inputs.get("run-id") or "").strip()
    dest = job.workspace / str(inputs.get("path") or ".")
    if run_id:
        if not str(inputs.get("github-token") or "").strip():
            raise StepFailed("download-artifact: run-id needs github-token")
        if job.permissions.get("actions") not in ("read", "write"):
            raise StepFailed(
                "download-artifact: Resource not accessible by integration (needs actions: read)"
            )
        source_run = int(run_id)
    else:
        source_run = job.run.run_id
    found = [a for a in world.artifacts if a.run_id == source_run and not a.expired]
    if name:
        chosen = [a for a in found if a.name == name]
        if not chosen:
            raise StepFailed(f"download-artifact: Artifact not found for name: {name}")
        shutil.copytree(chosen[-1].files, dest, dirs_exist_ok=True)
        return ActionResult({"download-path": str(dest)})
    chosen = [a for a in found if fnmatch.fnmatchcase(a.name, pattern or "*")]
    merge = _bool(inputs.get("merge-multiple"), False)
    for a in chosen:
        shutil.copytree(a.files, dest if merge else dest / a.name, dirs_exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    return ActionResult({"download-path": str(dest)})


def _oidc_login(job: JobRun, provider: str, role: str) -> ActionResult:
    world = job.run.world
    if job.permissions.get("id-token") != "write":
        raise StepFailed(
            f"{provider} login: Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable "
            "(the job needs `permissions: id-token: write`)"
        )
    if job.run.fork_pull_request:
        raise StepFailed(f"{provider} login: no OIDC token for a pull request from a fork")
    if not role.strip():
        raise StepFailed(f"{provider} login: no role / identity given")
    subject = job.oidc_subject()
    allowed = world.trust.get(role)
    if allowed is None or subject not in allowed:
        raise StepFailed(
            f"{provider} login: the trust policy of {role} does not accept the subject {subject} "
            f"(it accepts: {', '.join(sorted(allowed or [])) or 'nothing'})"
        )
    job.logins.append((provider, role, subject))
    world.grant_cloud(job, role)
    return ActionResult()


def aws_login(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    if not str(inputs.get("aws-region") or "").strip():
        raise StepFailed("configure-aws-credentials: Input required and not supplied: aws-region")
    return _oidc_login(job, "aws", str(inputs.get("role-to-assume") or ""))


def gcp_login(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    if not str(inputs.get("workload_identity_provider") or "").strip():
        raise StepFailed("google-github-actions/auth: workload_identity_provider is required")
    return _oidc_login(job, "gcp", str(inputs.get("service_account") or ""))


def azure_login(job: JobRun, inputs: dict[str, Any]) -> ActionResult:
    for key in ("tenant-id", "subscription-id"):
        if not str(inputs.get(key) or "").strip():
            raise StepFailed(f"azure/login: {key} is required for OIDC login")
    return _oidc_login(job, "azure", str(inputs.get("client-id") or ""))


STANDINS = {
    "actions/checkout": checkout,
    "actions/setup-python": setup_python,
    "hashicorp/setup-terraform": setup_terraform,
    "opentofu/setup-opentofu": setup_opentofu,
    "actions/cache": cache,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "aws-actions/configure-aws-credentials": aws_login,
    "google-github-actions/auth": gcp_login,
    "azure/login": azure_login,
}

PIP_STANDIN = textwrap.dedent(
    '''
    """pip as the harness's runner has it: installs this project from a local path (what the
    composite action does), refuses `orchestrate` (on PyPI, an unrelated project that fails to
    build on Python 3.11) and anything else it would have to download."""
    import os, sys, tomllib
    from pathlib import Path

    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not args or args[0] != "install":
        sys.exit(0)
    bin_dir = Path(os.environ["HARNESS_PIP_BIN"])
    for spec in args[1:]:
        path = spec.split("[", 1)[0]
        if os.path.isdir(path):
            meta = tomllib.loads((Path(path) / "pyproject.toml").read_text())
            name = meta["project"]["name"]
            if name != "orchestrate-stacks":
                print(f"ERROR: {path} is {name}, not orchestrate-stacks", file=sys.stderr)
                sys.exit(1)
            script = bin_dir / "orchestrate"
            script.write_text(
                "#!/bin/sh\\n"
                f"PYTHONPATH={os.path.abspath(path)} exec {os.environ['HARNESS_REAL_PYTHON']} -m orchestrator \\"$@\\"\\n"
            )
            script.chmod(0o755)
            print(f"Successfully installed orchestrate-stacks from {path}")
            continue
        name = spec.split("==")[0].split(">")[0].split("<")[0].strip().lower()
        if name == "orchestrate":
            print(
                "Collecting orchestrate\\n  Downloading orchestrate-0.7.0.tar.gz\\n"
                "ERROR: Failed building wheel for orchestrate (an unrelated project on PyPI; "
                "it does not build on Python 3.11)",
                file=sys.stderr,
            )
            sys.exit(1)
        print(f"ERROR: Could not find a version that satisfies the requirement {spec} (offline runner)", file=sys.stderr)
        sys.exit(1)
    '''
)
