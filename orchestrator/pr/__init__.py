"""The pull-request flow: event payloads, fork handling, approval rules, and publishing plans.

- event.py    the GitHub Actions event payload -> PrEvent (number, head, fork or not)
- forks.py    what a plan of a fork's pull request may use (no cloud credentials by default)
- reviews.py  approval rules as pure functions over review data
- gate.py     `apply --pr N`: every GitHub-side rule, giving an Approval or a refusal
- publish.py  `plan --comment`: the sticky comment, commit statuses, the job summary
- view.py     a plan set on disk -> the plain data the renderers take

Only orchestrator.github talks to GitHub; these modules call it.
"""
