"""Catalog models: host reports, distinct feature sets, CPU models, matrix runs (none yet)."""
