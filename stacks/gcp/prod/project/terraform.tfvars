# The prod values of the project family.
environment = "prod"
