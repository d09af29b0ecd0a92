"""Language ecosystem package analyzers."""

# Discovery imports this package only for a scan that asks for these (analyze/discovery.py).
SERVES = frozenset({"packages"})
