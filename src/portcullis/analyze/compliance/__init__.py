"""Software compliance: license policy, banned software, end of life (the "compliance" scanner)."""
