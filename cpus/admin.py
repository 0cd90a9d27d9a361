"""Admin registrations for the catalog (none yet)."""
