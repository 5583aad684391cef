from tests.envs.conftest import github_repo, remote_repo

__all__ = ["github_repo", "remote_repo"]
