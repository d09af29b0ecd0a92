"""Software compliance: license policy, banned software, end of life (the "compliance" scanner)."""

# Discovery imports this package only for a scan that asks for these (analyze/discovery.py).
SERVES = frozenset({"compliance"})
