"""Language ecosystem package analyzers."""
