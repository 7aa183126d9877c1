"""The request clock: service norms, Dutch working time, the deadline schedule, the request
lifecycle and what the clock emits (all pure)."""
