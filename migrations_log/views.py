"""HTML views for the migration ledger (none yet)."""
