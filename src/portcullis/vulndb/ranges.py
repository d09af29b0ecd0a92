"""Is a version affected by one OSV ``affected`` entry? The OSV schema's evaluation algorithm.

For each range, events are sorted by the scheme and walked in order: ``introduced`` at or
below the version opens the vulnerable state, ``fixed`` at or below it closes it,
``last_affected`` strictly below it closes it; ``introduced: "0"`` sorts before every version.
``limit`` events bound the whole range: the version must be below at least one of them
(``*`` is infinity; none means no bound). A version is also affected when the entry's
``versions`` list holds it (same string, or equal under the scheme). Ranges of type SEMVER
use SemVer precedence whatever the ecosystem (Go keeps its own scheme, which is SemVer plus
toolchain spellings); ECOSYSTEM ranges use the ecosystem's scheme. GIT ranges name commits,
which an installed package does not carry, so they are ignored for package matching (the
``versions`` list OSV derives from them still counts).

Nothing raises: an installed version the scheme cannot parse, an unknown range type, or an
event that does not parse is reported in ``Verdict.problems`` so the matcher can warn. An
unparsable installed version is not affected unless the ``versions`` list holds that exact
string; an unparsable event skips its whole range rather than widening or narrowing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import msgspec

from portcullis.vulndb.versions import InvalidVersion, Scheme, SortKey, UnknownEcosystem
from portcullis.vulndb.versions import scheme_for as _scheme_for
from portcullis.vulndb.versions import semver as _semver

_KINDS = ("introduced", "last_affected", "fixed", "limit")
# At equal versions: open first, so "introduced X, fixed X" is an empty range.
_WALK_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2}
_SEMVER_ORDERED = frozenset({"semver", "go"})


class Verdict(msgspec.Struct, frozen=True):
    """Whether the version is affected, the fixes that apply to it, and what could not be read.

    ``fixed`` lists, oldest first, the ``fixed`` event that closes each range the version is
    affected in; it is empty when the version is unaffected, affected only through the
    ``versions`` list, or in a range with no fix (or one closed by ``last_affected``).
    """

    affected: bool
    fixed: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@lru_cache(maxsize=1 << 16)
def _parse(scheme: Scheme, version: str) -> SortKey | InvalidVersion:
    """Keys are immutable, and the same bounds and versions come back for every package a
    record names: parse each once. A failure is cached as its exception, returned not raised."""
    try:
        return scheme.key(version)
    except InvalidVersion as err:
        return err


def _key(scheme: Scheme, version: str) -> SortKey:
    parsed = _parse(scheme, version)
    if isinstance(parsed, InvalidVersion):
        raise parsed.with_traceback(None)  # a cached exception must not grow a traceback
    return parsed


class _Event(msgspec.Struct, frozen=True):
    kind: str
    version: str
    key: SortKey | None  # None: introduced "0" or limit "*"


def evaluate_entry(version: str, entry: Mapping[str, Any]) -> Verdict:
    """Evaluate one OSV ``affected`` entry, taking the scheme from its package's ecosystem."""
    if not isinstance(entry, Mapping):
        return Verdict(False, problems=("affected entry is not an object",))
    package = entry.get("package")
    ecosystem = package.get("ecosystem") if isinstance(package, Mapping) else None
    if not isinstance(ecosystem, str):
        return Verdict(False, problems=("affected entry has no package.ecosystem",))
    try:
        scheme = _scheme_for(ecosystem)
    except UnknownEcosystem as err:
        return Verdict(False, problems=(str(err),))
    return evaluate(version, entry.get("ranges") or [], entry.get("versions") or [], scheme)


