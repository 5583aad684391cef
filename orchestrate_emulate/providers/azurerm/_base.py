"""What the azurerm resources share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrate_emulate.providers._runtime import BaseResource

if TYPE_CHECKING:
    from orchestrate_emulate.providers.azurerm import AzurermProvider


def is_gone(exc: BaseException) -> bool:
    return type(exc).__name__ == "ResourceNotFoundError" or getattr(exc, "status_code", None) == 404


def normalize_location(location: str) -> str:
    return location.replace(" ", "").lower()


def keep_location(live: str, prior: Any) -> str:
    """The configuration's spelling of a location when it means the live one ("West Europe")."""
    if isinstance(prior, str) and normalize_location(prior) == normalize_location(live):
        return prior
    return live


def own_tags(live: dict[str, str] | None, prior: Any) -> dict[str, str] | None:
    if not live and prior is None:
        return None
    return dict(live or {})


class AzureResource(BaseResource):
    @property
    def azure(self) -> AzurermProvider:
        return self.provider

    def client(self) -> Any:
        return self.azure.client()

    def group_id(self, name: str) -> str:
        return f"/subscriptions/{self.azure.subscription_id}/resourceGroups/{name}"
