"""Vulnerability data: OSV records, their version schemes and the evaluation of affected ranges."""
