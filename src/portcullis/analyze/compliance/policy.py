"""Read a compliance policy file: TOML with a ``[compliance]`` table (model/compliance.py).

A policy file that holds more (a gate's other sections) is fine: only ``[compliance]`` is read.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from portcullis.errors import ConfigError
from portcullis.model.compliance import CompliancePolicy


def load_policy(path: Path) -> CompliancePolicy:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"compliance policy {path}: {e.strerror or e}") from e
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"compliance policy {path}: not valid TOML: {e}") from e
    if "compliance" not in doc:
        raise ConfigError(f"compliance policy {path}: no [compliance] table")
    return CompliancePolicy.from_mapping(doc["compliance"], str(path))
