"""The engine's repository fixtures, shared with the terraform-layer tests that need a real stack."""

from tests.engine.conftest import newest_repo, tf_repo

__all__ = ["newest_repo", "tf_repo"]
