"""The hidden block a drift pull request's body carries: what the shown plan was made from (pure).

The next scan reads it to decide whether the pull request is still current: the drift's
fingerprint, the head commit the plan set is bound to, the base commit it was branched from,
and the state (lineage, serial) the plan was made against. Like the plan-set block, the last
well-formed block in the body wins, and the renderer puts it after every text that quotes cloud
values, so a value such as a tag cannot smuggle in a block of its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from orchestrator.jsontypes import JSONValue

_BLOCK = re.compile(r"<!-- orchestrate:drift-pr (?P<json>\{.*?\}) -->", re.DOTALL)


@dataclass(frozen=True)
class DriftMeta:
    stack: str
    fingerprint: str
    head: str  # the commit the plan set is bound to (the PR head when orchestrate pushed it)
    base: str  # the base branch commit the drift branch was made from
    plan_set: str
    lineage: str | None = None
    serial: int | None = None

    @property
    def state(self) -> tuple[str | None, int | None]:
        return self.lineage, self.serial


def render_meta_block(meta: DriftMeta) -> str:
    text = json.dumps(asdict(meta), sort_keys=True, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e")  # never close the HTML comment
    return f"<!-- orchestrate:drift-pr {text} -->"


def _meta(doc: JSONValue) -> DriftMeta:
    """The block's JSON as DriftMeta; KeyError or TypeError when it is not one."""
    if not isinstance(doc, dict):
        raise TypeError("the drift block is not a JSON object")
    serial = doc.get("serial")
    lineage = doc.get("lineage")
    return DriftMeta(
        stack=str(doc["stack"]),
        fingerprint=str(doc["fingerprint"]),
        head=str(doc["head"]),
        base=str(doc["base"]),
        plan_set=str(doc["plan_set"]),
        lineage=str(lineage) if isinstance(lineage, str) else None,
        serial=serial if isinstance(serial, int) and not isinstance(serial, bool) else None,
    )


def parse_meta_block(body: str | None) -> DriftMeta | None:
    """The last well-formed block in ``body``; None when there is none."""
    found = None
    for m in _BLOCK.finditer(body or ""):
        try:
            found = _meta(json.loads(m.group("json")))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return found
