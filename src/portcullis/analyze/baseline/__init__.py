"""Baseline checks: the image's unsafe settings, grouped into named baselines."""

# Discovery imports this package only for a scan that asks for these (analyze/discovery.py).
SERVES = frozenset({"baseline"})
