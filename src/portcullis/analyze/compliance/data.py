"""The data files the compliance scanner ships (``portcullis/data/``), read once per process."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from portcullis.errors import ConfigError

LICENSE_CATEGORIES = "license-categories.json"
BANNED_SOFTWARE = "banned-software.json"
EOL = "eol.json"


@cache
def shipped(name: str) -> Any:
    """The parsed JSON of a shipped data file. A broken one is a packaging bug, said once."""
    try:
        text = resources.files("portcullis").joinpath("data", name).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as e:
        raise ConfigError(f"shipped data file portcullis/data/{name} is unreadable: {e}") from e
