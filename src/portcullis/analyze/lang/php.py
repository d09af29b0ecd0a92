"""PHP packages: ``composer.lock`` of applications and ``vendor/composer/installed.json``
(what ``composer install`` put into the vendor directory; Composer 1 wrote a JSON list,
Composer 2 an object with ``packages`` and ``dev-package-names``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
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

_INSTALLED = "/vendor/composer/installed.json"


def purl_of(name: str, version: str) -> str:
    """``vendor/name`` → ``pkg:composer/vendor/name@version`` (version as written)."""
    namespace, _, base = name.rpartition("/")
    purl = PackageURL(type="composer", namespace=namespace or None, name=base, version=version)
    return str(purl.to_string())


def _licenses(item: dict[str, Any]) -> tuple[str, ...]:
    value = item.get("license")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(v.strip() for v in value if isinstance(v, str) and v.strip())


def _found(items: Any, section: str, dev_names: frozenset[str] = frozenset(),
           *, dev: bool = False) -> list[Found]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise ParseError(f"{section!r} is not a list")
    found: list[Found] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name, version = item.get("name"), item.get("version")
        if isinstance(name, str) and isinstance(version, str) and name and version:
            properties = (("dev", "true"),) if dev or name in dev_names else ()
            found.append(Found(name, version, _licenses(item), properties=properties))
    return found


def parse_composer_lock(data: bytes) -> list[Found]:
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise ParseError("composer.lock is not a JSON object")
    if "packages" not in doc and "packages-dev" not in doc:
        raise ParseError("composer.lock without 'packages'")
    return (_found(doc.get("packages"), "packages")
            + _found(doc.get("packages-dev"), "packages-dev", dev=True))


def parse_installed_json(data: bytes) -> list[Found]:
    doc = load_json(data)
    if isinstance(doc, list):  # Composer 1
        return _found(doc, "installed.json")
    if not isinstance(doc, dict) or "packages" not in doc:
        raise ParseError("installed.json is neither a list nor an object with 'packages'")
    dev_names = doc.get("dev-package-names")
    names = frozenset(n for n in dev_names if isinstance(n, str)) if isinstance(
        dev_names, list) else frozenset()
    return _found(doc["packages"], "packages", names)


# the analyzer ---------------------------------------------------------------------------------


_INSTALLED_ORIGIN = Origin("composer-installed", (("source", "installed"),))
_LOCK_ORIGIN = Origin("composer-lockfile", (("source", "lockfile"),), declared=True)


class ComposerPackages(PackageFiles):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="composer",
        version=1,
        scanners=frozenset({"packages"}),
        paths=("*/composer.lock", "*/vendor/composer/installed.json"),
        stage=STAGE_INVENTORY,
    )
    describes = "PHP composer file"
    package_type = "php-composer"

    def parser(self, path: str) -> Callable[[bytes], list[Found]] | None:
        return _parser(path)

    def origin(self, parse: Parser) -> Origin:
        return _LOCK_ORIGIN if parse is parse_composer_lock else _INSTALLED_ORIGIN

    def purl(self, name: str, version: str) -> str:
        return purl_of(name, version)

    def identity(self, item: Found) -> Hashable:
        return (item.name.lower(), item.version)  # Composer names are case-insensitive


def _parser(path: str) -> Callable[[bytes], list[Found]] | None:
    if path.endswith(_INSTALLED):
        return parse_installed_json
    if path.endswith("/composer.lock") and "/vendor/" not in path:
        # a composer.lock inside vendor/ belongs to a dependency's own development
        return parse_composer_lock
    return None
