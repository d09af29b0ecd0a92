"""Issue 9 acceptance on the real Debian test image: its deliberately old pip and npm packages
get every vulnerability the OSV records in tests/data/osv list for their versions and no other;
an image whose packages are all at fixed versions gets none.

The expected sets are computed here from the records themselves, by a plain reading of OSV
ranges (``introduced`` ≤ v < ``fixed``, or ≤ ``last_affected``, plus the explicit ``versions``
list) with ``packaging`` for PyPI and integer tuples for npm: nothing is taken from the
matcher under test or from its output. The installed versions come from what pip and npm
reported when the image was built (``pip list`` / ``npm ls``), not from the scanner.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from tests.conftest import run_cli
from tests.images import kit
from tests.images.debian import NPM_PREFIX, PIP_TARGET, DebianImage
from tests.osv_exports import OSV

pytestmark = pytest.mark.slow

ECOSYSTEMS = {"python": "PyPI", "npm": "npm"}


def _norm(ecosystem: str, name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower() if ecosystem == "PyPI" else name


def _npm_key(version: str) -> tuple[tuple[int, ...], int, str]:
    """Enough of semver for these records: numeric core, a pre-release sorts before it."""
    core, _, pre = version.partition("-")
    return tuple(int(p) for p in core.split(".")), 0 if pre else 1, pre


def _before(ecosystem: str, a: str, b: str) -> bool:
    if ecosystem == "PyPI":
        return Version(a) < Version(b)
    return _npm_key(a) < _npm_key(b)


def _in_range(ecosystem: str, version: str, events: list[dict[str, str]]) -> bool:
    """Events read pairwise: each ``introduced`` opens an interval the next ``fixed`` or
    ``last_affected`` closes (an interval left open runs to infinity)."""
    start: str | None = None
    for event in events:
        if "introduced" in event:
            start = event["introduced"]
            continue
        if start is None:
            continue
        above = start == "0" or not _before(ecosystem, version, start)
        if "fixed" in event and above and _before(ecosystem, version, event["fixed"]):
            return True
        if "last_affected" in event and above and not _before(
                ecosystem, event["last_affected"], version):
            return True
        start = None
    return start is not None and (start == "0" or not _before(ecosystem, version, start))


def _records(ecosystem: str) -> Iterator[dict[str, Any]]:
    for path in sorted((OSV / ecosystem).glob("*.json")):
        yield json.loads(path.read_text())


def _affects(record: dict[str, Any], ecosystem: str, name: str, version: str) -> bool:
    if record.get("withdrawn"):
        return False
    for affected in record.get("affected", []):
        package = affected.get("package") or {}
        if package.get("ecosystem") != ecosystem or _norm(ecosystem, package["name"]) != name:
            continue
        if version in affected.get("versions", []):
            return True
        if any(_in_range(ecosystem, version, r["events"]) for r in affected.get("ranges", [])
               if r["type"] in ("ECOSYSTEM", "SEMVER")):
            return True
    return False


def _expected(packages: set[tuple[str, str, str]]) -> dict[tuple[str, str], set[str]]:
    """(ecosystem, name, version) → {(name, record id): the record's id and aliases}."""
    out: dict[tuple[str, str], set[str]] = {}
    for ecosystem, name, version in packages:
        for record in _records(ecosystem):
            if _affects(record, ecosystem, name, version):
                out[(name, record["id"])] = {record["id"], *record.get("aliases", [])}
    return out


def _fixed_versions(ecosystem: str, name: str) -> list[str]:
    return [event["fixed"] for record in _records(ecosystem)
            for affected in record.get("affected", [])
            if (affected.get("package") or {}).get("ecosystem") == ecosystem
            and _norm(ecosystem, affected["package"]["name"]) == name
            for r in affected.get("ranges", []) if r["type"] in ("ECOSYSTEM", "SEMVER")
            for event in r["events"] if "fixed" in event]


def _installed(debian: DebianImage) -> set[tuple[str, str, str]]:
    pip = {("PyPI", _norm("PyPI", p["name"]), p["version"])
           for p in json.loads(debian.pip_list.read_text())}

    def tree(node: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
        for name, info in (node.get("dependencies") or {}).items():
            yield "npm", name, info["version"]
            yield from tree(info)

    return pip | set(tree(json.loads(debian.npm_list.read_text())))


def _findings(ref: str) -> list[dict[str, Any]]:
    proc = run_cli("scan", ref, "--format", "json", "--quiet", "--scanners", "packages,vuln")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["scanners"]["vuln"]["status"] == "ok", doc["scanners"]["vuln"]
    return [f for f in doc["findings"] if f["kind"] == "vulnerability"]


def _assert_same(findings: list[dict[str, Any]],
                 expected: dict[tuple[str, str], set[str]]) -> None:
    """Every expected record is named by one finding of its package (its id or an alias),
    and every finding names an expected record: records that are aliases of each other
    (GHSA-j8r2-6x86-q33q and PYSEC-2023-74) are one finding."""
    names = {(f["package_name"], i) for f in findings for i in (f["id"], *f["aliases"])}
    missing = sorted(k for k in expected if k not in names)
    assert not missing, f"vulnerabilities the records list but the scan missed: {missing}"
    extra = [(f["package_name"], f["id"], f["installed_version"]) for f in findings
             if not any(f["package_name"] == name and ({f["id"], *f["aliases"]} & ids)
                        for (name, _), ids in expected.items())]
    assert not extra, f"findings outside the records' ranges: {extra}"


def test_the_old_packages_have_every_listed_vulnerability_and_no_other(
        debian: DebianImage) -> None:
    installed = _installed(debian)
    expected = _expected(installed)
    # The image's pins are old on purpose: the check below must have something to find, in
    # both ecosystems, and near misses (urllib3 1.26.18 is the first version PYSEC-2023-212
    # does not affect; certifi 2023.7.22 and requests 2.31.0 likewise) must stay unfound.
    assert {name for name, _ in expected} >= {"idna", "express", "body-parser"}
    findings = _findings(debian.oci_ref)
    _assert_same(findings, expected)
    by_package = {(f["package_name"], f["id"]): f for f in findings}
    assert len(by_package) == len(findings), "one finding per package and vulnerability"
    for finding in findings:
        version = next(v for e, n, v in installed if n == _norm(e, finding["package_name"]))
        assert finding["installed_version"] == version
        assert finding["layer"] == (debian.layers["pip"] if finding["package"].startswith(
            "pkg:pypi/") else debian.layers["npm"])


def _fixed_image(tmp_path: Path, debian: DebianImage,
                 packages: set[tuple[str, str, str]]) -> str:
    """The Debian image's dpkg status and os-release, and its pip and npm packages, each at a
    version past every ``fixed`` event the records give it (unchanged when there is none)."""
    entries = [
        kit.file("etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
                 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
                 "ID=debian\n"),
        kit.file("var/lib/dpkg/status", debian.rootfs_dpkg_status.read_bytes()),
    ]
    for ecosystem, name, installed in sorted(packages):
        version = installed
        for fixed in _fixed_versions(ecosystem, name):
            version = fixed if _before(ecosystem, version, fixed) else version
        if ecosystem == "PyPI":
            entries.append(kit.file(
                f"{PIP_TARGET.lstrip('/')}/{name.replace('-', '_')}-{version}.dist-info/METADATA",
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"))
        else:
            entries.append(kit.file(
                f"{NPM_PREFIX.lstrip('/')}/node_modules/{name}/package.json",
                json.dumps({"name": name, "version": version, "license": "MIT"})))
    spec = kit.ImageSpec(layers=[kit.Layer(entries)])
    return f"oci:{kit.write_oci_layout(tmp_path / 'fixed', spec, ref='t')}:t"


def test_an_image_at_fixed_versions_has_no_vulnerability(debian: DebianImage,
                                                         tmp_path: Path) -> None:
    installed = _installed(debian)
    ref = _fixed_image(tmp_path, debian, installed)
    proc = run_cli("scan", ref, "--format", "json", "--quiet", "--scanners", "packages,vuln")
    doc = json.loads(proc.stdout)
    scanned = {(p["type"], p["name"], p["version"]) for p in doc["packages"]
               if p["type"] in ECOSYSTEMS}
    # The image really holds the bumped packages, and the independent reading agrees that
    # no record applies to any of them: the zero below is about matching, not an empty scan.
    assert {n for _, n, _ in scanned} >= {"idna", "express", "body-parser", "urllib3"}
    assert len(scanned) == len({(e, n) for e, n, _ in installed})
    assert _expected({(ECOSYSTEMS[t], _norm(ECOSYSTEMS[t], n), v) for t, n, v in scanned}) == {}
    assert sum(p["type"] == "deb" for p in doc["packages"]) > 50
    assert doc["scanners"]["vuln"]["status"] == "ok"
    assert [f for f in doc["findings"] if f["kind"] == "vulnerability"] == []
    strict = run_cli("scan", ref, "--format", "json", "--quiet", "--fail-on", "low",
                     "--scanners", "packages,vuln")
    assert strict.returncode == 0, strict.stdout[-2000:]
