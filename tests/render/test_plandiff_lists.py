"""How a changed list reads in a plan diff: the list helpers, and lists rendered from plan JSON."""

from __future__ import annotations

from typing import Any

from orchestrator.render.plandiff import _changed_in_place, _list_opcodes, render_plan_diff


def test_list_opcodes_compare_elements_by_canonical_json() -> None:
    # key order inside an object does not make it a different element
    assert list(_list_opcodes([{"a": 1, "b": 2}], [{"b": 2, "a": 1}])) == [("equal", 0, 1, 0, 1)]
    assert list(_list_opcodes([1, 2, 3], [1, 9, 3])) == [
        ("equal", 0, 1, 0, 1),
        ("replace", 1, 2, 1, 2),
        ("equal", 2, 3, 2, 3),
    ]
    assert list(_list_opcodes(["x"], ["x", "y"])) == [("equal", 0, 1, 0, 1), ("insert", 1, 1, 1, 2)]


def test_changed_in_place_needs_objects_on_both_sides_one_for_one() -> None:
    assert _changed_in_place([{"a": 1}, {"b": 1}], [{"a": 2}, {"b": 2}])
    assert not _changed_in_place([{"a": 1}], [{"a": 2}, {"a": 3}])  # not one for one
    assert not _changed_in_place([{"a": 1}], ["a"])  # an object became a string
    assert not _changed_in_place(["a"], ["b"])


def update(before: dict[str, Any], after: dict[str, Any], unknown: dict[str, Any] | None = None) -> str:
    plan = {
        "resource_changes": [
            {
                "address": "aws_thing.x",
                "mode": "managed",
                "type": "aws_thing",
                "name": "x",
                "change": {
                    "actions": ["update"],
                    "before": before,
                    "after": after,
                    "after_unknown": unknown or {},
                    "before_sensitive": {},
                    "after_sensitive": {},
                },
            }
        ]
    }
    text, _ = render_plan_diff(plan)
    return text


HEAD = '    # aws_thing.x will be updated in-place\n!   resource "aws_thing" "x" {\n'
TAIL = "    }\n\nPlan: 0 to add, 1 to change, 0 to destroy.\n"


def body(text: str) -> str:
    assert text.startswith(HEAD) and text.endswith(TAIL), text
    return text[len(HEAD) : -len(TAIL)]


def test_equal_elements_are_hidden_and_counted() -> None:
    assert body(update({"ports": [22, 80, 443]}, {"ports": [22, 8080, 443]})) == (
        "!       ports = [\n"
        "-           80,\n"
        "+           8080,\n"
        "            # (2 unchanged elements hidden)\n"
        "        ]\n"
    )
    assert "# (1 unchanged element hidden)\n" in update({"ports": [22, 80]}, {"ports": [22]})


def test_an_equal_element_turning_unknown_is_shown_not_hidden() -> None:
    text = update(
        {"rules": [{"id": "a", "arn": "old"}, {"id": "b"}]},
        {"rules": [{"id": "a", "arn": "old"}, {"id": "b"}]},
        {"rules": [{"arn": True}, {}]},
    )
    assert body(text) == (
        "!       rules = [\n"
        "!           {\n"
        '!               arn = "old" -> (known after apply)\n'
        "                # (1 unchanged element hidden)\n"
        "            }\n"
        "            # (1 unchanged element hidden)\n"
        "        ]\n"
    )


def test_objects_changed_at_their_place_show_what_changed_inside() -> None:
    text = update(
        {"rules": [{"port": 22, "cidr": "10.0.0.0/8"}]},
        {"rules": [{"port": 22, "cidr": "0.0.0.0/0"}]},
    )
    assert body(text) == (
        "!       rules = [\n"
        "!           {\n"
        '!               cidr = "10.0.0.0/8" -> "0.0.0.0/0"\n'
        "                # (1 unchanged element hidden)\n"
        "            },\n"
        "        ]\n"
    )


def test_a_replaced_run_that_is_not_all_objects_is_removed_and_added() -> None:
    text = update({"rules": [{"port": 22}, "x"]}, {"rules": [{"port": 23}, "y"]})
    assert body(text) == (
        "!       rules = [\n"
        "-           {\n"
        "-               port = 22\n"
        "-           }\n"
        '-           "x",\n'
        "+           {\n"
        "+               port = 23\n"
        "+           }\n"
        '+           "y",\n'
        "        ]\n"
    )
