"""orchestrate: a GitOps loop over Terraform and OpenTofu stacks across AWS, GCP and Azure."""

__version__ = "0.1.0"
