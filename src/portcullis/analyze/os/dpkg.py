"""Debian and Ubuntu packages: dpkg's status DB, its file lists and the copyright files.

Reads /var/lib/dpkg/status and, as distroless images write it, one file per package under
/var/lib/dpkg/status.d/. A package counts when dpkg considers its files unpacked and
configured (state ``installed`` or a pending trigger), whatever the wanted action; entries
that are only remembered (``config-files``, ``not-installed``) are skipped. status.d entries
may lack ``Status`` altogether: they are installed by construction.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterable
from typing import ClassVar

import msgspec
from packageurl import PackageURL

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
)
from portcullis.analyze.guard import one_file
from portcullis.analyze.licenses import FAMILIES
from portcullis.analyze.licenses import normalize as normalize_license
from portcullis.analyze.os.control import Paragraph, first_lines, first_paragraph
from portcullis.analyze.os.control import parse as parse_control
from portcullis.analyze.provenance import first_layers
from portcullis.layers.view import Filesystem
from portcullis.model.distro import Distro
from portcullis.model.files import FileEntry, Location, normalize
from portcullis.model.finding import Warning
from portcullis.model.package import Package

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d"
INFO = "/var/lib/dpkg/info"
DOC = "/usr/share/doc"

# Distro families whose packages are debs, and so name the purl namespace.
DEB_FAMILIES = frozenset({"debian", "ubuntu"})

# dpkg package states in which the package's files are on disk and configured.
_INSTALLED_STATES = frozenset({"installed", "triggers-pending", "triggers-awaited"})

_SOURCE = re.compile(r"^(?P<name>\S+)(?:\s*\((?P<version>[^)]*)\))?")

Key = tuple[str, str, str]  # (name, version, architecture)


# --- the status DB -------------------------------------------------------------------------


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """One installed package as the status DB describes it."""

    name: str
    version: str
    arch: str
    maintainer: str
    source_name: str
    source_version: str
    upstream: str | None  # syft's purl ``upstream`` qualifier, when a Source field exists
    line: int

    @property
    def key(self) -> Key:
        return (self.name, self.version, self.arch)


def is_installed(status: str | None, *, status_required: bool) -> bool:
    """``want error state`` with an installed-like state; no Status only where allowed."""
    if status is None:
        return not status_required
    words = status.split()
    return len(words) == 3 and words[2] in _INSTALLED_STATES


def _record(paragraph: Paragraph) -> Record | None:
    name, version = paragraph.get("package").strip(), paragraph.get("version").strip()
    if not name or not version:
        return None
    source = _SOURCE.match(paragraph.get("source").strip())
    source_name = source.group("name") if source else name
    explicit = (source.group("version") or "").strip() if source else ""
    upstream = None
    if source_name != name or explicit:
        upstream = f"{source_name}@{explicit}" if explicit else source_name
    return Record(
        name=name,
        version=version,
        arch=paragraph.get("architecture").strip(),
        maintainer=paragraph.first_line("maintainer"),
        source_name=source_name,
        source_version=explicit or version,
        upstream=upstream,
        line=paragraph.line,
    )


def read_records(data: bytes, *, status_required: bool) -> tuple[list[Record], list[str]]:
    """Installed packages of one DB file, and a message per installed entry that is broken."""
    records: list[Record] = []
    problems: list[str] = []
    for paragraph in parse_control(data):
        status = paragraph.get("status") if "status" in paragraph else None
        if not is_installed(status, status_required=status_required):
            continue
        record = _record(paragraph)
        if record is None:
            missing = "Version" if paragraph.get("package").strip() else "Package"
            problems.append(f"installed dpkg entry at line {paragraph.line} has no {missing} "
                            "field; skipped")
            continue
        records.append(record)
    return records, problems


def _in_status_d(path: str) -> bool:
    return posixpath.dirname(path) == STATUS_D


def databases(fs: Filesystem) -> list[FileEntry]:
    """The DB files: the status file, then every status.d entry that is not an md5sums."""
    found: list[FileEntry] = []
    status = fs.resolve(STATUS)
    if status is not None and status.meta.is_file:
        found.append(status)
    for entry in fs.glob(f"{STATUS_D}/*"):
        if _in_status_d(entry.path) and entry.meta.is_file and not entry.path.endswith(
            ".md5sums"
        ):
            found.append(entry)
    return found


class _Parsed:
    """Each DB version parsed once: provenance reads every version of a DB file, the packages
    come from its visible one, the same bytes."""

    def __init__(self) -> None:
        self._seen: dict[tuple[bytes, bool], tuple[list[Record], list[str]]] = {}

    def records(self, data: bytes, path: str) -> tuple[list[Record], list[str]]:
        key = (data, not _in_status_d(path))
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = read_records(data, status_required=key[1])
        return found

    def keys_of(self, path: str) -> Callable[[bytes], list[Key]]:
        return lambda data: [r.key for r in self.records(data, path)[0]]


def _introduced(fs: Filesystem, dbs: list[FileEntry], parsed: _Parsed) -> dict[Key, int]:
    """Per DB file, because status and status.d entries differ on whether Status is needed."""
    first: dict[Key, int] = {}
    for path in sorted({db.path for db in dbs}, reverse=True):
        first.update(first_layers(fs, [path], parsed.keys_of(path)))
    return first


# --- installed files -------------------------------------------------------------------------


def _list_paths(data: bytes) -> list[str]:
    return [normalize(line) for raw in data.decode("utf-8", "replace").splitlines()
            if (line := raw.strip()) and line != "/."]


def _md5sums_paths(data: bytes) -> list[str]:
    out = []
    for raw in data.decode("utf-8", "replace").splitlines():
        parts = raw.strip().split(maxsplit=1)
        if len(parts) == 2:
            out.append(normalize(parts[1]))
    return out


def _candidates(record: Record, db_path: str) -> list[tuple[str, bool]]:
    """(path, is .list) in order of preference."""
    stems = [f"{record.name}:{record.arch}", record.name] if record.arch else [record.name]
    found = [(f"{INFO}/{stem}.list", True) for stem in stems]
    md5_dirs = [INFO]
    if _in_status_d(db_path):
        stems = [*stems, posixpath.basename(db_path)]
        md5_dirs = [STATUS_D, INFO]
    found += [(f"{d}/{stem}.md5sums", False) for d in md5_dirs for stem in stems]
    return found


def installed_files(fs: Filesystem, record: Record, db_path: str) -> tuple[str, ...] | None:
    """The paths a package installed (directories left out), or None when dpkg kept no list
    (.list, else .md5sums) for it."""
    for path, is_list in _candidates(record, db_path):
        data = fs.read(path)
        if data is None:
            continue
        paths = _list_paths(data) if is_list else _md5sums_paths(data)
        return tuple(sorted(_not_dirs(fs, paths)))
    return None


def _not_dirs(fs: Filesystem, paths: Collection[str]) -> set[str]:
    """``paths`` less the visible directories (~10k paths a scan: one narrow query per list,
    whose answer is small to record, see analyze/tree_reuse.py)."""
    dirs = fs.dirs_among(paths)
    return {p for p in paths if p not in dirs}


# --- licenses from /usr/share/doc/<name>/copyright ----------------------------------------

# The names map to SPDX in analyze/licenses.py, the one table for every ecosystem.
_DEP5_FORMAT = re.compile(r"copyright-format|dep-?5", re.IGNORECASE)
_OPERATOR_WORDS = frozenset({"and", "or", "and/or", "|"})


def split_expression(value: str) -> list[str]:
    """``GPL-2+ or MIT, and BSD | X`` → the license names. Word by word: a regex with
    ``\\s*,?\\s+`` backtracks cubically on a long run of spaces (2.5 KB took minutes)."""
    parts: list[str] = []
    current: list[str] = []
    for word in value.replace("|", " | ").split():
        if word.lower() in _OPERATOR_WORDS:
            parts.append(" ".join(current))
            current = []
        else:
            current.append(word)
    parts.append(" ".join(current))
    return [name for part in parts if (name := part.strip().strip(",").strip())]


def _dep5_licenses(text: str) -> list[str]:
    return [normalize_license(name) for value in first_lines(text, "license")
            for name in split_expression(value)]


# /usr/share/common-licenses/<name> → SPDX family or id. GNU ones get -only/-or-later from the
# text that leads up to the reference; the unversioned GPL and LGPL links get their version
# from that text too, and are left out when it names none.
COMMON_LICENSES = {
    "GPL-1": "GPL-1.0",
    "GPL-2": "GPL-2.0",
    "GPL-3": "GPL-3.0",
    "LGPL-2": "LGPL-2.0",
    "LGPL-2.1": "LGPL-2.1",
    "LGPL-3": "LGPL-3.0",
    "GFDL-1.2": "GFDL-1.2",
    "GFDL-1.3": "GFDL-1.3",
    "Apache-2.0": "Apache-2.0",
    "Artistic": "Artistic-1.0-Perl",
    "BSD": "BSD-3-Clause",
    "MPL-1.1": "MPL-1.1",
    "MPL-2.0": "MPL-2.0",
    "CC0-1.0": "CC0-1.0",
}
_UNVERSIONED = {"GPL": "gpl", "LGPL": "lgpl"}
_GNU_PREFIXES = ("GPL-", "LGPL-", "GFDL-")
_COMMON_REF = re.compile(r"/usr/share/common-licenses/(?P<name>[A-Za-z0-9][A-Za-z0-9.+_-]*)")
_STATED_VERSION = re.compile(r"\bversion\s+(?P<version>\d+(?:\.\d+)?)\b")
_LOOKBACK = 1500


def _stated(name: str, lead: str) -> str | None:
    """GPL/LGPL without a version in the path: the version the text states, if any."""
    versions = _STATED_VERSION.findall(lead)
    if not versions:
        return None
    family, _, known = FAMILIES[_UNVERSIONED[name]]
    version = versions[-1] if "." in versions[-1] else f"{versions[-1]}.0"
    return f"{family}-{version}" if version in known else None


def _common_license_refs(text: str) -> list[str]:
    found: list[str] = []
    previous_end = 0
    for match in _COMMON_REF.finditer(text):
        name = match.group("name").rstrip(".")
        lead = " ".join(text[max(previous_end, match.start() - _LOOKBACK):match.start()]
                        .lower().split())
        previous_end = match.end()
        spdx = _stated(name, lead) if name in _UNVERSIONED else COMMON_LICENSES.get(name)
        if spdx is None:
            continue
        if spdx.startswith(_GNU_PREFIXES):
            spdx = f"{spdx}-{'or-later' if 'any later version' in lead else 'only'}"
        found.append(spdx)
    return found


def copyright_licenses(data: bytes) -> tuple[str, ...]:
    """Licenses named in a Debian copyright file: every ``License:`` of a DEP-5 file, or the
    /usr/share/common-licenses references of a free-form one. Sorted, without duplicates."""
    text = data.decode("utf-8", "replace")
    header = first_paragraph(text)  # only the first paragraph is built
    if header is not None and (
        _DEP5_FORMAT.search(header.get("format"))
        or _DEP5_FORMAT.search(header.get("format-specification"))
    ):
        return tuple(sorted(set(_dep5_licenses(text))))
    return tuple(sorted(set(_common_license_refs(text))))


# --- packages --------------------------------------------------------------------------------


def distro_qualifier(distro: Distro | None, families: Iterable[str]) -> str | None:
    """``<family>-<version>`` (or the codename when there is no version) for purls."""
    if distro is None or distro.family not in set(families):
        return None
    release = distro.version or distro.version_codename
    return f"{distro.family}-{release}" if release else None


def purl(record: Record, distro: Distro | None) -> str:
    namespace = distro.family if distro is not None and distro.family in DEB_FAMILIES else "debian"
    qualifiers: dict[str, str] = {}
    if record.arch:
        qualifiers["arch"] = record.arch
    if (release := distro_qualifier(distro, DEB_FAMILIES)) is not None:
        qualifiers["distro"] = release
    if record.upstream:
        qualifiers["upstream"] = record.upstream
    return PackageURL(type="deb", namespace=namespace, name=record.name,
                      version=record.version, qualifiers=qualifiers).to_string()


class _Licenses:
    """Copyright files read once per resolved path (doc dirs are often symlinks), and read
    once per content: the binary packages of one source ship the same file (on the Debian
    test image half the 1.8 MB of copyright text is such copies)."""

    def __init__(self, fs: Filesystem) -> None:
        self._fs = fs
        self._seen: dict[str, tuple[str, ...]] = {}
        self._texts: dict[bytes, tuple[str, ...]] = {}

    def of(self, name: str) -> tuple[str, ...]:
        entry = self._fs.resolve(f"{DOC}/{name}/copyright")
        if entry is None:
            return ()
        if entry.path not in self._seen:
            data = self._fs.read_entry(entry)
            self._seen[entry.path] = self._of_text(data) if data is not None else ()
        return self._seen[entry.path]

    def _of_text(self, data: bytes) -> tuple[str, ...]:
        found = self._texts.get(data)
        if found is None:
            found = self._texts[data] = copyright_licenses(data)
        return found


def _package(record: Record, db: FileEntry, introduced: dict[Key, int],
             licenses: _Licenses, distro: Distro | None,
             files: tuple[str, ...] | None) -> Package:
    properties = {"arch": record.arch, "maintainer": record.maintainer}
    if files is not None:
        properties["files"] = str(len(files))
    return Package(
        name=record.name,
        version=record.version,
        type="deb",
        purl=purl(record, distro),
        locations=(Location(path=db.path, layer=db.layer, line=record.line),),
        introduced_in=introduced.get(record.key, db.layer),
        found_by="dpkg",
        source_name=record.source_name,
        source_version=record.source_version,
        licenses=licenses.of(record.name),
        properties={k: v for k, v in properties.items() if v},
    )


class Dpkg:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="dpkg",
        version=1,
        scanners=frozenset({"packages"}),
        paths=(
            "/var/lib/dpkg/status",
            "/var/lib/dpkg/status.d/*",
            "/var/lib/dpkg/info/*.list",
            "/var/lib/dpkg/info/*.md5sums",
            "/usr/share/doc/*/copyright",
        ),
        stage=STAGE_INVENTORY,
    )

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        dbs = databases(fs)
        if not dbs:
            return result
        parsed = _Parsed()
        introduced = _introduced(fs, dbs, parsed)
        licenses = _Licenses(fs)
        seen: set[Key] = set()
        owned: set[str] = set()
        for db in dbs:
            with one_file(result, db, self.spec.name, "dpkg database") as found:
                for record in self._records(fs, db, found, parsed):
                    if record.key in seen:
                        continue
                    seen.add(record.key)
                    files = installed_files(fs, record, db.path)
                    owned.update(files or ())
                    found.packages.append(
                        _package(record, db, introduced, licenses, ctx.distro, files)
                    )
        result.packages.sort(key=lambda p: (p.sort_key(), p.purl or ""))
        result.owned_paths[self.spec.name] = frozenset(owned)
        return result

    def _records(self, fs: Filesystem, db: FileEntry, result: AnalysisResult,
                 parsed: _Parsed) -> list[Record]:
        data = fs.read_entry(db)
        if data is None:
            result.warnings.append(self._warning("package DB could not be read", db))
            return []
        records, problems = parsed.records(data, db.path)
        result.warnings.extend(self._warning(problem, db) for problem in problems)
        return records

    def _warning(self, message: str, db: FileEntry) -> Warning:
        return Warning(message=message, path=db.path, layer=db.layer, analyzer=self.spec.name)
