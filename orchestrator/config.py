"""orchestrate.yaml and stack.yaml: validated, frozen models and their loaders.

Raw YAML -> validated model with defaults filled in, as two steps; any problem is a
ConfigError naming the file and line. The models are the source of the published JSON
Schemas (``orchestrate schema``, docs/schema/).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator.errors import ConfigError
from orchestrator.yamlfile import line_of, parse_yaml, read_text

ROOT_CONFIG_NAME = "orchestrate.yaml"
STACK_CONFIG_NAME = "stack.yaml"

_DURATION = re.compile(r"^\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
M = TypeVar("M", bound=BaseModel)
_ENV_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_STACK_ID = re.compile(r"^[A-Za-z0-9_.\-/]+$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def stack_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a stack id (SPEC 11), or None.

    Ids are repository-relative paths: letters, digits and ``/ . _ -``, no empty, ``.``-only
    or ``..`` segment (the id "." alone names the repository root), no leading or trailing ``/``.
    """
    if not _STACK_ID.match(value):
        return "only letters, digits and / . _ - are allowed"
    if value == ".":
        return None
    for seg in value.split("/"):
        if seg == "":
            return "it has an empty path segment (a leading, trailing or doubled '/')"
        if seg in (".", ".."):
            return f"it has a '{seg}' path segment"
    return None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(value: str | int | float) -> float:
    """'30m', '1h30m', '45s' or a number of seconds -> seconds."""
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("must be positive")
        return float(value)
    m = _DURATION.match(value)
    if not value.strip() or not m or not any(m.groups()):
        raise ValueError(f"{value!r} is not a duration such as 30m, 1h30m or 45s")
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    total = h * 3600 + mi * 60 + s
    if total <= 0:
        raise ValueError("must be positive")
    return float(total)


def default_parallelism(cpus: int | None) -> int:
    """Two stacks per CPU, 2 to 16 (pure): a terraform run waits on its provider processes,
    on the network and on state locks for much of its time, so one per CPU leaves the CPUs
    idle; more than 16 at once mostly queues on cloud API rate limits and memory (a large
    provider is hundreds of MB per run). See docs/benchmarks.md."""
    return max(2, min(16, 2 * (cpus or 1)))


class TerraformSettings(_Model):
    binary: str | None = Field(None, description="terraform, tofu, or an absolute path [terraform on PATH]")
    version: str | None = Field(None, description="version constraint such as '>=1.0, <2'")
    parallelism: int | None = Field(None, ge=1, le=256, description="stacks run at once [2 per CPU, 2-16]")
    plugin_cache: bool = Field(True, description="one shared TF_PLUGIN_CACHE_DIR")
    timeout: str | int | None = Field(None, description="per terraform command, e.g. 30m [none]")
    provider_mirror: str | None = Field(
        None,
        description=(
            "where `validate` installs providers when no registry is reachable: a directory of the "
            "repository in filesystem-mirror layout, or plugin:NAME (plugin:emulate = the stand-ins) [none]"
        ),
    )
    lock_timeout: str | int | None = Field(
        "5m",
        description="how long plan, apply and refresh scans wait for a terraform state lock held by "
        "another run (terraform's -lock-timeout), e.g. 10m; 0 fails at once [5m]",
    )

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, v: str | int | None) -> str | int | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("lock_timeout")
    @classmethod
    def _check_lock_timeout(cls, v: str | int | None) -> str | int | None:
        if v is not None and v not in (0, "0", "0s"):
            parse_duration(v)
        return v

    @field_validator("version")
    @classmethod
    def _check_version(cls, v: str | None) -> str | None:
        if v is not None:
            from orchestrator.versions import parse_constraint

            parse_constraint(v)
        return v

    @property
    def timeout_seconds(self) -> float | None:
        return None if self.timeout is None else parse_duration(self.timeout)

    @property
    def lock_timeout_arg(self) -> str | None:
        """The value of terraform's -lock-timeout (seconds), or None to leave terraform's default (0s)."""
        if self.lock_timeout is None or self.lock_timeout in (0, "0", "0s"):
            return None
        return f"{int(parse_duration(self.lock_timeout))}s"

    @property
    def effective_parallelism(self) -> int:
        return self.parallelism or default_parallelism(os.cpu_count())


