"""Java archives (jar, war, ear, par, jpi, hpi): Maven coordinates from ``pom.properties``,
else from ``META-INF/MANIFEST.MF``, else from the file name; nested archives (``WEB-INF/lib``,
``BOOT-INF/lib``, any ``*.jar`` inside) are opened in memory up to a depth and a byte budget."""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from typing import ClassVar

import msgspec
from packageurl import PackageURL

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    matched_files,
)
from portcullis.analyze.guard import one_file
from portcullis.layers.view import Filesystem
from portcullis.limits import MiB
from portcullis.model.files import FileEntry, Location
from portcullis.model.finding import Warning
from portcullis.model.package import Package

MAX_DEPTH = 3  # nested archives below the one found in the image
ARCHIVE_BUDGET = 256 * MiB  # uncompressed bytes read from the members of one top archive
MAX_METADATA_SIZE = 1 * MiB  # a pom.properties or MANIFEST.MF larger than this is not one
# Counts, per top archive with everything nested in it. zipfile builds an object per entry
# when it opens an archive (600,000 entries: 10 s and 340 MB), so the directory is measured
# from its end record first. Real fat jars have tens of thousands of entries and hundreds of
# nested jars.
MAX_ENTRIES = 200_000
MAX_DIRECTORY_SIZE = 32 * MiB  # bytes of central directory (what zipfile actually reads)
MAX_NESTED = 5_000

_ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".par", ".jpi", ".hpi")
_MANIFEST = "META-INF/MANIFEST.MF"
_FILENAME = re.compile(r"^(?P<name>[A-Za-z0-9_.+-]+?)-(?P<version>\d[A-Za-z0-9_.+-]*)$")
_ARTIFACT_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_GROUP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+$")
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
                   EOFError, OSError, ValueError, zlib.error)


class Coordinates(msgspec.Struct, frozen=True):
    group: str
    artifact: str
    version: str
    source: str  # "pom.properties", "manifest" or "filename"
    licenses: tuple[str, ...] = ()


class _Budget(msgspec.Struct):
    left: int  # uncompressed bytes
    entries: int
    nested: int


class _Archive(msgspec.Struct):
    """What one archive holds, before deciding its identity."""

    poms: list[tuple[str, dict[str, str]]] = msgspec.field(default_factory=list)
    manifest: dict[str, str] | None = None
    maven_dirs: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (group, artifact)
    nested: list[zipfile.ZipInfo] = msgspec.field(default_factory=list)


# parsers --------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_properties(data: bytes) -> dict[str, str]:
    """Java ``.properties``: ``key=value``, ``key: value`` or ``key value``; ``#``/``!``
    comments; backslash continuation lines."""
    props: dict[str, str] = {}
    pending: list[str] = []
    for raw in _decode(data).splitlines():
        line = raw.lstrip()
        if not pending and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending.append(line[:-1])
            continue
        line = "".join(pending) + line
        pending = []
        match = re.match(r"^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$", line)
        if match:
            props[match[1].replace("\\", "")] = match[2].strip()
        elif line:
            props[line.replace("\\", "")] = ""
    return props


def parse_manifest(data: bytes) -> list[dict[str, str]]:
    """MANIFEST.MF sections (the main section first). Lines are at most 72 bytes; a line that
    starts with one space continues the previous one."""
    # Values are lists of pieces joined once: appending to a string would copy it per line.
    sections: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] = {}
    last: str | None = None
    for line in re.split(r"\r\n|\r|\n", _decode(data)):
        if line.startswith(" ") and last is not None:
            current[last].append(line[1:])
            continue
        if not line.strip():
            if current:
                sections.append(current)
            current, last = {}, None
            continue
        key, sep, value = line.partition(":")
        if not sep:
            last = None
            continue
        last = key.strip()
        current[last] = [value[1:] if value.startswith(" ") else value]
    if current:
        sections.append(current)
    return [{k: "".join(v).strip() for k, v in s.items()} for s in sections]


def _flatten_manifest(sections: list[dict[str, str]]) -> dict[str, str]:
    """Main attributes win; per-entry sections (``Name: org.apache.log4j``) fill the gaps."""
    merged: dict[str, str] = {}
    for number, section in enumerate(sections):
        for key, value in section.items():
            if number == 0 or key != "Name":
                merged.setdefault(key, value)
    return merged


def bundle_licenses(value: str) -> tuple[str, ...]:
    """``Bundle-License``: comma-separated, each optionally with ``;attr=...`` parameters."""
    out: dict[str, None] = {}
    for part in _outside_quotes(value, ","):
        name = part.split(";", 1)[0].strip().strip('"')
        if name:
            out.setdefault(name, None)
    return tuple(out)


