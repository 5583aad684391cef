# The prod values of the hub family.
environment = "prod"
