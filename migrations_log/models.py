"""Ledger models: recorded migration outcomes with the prediction made for them (none yet)."""
