"""HTML views for the catalog, uploads and compatibility checks (none yet)."""
