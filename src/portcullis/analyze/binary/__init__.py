"""Readers for executable formats, shared by binary analyzers."""
