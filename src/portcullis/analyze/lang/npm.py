"""Node packages: installed ``node_modules/**/package.json`` and the lock files of
applications (package-lock.json v1-v3, npm-shrinkwrap.json, yarn.lock v1 and berry,
pnpm-lock.yaml v5-v9). Lock files are read with small line parsers: no YAML dependency."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
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
)

_INSTALLED = re.compile(r"/node_modules/(?:@[^/]+/)?[^/@.][^/]*/package\.json$")
_VERSION = re.compile(r"^v?\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.+-]*)?$")
_LOCAL_PROTOCOLS = ("workspace:", "link:", "portal:", "file:", "exec:")


def purl_of(name: str, version: str) -> str:
    namespace, _, base = name.rpartition("/") if name.startswith("@") else ("", "", name)
    purl = PackageURL(type="npm", namespace=namespace or None, name=base, version=version)
    return str(purl.to_string())


def split_spec(spec: str) -> tuple[str, str]:
    """``name@rest`` → (name, rest); the name may be scoped (``@scope/name@rest``)."""
    at = spec.find("@", 1)
    return (spec, "") if at < 0 else (spec[:at], spec[at + 1:])


def is_version(text: str) -> bool:
    return bool(_VERSION.match(text))


# installed package.json ------------------------------------------------------------------------


def _license_names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return [value["type"]]
    if isinstance(value, list):
        return [name for item in value for name in _license_names(item)]
    return []


def parse_package_json(data: bytes) -> list[Found]:
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("package.json is not a JSON object")
    name, version = doc.get("name"), doc.get("version")
    if not (isinstance(name, str) and isinstance(version, str) and name and version):
        return []  # a package.json without identity (some packages ship such stubs)
    licenses = _license_names(doc.get("license")) or _license_names(doc.get("licenses"))
    return [Found(name, version, tuple(dict.fromkeys(licenses)))]


# package-lock.json / npm-shrinkwrap.json --------------------------------------------------------


def _lock_v1(deps: Any) -> Iterator[Found]:
    """Depth first, in file order; an explicit stack, as the nesting is the file's to choose."""
    stack = [iter(deps.items())] if isinstance(deps, dict) else []
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        key, info = item
        if not isinstance(info, dict):
            continue
        name, version = key, info.get("version")
        if isinstance(version, str):
            if version.startswith("npm:"):  # alias: "npm:real-name@1.2.3"
                name, version = split_spec(version[4:])
            if is_version(version):
                yield Found(name, version)
        if isinstance(children := info.get("dependencies"), dict):
            stack.append(iter(children.items()))


def _lock_packages(packages: dict[str, Any]) -> Iterator[Found]:
    for key, info in packages.items():
        if "node_modules/" not in key or not isinstance(info, dict) or info.get("link"):
            continue  # "" is the project itself, other keys without node_modules/ workspaces
        name = info.get("name") or key.rpartition("node_modules/")[2]
        version = info.get("version")
        if isinstance(name, str) and isinstance(version, str) and is_version(version):
            yield Found(name, version)


def parse_package_lock(data: bytes) -> list[Found]:
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("package-lock is not a JSON object")
    packages = doc.get("packages")
    if isinstance(packages, dict):
        return list(_lock_packages(packages))
    return list(_lock_v1(doc.get("dependencies")))


# yarn.lock ---------------------------------------------------------------------------------------


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _yarn_blocks(text: str) -> Iterator[tuple[int, str, dict[str, str]]]:
    """Top-level entries: (line, key, the entry's own ``field value`` / ``field: value``)."""
    key, start = "", 0
    fields: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            if key:
                yield start, key, fields
            key, start, fields = line.rstrip().rstrip(":"), number, {}
        elif key and line.startswith("  ") and not line[2].isspace():
            field, _, value = line.strip().partition(" ")
            fields[field.rstrip(":")] = _unquote(value)
    if key:
        yield start, key, fields


def _yarn_classic(key: str, fields: dict[str, str]) -> Found | None:
    name, rest = split_spec(_unquote(key.split(",", maxsplit=1)[0]))
    if rest.startswith("npm:"):  # alias: "alias@npm:real-name@^1"
        name = split_spec(rest[4:])[0]
    version = fields.get("version", "")
    return Found(name, version) if name and is_version(version) else None


