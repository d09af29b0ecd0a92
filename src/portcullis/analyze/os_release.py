"""Which operating system the image is built on (fills ``artifact.os``).

Sources in order of trust: /etc/os-release, /usr/lib/os-release, then the distro-specific
release files for images that predate os-release or strip it.
"""

from __future__ import annotations

import re
import shlex
from typing import ClassVar

import msgspec

from portcullis.analyze.base import (
    STAGE_ENVIRONMENT,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
)
from portcullis.layers.view import Filesystem
from portcullis.model.distro import Distro
from portcullis.model.finding import Warning

# Release files are a few lines; a larger one is not read (shlex would take a minute on 64 MB).
MAX_RELEASE_FILE = 64 * 1024
_MAX_SHELL_VALUE = 1024

# os-release ID → family name used across the project (and by the vulnerability DB).
FAMILIES = {
    "debian": "debian",
    "ubuntu": "ubuntu",
    "alpine": "alpine",
    "rhel": "redhat",
    "redhat": "redhat",
    "centos": "centos",
    "rocky": "rocky",
    "almalinux": "alma",
    "ol": "oracle",
    "amzn": "amazon",
    "fedora": "fedora",
    "sles": "suse",
    "sles_sap": "suse",
    "sle-micro": "suse",
    "opensuse-leap": "opensuse",
    "opensuse-tumbleweed": "opensuse",
    "opensuse": "opensuse",
    "photon": "photon",
    "wolfi": "wolfi",
    "chainguard": "chainguard",
    "mariner": "mariner",
    "azurelinux": "azurelinux",
    "arch": "arch",
    "scientific": "scientific",
}

_RELEASE_FILES = (
    ("/etc/redhat-release", re.compile(r"^(?P<name>.+?) release (?P<version>[\d.]+)")),
    ("/etc/centos-release", re.compile(r"^(?P<name>.+?) release (?P<version>[\d.]+)")),
    ("/etc/system-release", re.compile(r"^(?P<name>.+?) release (?P<version>[\d.]+)")),
)

