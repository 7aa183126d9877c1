"""Privacy by construction: per-customer encryption of free text, erasure and retention."""
