"""A Report rebuilt from its JSON form (model/report_json.py) is the report again: its JSON is
the same, and every writer prints from it what it prints from the scan's own Report, except
the details the JSON does not carry (named in _without_unstored below).

Reports come from the real scanner on kit images: the console's image (a vulnerable npm
package from the test database, a private key, the EICAR file, baseline problems) with a
policy suppression and a --baseline, and the kitchen-sink image of test_report_schema.py."""

from __future__ import annotations

import io

import pytest
from msgspec.structs import replace

from portcullis.errors import DocumentError
from portcullis.model.files import Location
from portcullis.model.finding import Severity
from portcullis.model.report import Report
from portcullis.model.report_json import read_report
from portcullis.policy.baseline import Baseline
from portcullis.policy.load import parse_policy
from portcullis.policy.verdict import Gate
from portcullis.report.base import writers
from portcullis.scan import ScanOptions, scan
from tests.console.reports import console_image
from tests.images import kit
from tests.integration.test_report_schema import kitchen_sink

POLICY = """\
version: 1
name: shop
rules:
  vulnerability: {severity: HIGH}
suppressions:
  - kind: secret
    path: /app/id_rsa
    reason: a test key
    expires: 2099-12-31
"""

# Writers that print nothing the JSON report leaves out: byte-equal from a stored report.
# JUnit lists the scan items in the scan's order, the JSON by name; the SBOMs print package
# and image details the JSON does not hold.
EXACT = {"json", "sarif", "html", "table"}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    tmp = tmp_path_factory.mktemp("roundtrip")
    console = kit.write_docker_archive(tmp / "console.tar", console_image(), style="skopeo")
    first = scan(f"docker-archive:{console}", ScanOptions(fail_on=Severity.HIGH))
    # Half the findings known: the rest are marked new.
    known = frozenset(f.fingerprint for f in first.findings[::2])
    gate = Gate(policy=parse_policy(POLICY, "shop.yaml"), fail_on=Severity.HIGH,
                baseline=Baseline(path="old.json", fingerprints=known))
    gated = scan(f"docker-archive:{console}", ScanOptions(gate=gate))
    kit.write_oci_layout(tmp / "oci", kitchen_sink(), ref="1.0")
    sink = scan(f"oci:{tmp / 'oci'}:1.0", ScanOptions(fail_on=Severity.MEDIUM))
    return {"console": first, "gated": gated, "sink": sink}


def written(fmt: str, report: Report) -> str:
    out = io.StringIO()
    writers()[fmt].write(report, out, False)
    return out.getvalue()


def _without_unstored(report: Report) -> Report:
    """``report`` less what its JSON form does not hold."""
    packages = tuple(replace(p, found_by="", source_version=None, properties={},
                             locations=(Location(path=p.locations[0].path,
                                                 layer=p.introduced_in),)
                             if p.locations else ())
                     for p in report.packages)
    distro = report.distro and replace(report.distro, id_like=(), source_path=None, layer=None)
    info = report.image
    config = replace(info.config, history=(), created=None)
    layers = tuple(replace(layer, media_type=None) for layer in info.layers)
    # The JSON lists scanners by name with their seconds rounded to milliseconds.
    scanners = {name: replace(result, seconds=round(result.seconds, 3))
                for name, result in sorted(report.scanners.items())}
    return replace(report, packages=packages, distro=distro, scanners=scanners,
                   image=replace(info, annotations={}, config=config, layers=layers))


def test_the_reports_cover_what_the_json_can_say(reports: dict[str, Report]) -> None:
    gated = reports["gated"].to_dict()
    kinds = {f["kind"] for r in reports.values() for f in r.to_dict()["findings"]}
    assert {"vulnerability", "malware", "secret", "baseline", "compliance", "file"} <= kinds
    assert any(f["suppressed"] for f in gated["findings"])
    assert {f["new"] for f in gated["findings"]} == {True, False}
    assert gated["verdict"]["baseline"] and gated["verdict"]["violations"]
    assert all(r.to_dict()["baselines"] and r.to_dict()["packages"] for r in reports.values())


@pytest.mark.parametrize("name", ["console", "gated", "sink"])
def test_json_round_trip_is_exact(reports: dict[str, Report], name: str) -> None:
    doc = reports[name].to_dict()
    assert read_report(doc).to_dict() == doc


@pytest.mark.parametrize("name", ["console", "gated", "sink"])
def test_every_writer_prints_the_same_from_the_stored_form(reports: dict[str, Report],
                                                           name: str) -> None:
    report = reports[name]
    rebuilt = read_report(report.to_dict())
    bare = _without_unstored(report)
    exact = set()
    for fmt in writers():
        again = written(fmt, rebuilt)
        assert again == written(fmt, bare), fmt
        if again == written(fmt, report):
            exact.add(fmt)
    assert exact == EXACT


def test_a_document_of_the_wrong_shape_is_one_clear_error(reports: dict[str, Report]) -> None:
    doc = reports["console"].to_dict()
    del doc["verdict"]
    with pytest.raises(DocumentError, match=r"^stored: not a Portcullis JSON report "
                                            r"\(missing field 'verdict'\)$"):
        read_report(doc, "stored")
    doc = reports["console"].to_dict()
    doc["findings"][0]["severity"] = "HUGE"
    with pytest.raises(DocumentError, match="unknown severity 'HUGE'"):
        read_report(doc)

