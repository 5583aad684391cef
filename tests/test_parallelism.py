"""The default number of stacks run at once: two per CPU, 2 to 16; an explicit setting wins."""

from __future__ import annotations

import pytest

from orchestrator.config import TerraformSettings, default_parallelism


@pytest.mark.parametrize(("cpus", "expected"), [(None, 2), (1, 2), (2, 4), (4, 8), (8, 16), (64, 16)])
def test_default_parallelism(cpus: int | None, expected: int) -> None:
    assert default_parallelism(cpus) == expected


def test_an_explicit_parallelism_wins() -> None:
    assert TerraformSettings(parallelism=1).effective_parallelism == 1
    assert TerraformSettings(parallelism=40).effective_parallelism == 40
