"""Stand-in Terraform providers for the emulated clouds, written with the ``tf`` framework.

Each is served under the real provider address so configurations written for the real
providers init, plan and apply unchanged against the emulated clouds. They implement a
documented subset of the real providers' resource types and attributes (docs/emulate.md)
and refuse to run without an emulated endpoint: they are never used against real clouds.

Run one as a plugin: ``python -m orchestrate_emulate.providers.aws`` (Terraform starts it
through the launcher in the provider mirror; see :mod:`orchestrate_emulate.mirror`).
"""

from __future__ import annotations

from dataclasses import dataclass

HOST_NAMESPACE = "registry.terraform.io/hashicorp"


@dataclass(frozen=True)
class StandIn:
    name: str  # the provider type: aws, google, azurerm
    version: str  # the version the mirror offers
    module: str  # python -m <module>
    provider_class: str  # the BaseProvider subclass in ``module``


STAND_INS: tuple[StandIn, ...] = (
    StandIn("aws", "5.0.0", "orchestrate_emulate.providers.aws", "AwsProvider"),
    StandIn("google", "5.0.0", "orchestrate_emulate.providers.google", "GoogleProvider"),
    StandIn("azurerm", "3.0.0", "orchestrate_emulate.providers.azurerm", "AzurermProvider"),
)
