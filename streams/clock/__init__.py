"""The request clock: service norms, Dutch working time, and deadline logic (all pure)."""
