"""aws_sqs_queue: id (the queue URL), url, arn, name, fifo_queue, delay_seconds, max_message_size,
message_retention_seconds, receive_wait_time_seconds, visibility_timeout_seconds,
sqs_managed_sse_enabled, tags, tags_all."""

from __future__ import annotations

from typing import Any

from tf.schema import Attribute, Schema
from tf.types import Bool, Number, String

from orchestrate_emulate.providers._runtime import ProviderError, State
from orchestrate_emulate.providers.aws._base import AwsResource, error_code, tag_attributes

# attribute -> (SQS attribute name, default of the real provider)
NUMBERS: dict[str, tuple[str, int]] = {
    "delay_seconds": ("DelaySeconds", 0),
    "max_message_size": ("MaximumMessageSize", 262144),
    "message_retention_seconds": ("MessageRetentionPeriod", 345600),
    "receive_wait_time_seconds": ("ReceiveMessageWaitTimeSeconds", 0),
    "visibility_timeout_seconds": ("VisibilityTimeout", 30),
}
GONE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class SqsQueue(AwsResource):
    name = "sqs_queue"
    display = "SQS Queue"

    @classmethod
    def build_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute("id", String(), computed=True),
                Attribute("url", String(), computed=True),
                Attribute("arn", String(), computed=True),
                Attribute("name", String(), optional=True, computed=True, requires_replace=True),
                Attribute(
                    "fifo_queue", Bool(), optional=True, computed=True, default=False, requires_replace=True
                ),
                *(
                    Attribute(attr, Number(), optional=True, computed=True, default=default)
                    for attr, (_, default) in NUMBERS.items()
                ),
                Attribute("sqs_managed_sse_enabled", Bool(), optional=True, computed=True),
                *tag_attributes(),
            ],
        )

    def _attributes(self, planned: State) -> dict[str, str]:
        out = {
            sqs_name: str(int(planned[attr]))
            for attr, (sqs_name, _) in NUMBERS.items()
            if planned.get(attr) is not None
        }
        if planned.get("sqs_managed_sse_enabled") is not None:
            out["SqsManagedSseEnabled"] = str(bool(planned["sqs_managed_sse_enabled"])).lower()
        return out

    def do_create(self, planned: State) -> State | None:
        sqs = self.client("sqs")
        name = planned.get("name")
        if not name:
            raise ProviderError("name is required by this stand-in (name_prefix is not supported)")
        attributes = self._attributes(planned)
        if planned.get("fifo_queue"):
            if not name.endswith(".fifo"):
                raise ProviderError(f"a FIFO queue name must end with .fifo: {name}")
            attributes["FifoQueue"] = "true"
        kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        tags = self.desired_tags(planned)
        if tags:
            kwargs["tags"] = tags
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        return self.do_read({**planned, "id": url})

    def do_read(self, current: State) -> State | None:
        sqs = self.client("sqs")
        url = current["id"]
        try:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            live = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        except Exception as exc:
            if error_code(exc) in GONE:
                return None
            raise
        state: State = {
            "id": url,
            "url": url,
            "arn": attrs["QueueArn"],
            "name": attrs["QueueArn"].rsplit(":", 1)[1],
            "fifo_queue": attrs.get("FifoQueue", "false") == "true",
            "sqs_managed_sse_enabled": attrs.get("SqsManagedSseEnabled", "false") == "true",
            **self.tag_state(live, current),
        }
        for attr, (sqs_name, default) in NUMBERS.items():
            state[attr] = int(attrs.get(sqs_name, default))
        return state

    def do_update(self, current: State, planned: State) -> State | None:
        sqs = self.client("sqs")
        url = current["id"]
        changed = {
            k: v for k, v in self._attributes(planned).items() if v != self._attributes(current).get(k)
        }
        if changed:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
        self.sync_tags(
            planned,
            sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
            lambda gone: sqs.untag_queue(QueueUrl=url, TagKeys=gone),
            lambda want: sqs.tag_queue(QueueUrl=url, Tags=want),
        )
        return self.do_read({**planned, "id": url})

    def do_delete(self, current: State) -> None:
        try:
            self.client("sqs").delete_queue(QueueUrl=current["id"])
        except Exception as exc:
            if error_code(exc) not in GONE:
                raise

    def import_state(self, resource_id: str) -> State:
        return {"id": resource_id, "tags": None}