def evaluate(version: str, ranges: Sequence[Any], versions: Sequence[Any],
             scheme: Scheme) -> Verdict:
    """Evaluate ``ranges`` and ``versions`` of one affected entry for ``version``."""
    problems: list[str] = []
    if not isinstance(ranges, list | tuple):
        problems.append("ranges is not a list")
        ranges = []
    if not isinstance(versions, list | tuple):
        problems.append("versions is not a list")
        versions = []
    fixed: list[tuple[SortKey, str]] = []
    installed: dict[str, SortKey | None] = {}

    def installed_key(range_scheme: Scheme) -> SortKey | None:
        if range_scheme.name not in installed:
            try:
                installed[range_scheme.name] = _key(range_scheme, version)
            except InvalidVersion as err:
                installed[range_scheme.name] = None
                problems.append(f"installed version {err}")
        return installed[range_scheme.name]

    affected = _in_versions(version, versions, scheme, installed_key(scheme))
    for index, rng in enumerate(ranges):
        where = f"range {index}"
        if not isinstance(rng, Mapping):
            problems.append(f"{where}: not an object")
            continue
        kind = rng.get("type")
        if kind == "GIT":
            continue
        if kind not in ("SEMVER", "ECOSYSTEM"):
            problems.append(f"{where}: unknown range type {kind!r}")
            continue
        range_scheme = scheme
        if kind == "SEMVER" and scheme.name not in _SEMVER_ORDERED:
            range_scheme = _semver.SCHEME
        key = installed_key(range_scheme)
        if key is None:
            continue
        try:
            events = _events(rng.get("events"), range_scheme)
        except (InvalidVersion, ValueError) as err:
            problems.append(f"{where}: {err}")
            continue
        hit, fix = _walk(key, events)
        if hit:
            affected = True
            if fix is not None and fix.key is not None:
                fixed.append((fix.key, fix.version))
    return Verdict(affected, _unique_sorted(fixed), tuple(problems))


def _in_versions(version: str, versions: Sequence[Any], scheme: Scheme,
                 key: SortKey | None) -> bool:
    """The schema's exact-string test, then equality under the scheme (``1.9 == 1.9.0``)."""
    if version in versions:
        return True
    if key is None:
        return False
    for candidate in versions:
        if isinstance(candidate, str):
            parsed = _parse(scheme, candidate)
            if not isinstance(parsed, InvalidVersion) and parsed == key:
                return True
    return False


class _Range(msgspec.Struct, frozen=True):
    """One range's events, parsed and sorted once: limits apart, the rest in walk order."""

    limits: tuple[_Event, ...]
    timeline: tuple[_Event, ...]


def _events(raw: Any, scheme: Scheme) -> _Range:
    """Validate the JSON events, then parse and sort them (cached: records repeat ranges)."""
    if not isinstance(raw, list) or not raw:
        raise ValueError("no events")
    pairs: list[tuple[str, str]] = []
    for item in raw:
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ValueError(f"event {item!r} is not one of {', '.join(_KINDS)}")
        ((kind, value),) = item.items()
        if kind not in _KINDS or not isinstance(value, str):
            raise ValueError(f"event {item!r} is not one of {', '.join(_KINDS)}")
        pairs.append((kind, value))
    return _compile(scheme, tuple(pairs))


@lru_cache(maxsize=1 << 14)
def _compile(scheme: Scheme, pairs: tuple[tuple[str, str], ...]) -> _Range:
    events = []
    for kind, value in pairs:
        special = (kind == "introduced" and value == "0") or (kind == "limit" and value == "*")
        events.append(_Event(kind, value, None if special else _key(scheme, value)))
    timeline = sorted(
        (e for e in events if e.kind != "limit"),
        key=lambda e: (e.key is not None, e.key if e.key is not None else (), _WALK_ORDER[e.kind]),
    )
    return _Range(tuple(e for e in events if e.kind == "limit"), tuple(timeline))


def _walk(key: SortKey, rng: _Range) -> tuple[bool, _Event | None]:
    """The OSV walk for one range: (affected, the fixed event that closes the hit, if any).

    The interval holding the version ends at the first ``fixed`` or ``last_affected`` at or
    above it (``introduced`` events above it do not end it); only a ``fixed`` names a fix.
    """
    if rng.limits and not any(e.key is None or key < e.key for e in rng.limits):
        return False, None
    vulnerable = False
    closing: _Event | None = None
    for event in rng.timeline:
        if event.kind == "introduced" and (event.key is None or key >= event.key):
            vulnerable = True
        elif _closes(event, key):
            vulnerable = False
        if closing is None and event.kind != "introduced" and event.key is not None \
                and key <= event.key:
            closing = event
    if not vulnerable:
        return False, None
    return True, closing if closing is not None and closing.kind == "fixed" else None


def _closes(event: _Event, key: SortKey) -> bool:
    """``fixed`` closes the range from its own version on, ``last_affected`` just after it."""
    if event.key is None:
        return False
    if event.kind == "fixed":
        return bool(key >= event.key)
    return event.kind == "last_affected" and bool(key > event.key)


def _unique_sorted(fixed: list[tuple[SortKey, str]]) -> tuple[str, ...]:
    """Oldest first; versions equal under the scheme (``2.10`` and ``2.10.0``) listed once."""
    fixed.sort(key=lambda pair: pair[0])
    out: list[tuple[SortKey, str]] = []
    for key, version in fixed:
        if not out or out[-1][0] != key:
            out.append((key, version))
    return tuple(version for _, version in out)
