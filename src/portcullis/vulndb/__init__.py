"""Vulnerability data: the OSV-built database, its version schemes and range evaluation."""
