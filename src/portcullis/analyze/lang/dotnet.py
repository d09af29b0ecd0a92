""".NET packages: ``*.deps.json`` next to a built application (what the host loads at run
time) and NuGet's ``packages.lock.json`` (resolved versions per target framework)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import ClassVar

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


def purl_of(name: str, version: str) -> str:
    return str(PackageURL(type="nuget", name=name, version=version).to_string())


def parse_deps_json(data: bytes) -> list[Found]:
    """``libraries`` of type ``package`` (NuGet packages); ``project`` entries are the
    application and its own projects, ``reference`` entries are plain assemblies."""
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("deps.json is not a JSON object")
    libraries = doc.get("libraries")
    if not isinstance(libraries, dict):
        raise ParseError("deps.json without a 'libraries' object")
    found: list[Found] = []
    for key, info in libraries.items():
        if not isinstance(info, dict) or info.get("type") != "package":
            continue
        name, _, version = key.rpartition("/")
        if not name or not version:
            continue
        sha512 = info.get("sha512")
        props = (("sha512", sha512),) if isinstance(sha512, str) and sha512 else ()
        found.append(Found(name, version, properties=props))
    return found


def parse_packages_lock(data: bytes) -> list[Found]:
    """NuGet lock file: ``dependencies`` → target framework → package → ``resolved``.
    ``Project`` entries are project references, not packages."""
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("packages.lock.json is not a JSON object")
    frameworks = doc.get("dependencies")
    if not isinstance(frameworks, dict):
        raise ParseError("packages.lock.json without a 'dependencies' object")
    found: list[Found] = []
    for framework, deps in frameworks.items():
        if not isinstance(deps, dict):
            raise ParseError(f"dependencies of {framework!r} is not an object")
        for name, info in deps.items():
            if not isinstance(info, dict) or info.get("type") == "Project":
                continue
            version = info.get("resolved")
            if not isinstance(version, str) or not version:
                continue
            props: list[tuple[str, str]] = []
            if isinstance(info.get("type"), str):
                props.append(("dependency_type", info["type"]))
            if isinstance(info.get("contentHash"), str):
                props.append(("content_hash", info["contentHash"]))
            found.append(Found(name, version, properties=tuple(props)))
    return found


# the analyzer ---------------------------------------------------------------------------------


_DEPS_ORIGIN = Origin("dotnet-deps", (("source", "deps.json"),))
_LOCK_ORIGIN = Origin("dotnet-lockfile", (("source", "lockfile"),), declared=True)


class DotnetDeps(PackageFiles):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="dotnet",
        version=1,
        scanners=frozenset({"packages"}),
        paths=("*.deps.json", "*/packages.lock.json"),
        stage=STAGE_INVENTORY,
    )
    describes = ".NET dependency file"
    package_type = "dotnet"

    def parser(self, path: str) -> Callable[[bytes], list[Found]] | None:
        return _parser(path)

    def origin(self, parse: Parser) -> Origin:
        return _LOCK_ORIGIN if parse is parse_packages_lock else _DEPS_ORIGIN

    def purl(self, name: str, version: str) -> str:
        return purl_of(name, version)

    def identity(self, item: Found) -> Hashable:
        return (item.name.lower(), item.version.lower())  # NuGet ids are case-insensitive


def _parser(path: str) -> Callable[[bytes], list[Found]] | None:
    if path.endswith(".deps.json"):
        return parse_deps_json
    if path.endswith("/packages.lock.json"):
        return parse_packages_lock
    return None
