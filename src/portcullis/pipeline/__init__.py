"""CI snippets that run a scan: one module per CI system, found by discovery (``base.py``)."""
