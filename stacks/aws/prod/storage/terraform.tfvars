# The prod values of the storage family (orchestrate set-var edits this file in place).
environment               = "prod"
message_retention_seconds = 345600 # four days
