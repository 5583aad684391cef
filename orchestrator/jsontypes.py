"""Names for JSON data at module seams.

``JSONValue`` is any value JSON can hold: what terraform prints (``show -json``, ``output
-json``, ``state pull``), what plan sets and records store. ``JSONData`` is the same for a
function that only reads its argument (read-only containers, so a ``list[str]`` or a
``dict[str, int]`` is accepted). A function that indexes into a known document takes that
document's type instead: the terraform plan JSON is ``terraform.planjson.PlanJSON``, checked
once where it is read (``load_plan_json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JSONScalar: TypeAlias = "bool | int | float | str | None"
JSONValue: TypeAlias = "JSONScalar | list[JSONValue] | dict[str, JSONValue]"
JSONData: TypeAlias = "JSONScalar | Sequence[JSONData] | Mapping[str, JSONData]"
