"""The compliance scanner end to end, on real image archives written by tests/images/kit.py:
real dpkg status stanzas and DEP-5 copyright files, an os-release of Debian 10, a miner
binary copied in; and on the real Debian test image."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from portcullis.model.compliance import CompliancePolicy
from portcullis.scan import ScanOptions, scan
from tests.conftest import one_line_error, run_cli
from tests.images import kit
from tests.images.debian import LAYERS, DebianImage
from tests.integration.test_report_schema import SCHEMA, assert_valid

NOW = datetime(2026, 12, 1, tzinfo=UTC)
STATUS = "var/lib/dpkg/status"
BUSTER = ('PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nNAME="Debian GNU/Linux"\n'
          'VERSION_ID="10"\nVERSION="10 (buster)"\nVERSION_CODENAME=buster\nID=debian\n')
BASE_STEP = "ADD rootfs.tar /"
NMAP_STEP = "RUN /bin/sh -c apt-get install -y nmap python3.7-minimal"
GS_STEP = "RUN /bin/sh -c apt-get install -y ghostscript"
MINER_STEP = "COPY xmrig /usr/local/bin/xmrig # buildkit"


def _stanza(name: str, version: str, source: str | None = None) -> str:
    lines = [f"Package: {name}", "Status: install ok installed", "Priority: optional",
             "Maintainer: Someone <someone@example.org>", "Architecture: amd64"]
    if source:
        lines.append(f"Source: {source}")
    lines += [f"Version: {version}", f"Description: {name}", " A package.", ""]
    return "\n".join(lines) + "\n"


def _copyright(*licenses: str) -> str:
    head = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
            "Upstream-Name: x\n\n")
    return head + "\n".join(f"Files: part{i}/*\nCopyright: 2020 Someone\nLicense: {name}\n"
                            for i, name in enumerate(licenses))


BASE = [_stanza("base-files", "10.3+deb10u13")]
NMAP = [_stanza("nmap", "7.70+dfsg1-6+deb10u2"),
        _stanza("python3.7-minimal", "3.7.3-2+deb10u7", source="python3.7"),
        _stanza("python3", "3.7.3-1", source="python3-defaults")]  # the same Python 3.7
GS = [_stanza("ghostscript", "9.27~dfsg-2+deb10u9")]


def planted_spec() -> kit.ImageSpec:
    return kit.ImageSpec(layers=[
        kit.Layer([kit.file("etc/os-release", BUSTER), kit.file(STATUS, "".join(BASE)),
                   kit.file("usr/share/doc/base-files/copyright", _copyright("GPL-2+"))],
                  created_by=BASE_STEP),
        kit.Layer([kit.file(STATUS, "".join(BASE + NMAP)),
                   kit.file("usr/share/doc/nmap/copyright", _copyright("NPSL", "GPL-2+")),
                   kit.file("usr/bin/nmap", b"\x7fELF nmap", mode=0o755)],
                  created_by=NMAP_STEP),
        kit.Layer([kit.file(STATUS, "".join(BASE + NMAP + GS)),
                   kit.file("usr/share/doc/ghostscript/copyright",
                            _copyright("AGPL-3+", "BSD-3-clause"))],
                  created_by=GS_STEP),
        kit.Layer([kit.file("usr/local/bin/xmrig", b"\x7fELF miner", mode=0o755)],
                  created_by=MINER_STEP),
    ])


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = kit.write_oci_layout(tmp_path_factory.mktemp("planted"), planted_spec(), ref="1")
    return f"oci:{root}:1"


def _findings(ref: str, policy: CompliancePolicy | None = None) -> list[dict[str, Any]]:
    report = scan(ref, ScanOptions(scanners=frozenset({"compliance"}), now=NOW,
                                   compliance=policy))
    assert report.scanners["compliance"].status == "ok"
    return [f.to_dict() for f in report.findings if f.kind == "compliance"]


def _by(findings: list[dict[str, Any]], check_id: str) -> dict[str, dict[str, Any]]:
    return {f["package"]: f for f in findings if f["id"] == check_id}


def test_each_planted_condition_fires_at_its_layer(planted: str) -> None:
    findings = _findings(planted)
    banned = _by(findings, "banned-software")
    assert set(banned) == {"nmap", "xmrig"}
    nmap = banned["nmap"]
    assert (nmap["severity"], nmap["layer"], nmap["instruction"]) == ("HIGH", 1, NMAP_STEP)
    assert (nmap["category"], nmap["path"], nmap["version"]) == (
        "scanner", "/var/lib/dpkg/status", "7.70+dfsg1-6+deb10u2")
    xmrig = banned["xmrig"]
    assert (xmrig["severity"], xmrig["layer"], xmrig["path"]) == (
        "CRITICAL", 3, "/usr/local/bin/xmrig")
    assert xmrig["instruction"] == MINER_STEP and xmrig["category"] == "miner"

    forbidden = _by(findings, "license-forbidden")
    assert set(forbidden) == {"ghostscript"}
    gs = forbidden["ghostscript"]
    assert (gs["severity"], gs["layer"], gs["instruction"]) == ("HIGH", 2, GS_STEP)
    assert gs["licenses"] == ["AGPL-3.0-or-later", "BSD-3-Clause"]

    unknown = _by(findings, "license-unknown")
    assert set(unknown) == {"nmap"}  # NPSL is no SPDX id of the table
    assert unknown["nmap"]["unknown_licenses"] == ["NPSL"]
    assert unknown["nmap"]["severity"] == "LOW"

    os_eol = _by(findings, "os-end-of-life")["debian@10"]
    assert (os_eol["severity"], os_eol["layer"], os_eol["path"]) == (
        "HIGH", 0, "/etc/os-release")
    assert os_eol["instruction"] == BASE_STEP
    assert os_eol["title"] == "Debian 10 (buster) reached end of life on 2024-06-30"
    assert os_eol["source"] == "https://wiki.debian.org/DebianReleases"

    python = _by(findings, "runtime-end-of-life")["python@3.7"]
    assert (python["severity"], python["layer"]) == ("MEDIUM", 1)
    assert python["eol"] == "2023-06-27"
    assert python["evidence"] == "deb package python3.7-minimal 3.7.3-2+deb10u7"
    # nothing else: GPL-2+ (restricted) is not reported by default, python3 is the same 3.7
    assert len(findings) == 6, [f["id"] for f in findings]
    assert len({f["fingerprint"] for f in findings}) == 6


def test_report_marks_the_os_end_of_life(planted: str) -> None:
    report = scan(planted, ScanOptions(scanners=frozenset({"compliance"}), now=NOW))
    assert report.distro is not None and report.distro.eol is True
    without = scan(planted, ScanOptions(scanners=frozenset({"packages"}), now=NOW))
    assert without.distro is not None and without.distro.eol is None
    assert without.scanners["compliance"].status == "skipped"


def test_policy_file_on_the_command_line(planted: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("""
[compliance]
allow = ["nmap"]
count-extended-support = true