def _outside_quotes(value: str, separator: str) -> list[str]:
    """``value`` split at the separators followed by an even number of double quotes (outside
    quotes, when they pair up), in one pass: a look-ahead regex for that rescans the rest of
    the text per separator."""
    pieces = value.split('"')
    splitting = (len(pieces) - 1) % 2  # pieces whose number has this parity are "outside"
    parts: list[str] = []
    current: list[str] = []
    for number, piece in enumerate(pieces):
        if number:
            current.append('"')
        if number % 2 != splitting:
            current.append(piece)
            continue
        first, *rest = piece.split(separator)
        current.append(first)
        for part in rest:
            parts.append("".join(current))
            current = [part]
    parts.append("".join(current))
    return parts


def parse_filename(name: str) -> tuple[str, str] | None:
    """``commons-lang3-3.12.0.jar`` → (``commons-lang3``, ``3.12.0``)."""
    stem = posixpath.basename(name)
    for suffix in _ARCHIVE_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    match = _FILENAME.match(stem)
    return (match["name"], match["version"]) if match else None


def _maven_path(name: str) -> tuple[str, str] | None:
    parts = name.split("/")
    if len(parts) >= 5 and parts[0] == "META-INF" and parts[1] == "maven":
        return parts[2], parts[3]
    return None


def _symbolic_name(manifest: dict[str, str]) -> str:
    return manifest.get("Bundle-SymbolicName", "").split(";", 1)[0].strip()


def _manifest_group(manifest: dict[str, str], artifact: str,
                    maven_dirs: list[tuple[str, str]]) -> str:
    """The groupId a manifest implies (the heuristics of syft and trivy): the Maven
    ``Implementation-Vendor-Id``, a ``META-INF/maven/<group>/<artifact>/`` directory, the
    prefix of a dotted ``Bundle-SymbolicName``, then reverse-DNS looking vendor fields."""
    vendor_id = manifest.get("Implementation-Vendor-Id", "")
    if _GROUP_ID.match(vendor_id) or (vendor_id and _ARTIFACT_ID.match(vendor_id)):
        return vendor_id
    for group, dir_artifact in maven_dirs:
        if dir_artifact == artifact:
            return group
    symbolic = _symbolic_name(manifest)
    if "." in symbolic and _GROUP_ID.match(symbolic):
        prefix, _, last = symbolic.rpartition(".")
        return prefix if last == artifact or "." in prefix else symbolic
    for key in ("Automatic-Module-Name", "Extension-Name", "Specification-Vendor",
                "Implementation-Vendor"):
        value = manifest.get(key, "")
        if _GROUP_ID.match(value):
            return value.rpartition(".")[0] if key == "Automatic-Module-Name" else value
    return ""


def _from_manifest(manifest: dict[str, str], filename: str,
                   maven_dirs: list[tuple[str, str]]) -> Coordinates | None:
    from_name = parse_filename(filename)
    version = (manifest.get("Implementation-Version") or manifest.get("Bundle-Version")
               or manifest.get("Specification-Version") or "")
    if not version:
        return None
    symbolic = _symbolic_name(manifest).rpartition(".")[2]  # org.acme.widgets → widgets
    candidates = [manifest.get("Implementation-Title", ""), manifest.get("Specification-Title", ""),
                  from_name[0] if from_name else "", symbolic, manifest.get("Bundle-Name", "")]
    artifact = next((c for c in candidates if c and _ARTIFACT_ID.match(c)), "")
    if not artifact:
        return None
    group = _manifest_group(manifest, artifact, maven_dirs)
    return Coordinates(group, artifact, version, "manifest",
                       bundle_licenses(manifest.get("Bundle-License", "")))


def _from_pom(name: str, props: dict[str, str]) -> Coordinates | None:
    from_path = _maven_path(name)
    group = props.get("groupId") or (from_path[0] if from_path else "")
    artifact = props.get("artifactId") or (from_path[1] if from_path else "")
    version = props.get("version", "")
    if not (group and artifact and version):
        return None
    return Coordinates(group, artifact, version, "pom.properties")


