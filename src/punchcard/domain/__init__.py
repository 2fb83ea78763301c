"""Pure business rules: no Django, no I/O, no clock. Every function is deterministic."""
