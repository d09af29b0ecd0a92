"""Analyzers. Each module defining a class with an ``AnalyzerSpec`` is found by discovery."""
