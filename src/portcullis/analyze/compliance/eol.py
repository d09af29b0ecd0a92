"""End of life: the OS release and the language runtimes an image ships, against dates.

The dates come from ``portcullis/data/eol.json``, or from the newer file ``db update
--eol-source`` wrote beside the vulnerability database. Runtimes are found three ways:

- OS packages whose names carry the runtime version (``python3.11``, ``openjdk-17-jre``,
  ``golang-1.19-go``, ``ruby3.1``, ``php8.2-cli``, Alpine's ``php82``, ``openjdk17``) or whose
  version is the runtime's (``nodejs``, Alpine's ``python3``, ``go``, ``ruby``);
- Go binaries: the toolchain that built them (the ``stdlib`` package of the Go analyzer);
- the official language images' ``*_VERSION`` variables in the image config, when the binary
  they describe is there (its layer is the finding's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import msgspec

from portcullis.analyze.compliance.data import EOL, shipped
from portcullis.errors import ConfigError
from portcullis.layers.view import Filesystem
from portcullis.model.eol import Cycle, EolTable, Product
from portcullis.model.image import ImageInfo
from portcullis.model.package import Package

OS_TYPES = frozenset({"deb", "apk", "rpm"})

# (product, package name pattern, how to read the version): "name" takes group 1 of the
# pattern, "version" the package's own version. Alpine packs "8.2" as "82" (php82).
_PACKAGE_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("python", re.compile(r"^(?:lib)?python(\d\.\d+)(?:-minimal)?$"), "name"),
    ("python", re.compile(r"^python(?:3)?$"), "version"),
    ("nodejs", re.compile(r"^nodejs(?:-current|-lts)?$"), "version"),
    ("java", re.compile(r"^openjdk-?(\d+)(?:-(?:jre|jdk))?(?:-headless)?$"), "name"),
    ("java", re.compile(r"^java-(\d+)-openjdk(?:-headless|-devel)?$"), "name"),
    ("java", re.compile(r"^java-1\.(\d+)\.0-openjdk(?:-headless|-devel)?$"), "name"),
    ("go", re.compile(r"^golang-(\d+\.\d+)-go$"), "name"),
    ("go", re.compile(r"^(?:go|golang)$"), "version"),
    ("ruby", re.compile(r"^(?:lib)?ruby(\d\.\d+)$"), "name"),
    ("ruby", re.compile(r"^ruby$"), "version"),
    ("php", re.compile(r"^php(\d\.\d+)(?:-cli|-fpm|-common)?$"), "name"),
    ("php", re.compile(r"^php(\d)(\d)$"), "alpine"),
    ("php", re.compile(r"^php(?:-cli|-common)?$"), "version"),
)

# Official images: the variable, the product, the binary it describes.
_IMAGE_ENV = (
    ("PYTHON_VERSION", "python", "/usr/local/bin/python3"),
    ("NODE_VERSION", "nodejs", "/usr/local/bin/node"),
    ("GOLANG_VERSION", "go", "/usr/local/go/bin/go"),
    ("RUBY_VERSION", "ruby", "/usr/local/bin/ruby"),
    ("PHP_VERSION", "php", "/usr/local/bin/php"),
    ("JAVA_VERSION", "java", "/opt/java/openjdk/bin/java"),
)

_UPSTREAM = re.compile(r"^(?:\d+:)?v?(?:jdk-?)?(\d+(?:\.\d+)*)")


class Runtime(msgspec.Struct, frozen=True, kw_only=True):
    product: str
    version: str  # as precise as the evidence goes: "3.11", "18.19.0"
    evidence: str  # package name, variable or binary
    path: str | None
    layer: int | None
    os_package: bool = False  # the distribution ships it (and may patch it past upstream's end)


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    product: Product
    cycle: Cycle
    ended: date | None  # the end of all free support, when past
    reduced: date | None  # regular support ended, extended support goes on
    predates: bool = False  # older than every cycle of the table; ``cycle`` is the oldest


def load_table(refreshed: Path | None) -> EolTable:
    """The refreshed file when there is one, else the shipped one."""
    if refreshed is not None and refreshed.is_file():
        try:
            doc = json.loads(refreshed.read_bytes())
        except (OSError, ValueError) as e:
            raise ConfigError(f"end-of-life data {refreshed}: {e}") from e
        return EolTable.from_document(doc, str(refreshed))
    return EolTable.from_document(shipped(EOL), f"portcullis/data/{EOL}")


def upstream(version: str) -> str | None:
    """``1:18.19.0+dfsg-6`` → ``18.19.0``; ``jdk-17.0.9+9`` → ``17.0.9``."""
    match = _UPSTREAM.match(version.strip())
    return match[1] if match else None


def judge(product: Product, version: str, today: date, count_extended: bool) -> Verdict | None:
    cycle = product.cycle_of(version)
    if cycle is None:
        oldest = product.predated(version)
        if oldest is None or oldest.eol is None:
            return None
        final = oldest.extended if count_extended and oldest.extended else oldest.eol
        return Verdict(product=product, cycle=oldest, ended=final, reduced=None, predates=True)
    if cycle.eol is None:
        return None
    final = cycle.extended if count_extended and cycle.extended else cycle.eol
    if today > final:
        return Verdict(product=product, cycle=cycle, ended=final, reduced=None)
    if today > cycle.eol:
        return Verdict(product=product, cycle=cycle, ended=None, reduced=cycle.eol)
    return None


def runtimes(packages: list[Package], fs: Filesystem, image: ImageInfo) -> list[Runtime]:
    """Every runtime found, once per product and version (the first evidence wins)."""
    found: dict[tuple[str, str], Runtime] = {}
    for runtime in _from_packages(packages):
        found.setdefault((runtime.product, runtime.version), runtime)
    for runtime in _from_image_env(fs, image):
        if not any(p == runtime.product and (v.startswith(runtime.version)
                                             or runtime.version.startswith(v))
                   for p, v in found):
            found.setdefault((runtime.product, runtime.version), runtime)
    return [found[k] for k in sorted(found)]


def _from_packages(packages: list[Package]) -> Iterator[Runtime]:
    for package in packages:
        path = package.locations[0].path if package.locations else None
        if package.type == "go-module" and package.name == "stdlib":
            toolchain = upstream(package.version)
            if toolchain:
                yield Runtime(product="go", version=toolchain, path=path,
                              evidence=f"Go binary built with go{toolchain}",
                              layer=package.introduced_in)
            continue
        if package.type not in OS_TYPES:
            continue
        name = package.name.lower()
        for product, pattern, how in _PACKAGE_RULES:
            match = pattern.match(name)
            if match is None:
                continue
            if how == "name":
                version: str | None = match[1]
            elif how == "alpine":
                version = f"{match[1]}.{match[2]}"
            else:
                version = upstream(package.version)
            if version:
                yield Runtime(product=product, version=version, path=path, os_package=True,
                              evidence=f"{package.type} package {package.name} "
                                       f"{package.version}", layer=package.introduced_in)
            break


def _from_image_env(fs: Filesystem, image: ImageInfo) -> Iterator[Runtime]:
    env = dict(item.split("=", 1) for item in image.config.env if "=" in item)
    for variable, product, binary in _IMAGE_ENV:
        value = env.get(variable)
        version = upstream(value) if value else None
        entry = fs.resolve(binary) if version else None
        if version and entry is not None:
            yield Runtime(product=product, version=version, path=binary, layer=entry.layer,
                          evidence=f"{variable}={value} in the image config")
