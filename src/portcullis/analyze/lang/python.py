"""Python packages: installed distributions (``*.dist-info``, ``*.egg-info``) and lock files
of applications (poetry.lock, uv.lock, Pipfile.lock, pinned requirements*.txt)."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

from packageurl import PackageURL

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalyzerSpec,
)
from portcullis.analyze.lang.package_files import (
    Found,
    Origin,
    PackageFiles,
    ParseError,
    Parser,
    load_json,
    named,
    toml_package_tables,
)

_INSTALL_DIRS = ("/site-packages/", "/dist-packages/")
_NORMALISE = re.compile(r"[-_.]+")
_PINNED = re.compile(
    # one \s* per gap: two around the optional extras backtrack quadratically on spaces
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\]\s*)?"
    r"===?\s*(?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*)$"
)
_HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):(?:\s|$)")
_UNKNOWN_LICENSES = {"", "unknown", "none", "n/a"}
_MAX_LICENSE_FIELD = 100


def normalise_name(name: str) -> str:
    """PEP 503 normalised project name."""
    return _NORMALISE.sub("-", name).lower()


def purl_of(name: str, version: str) -> str:
    return str(PackageURL(type="pypi", name=normalise_name(name), version=version).to_string())


# installed metadata ---------------------------------------------------------------------------


def _licenses(headers: Any) -> tuple[str, ...]:
    expression = str(headers.get("License-Expression") or "").strip()
    if expression:
        return (expression,)
    field = str(headers.get("License") or "").strip()
    if (field.lower() not in _UNKNOWN_LICENSES and "\n" not in field
            and len(field) <= _MAX_LICENSE_FIELD):
        return (field,)
    found: list[str] = []
    for classifier in headers.get_all("Classifier") or []:
        parts = [p.strip() for p in str(classifier).split("::")]
        if len(parts) >= 3 and parts[0] == "License" and parts[-1] not in found:
            found.append(parts[-1])
    return tuple(found)


def _fold_description(text: str) -> str:
    """Old PKG-INFO files carry a folded ``Description:`` header whose empty lines lost their
    indentation; such an empty line would end the header block too early. Keep it inside the
    field when more of the description (indented) or another header follows."""
    lines = text.splitlines()
    field = ""
    following, found_at = "", -1  # the next non-blank line, and where (one scan per run)
    for i, line in enumerate(lines):
        if match := _HEADER.match(line):
            field = match[1].lower()
        elif not line.strip():
            if found_at <= i:
                found_at = next((j for j in range(i + 1, len(lines)) if lines[j].strip()),
                                len(lines))
                following = lines[found_at] if found_at < len(lines) else ""
            if field != "description" or not (following[:1].isspace()
                                              or _HEADER.match(following)):
                break
            lines[i] = "        "
    return "\n".join(lines)


def parse_metadata(data: bytes) -> list[Found]:
    """METADATA / PKG-INFO: RFC 822 style headers (core metadata spec)."""
    text = _fold_description(data.decode("utf-8", "replace"))
    from email.parser import HeaderParser  # ~11 ms of imports: only for a METADATA file

    headers = HeaderParser().parsestr(text)
    name = str(headers.get("Name") or "").strip()
    version = str(headers.get("Version") or "").strip()
    if not name or not version:
        raise ParseError("core metadata without Name or Version")
    return [Found(name, version, _licenses(headers))]


# lock files -----------------------------------------------------------------------------------


def _toml_packages(data: bytes) -> list[Found]:
    """poetry.lock and uv.lock: ``[[package]]`` tables with name and version."""
    found: list[Found] = []
    for item in toml_package_tables(data):
        source = item.get("source")
        if isinstance(source, dict) and ("virtual" in source or "editable" in source):
            continue  # uv: the project itself or a workspace member, not a dependency
        if (pair := named(item)) is not None:
            found.append(Found(*pair))
    return found


def parse_pipfile_lock(data: bytes) -> list[Found]:
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("Pipfile.lock is not a JSON object")
    found: list[Found] = []
    for section in ("default", "develop"):
        deps = doc.get(section) or {}
        if not isinstance(deps, dict):
            raise ParseError(f"Pipfile.lock section {section!r} is not an object")
        for name, info in deps.items():
            version = info.get("version") if isinstance(info, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                found.append(Found(name, version.lstrip("=").strip()))
    return found


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with backslash continuations joined, numbered by their first physical line."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def _strip_requirement(line: str) -> str:
    line = re.sub(r"(^|\s)#.*$", "", line)  # comments
    line = line.split(";", 1)[0]  # environment markers
    line = re.split(r"\s--?[A-Za-z]", " " + line, maxsplit=1)[0]  # per-requirement options
    return line.strip()


def parse_requirements(data: bytes) -> list[Found]:
    """Only exact pins (``name==version``): ranges do not say what is installed."""
    found: list[Found] = []
    for number, raw in _logical_lines(data.decode("utf-8", "replace")):
        if raw.lstrip().startswith("-"):
            continue  # -r, -e, --index-url, ...
        match = _PINNED.match(_strip_requirement(raw))
        if match and "*" not in match["version"]:
            found.append(Found(match["name"], match["version"], line=number))
    return found


def _lock_parser(path: str) -> Callable[[bytes], list[Found]] | None:
    base = posixpath.basename(path)
    if base in ("poetry.lock", "uv.lock"):
        return _toml_packages
    if base == "Pipfile.lock":
        return parse_pipfile_lock
    if base.startswith("requirements") and base.endswith(".txt"):
        return parse_requirements
    return None


def _metadata_parser(path: str) -> Callable[[bytes], list[Found]] | None:
    if path.endswith((".dist-info/METADATA", ".egg-info/PKG-INFO", ".egg-info")):
        return parse_metadata
    if path.endswith(".egg"):
        return parse_egg
    return None


_EGG_METADATA = ("EGG-INFO/PKG-INFO", "EGG-INFO/METADATA")
_MAX_EGG_METADATA = 1 << 20


def parse_egg(data: bytes) -> list[Found]:
    """A zipped egg (``name-1.0-py3.11.egg``): its ``EGG-INFO/PKG-INFO``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in _EGG_METADATA:
                try:
                    info = archive.getinfo(name)
                except KeyError:
                    continue
                if info.file_size > _MAX_EGG_METADATA:
                    raise ValueError(f"{name} is implausibly large ({info.file_size} bytes)")
                return parse_metadata(archive.read(info))
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, OSError,
            zlib.error) as e:  # unsupported versions, flags and methods; encrypted; damaged
        raise ValueError(f"not a readable egg archive ({e})") from e
    raise ValueError("egg archive without EGG-INFO/PKG-INFO")


