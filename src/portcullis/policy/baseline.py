"""``--baseline OLD.json``: the findings an earlier Portcullis JSON report already had.

Fingerprints hash what a finding is and where (never when), so a rescan of the same content
gives the same ones; a finding whose fingerprint the old report lists is known, not new.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from portcullis.errors import PolicyError

MAX_BASELINE_BYTES = 512 * 1024 * 1024


class Baseline(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    fingerprints: frozenset[str]


def read_baseline(path: Path) -> Baseline:
    name = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BASELINE_BYTES + 1)
    except OSError as e:
        raise PolicyError(f"cannot read baseline report {name}: {e.strerror}") from e
    if len(raw) > MAX_BASELINE_BYTES:
        raise PolicyError(f"baseline report {name} is larger than {MAX_BASELINE_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise PolicyError(f"baseline report {name} is not valid JSON: {e}") from e
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("schema_version") != 1 or not isinstance(findings,
                                                                                     list):
        raise PolicyError(f"baseline report {name} is not a Portcullis JSON report "
                          "(schema_version 1 with findings; write one with --format json)")
    prints = set()
    for i, item in enumerate(findings):
        fingerprint = item.get("fingerprint") if isinstance(item, dict) else None
        if not isinstance(fingerprint, str):
            raise PolicyError(f"baseline report {name}: findings[{i}] has no fingerprint")
        prints.add(fingerprint)
    return Baseline(path=name, fingerprints=frozenset(prints))
