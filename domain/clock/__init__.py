"""The request clock: service norms, Dutch working time, term arithmetic, the request
lifecycle and what the clock emits (all pure)."""
