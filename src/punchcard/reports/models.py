"""Reports have no tables of their own: every figure is computed from the journal, the session ledger,
orders and redemptions (reports.definitions)."""
