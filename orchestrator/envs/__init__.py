"""Environments: the promotion path, families of stacks, durable apply records in git notes,
the consistency report, the promotion gate, reference updates and rollback (docs/environments.md)."""
