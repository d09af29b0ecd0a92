"""Portcullis: a container image security scanner for CI/CD pipelines."""

from __future__ import annotations

# The one place the version is written: pyproject.toml reads it from here (dynamic version),
# so no start-up pays for importlib.metadata.
__version__ = "0.1.0"

__all__ = ["__version__"]
