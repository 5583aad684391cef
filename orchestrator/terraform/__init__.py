"""The only place that runs terraform (or OpenTofu): locating the binary, building argv,
running commands, reading plans and generating backend settings."""