BackendType = Literal["local", "s3", "gcs", "azurerm"]


class BackendConfig(_Model):
    type: BackendType = Field(description="local | s3 | gcs | azurerm")
    config: dict[str, Any] = Field(
        default_factory=dict, description="backend settings; '{stack}' is replaced by the stack id"
    )


class _CloudBase(_Model):
    endpoint: str | None = Field(None, description="API endpoint (LocalStack, sovereign clouds, tests)")
    max_parallel: int | None = Field(None, ge=1, description="terraform runs at once on this target")
    backend: BackendConfig | None = Field(
        None,
        description="where stacks rebuilt on this target by `plan --target-cloud` keep their state "
        "(disaster recovery; {stack}, {environment} and {cloud} are replaced) [local state under "
        ".orchestrate/recovery/<target>/]",
    )


class AwsTarget(_CloudBase):
    provider: Literal["aws"]
    region: str = Field(description="AWS region, e.g. eu-west-1")
    profile: str | None = None
    role_arn: str | None = None
    account_id: str | None = Field(None, description="expected account; scans refuse another")


class GcpTarget(_CloudBase):
    provider: Literal["gcp"]
    project: str
    region: str | None = None
    folder: str | None = Field(None, description="folder id whose projects are scanned for unmanaged ones")


class AzureTarget(_CloudBase):
    provider: Literal["azure"]
    subscription_id: str
    tenant_id: str | None = None
    location: str | None = None


CloudTarget = Annotated[AwsTarget | GcpTarget | AzureTarget, Field(discriminator="provider")]


class PolicySettings(_Model):
    dir: str = "policies"
    namespaces: list[str] = Field(default_factory=lambda: ["main"])
    enforcement: Literal["blocking", "advisory"] = "blocking"
    data: dict[str, Any] = Field(
        default_factory=dict, description="parameters for policies, visible as data.orchestrate.params"
    )


_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ApprovalSettings(_Model):
    """Who may approve a pull request for apply. Always read from the PR's base commit."""

    required: int = Field(1, ge=1, description="approving reviews with write access a PR needs")
    allow_manual: bool = True
    allow_forks: bool = Field(False, description="plan pull requests from forks with credentials")
    mode: Literal["before-merge", "on-merge"] = Field(
        "before-merge",
        description="before-merge: apply --pr N applies the approved PR, then merges; on-merge: the "
        "approved PR is merged and `apply --merged` applies its plan set (docs/controller.md)",
    )
    promotion: bool = Field(
        False,
        description="apply a stack only after the same content was applied to its family's stack in the "
        "previous environment (docs/environments.md)",
    )
    users: list[str] = Field(
        default_factory=list, description="only these GitHub logins approve (and need write access) [anyone]"
    )
    teams: list[str] = Field(
        default_factory=list, description="only members of these teams (org/team-slug) approve [any team]"
    )
    codeowners: bool = Field(
        False, description="every changed file with a CODEOWNERS owner needs an approval from one of them"
    )
    policy_owners: list[str] = Field(
        default_factory=list,
        description="logins or org/team: a PR changing approval, policies, redact, drift, github or "
        "CODEOWNERS also needs one of them to approve",
    )

    @field_validator("users")
    @classmethod
    def _check_users(cls, v: list[str]) -> list[str]:
        for login in v:
            if not _LOGIN.match(login):
                raise ValueError(f"{login!r} is not a GitHub login")
        return v

    @field_validator("teams")
    @classmethod
    def _check_teams(cls, v: list[str]) -> list[str]:
        for team in v:
            if not _TEAM.match(team.removeprefix("@")):
                raise ValueError(f"{team!r} is not a team of the form org/team-slug")
        return [t.removeprefix("@") for t in v]

    @field_validator("policy_owners")
    @classmethod
    def _check_owners(cls, v: list[str]) -> list[str]:
        for owner in v:
            bare = owner.removeprefix("@")
            if not (_LOGIN.match(bare) or _TEAM.match(bare)):
                raise ValueError(f"{owner!r} is neither a GitHub login nor a team of the form org/team-slug")
        return [o.removeprefix("@") for o in v]