def identify(archive: _Archive, filename: str) -> list[Coordinates]:
    """Every ``pom.properties`` (shaded jars carry several); else the manifest; else the file
    name. The manifest's ``Bundle-License`` goes to the pom that is the archive itself."""
    manifest = archive.manifest or {}
    found: list[Coordinates] = []
    for name, props in sorted(archive.poms):
        coordinates = _from_pom(name, props)
        if coordinates is not None and coordinates not in found:
            found.append(coordinates)
    licenses = bundle_licenses(manifest.get("Bundle-License", ""))
    if found:
        if not licenses:
            return found
        own = _own_artifact(found, manifest, filename)
        return [Coordinates(c.group, c.artifact, c.version, c.source, licenses) if c in own else c
                for c in found]
    if archive.manifest is not None:
        from_manifest = _from_manifest(manifest, filename, archive.maven_dirs)
        if from_manifest is not None:
            return [from_manifest]
    from_name = parse_filename(filename)
    if from_name is None:
        return []
    group = _manifest_group(manifest, from_name[0], archive.maven_dirs) if manifest else ""
    return [Coordinates(group, from_name[0], from_name[1], "filename")]


def _own_artifact(found: list[Coordinates], manifest: dict[str, str],
                  filename: str) -> list[Coordinates]:
    if len(found) == 1:
        return found
    from_name = parse_filename(filename)
    versions = {manifest.get("Implementation-Version"), manifest.get("Bundle-Version")}
    return [c for c in found
            if (from_name and c.artifact == from_name[0]) or
            (c.version in versions and c.artifact in (_symbolic_name(manifest),
                                                     manifest.get("Implementation-Title")))]


def purl_of(group: str, artifact: str, version: str) -> str:
    return str(PackageURL(type="maven", namespace=group or None, name=artifact,
                          version=version).to_string())


_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"


def directory_size(data: bytes) -> tuple[int, int]:
    """(entries, central directory bytes) as the end record (or its zip64 form) states;
    (0, 0) without one, in which case zipfile will refuse the archive anyway."""
    at = data.rfind(_END, max(0, len(data) - 22 - 0xFFFF))
    if at < 0 or len(data) < at + 22:
        return 0, 0
    entries, size = struct.unpack_from("<HI", data, at + 10)
    locator = at - 20
    if locator >= 0 and data[locator:locator + 4] == _END64_LOCATOR:
        record = locator - 56
        if record >= 0 and data[record:record + 4] == _END64:
            entries, size = struct.unpack_from("<QQ", data, record + 32)  # as zipfile does
    return entries, size


def _is_archive(name: str) -> bool:
    return not name.endswith("/") and name.lower().endswith(_ARCHIVE_SUFFIXES)


# the analyzer ---------------------------------------------------------------------------------


class JavaArchives:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="java",
        version=1,
        scanners=frozenset({"packages"}),
        paths=("*.jar", "*.war", "*.ear", "*.par", "*.jpi", "*.hpi"),
        stage=STAGE_INVENTORY,
    )

    def __init__(self, *, max_depth: int = MAX_DEPTH, budget: int = ARCHIVE_BUDGET,
                 max_entries: int = MAX_ENTRIES, max_nested: int = MAX_NESTED) -> None:
        self.max_depth = max_depth
        self.budget = budget
        self.max_entries = max_entries
        self.max_nested = max_nested

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        seen: set[tuple[str, str, str, str]] = set()
        for entry in matched_files(fs, self.spec.paths):
            data = fs.read_entry(entry)
            if data is None:
                if entry.meta.size > ctx.limits.max_capture_size:
                    self.warn(result, entry, f"Java archive of {entry.meta.size} bytes is "
                               f"larger than the capture limit; not analyzed")
                continue
            with one_file(result, entry, self.spec.name, "Java archive") as found:
                budget = _Budget(self.budget, self.max_entries, self.max_nested)
                _Walk(self, entry, found, seen, budget).archive(data, entry.path, 0)
        return result

    def warn(self, result: AnalysisResult, entry: FileEntry, message: str) -> None:
        result.warnings.append(Warning(message=message, path=entry.path, layer=entry.layer,
                                       analyzer=self.spec.name))


