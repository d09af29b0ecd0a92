"""``--format junit``: JUnit XML, as Jenkins' ``junit`` step and GitLab's test reports read it.

One test suite per scan item that ran (``vuln``, ``secret``, …, in ``--scanners`` order). In a
suite, one failing test case per blocking finding (the violation's reason and rule in the
failure), an error case when the scanner itself failed, and one passing case when nothing in
it blocks, so a clean suite still shows up. Non-blocking findings are counted in the suite's
properties, not listed as cases: the test report is the gate, the other formats the inventory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from portcullis.model.finding import SCANNER_OF_KIND, Finding
from portcullis.model.report import Report
from portcullis.report.base import WriterSpec

if TYPE_CHECKING:  # imported when a JUnit report is written: discovery lists every writer
    import xml.etree.ElementTree as ET


def write_junit(report: Report, out: TextIO, colour: bool = False) -> None:
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name=f"portcullis {report.image.reference}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in _suites(report):
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode", xml_declaration=False))
    out.write("\n")


def _suites(report: Report) -> list[ET.Element]:
    import xml.etree.ElementTree as ET

    blocking = {v.fingerprint: v for v in report.verdict.violations}
    by_scanner: dict[str, list[dict[str, Any]]] = {}
    for finding in sorted(report.findings, key=Finding.sort_key):
        scanner = SCANNER_OF_KIND.get(finding.kind, finding.kind)
        by_scanner.setdefault(scanner, []).append(report.finding_dict(finding))
    suites = []
    for name, status in report.scanners.items():
        # Scan items that find things; an inventory-only one (packages) shows only failing.
        finds = name in SCANNER_OF_KIND.values() or name in by_scanner
        if status.status == "skipped" or (not finds and status.status != "failed"):
            continue
        suite = ET.Element("testsuite", name=name, time=f"{status.seconds:.3f}")
        found = by_scanner.get(name, [])
        cases = [_failure(name, f, blocking[f["fingerprint"]])
                 for f in found if f["fingerprint"] in blocking]
        if status.status == "failed":
            case = ET.Element("testcase", classname=f"portcullis.{name}",
                              name=f"{name} scanner ran")
            ET.SubElement(case, "error", message=_clean(status.message or "failed"),
                          type="ScannerFailed").text = _clean(status.message or "")
            cases.append(case)
        if not cases:
            cases.append(ET.Element("testcase", classname=f"portcullis.{name}",
                                    name=f"no blocking {name} findings"))
        suite.extend(cases)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
        props = ET.SubElement(suite, "properties")
        for key, value in (("findings", len(found)),
                           ("suppressed", sum(1 for f in found if f["suppressed"])),
                           ("blocking", report.verdict.blocking)):
            ET.SubElement(props, "property", name=key, value=str(value).lower())
        suite.insert(0, suite[-1])  # properties first, as the JUnit schema orders them
        del suite[-1]
        suites.append(suite)
    return suites


def _failure(scanner: str, f: dict[str, Any], violation: Any) -> ET.Element:
    import xml.etree.ElementTree as ET

    where = f["path"] or ""
    if f.get("package_name"):
        where = f"{f['package_name']} {f.get('installed_version') or ''}".strip()
    name = f"{f['id']} {where}".strip()
    case = ET.Element("testcase", classname=f"portcullis.{scanner}.{f['kind']}", name=_clean(name))
    failure = ET.SubElement(case, "failure", message=_clean(violation.reason),
                            type=f["severity"])
    lines = [f"{f['severity']} {f['kind']} {f['id']}: {f['title']}",
             f"rule: {violation.rule}", f"fingerprint: {f['fingerprint']}"]
    if f.get("path"):
        lines.append(f"path: {f['path']}" + (f":{f['line']}" if f.get("line") else ""))
    if f.get("layer") is not None:
        lines.append(f"layer: {f['layer']}")
    if f.get("fixed_versions"):
        lines.append(f"fixed in: {', '.join(f['fixed_versions'])}")
    failure.text = _clean("\n".join(lines))
    return case


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters or lone surrogates (file names from an
    image can hold both): they are written as \\xNN / \\udcNN escapes."""
    out = []
    for ch in text:
        code = ord(ch)
        if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD \
                or code >= 0x10000:
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


WRITER = WriterSpec(name="junit", description="JUnit XML (CI test reports)",
                    write=write_junit, extension="xml")