class DriftSettings(_Model):
    mode: Literal["api", "refresh", "both"] = "api"
    open_prs: bool = True
    labels: list[str] = Field(default_factory=lambda: ["drift"])
    base_branch: str | None = Field(None, description="branch drift PRs target [the default branch]")


ReconcileMode = Literal["pr", "auto"]


class ReconcileSettings(_Model):
    """What a drift scan (``drift --open-pr``) does with a drifted stack: open a pull request
    (``pr``) or apply the remediation itself when it is safe (``auto``): docs/controller.md.
    Read from the default branch only; a PR changing it needs ``approval.policy_owners``."""

    mode: ReconcileMode = Field("pr", description="the default for every stack: pr | auto [pr]")
    window: str = Field(
        "24h",
        description="a stack reconciled automatically that drifts again within this window gets a pull "
        "request instead (a fight with another controller never loops) [24h]",
    )
    environments: dict[str, ReconcileMode] = Field(
        default_factory=dict, description="per environment: pr | auto (a stack's own setting wins)"
    )

    @field_validator("window")
    @classmethod
    def _check_window(cls, v: str) -> str:
        parse_duration(v)
        return v

    @property
    def window_seconds(self) -> float:
        return parse_duration(self.window)


class PlanSetSettings(_Model):
    encrypt_to: list[str] = Field(
        default_factory=list,
        description="age recipients (age1...) plan.tfplan and plan.json are encrypted to (docs/engine.md)",
    )

    @field_validator("encrypt_to")
    @classmethod
    def _check_recipients(cls, v: list[str]) -> list[str]:
        from orchestrator.planset_crypto import parse_recipient

        for text in v:
            try:
                parse_recipient(text)
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return v


class GitHubSettings(_Model):
    repository: str | None = None
    api_url: str | None = None
    comment_author: str | None = Field(
        None,
        description="the login orchestrate's comments are written as [GET /user, or github-actions[bot] "
        "for the workflow token]; set it for a GitHub App token, e.g. my-app[bot]",
    )

    @field_validator("comment_author")
    @classmethod
    def _check_author(cls, v: str | None) -> str | None:
        if v is not None and not _LOGIN.match(v):
            raise ValueError(f"{v!r} is not a GitHub login")
        return v


def _check_workspace_name(v: str | None) -> str | None:
    if v is not None and not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$", v):
        raise ValueError(f"{v!r} is not a valid workspace name (letters, digits, _ . -)")
    return v


def _check_relative(v: str, what: str) -> str:
    if not v.strip() or v.startswith("/") or ".." in v.split("/"):
        raise ValueError(f"{what} {v!r} must be a relative path inside the repository")
    return v


class TargetRule(_Model):
    match: str = Field(
        description="directory pattern: {name} captures one segment, * one segment, ** any depth"
    )
    cloud: str | None = Field(
        None, description="a key of clouds:; may use the captures, e.g. aws-{environment}"
    )
    environment: str | None = Field(None, description="[the {environment} capture, if any]")
    tags: list[str] = Field(default_factory=list)
    reconcile: ReconcileMode | None = Field(None, description="pr | auto for the stacks matched")

    @field_validator("match")
    @classmethod
    def _check_match(cls, v: str) -> str:
        return _check_relative(v, "match")

    def captures(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.match))

    def model_post_init(self, __context: Any) -> None:
        known = self.captures()
        for value in (self.cloud, self.environment, *self.tags):
            for name in _PLACEHOLDER.findall(value or ""):
                if name not in known:
                    raise ValueError(f"{{{name}}} is used but {self.match!r} does not capture it")


class ProjectEntry(_Model):
    dir: str = Field(description="repository-relative directory of the root module ('.' for the root)")
    name: str | None = Field(None, description="stack id [dir, plus /<workspace> for a workspace]")
    workspace: str | None = Field(None, description="terraform workspace [default]")
    cloud: str | None = None
    environment: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    watch: list[str] = Field(default_factory=list, description="globs, relative to dir")
    var_files: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    reconcile: ReconcileMode | None = Field(None, description="pr | auto")

    @field_validator("dir")
    @classmethod
    def _check_dir(cls, v: str) -> str:
        return v if v == "." else _check_relative(v.rstrip("/"), "dir").rstrip("/")

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str | None) -> str | None:
        problem = None if v is None else stack_id_problem(v)
        if problem:
            raise ValueError(f"{v!r} is not a valid stack id: {problem}")
        return v

    @field_validator("workspace")
    @classmethod
    def _check_workspace(cls, v: str | None) -> str | None:
        return _check_workspace_name(v)


