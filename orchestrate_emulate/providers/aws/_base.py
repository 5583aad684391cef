"""What the AWS resources share: the provider's clients, tags and tags_all."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tf.schema import Attribute
from tf.types import Map, String

from orchestrate_emulate.providers._runtime import BaseResource, State, merge_tags, own_tags

if TYPE_CHECKING:
    from orchestrate_emulate.providers.aws import AwsProvider


def tag_attributes() -> list[Attribute]:
    return [
        Attribute("tags", Map(String()), optional=True),
        Attribute("tags_all", Map(String()), computed=True),
    ]


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class AwsResource(BaseResource):
    @property
    def aws(self) -> AwsProvider:
        return self.provider

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def do_plan(self, current: State | None, planned: State) -> State:
        planned["tags_all"] = merge_tags(self.aws.default_tags, planned.get("tags"))
        return planned

    def desired_tags(self, planned: State) -> dict[str, str]:
        """The tags to set on the resource: default tags overlaid by the resource's."""
        merged = merge_tags(self.aws.default_tags, planned.get("tags"))
        return dict(merged) if isinstance(merged, dict) else {}

    def sync_tags(
        self,
        planned: State,
        have: dict[str, str],
        untag: Callable[[list[str]], object],
        tag: Callable[[dict[str, str]], object],
    ) -> None:
        """Make the live tags equal the desired ones: remove the extra keys, then set the rest."""
        want = self.desired_tags(planned)
        gone = [k for k in have if k not in want]
        if gone:
            untag(gone)
        if want and want != have:
            tag(want)

    def tag_state(self, live: dict[str, str], current: State) -> State:
        return {"tags": own_tags(live, self.aws.default_tags, current.get("tags")), "tags_all": dict(live)}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}
