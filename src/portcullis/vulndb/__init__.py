"""Vulnerability data: the OSV-built database, version schemes, range evaluation, matching."""
