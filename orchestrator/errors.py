"""The error hierarchy. Every error a user can cause is an OrchestratorError.

The CLI maps these to exit codes in one place (cli.py): OrchestratorError -> its
``exit_code`` (1 unless stated), KeyboardInterrupt -> 130, anything else is a bug.
Errors from outside libraries (botocore, google-api-core, azure-core, PyGithub,
subprocess) are translated at the boundary that calls them, with ``raise ... from``.

An error renders as one or two lines: what is wrong (prefixed by where, a file:line
or a stack id), then what to do.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_POLICY = 3
EXIT_INTERRUPTED = 130


class OrchestratorError(Exception):
    """Base of every expected error. ``where`` is a file[:line] or a stack id."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def render(self) -> str:
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n  {self.hint}" if self.hint else head

    def one_line(self) -> str:
        """The message and what to do on one line, for tables, manifests and PR comments."""
        return self.message + (f" ({self.hint})" if self.hint else "")

    def __str__(self) -> str:
        return self.render()


def one_line(exc: BaseException) -> str:
    """Any exception on one line: an OrchestratorError as the user should read it, anything
    else named as the internal error it is."""
    if isinstance(exc, OrchestratorError):
        return exc.one_line()
    return f"internal error: {type(exc).__name__}: {exc}"


class ConfigError(OrchestratorError):
    """orchestrate.yaml or a stack.yaml is malformed, has an unknown key or a wrong type."""


class HclError(ConfigError):
    """A Terraform file cannot be parsed."""


class DiscoveryError(OrchestratorError):
    """Stacks cannot be found: missing stacks_dir, duplicate ids, unreadable files."""


class GraphError(OrchestratorError):
    """The dependency graph is invalid: a cycle or an unknown dependency."""


class GitError(OrchestratorError):
    """A git operation failed (not a repository, unknown ref, push rejected)."""


class TerraformError(OrchestratorError):
    """terraform is missing, has the wrong version, or a command failed."""


class StateLockError(TerraformError):
    """A state lock or an orchestrate stack lock is held by someone else."""


class StalePlanError(TerraformError):
    """The state moved since the plan was made (terraform's 'Saved plan is stale')."""


class CloudError(OrchestratorError):
    """A cloud API could not be read: credentials, endpoint, throttling that did not clear."""


class GitHubError(OrchestratorError):
    """The GitHub API refused or failed a request."""


class PlanSetError(OrchestratorError):
    """A plan set is missing, incomplete or corrupt."""


class ApprovalRefused(OrchestratorError):
    """apply/destroy refused: no approval, wrong commit, tampered plan, stale approval."""


class EffectiveConfigChanged(ApprovalRefused):
    """apply refused: a stack's cloud target, backend, var files or environment differ from planning."""


class NeedsApproval(ApprovalRefused):
    """`apply --merged`: what was merged is not what was approved; a new plan needs approval."""

    exit_code = EXIT_CHANGES


class PolicyError(OrchestratorError):
    """A policy file cannot be loaded or a policy errored while evaluating."""


class PolicyBlocked(OrchestratorError):
    """A blocking policy denied the change."""

    exit_code = EXIT_POLICY


class Interrupted(OrchestratorError):
    """SIGINT/SIGTERM: children were told to stop and given time to release locks."""

    exit_code = EXIT_INTERRUPTED