def _yarn_berry(key: str, fields: dict[str, str]) -> Found | None:
    resolution = fields.get("resolution") or _unquote(key.split(",", maxsplit=1)[0])
    name, protocol = split_spec(resolution)
    version = fields.get("version", "")
    if protocol.startswith(_LOCAL_PROTOCOLS) or not is_version(version):
        return None
    return Found(name, version)


def parse_yarn_lock(data: bytes) -> list[Found]:
    text = data.decode("utf-8", "replace")
    berry = bool(re.search(r"^__metadata:", text, re.MULTILINE))
    found: list[Found] = []
    for line, key, fields in _yarn_blocks(text):
        if key == "__metadata":
            continue
        item = _yarn_berry(key, fields) if berry else _yarn_classic(key, fields)
        if item is not None:
            found.append(Found(item.name, item.version, line=line))
    if not found and text.strip() and "version" not in text:
        raise ParseError("not a yarn lockfile")
    return found


# pnpm-lock.yaml ----------------------------------------------------------------------------------


def _pnpm_version(text: str) -> float | None:
    match = re.search(r"^lockfileVersion:\s*['\"]?(\d+(?:\.\d+)?)", text, re.MULTILINE)
    return float(match[1]) if match else None


def _pnpm_entries(text: str) -> Iterator[tuple[int, str, dict[str, str]]]:
    """Keys of the top-level ``packages:`` map with their scalar fields (indent 4)."""
    inside, key, start = False, "", 0
    fields: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            if key:
                yield start, key, fields
                key = ""
            inside = line.rstrip() == "packages:"
        elif inside and line.startswith("  ") and not line[2].isspace():
            if key:
                yield start, key, fields
            key, start, fields = _unquote(line.strip().rstrip(":")), number, {}
        elif key and line.startswith("    ") and not line[4].isspace():
            field, _, value = line.strip().partition(":")
            fields[field] = _unquote(value)
    if key:
        yield start, key, fields


def _pnpm_key(key: str, lockfile_version: float) -> tuple[str, str]:
    key = key.lstrip("/")
    if lockfile_version < 6:  # /name/version_peer@1.0.0
        name, _, version = key.rpartition("/")
        return name, version.split("_", 1)[0]
    name, version = split_spec(key)  # /name@version(peer@1.0.0) or name@version
    return name, version.split("(", 1)[0]


def parse_pnpm_lock(data: bytes) -> list[Found]:
    text = data.decode("utf-8", "replace")
    lockfile_version = _pnpm_version(text)
    if lockfile_version is None:
        raise ParseError("pnpm-lock.yaml without lockfileVersion")
    found: list[Found] = []
    for line, key, fields in _pnpm_entries(text):
        name, version = _pnpm_key(key, lockfile_version)
        if not is_version(version):  # tarball, git or file: the resolved version is a field
            version = fields.get("version", "")
        if name and is_version(version):
            found.append(Found(name, version, line=line))
    return found


# the analyzer ------------------------------------------------------------------------------------


def _lock_parser(path: str) -> Callable[[bytes], list[Found]] | None:
    base = posixpath.basename(path)
    if base in ("package-lock.json", "npm-shrinkwrap.json"):
        return parse_package_lock
    if base == "yarn.lock":
        return parse_yarn_lock
    if base == "pnpm-lock.yaml":
        return parse_pnpm_lock
    return None


_INSTALLED_ORIGIN = Origin("npm-installed")
_LOCK_ORIGIN = Origin("npm-lockfile", (("source", "lockfile"),), declared=True)


class NpmPackages(PackageFiles):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="npm",
        version=1,
        scanners=frozenset({"packages"}),
        paths=(
            "*/node_modules/*/package.json",
            "*/package-lock.json",
            "*/npm-shrinkwrap.json",
            "*/yarn.lock",
            "*/pnpm-lock.yaml",
        ),
        stage=STAGE_INVENTORY,
    )
    describes = "npm package file"
    package_type = "npm"
    parse_errors = (ValueError, TypeError, AttributeError)

    def parser(self, path: str) -> Callable[[bytes], list[Found]] | None:
        if _INSTALLED.search(path) is not None:
            return parse_package_json
        return self._application_lock(path)

    def origin(self, parse: Parser) -> Origin:
        return _INSTALLED_ORIGIN if parse is parse_package_json else _LOCK_ORIGIN

    def purl(self, name: str, version: str) -> str:
        return purl_of(name, version)

    @staticmethod
    def _application_lock(path: str) -> Callable[[bytes], list[Found]] | None:
        if "/node_modules/" in path:
            return None  # lock files published inside a dependency are not what is installed
        return _lock_parser(path)
