"""Portcullis: a container image security scanner for CI/CD pipelines."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("portcullis")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+src"

__all__ = ["__version__"]
