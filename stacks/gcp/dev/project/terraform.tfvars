# The dev values of the project family.
environment = "dev"