# the analyzer ---------------------------------------------------------------------------------


_INSTALLED_ORIGIN = Origin("python-installed")
_LOCK_ORIGIN = Origin("python-lockfile", (("source", "lockfile"),), declared=True)


class PythonPackages(PackageFiles):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="python",
        version=1,
        scanners=frozenset({"packages"}),
        paths=(
            "*.dist-info/METADATA",
            "*.egg-info/PKG-INFO",
            "*.egg-info",
            "*.egg",
            "*/poetry.lock",
            "*/Pipfile.lock",
            "*/uv.lock",
            "*/requirements*.txt",
        ),
        stage=STAGE_INVENTORY,
    )
    describes = "Python package file"
    package_type = "python"
    parse_errors = (ValueError, TypeError, AttributeError, zipfile.LargeZipFile)

    def parser(self, path: str) -> Callable[[bytes], list[Found]] | None:
        return _metadata_parser(path) or self._application_lock(path)

    def origin(self, parse: Parser) -> Origin:
        return _INSTALLED_ORIGIN if parse in (parse_metadata, parse_egg) else _LOCK_ORIGIN

    def purl(self, name: str, version: str) -> str:
        return purl_of(name, version)

    def identity(self, item: Found) -> Hashable:
        return (normalise_name(item.name), item.version)

    @staticmethod
    def _application_lock(path: str) -> Callable[[bytes], list[Found]] | None:
        if any(part in path for part in _INSTALL_DIRS):
            return None  # files shipped inside an installed distribution, not an application
        return _lock_parser(path)
