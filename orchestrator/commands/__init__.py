"""One module per command; each exports a click command named ``command``."""
