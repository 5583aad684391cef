"""Pull requests from forks: what their plans may use (pure).

Code in a fork's pull request is written by someone outside the repository. Planning it runs
that code (providers, external data sources, local-exec in data sources), so by default a
fork's plan gets **no cloud credentials**: the environment terraform sees is scrubbed of
cloud credential variables, OIDC request tokens and ``TF_VAR_*`` values, and the SDKs'
credential files and instance metadata are switched off. Stacks that need a cloud then fail
to plan, visibly. ``approval.allow_forks: true`` plans forks like any other pull request.
Applying a fork's pull request is refused unless ``approval.allow_forks`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Variables dropped from a fork plan's environment. Region and similar settings stay.
_DROP_PREFIXES = (
    "AWS_",
    "GOOGLE_",
    "GCLOUD_",
    "CLOUDSDK_",
    "GCE_",
    "ARM_",
    "AZURE_",
    "MSI_",
    "IDENTITY_",
    "ACTIONS_ID_TOKEN_REQUEST_",  # GitHub's OIDC: trades for cloud credentials
    "ACTIONS_RUNTIME_",
    "TF_TOKEN_",  # registry / Terraform Cloud tokens
    "TF_VAR_",  # variables a workflow passes may be secrets
    "VAULT_",
)
_DROP = {"GITHUB_TOKEN", "GH_TOKEN", "TFE_TOKEN", "ATLAS_TOKEN", "KUBECONFIG", "DIGITALOCEAN_TOKEN"}
_KEEP = {"AWS_REGION", "AWS_DEFAULT_REGION", "GOOGLE_REGION", "GOOGLE_ZONE", "ARM_ENVIRONMENT"}


@dataclass(frozen=True)
class ForkDecision:
    is_fork: bool
    with_credentials: bool
    note: str | None  # shown in the comment and the log when credentials are withheld

    @property
    def scrub(self) -> bool:
        return self.is_fork and not self.with_credentials


def decide(is_fork: bool | None, allow_forks: bool, source: str | None) -> ForkDecision:
    """How to plan a pull request from ``source`` (a fork's full name when known)."""
    if not is_fork:
        return ForkDecision(False, True, None)
    if allow_forks:
        return ForkDecision(True, True, None)
    who = f" ({source})" if source else ""
    return ForkDecision(
        True,
        False,
        f"This pull request comes from a fork{who}: it was planned without cloud credentials "
        "(approval.allow_forks is false), so stacks that read a cloud could not be planned.",
    )


def scrub_credentials(env: Mapping[str, str], empty_dir: str) -> dict[str, str]:
    """``env`` without cloud credentials, with the SDKs' other credential sources switched off.

    ``empty_dir`` is an empty directory used as the gcloud and Azure CLI configuration.
    """
    out = {k: v for k, v in env.items() if k in _KEEP or not (k in _DROP or k.startswith(_DROP_PREFIXES))}
    out.update(
        {
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "CLOUDSDK_CONFIG": empty_dir,
            "GCE_METADATA_HOST": "metadata.invalid",
            "GCE_METADATA_IP": "0.0.0.0",
            "AZURE_CONFIG_DIR": empty_dir,
            "ARM_USE_MSI": "false",
            "ARM_USE_OIDC": "false",
            "ARM_USE_CLI": "false",
        }
    )
    return out
