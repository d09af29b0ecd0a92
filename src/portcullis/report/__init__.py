"""Report writers. Each module with a ``WRITER`` (a WriterSpec) is found by discovery."""