[compliance.packages]
ghostscript = "notice"

[compliance.licenses]
NPSL = "restricted"

[compliance.severity]
restricted = "medium"

[[compliance.banned]]
name = "base-files"
versions = "< 11"
reason = "buster base files"

[[compliance.banned]]
name = "python3.7-minimal"
versions = ">= 3.8"
reason = "not this one"
""")
    result = run_cli("scan", planted, "--scanners", "compliance", "--format", "json",
                     "--quiet", "--compliance-policy", str(policy))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_valid(doc)
    findings = [f for f in doc["findings"] if f["kind"] == "compliance"]
    banned = _by(findings, "banned-software")
    assert set(banned) == {"base-files", "xmrig"}  # nmap allowed, python3.7 outside the range
    assert banned["base-files"]["category"] == "policy"
    assert banned["base-files"]["versions"] == "< 11"
    assert banned["base-files"]["reason"] == "buster base files"
    assert _by(findings, "license-forbidden") == {}  # ghostscript re-categorised
    restricted = _by(findings, "license-restricted")
    assert set(restricted) == {"base-files", "nmap"}  # GPL-2+; NPSL now restricted too
    assert restricted["nmap"]["severity"] == "MEDIUM"
    assert _by(findings, "license-unknown") == {}


def test_json_report_is_valid_and_covers_the_compliance_schema(planted: str) -> None:
    result = run_cli("scan", planted, "--scanners", "compliance", "--format", "json",
                     "--quiet")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_valid(doc)
    assert doc["artifact"]["os"]["eol"] is True
    keys = {key for f in doc["findings"] if f["kind"] == "compliance" for key in f}
    assert keys == set(SCHEMA["$defs"]["compliance_finding"]["properties"])


def test_a_bad_policy_file_is_one_line(planted: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[compliance]\nbanned-categories = ['toys']\n")
    line = one_line_error(run_cli("scan", planted, "--compliance-policy", str(policy)))
    assert "unknown banned-categories toys" in line and str(policy) in line


def test_real_debian_image(debian: DebianImage) -> None:
    """Debian 12 minbase plus curl, ca-certificates, pip and npm packages: no forbidden
    license and no banned software. What it does have: licenses Debian names that are no
    SPDX ids (listed, LOW), and bookworm past its regular support on 2026-06-10 (in LTS)."""
    findings = _findings(f"oci:{debian.oci_dir}:{debian.ref}")
    ids = {f["id"] for f in findings}
    assert ids == {"license-unknown", "os-regular-support-ended"}
    assert not [f for f in findings if f["severity"] in ("HIGH", "CRITICAL")]
    bookworm = _by(findings, "os-regular-support-ended")["debian@12"]
    assert (bookworm["severity"], bookworm["layer"]) == ("LOW", LAYERS["base"])
    assert bookworm["extended"] == "2028-06-30"
    unknown = _by(findings, "license-unknown")
    # e.g. util-linux's "BSLA" and perl's "Artistic-dist": Debian's own short names
    assert "BSLA" in unknown["libblkid1"]["unknown_licenses"]
    assert all(f["unknown_licenses"] for f in unknown.values())
    report = scan(f"oci:{debian.oci_dir}:{debian.ref}",
                  ScanOptions(scanners=frozenset({"compliance"}), now=NOW))
    assert report.distro is not None and report.distro.eol is False
