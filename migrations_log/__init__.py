"""The ledger of real migration outcomes and the accuracy of predictions."""
