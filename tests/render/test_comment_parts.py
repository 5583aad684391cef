"""How the PR comment is cut into parts: packing, stubbing past max_parts, joining (pure)."""

from __future__ import annotations

from orchestrator.planset import Counts, Manifest, StackPlan
from orchestrator.render.comment import (
    CommentData,
    StackSection,
    _fixed_blocks,
    _join_parts,
    _Layout,
    _pack_within,
)

STUB = "The plan is not shown"


def heading(k: int, n: int) -> str:
    return f"[part {k}/{n}]"


def test_a_single_part_is_its_blocks_and_nothing_more() -> None:
    assert _join_parts([["a", "b"]], heading) == ["a\nb"]


def test_the_first_of_several_parts_says_how_many_follow() -> None:
    two = _join_parts([["a"], ["b", "c"]], heading)
    assert two == ["a\n<sub>This comment continues in 1 more part below.</sub>\n", "[part 2/2]\nb\nc"]
    three = _join_parts([["a"], ["b"], ["c"]], heading)
    assert three[0].endswith("continues in 2 more parts below.</sub>\n")
    assert three[1:] == ["[part 2/3]\nb", "[part 3/3]\nc"]


def section(stack: str, diff_lines: int) -> StackSection:
    plan = StackPlan(
        stack=stack,
        slug=stack,
        path=f"stacks/{stack}",
        status="changes",
        counts=Counts(add=diff_lines),
        plan_sha256="0" * 64,
    )
    diff = "".join(f"+ resource {stack} line {n}\n" for n in range(diff_lines))
    return StackSection(plan=plan, diff=diff)


def layout(*sections: StackSection) -> _Layout:
    manifest = Manifest(
        id="ps-test",
        created_at="2026-01-01T00:00:00Z",
        orchestrate_version="0",
        stacks=[s.plan for s in sections],
    )
    data = CommentData(manifest=manifest, sections=sections)
    return _Layout(data, lambda text: text, "comment", tuple(sections))


def pack(lay: _Layout, max_parts: int, budget: int = 4000) -> tuple[list[list[str]], list[str]]:
    sections = [lay.section(i, 10**6) for i in range(len(lay.shown))]
    parts = _pack_within(lay, ["title"], _fixed_blocks(lay.data, lay.redact), sections, budget, max_parts)
    blocks = [b for part in parts for b in part]
    return parts, blocks


def stubbed(blocks: list[str]) -> set[str]:
    return {name for name in ("small", "large", "medium") if any(name in b and STUB in b for b in blocks)}


def test_within_max_parts_nothing_is_stubbed() -> None:
    lay = layout(section("small", 20), section("large", 90), section("medium", 50))
    parts, blocks = pack(lay, max_parts=10)
    assert len(parts) > 1
    assert stubbed(blocks) == set()
    assert all(sum(len(b) + 1 for b in part) <= 4000 for part in parts[1:])


def test_past_max_parts_the_largest_sections_are_stubbed_first() -> None:
    lay = layout(section("small", 20), section("large", 90), section("medium", 50))
    parts, blocks = pack(lay, max_parts=3, budget=2000)
    assert (len(parts), stubbed(blocks)) == (3, set())
    parts, blocks = pack(lay, max_parts=2, budget=2000)
    assert (len(parts), stubbed(blocks)) == (2, {"large"})
    parts, blocks = pack(lay, max_parts=1, budget=2000)
    assert (len(parts), stubbed(blocks)) == (1, {"large", "medium"})  # the small one still fits
    assert any("small" in b and "+ resource small line 19" in b for b in blocks)


def test_when_only_stubs_are_left_the_parts_are_returned_even_past_max_parts() -> None:
    lay = layout(*(section(f"s{n}", 60) for n in range(6)))
    parts, blocks = pack(lay, max_parts=1, budget=1500)
    assert len(parts) > 1  # the stubs and the table never go away
    assert all(STUB in b for b in blocks if "<details>" in b)
    assert sum(1 for b in blocks if STUB in b) == 6
