"""Drift pull requests (SPEC §8, end): one pull request per drifted stack, carrying the
remediation plan, kept up to date scan after scan.

record (the drift record file, pure) · meta (the hidden block in the PR body, pure) ·
decide (what to do with a stack's PR, pure) · gitops (the branch and its one commit, through
orchestrator.git) · remediate (the plan set bound to the branch's head commit, through the engine) ·
run (the loop over stacks, per-stack failures). Titles, bodies and comments are rendered by
orchestrator.render.drift_pr.
"""