_NAME_FAMILY = (
    ("red hat", "redhat"),
    ("centos", "centos"),
    ("rocky", "rocky"),
    ("alma", "alma"),
    ("oracle", "oracle"),
    ("scientific", "scientific"),
    ("fedora", "fedora"),
    ("amazon", "amazon"),
)


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines with shell quoting, as os-release(5) specifies."""
    fields: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            # shlex builds a token by appending one character at a time (quadratic): long
            # values, which no real release file has, just lose their quotes.
            if len(value) > _MAX_SHELL_VALUE:
                raise ValueError("too long for shlex")
            parts = shlex.split(value, comments=False, posix=True)
        except ValueError:
            parts = [value.strip("\"'")]
        fields[key.strip()] = " ".join(parts)
    return fields


def _from_os_release(fields: dict[str, str], path: str, layer: int | None) -> Distro | None:
    os_id = fields.get("ID", "").lower()
    family = FAMILIES.get(os_id)
    if family is None:
        for like in fields.get("ID_LIKE", "").lower().split():
            if like in FAMILIES:
                family = FAMILIES[like]
                break
    if family is None and not os_id:
        return None
    codename = fields.get("VERSION_CODENAME") or fields.get("UBUNTU_CODENAME")
    if not codename and (m := re.search(r"\(([a-z]+)\)", fields.get("VERSION", ""))):
        codename = m.group(1)  # Debian before 9: VERSION="7 (wheezy)"
    return Distro(
        family=family or os_id,
        name=fields.get("NAME") or os_id,
        version=fields.get("VERSION_ID") or None,
        version_codename=codename or None,
        id_like=tuple(fields.get("ID_LIKE", "").split()),
        pretty_name=fields.get("PRETTY_NAME") or None,
        source_path=path,
        layer=layer,
    )


class OsRelease:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="os-release",
        version=1,
        paths=(
            "/etc/os-release",
            "/usr/lib/os-release",
            "/etc/alpine-release",
            "/etc/redhat-release",
            "/etc/centos-release",
            "/etc/system-release",
            "/etc/debian_version",
            "/etc/lsb-release",
            "/etc/system-release-cpe",
        ),
        stage=STAGE_ENVIRONMENT,
    )

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        distro = detect(fs)
        result = AnalysisResult(distro=distro)
        for path in self.spec.paths:
            entry = fs.resolve(path)
            if entry is not None and entry.meta.size > MAX_RELEASE_FILE:
                result.warnings.append(Warning(
                    message=f"release file of {entry.meta.size} bytes is larger than "
                            f"{MAX_RELEASE_FILE}; not read", path=entry.path, layer=entry.layer,
                    analyzer=self.spec.name))
        if distro is None:
            result.warnings.append(
                Warning(message="operating system not recognised; OS packages are not scanned",
                        analyzer=self.spec.name)
            )
        return result


def _read(fs: Filesystem, path: str) -> tuple[str, int | None] | None:
    entry = fs.resolve(path)
    if entry is None or entry.meta.size > MAX_RELEASE_FILE:
        return None
    data = fs.read_entry(entry)
    if data is None:
        return None
    return data.decode("utf-8", "replace"), entry.layer


def detect(fs: Filesystem) -> Distro | None:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        found = _read(fs, path)
        if found:
            distro = _from_os_release(parse_os_release(found[0]), path, found[1])
            if distro is not None:
                return _refine_debian(fs, distro)
    found = _read(fs, "/etc/alpine-release")
    if found:
        return Distro(family="alpine", name="Alpine Linux", version=found[0].strip() or None,
                      source_path="/etc/alpine-release", layer=found[1])
    for path, pattern in _RELEASE_FILES:
        found = _read(fs, path)
        if found and (m := pattern.match(found[0].strip())):
            name = m.group("name").strip()
            family = next((f for key, f in _NAME_FAMILY if key in name.lower()), name.lower())
            return Distro(family=family, name=name, version=m.group("version"),
                          source_path=path, layer=found[1])
    lsb = _from_lsb_release(fs)
    if lsb is not None:
        return lsb
    found = _read(fs, "/etc/system-release-cpe")
    if found and (m := _CPE.match(found[0].strip())):
        vendor, product, version = m.group(1), m.group(2), m.group(3)
        family = FAMILIES.get(vendor, vendor)
        return Distro(family=family, name=f"{vendor} {product}".title(), version=version,
                      source_path="/etc/system-release-cpe", layer=found[1])
    found = _read(fs, "/etc/debian_version")
    if found:
        text = found[0].strip()
        version = text.split(".")[0] if text[:1].isdigit() else None
        return Distro(family="debian", name="Debian GNU/Linux", version=version,
                      version_codename=None if version else text.split("/")[0] or None,
                      source_path="/etc/debian_version", layer=found[1])
    return None


_CPE = re.compile(r"^cpe:/o:([a-z0-9_.-]+):([a-z0-9_.-]+):([0-9][0-9.]*)")


def _from_lsb_release(fs: Filesystem) -> Distro | None:
    """Old Ubuntu (10.04) images have only /etc/lsb-release."""
    found = _read(fs, "/etc/lsb-release")
    if not found:
        return None
    fields = parse_os_release(found[0])
    os_id = fields.get("DISTRIB_ID", "").lower()
    if not os_id:
        return None
    return Distro(family=FAMILIES.get(os_id, os_id), name=fields.get("DISTRIB_ID", os_id),
                  version=fields.get("DISTRIB_RELEASE") or None,
                  version_codename=fields.get("DISTRIB_CODENAME") or None,
                  pretty_name=fields.get("DISTRIB_DESCRIPTION") or None,
                  source_path="/etc/lsb-release", layer=found[1])


def _refine_debian(fs: Filesystem, distro: Distro) -> Distro:
    """Debian testing/sid has no VERSION_ID; debian_version then names the codename."""
    if distro.family != "debian" or distro.version:
        return distro
    found = _read(fs, "/etc/debian_version")
    if not found:
        return distro
    text = found[0].strip()
    if text[:1].isdigit():
        return msgspec.structs.replace(distro, version=text.split(".")[0])
    return distro
