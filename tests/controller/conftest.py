from tests.envs.conftest import github_repo, remote_repo
from tests.pr.conftest import fake_github, pr_repo

__all__ = ["fake_github", "github_repo", "pr_repo", "remote_repo"]