class _Walk(msgspec.Struct):
    """One top archive found in the image, and everything nested in it."""

    analyzer: JavaArchives
    entry: FileEntry
    result: AnalysisResult
    seen: set[tuple[str, str, str, str]]
    budget: _Budget

    def archive(self, data: bytes, archive_path: str, depth: int) -> None:
        if not self._fits(data, archive_path):
            return
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                found = self._scan(zf, archive_path)
                self._emit(identify(found, archive_path.rpartition("!/")[2]), archive_path)
                self._nested(zf, found.nested, archive_path, depth)
        except _ARCHIVE_ERRORS as e:
            self._warn(f"cannot read Java archive {archive_path}: {e}")

    def _nested(self, zf: zipfile.ZipFile, nested: list[zipfile.ZipInfo], archive_path: str,
                depth: int) -> None:
        if nested and depth + 1 > self.analyzer.max_depth:
            first = min(info.filename for info in nested)
            more = f" and {len(nested) - 1} more" if len(nested) > 1 else ""
            self._warn(f"nested archive {archive_path}!/{first}{more} deeper than "
                       f"{self.analyzer.max_depth} levels; not analyzed")
            return
        for number, info in enumerate(sorted(nested, key=lambda i: i.filename)):
            if self.budget.nested <= 0:
                self._warn(f"{len(nested) - number} nested archives in {archive_path} not "
                           f"analyzed: more than {self.analyzer.max_nested} in this archive")
                return
            self.budget.nested -= 1
            inner = self._read(zf, info, archive_path, limit=None)
            if inner is not None:
                self.archive(inner, f"{archive_path}!/{info.filename}", depth + 1)

    def _fits(self, data: bytes, archive_path: str) -> bool:
        """Whether the archive's directory fits the entry budget, judged from its end record
        before zipfile reads the directory."""
        entries, size = directory_size(data)
        if entries > self.budget.entries:
            self._warn(f"Java archive {archive_path} has {entries} entries, more than the "
                       f"{self.budget.entries} left of {self.analyzer.max_entries} for this "
                       "archive; not analyzed")
            return False
        if size > MAX_DIRECTORY_SIZE:
            self._warn(f"Java archive {archive_path} has a central directory of {size} bytes "
                       f"(more than {MAX_DIRECTORY_SIZE}); not analyzed")
            return False
        self.budget.entries -= entries
        return True

    def _scan(self, zf: zipfile.ZipFile, archive_path: str) -> _Archive:
        found = _Archive()
        for info in zf.infolist():
            name = info.filename
            if info.is_dir():
                if (maven := _maven_path(name.rstrip("/") + "/-")) is not None:
                    found.maven_dirs.append(maven)
                continue
            if name == "pom.properties" or name.endswith("/pom.properties"):
                data = self._read(zf, info, archive_path, limit=MAX_METADATA_SIZE)
                if data is not None:
                    found.poms.append((name, parse_properties(data)))
                if (maven := _maven_path(name)) is not None:
                    found.maven_dirs.append(maven)
            elif name.upper() == _MANIFEST and found.manifest is None:
                data = self._read(zf, info, archive_path, limit=MAX_METADATA_SIZE)
                if data is not None:
                    found.manifest = _flatten_manifest(parse_manifest(data))
            elif _is_archive(name):
                found.nested.append(info)
            elif (maven := _maven_path(name)) is not None:
                found.maven_dirs.append(maven)
        return found

    def _read(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive_path: str,
              limit: int | None) -> bytes | None:
        """A member's bytes, if its declared size fits the limit and the budget. The size is
        checked before inflating; the reader never returns more than the declared size (a
        lying header ends in a CRC error, reported as a warning)."""
        member = f"{archive_path}!/{info.filename}"
        if limit is not None and info.file_size > limit:
            self._warn(f"{member}: {info.file_size} bytes is too large for metadata; skipped")
            return None
        if info.file_size > self.budget.left:
            self._warn(f"{member}: {info.file_size} uncompressed bytes exceed the budget left "
                       f"for this archive ({self.budget.left} of {self.analyzer.budget}); "
                       f"skipped")
            return None
        self.budget.left -= info.file_size
        try:
            with zf.open(info) as handle:
                return handle.read(info.file_size)
        except _ARCHIVE_ERRORS as e:
            self._warn(f"cannot read {member}: {e}")
            return None

    def _emit(self, found: Iterable[Coordinates], archive_path: str) -> None:
        for c in found:
            key = (c.group, c.artifact, c.version, archive_path)
            if key in self.seen:
                continue
            self.seen.add(key)
            self.result.packages.append(Package(
                name=f"{c.group}:{c.artifact}" if c.group else c.artifact,
                version=c.version,
                type="java-archive",
                purl=purl_of(c.group, c.artifact, c.version),
                locations=(Location(path=self.entry.path, layer=self.entry.layer),),
                introduced_in=self.entry.introduced_in,
                found_by=self.analyzer.spec.name,
                licenses=c.licenses,
                properties={"archive_path": archive_path, "group_id": c.group,
                            "artifact_id": c.artifact, "metadata_source": c.source},
            ))

    def _warn(self, message: str) -> None:
        self.analyzer.warn(self.result, self.entry, message)
