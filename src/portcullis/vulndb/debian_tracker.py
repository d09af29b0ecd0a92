"""The Debian security tracker's JSON (https://security-tracker.debian.org/tracker/data/json)
read into OSV-shaped records, so that the build stores and the matcher evaluates them like any
other record.

The file maps source package → issue (CVE or TEMP id) → release codename → status. It says
more than Debian's OSV export: why an open issue stays open. Each release's entry becomes one
``affected`` entry of ecosystem ``Debian:<number>``:

- ``resolved`` with a ``fixed_version``: fixed in that version (``0``: never affected there,
  no entry);
- ``open``, ``undetermined``: affected, no fix; the tracker's reason is kept in
  ``ecosystem_specific.status``: ``no-dsa`` (minor, left to a point release), ``ignored``,
  ``postponed`` (from ``nodsa_reason``) and ``end-of-life`` (the package is no longer
  supported in that release, which the tracker writes as its urgency). The matcher reports
  ``no-dsa``, ``ignored`` and ``end-of-life`` as will-not-fix;
- the urgency (``low``, ``medium``, ``high``, ``unimportant``; a trailing ``*`` marks a guess)
  is the distribution's rating.

One record per (package, issue): id ``DEBIAN-TRACKER:<issue>:<package>``, aliased to the CVE so
it merges with the OSV records about the same flaw. ``sid`` and ``experimental`` have no
release number an image's os-release could name, and are left out. The JSON is one document;
each package is decoded separately, so one malformed package is a ``Skip``, not a failed
update.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from portcullis.errors import VulnDBError
from portcullis.vulndb.osv import Affected, Event, Package, Range, Record, Skip

SOURCE = "debian-tracker"

# Codename → the number os-release's VERSION_ID gives (and OSV's "Debian:<n>" uses).
RELEASES = {
    "buzz": "1.1", "rex": "1.2", "bo": "1.3", "hamm": "2.0", "slink": "2.1", "potato": "2.2",
    "woody": "3.0", "sarge": "3.1", "etch": "4", "lenny": "5", "squeeze": "6", "wheezy": "7",
    "jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12",
    "trixie": "13", "forky": "14", "duke": "15",
}
UNNUMBERED = frozenset({"sid", "experimental"})
WILL_NOT_FIX = frozenset({"no-dsa", "ignored", "end-of-life"})


class _Release(msgspec.Struct):
    status: str = ""
    fixed_version: str | None = None
    urgency: str = ""
    nodsa: str | None = None
    nodsa_reason: str | None = None


class _Issue(msgspec.Struct):
    description: str = ""
    # An issue no release tracks has "releases": [] (the tracker's empty collections are
    # JSON arrays); the same holds for a package without issues.
    releases: dict[str, _Release] | list[Any] = {}


_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_package = msgspec.json.Decoder(dict[str, _Issue] | list[Any])


def status_of(release: _Release) -> str:
    """resolved, open, undetermined, or the tracker's reason an open issue stays open."""
    if release.status == "resolved":
        return "resolved"
    if release.urgency.rstrip("*").strip() == "end-of-life":
        return "end-of-life"
    if release.nodsa is not None:
        reason = (release.nodsa_reason or "").strip()
        return reason if reason in ("ignored", "postponed") else "no-dsa"
    return release.status or "open"


def _affected(package: str, codename: str, release: _Release) -> Affected | None:
    number = RELEASES.get(codename)
    if number is None:
        return None
    status = status_of(release)
    if status == "resolved":
        fixed = (release.fixed_version or "").strip()
        if not fixed or fixed == "0":
            return None  # never affected in this release
        events = [Event(introduced="0"), Event(fixed=fixed)]
    else:
        events = [Event(introduced="0")]
    specific: dict[str, Any] = {"status": status}
    urgency = release.urgency.rstrip("*").strip()
    if urgency and urgency not in ("not yet assigned", "end-of-life"):
        specific["urgency"] = urgency
    return Affected(package=Package(ecosystem=f"Debian:{number}", name=package),
                    ranges=[Range(type="ECOSYSTEM", events=events)],
                    ecosystem_specific=specific)


def _record(package: str, issue_id: str, releases: dict[str, _Release], description: str,
            modified: str) -> Record | None:
    affected = [a for codename, release in sorted(releases.items())
                if codename not in UNNUMBERED
                and (a := _affected(package, codename, release)) is not None]
    if not affected:
        return None
    cve = [issue_id] if issue_id.startswith("CVE-") else []
    summary = description.split("\n", 1)[0]
    return Record(id=f"DEBIAN-TRACKER:{issue_id}:{package}", modified=modified, aliases=cve,
                  upstream=cve, summary=summary[:300], details=description,
                  affected=affected)


def iter_records(data: bytes, source: str, modified: str) -> Iterator[Record | Skip]:
    """Every record of the tracker JSON ``data``; ``VulnDBError`` when it is not that JSON."""
    try:
        packages = _top.decode(data)
    except msgspec.DecodeError as e:
        raise VulnDBError(f"{source}: not the Debian security tracker JSON ({e})") from e
    for package, raw in packages.items():
        try:
            issues = _package.decode(raw)
        except msgspec.DecodeError as e:
            yield Skip(source, package, None, f"not a tracker package entry: {e}")
            continue
        if isinstance(issues, list):
            if issues:
                yield Skip(source, package, None, "expected an object of issues, got a list")
            continue
        for issue_id, issue in issues.items():
            if isinstance(issue.releases, list):
                if issue.releases:
                    yield Skip(source, package, issue_id, "releases is a non-empty list")
                continue
            record = _record(package, issue_id, issue.releases, issue.description, modified)
            if record is not None:
                yield record
