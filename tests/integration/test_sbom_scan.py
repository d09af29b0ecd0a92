"""``scan sbom:FILE``: an SBOM Portcullis wrote for an image, scanned again without the
image, gives the same vulnerability findings as the image (the real CLI, the session's real
database, an image written by the kit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.images.debian import DebianImage
from tests.integration.test_report_schema import assert_valid
from tests.integration.test_vuln_scan import _image


def _vulns(doc: dict) -> list[tuple[str, str, str, tuple[str, ...]]]:  # type: ignore[type-arg]
    return sorted((f["id"], f["package_name"], f["installed_version"],
                   tuple(f["fixed_versions"]))
                  for f in doc["findings"] if f["kind"] == "vulnerability")


@pytest.mark.parametrize("fmt", ["cyclonedx", "spdx-json", "json"])
def test_an_sbom_gives_the_findings_of_its_image(tmp_path: Path, fmt: str) -> None:
    ref = _image(tmp_path, "2.30.0", "4.17.11")
    image = run_cli("scan", ref, "--format", "json", "--quiet",
                    "--report", f"{fmt}={tmp_path / 'sbom.json'}")
    assert image.returncode == 0, image.stderr
    expected = _vulns(json.loads(image.stdout))
    assert len(expected) == 3

    proc = run_cli("scan", f"sbom:{tmp_path / 'sbom.json'}", "--format", "json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert_valid(doc)
    assert _vulns(doc) == expected
    assert doc["artifact"]["source"] == "sbom" and doc["artifact"]["layers"] == []
    assert doc["artifact"]["os"]["family"] == "alpine"
    assert sorted((p["name"], p["version"], p["type"]) for p in doc["packages"]) == [
        ("lodash", "4.17.11", "npm"), ("requests", "2.30.0", "python")]
    assert doc["scanners"]["vuln"]["status"] == "ok"
    assert doc["scanners"]["secret"]["status"] == "skipped"
    assert doc["scanners"]["secret"]["message"] == "not applicable to an SBOM"
    blocked = run_cli("scan", f"sbom:{tmp_path / 'sbom.json'}", "--quiet", "--format", "json",
                      "--fail-on", "critical")
    assert blocked.returncode == 1


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not an SBOM"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.2", "components": []}', "CycloneDX 1.2"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": 3}]}',
     "components[0].name: expected str"),
    ('{"spdxVersion": "SPDX-2.3", "packages": {}}', "packages: expected array"),
    ("[" * 100_000, "nested deeper"),
    ('{"hello": 1}', "not an SBOM"),
])
def test_a_bad_sbom_is_one_line_naming_the_file(tmp_path: Path, content: str,
                                                problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    proc = run_cli("scan", f"sbom:{path}", "--quiet", "--format", "json")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(path) in lines[0] and problem in lines[0], lines[0]


def test_a_missing_sbom_is_exit_2(tmp_path: Path) -> None:
    proc = run_cli("scan", f"sbom:{tmp_path / 'none.json'}", "--quiet")
    assert proc.returncode == 2
    assert "cannot read SBOM" in proc.stderr and "none.json" in proc.stderr


def test_the_real_debian_images_sboms_give_the_same_lookups(debian: DebianImage,
                                                          tmp_path: Path) -> None:
    """Every package of the real Debian image, read back from each SBOM Portcullis writes,
    is looked up exactly as the image scan looks it up (ecosystem, advisory name such as the
    Debian source package, version), under the same distribution."""
    from portcullis.report.cyclonedx import render_cyclonedx
    from portcullis.report.json import write_json
    from portcullis.report.spdx import render_spdx
    from portcullis.sbom_input import read_sbom
    from portcullis.scan import ScanOptions, parse_scanners, scan
    from portcullis.vulndb.match import target_of

    report = scan(f"oci:{debian.oci_dir}:{debian.ref}",
                  ScanOptions(scanners=parse_scanners("packages")))
    expected = sorted({(t.ecosystem, t.name, t.version) for p in report.packages
                       if (t := target_of(p, report.distro)) is not None})
    assert any(e.startswith("Debian:12") for e, _, _ in expected)
    assert any(e == "PyPI" for e, _, _ in expected) and any(e == "npm" for e, _, _ in expected)
    cdx = tmp_path / "image.cdx.json"
    cdx.write_text(render_cyclonedx(report))
    spdx = tmp_path / "image.spdx.json"
    spdx.write_text(json.dumps(render_spdx(report)))
    own = tmp_path / "image.json"
    with own.open("w") as out:
        write_json(report, out)
    for path in (cdx, spdx, own):
        inventory = read_sbom(path)
        assert inventory.distro is not None and report.distro is not None
        assert (inventory.distro.family, inventory.distro.version) == (
            report.distro.family, report.distro.version), path
        got = sorted({(t.ecosystem, t.name, t.version) for p in inventory.packages
                      if (t := target_of(p, inventory.distro)) is not None})
        assert got == expected, path
