# The dev values of the storage family (orchestrate set-var edits this file in place).
environment               = "dev"
message_retention_seconds = 345600 # four days
