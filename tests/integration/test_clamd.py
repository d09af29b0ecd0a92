"""``--clamd`` against a real clamd (see clamd_server.py): files streamed with INSTREAM over a
unix socket and over TCP, detections with their layer and visibility, and a clamd that is
down failing the malware scanner with the reason."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from portcullis.analyze.malware.settings import ClamdAddress, MalwareSettings
from portcullis.scan import ScanOptions, scan
from tests.analyzers.malware_samples import EICAR
from tests.conftest import one_line_error, run_cli
from tests.images import kit
from tests.images.kit import directory, file, whiteout
from tests.integration.clamd_server import (
    CLAMD,
    HASH_SIGNATURE,
    HASHED,
    PATTERN,
    PATTERN_SIGNATURE,
    Clamd,
    running_clamd,
)

pytestmark = pytest.mark.skipif(CLAMD is None, reason="needs clamd (apt-get install clamav-daemon)")

PATTERNED = b"some text\n" + PATTERN + b"\nmore text\n" * 100


@pytest.fixture(scope="module")
def clamd() -> Iterator[Clamd]:
    with running_clamd() as server:
        yield server


def image(tmp_path: Path) -> Path:
    spec = kit.ImageSpec(layers=[
        kit.Layer([directory("srv"), file("srv/known.bin", HASHED),
                   file("srv/patterned.txt", PATTERNED), file("srv/clean.txt", "nothing\n"),
                   file("srv/eicar.com", EICAR)]),
        kit.Layer([whiteout("srv/patterned.txt")]),
    ])
    return kit.write_oci_layout(tmp_path / "img", spec, ref="t")


def clamav_findings(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    findings = doc["findings"]
    assert isinstance(findings, list)
    return {f["path"]: f for f in findings if f.get("engine") == "clamav"}


def test_files_are_streamed_to_clamd_over_a_unix_socket(clamd: Clamd, tmp_path: Path) -> None:
    report = scan(f"oci:{image(tmp_path)}:t", ScanOptions(
        scanners=frozenset({"malware"}), malware=MalwareSettings(clamd=clamd.unix)))
    assert report.scanners["malware"].status == "ok", report.scanners["malware"].message
    found = {f.path: f for f in report.findings if f.extra["engine"] == "clamav"}
    assert set(found) == {"/srv/known.bin", "/srv/patterned.txt"}
    known = found["/srv/known.bin"]
    # clamd names databases that are not ClamAV's own "UNOFFICIAL"
    assert known.id.startswith(HASH_SIGNATURE)
    assert known.extra["sha256"] == hashlib.sha256(HASHED).hexdigest()
    assert (known.layer, known.visible) == (0, True)
    patterned = found["/srv/patterned.txt"]
    assert patterned.id.startswith(PATTERN_SIGNATURE)
    assert (patterned.layer, patterned.visible) == (0, False)
    # the same scan's YARA rules still ran
    assert any(f.path == "/srv/eicar.com" and f.extra["engine"] == "yara-x"
               for f in report.findings)


def test_clamd_over_tcp_from_the_command_line(clamd: Clamd, tmp_path: Path) -> None:
    result = run_cli("scan", f"oci:{image(tmp_path)}:t", "--quiet", "--format", "json",
                     "--scanners", "malware", "--clamd", f"127.0.0.1:{clamd.port}")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["scanners"]["malware"]["status"] == "ok"
    found = clamav_findings(doc)
    assert set(found) == {"/srv/known.bin", "/srv/patterned.txt"}
    assert str(found["/srv/known.bin"]["signature"]).startswith(HASH_SIGNATURE)


def test_a_clamd_that_is_down_fails_the_malware_scanner_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "no-clamd.sock"
    report = scan(f"oci:{image(tmp_path)}:t", ScanOptions(
        scanners=frozenset({"malware"}),
        malware=MalwareSettings(clamd=ClamdAddress(socket=str(missing)))))
    status = report.scanners["malware"]
    assert status.status == "failed"
    assert status.message is not None and f"cannot connect to clamd at {missing}" in status.message
    # one failure, not one warning per file
    assert sum("clamd" in w.message for w in report.warnings) == 1
    assert any(f.extra["engine"] == "yara-x" for f in report.findings)  # the others still ran


def test_a_bad_clamd_address_is_a_one_line_error(tmp_path: Path) -> None:
    line = one_line_error(run_cli("scan", f"oci:{image(tmp_path)}:t", "--quiet",
                                  "--scanners", "malware", "--clamd", "nohost"))
    assert "--clamd wants a unix socket path or HOST:PORT" in line
