"""The engine's repository fixtures, shared with command tests that run real terraform."""

from tests.engine.conftest import newest_repo, tf_repo

__all__ = ["newest_repo", "tf_repo"]
