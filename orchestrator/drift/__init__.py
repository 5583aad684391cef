"""Drift detection (SPEC §8): stored state against the live clouds and refresh-only plans.

model (values, pure) · state (state v4, local/S3/pull) · compare (normalise + diff, pure) ·
driftignore (rules, pure) · retry · aws/gcp/azure (SDK readers) · refresh (refresh-only plans) ·
scan (orchestration) · io (the real edges).
"""
