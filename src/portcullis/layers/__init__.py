"""Layer streams, per-layer indexes and the squashed view."""
