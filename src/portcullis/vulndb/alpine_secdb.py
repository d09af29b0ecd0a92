"""Alpine's secdb (https://secdb.alpinelinux.org/<branch>/<repo>.json, or the .yaml form the
alpine-secdb repository kept) read into OSV-shaped records.

One file is one branch (``distroversion: v3.15``) and repository (``main``, ``community``). For
each origin package, ``secfixes`` maps the version that fixed issues to their ids: every id
becomes a record ``ALPINE-SECDB:<branch>:<package>:<id>``, affected below that version in
ecosystem ``Alpine:<branch>`` (the ecosystem OSV uses, so the matcher's lookup is the same).
The key ``0`` means "never affected in Alpine" and yields nothing. When an id is listed under
several versions (a fix re-done), the first fix in apk order counts: versions before it are
affected, and later ones are the fix's revisions. A CVE id is also the record's alias, so it
merges with the OSV record about the same flaw.

YAML is read with the base loader: every scalar stays a string (``1.10`` is not the float 1.1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from portcullis.errors import VulnDBError
from portcullis.vulndb.osv import Affected, Event, Package, Range, Record, Skip
from portcullis.vulndb.versions import InvalidVersion, scheme_for

SOURCE = "alpine-secdb"

_BRANCH = re.compile(r"^(v\d+\.\d+|edge)$")
_Loader: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def _document(data: bytes, source: str) -> dict[str, Any]:
    try:
        # The base loader builds no objects: plain dicts, lists and strings.
        is_json = data.lstrip()[:1] == b"{"
        doc = json.loads(data) if is_json else yaml.load(data, Loader=_Loader)
    except (ValueError, yaml.YAMLError) as e:
        raise VulnDBError(f"{source}: not an Alpine secdb file ({str(e).splitlines()[0]})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("packages"), list):
        raise VulnDBError(f"{source}: not an Alpine secdb file (no packages list)")
    branch = doc.get("distroversion")
    if not isinstance(branch, str) or not _BRANCH.match(branch):
        raise VulnDBError(f"{source}: not an Alpine secdb file (distroversion {branch!r})")
    return doc


def _first_fixes(secfixes: dict[str, Any]) -> dict[str, str]:
    """Issue id → the earliest version (apk order) that fixed it; ``0`` entries dropped."""
    key = scheme_for("Alpine").key
    first: dict[str, str] = {}
    for version, ids in secfixes.items():
        if not isinstance(version, str) or version.strip() in ("0", "") or not isinstance(
                ids, list):
            continue
        for entry in ids:
            for issue in str(entry).split():  # "CVE-2019-1 CVE-2019-2" on one line happens
                known = first.get(issue)
                try:
                    if known is None or key(version) < key(known):
                        first[issue] = version
                except InvalidVersion:
                    first.setdefault(issue, version)
    return first


def iter_records(data: bytes, source: str, modified: str) -> Iterator[Record | Skip]:
    doc = _document(data, source)
    branch = doc["distroversion"]
    for index, item in enumerate(doc["packages"]):
        pkg = item.get("pkg") if isinstance(item, dict) else None
        name = pkg.get("name") if isinstance(pkg, dict) else None
        secfixes = pkg.get("secfixes") if isinstance(pkg, dict) else None
        if not isinstance(name, str) or not name:
            yield Skip(source, f"packages[{index}]", None, "no package name")
            continue
        if not isinstance(secfixes, dict):
            if secfixes is not None and secfixes != "":
                yield Skip(source, f"packages[{index}]", name, "secfixes is not a mapping")
            continue
        for issue, fixed in sorted(_first_fixes(secfixes).items()):
            cve = [issue] if issue.startswith("CVE-") else []
            yield Record(
                id=f"ALPINE-SECDB:{branch}:{name}:{issue}", modified=modified, aliases=cve,
                upstream=cve,
                affected=[Affected(
                    package=Package(ecosystem=f"Alpine:{branch}", name=name),
                    ranges=[Range(type="ECOSYSTEM",
                                  events=[Event(introduced="0"), Event(fixed=fixed)])])])
