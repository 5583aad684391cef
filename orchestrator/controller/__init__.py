"""GitOps controller modes: sync status, drift results on record (docs/controller.md)."""
