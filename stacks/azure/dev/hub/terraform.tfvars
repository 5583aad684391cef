# The dev values of the hub family.
environment = "dev"