class StacksRules(_Model):
    """Stacks found by rule, without a stack.yaml in every directory."""

    include: list[str] = Field(default_factory=lambda: ["**"], description="directory globs searched")
    exclude: list[str] = Field(default_factory=list, description="directory globs left out")
    targets: list[TargetRule] = Field(
        default_factory=list, description="cloud/environment from path patterns; later rules override"
    )
    projects: list[ProjectEntry] = Field(
        default_factory=list, description="listed stacks (a directory may appear once per workspace)"
    )
    root_modules: Literal["auto", "listed"] = Field(
        "auto", description="auto: directories with a backend or provider block; listed: only projects"
    )


class RootConfig(_Model):
    version: Literal[1] = 1
    stacks_dir: str = "stacks"
    stacks: StacksRules | None = Field(
        None, description="find stacks by rule under the repository root (ids: repository-relative paths)"
    )
    terraform: TerraformSettings = Field(default_factory=TerraformSettings)
    backend: BackendConfig | None = None
    clouds: dict[str, CloudTarget] = Field(default_factory=dict)
    policies: PolicySettings = Field(default_factory=PolicySettings)
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    github: GitHubSettings = Field(default_factory=GitHubSettings)
    reconcile: ReconcileSettings = Field(
        default_factory=ReconcileSettings,
        description="pr (default) | auto, or {mode, window, environments}: automatic reconciliation of drift",
    )
    redact: list[str] = Field(default_factory=list, description="regexes masked in every text output")
    plan_sets: PlanSetSettings = Field(default_factory=lambda: PlanSetSettings())
    environments: list[str] = Field(
        default_factory=list,
        description="the promotion path, first to last, e.g. [dev, staging, prod] (docs/environments.md)",
    )

    @field_validator("reconcile", mode="before")
    @classmethod
    def _reconcile_shorthand(cls, v: Any) -> Any:
        return {"mode": v} if isinstance(v, str) else v

    @field_validator("environments")
    @classmethod
    def _check_environments(cls, v: list[str]) -> list[str]:
        for name in v:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment name (letters, digits, _ . -)")
        dup = sorted({n for n in v if v.count(n) > 1})
        if dup:
            raise ValueError(f"{', '.join(dup)} listed more than once")
        return v

    @field_validator("redact")
    @classmethod
    def _check_redact(cls, v: list[str]) -> list[str]:
        from orchestrator.redact import compile_pattern

        for i, pattern in enumerate(v):
            try:
                compile_pattern(pattern)
            except ValueError as exc:
                raise ValueError(f"entry {i} is not a valid regular expression: {exc}") from None
        return v

    @field_validator("stacks_dir")
    @classmethod
    def _check_stacks_dir(cls, v: str) -> str:
        if not v.strip() or Path(v).is_absolute() or ".." in Path(v).parts:
            raise ValueError("must be a relative path inside the repository")
        return v


class StackDrift(_Model):
    enabled: bool = True
    ignore: list[str] = Field(default_factory=list, description="driftctl-style ignore rules")


class StackApply(_Model):
    requires_approval: bool = True


class StackPolicy(_Model):
    allow_destroy: list[str] = Field(
        default_factory=list, description="resource addresses (or '*') the stack may delete or replace"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="per-stack policy parameters")


