"""Admin registrations for the ledger (none yet)."""
