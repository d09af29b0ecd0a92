"""Readers for executable formats, shared by binary analyzers."""

# Helpers, no analyzers: discovery does not import this package (the analyzers that use
# it do; analyze/discovery.py).
SERVES: frozenset[str] = frozenset()
