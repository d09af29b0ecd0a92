"""The secret scanner: rules as data, a keyword prefilter, streamed file search."""

# Discovery imports this package only for a scan that asks for these (analyze/discovery.py).
SERVES = frozenset({"secret"})