class StackConfig(_Model):
    name: str | None = Field(None, description="stack id [path under stacks_dir]")
    workspace: str | None = Field(None, description="terraform workspace [default]")
    cloud: str | None = Field(None, description="a key of clouds: in orchestrate.yaml")
    environment: str | None = None
    family: str | None = Field(
        None,
        description="the component this stack is in every environment [its path without the environment]",
    )
    depends_on: list[str] = Field(default_factory=list)
    inputs: dict[str, str] = Field(
        default_factory=dict, description="TF_VAR_<name> from '<stack id>.<output>'; implies depends_on"
    )
    watch: list[str] = Field(default_factory=list, description="globs, relative to the stack directory")
    var_files: list[str] = Field(default_factory=list)
    backend: BackendConfig | None = None
    drift: StackDrift = Field(default_factory=StackDrift)
    apply: StackApply = Field(default_factory=StackApply)
    policy: StackPolicy = Field(default_factory=StackPolicy)
    tags: list[str] = Field(default_factory=list, description="free labels, filterable")
    reconcile: ReconcileMode | None = Field(
        None,
        description="pr | auto: may a drift scan put this stack's drift back itself [the environment's, "
        "else orchestrate.yaml's reconcile]; read from the default branch only",
    )

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str | None) -> str | None:
        problem = None if v is None else stack_id_problem(v)
        if problem:
            raise ValueError(f"{v!r} is not a valid stack id: {problem}")
        return v

    @field_validator("family")
    @classmethod
    def _check_family(cls, v: str | None) -> str | None:
        if v is not None and (not _STACK_ID.match(v) or ".." in v.split("/")):
            raise ValueError(f"{v!r} is not a valid family name (letters, digits, _ . - /)")
        return v

    @field_validator("workspace")
    @classmethod
    def _check_workspace(cls, v: str | None) -> str | None:
        return _check_workspace_name(v)

    @field_validator("inputs")
    @classmethod
    def _check_inputs(cls, v: dict[str, str]) -> dict[str, str]:
        for var, ref in v.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", var):
                raise ValueError(f"input name {var!r} is not a valid Terraform variable name")
            stack, _, output = ref.rpartition(".")
            if not stack or not output:
                raise ValueError(f"input {var!r}: {ref!r} is not of the form '<stack id>.<output name>'")
        return v


def input_source(ref: str) -> tuple[str, str]:
    """'gcp/project.project_id' -> ('gcp/project', 'project_id')."""
    stack, _, output = ref.rpartition(".")
    return stack, output


def _format_validation_error(exc: ValidationError, text: str, shown: str) -> ConfigError:
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if isinstance(p, int | str)]
    line = line_of(text, loc)
    dotted = ".".join(str(p) for p in loc if not (isinstance(p, str) and p in ("aws", "gcp", "azure")))
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = f"unknown key '{dotted}'"
        hint = "Remove it or check its spelling; `orchestrate schema` lists the valid keys."
    elif kind == "missing":
        msg = f"missing required key '{dotted}'"
        hint = "Add it; `orchestrate schema` lists the required keys."
    elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
        msg = f"'{dotted}': provider must be one of aws, gcp, azure"
        hint = "Set provider: aws, gcp or azure."
    else:
        reason = err["msg"].removeprefix("Value error, ")
        msg = f"'{dotted}': {reason}" if dotted else reason
        hint = "Fix the value; `orchestrate schema` describes every key."
    more = len(exc.errors()) - 1
    if more:
        hint += f" ({more} more problem{'s' if more > 1 else ''} in this file)"
    return ConfigError(msg, where=f"{shown}:{line}" if line else shown, hint=hint)


def _validate(model: type[M], data: Any, text: str, shown: str) -> M:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of keys at the top level, found {type(data).__name__}",
            where=f"{shown}:1",
            hint="Write the file as 'key: value' lines.",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _format_validation_error(exc, text, shown) from None


def parse_root_config(text: str, shown: str) -> RootConfig:
    return _validate(RootConfig, parse_yaml(text, shown), text, shown)


def load_root_config(path: Path | None, shown: str | None = None) -> RootConfig:
    """Load orchestrate.yaml; a missing optional file gives the defaults."""
    if path is None:
        return RootConfig()
    shown = shown or str(path)
    return parse_root_config(read_text(path, shown), shown)


def parse_stack_config(text: str, shown: str) -> StackConfig:
    return _validate(StackConfig, parse_yaml(text, shown), text, shown)


def json_schema(kind: Literal["orchestrate", "stack"]) -> dict[str, Any]:
    model: type[BaseModel] = RootConfig if kind == "orchestrate" else StackConfig
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://orchestrate.dev/schema/{kind}.schema.json"
    schema["title"] = ROOT_CONFIG_NAME if kind == "orchestrate" else STACK_CONFIG_NAME
    return schema
