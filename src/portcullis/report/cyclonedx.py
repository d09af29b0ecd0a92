"""``--format cyclonedx``: a CycloneDX 1.6 JSON SBOM of the image.

The image is the root component (``metadata.component``, type ``container``); the operating
system (``report.distro``) is an ``operating-system`` component and each package a ``library``
component carrying its layer as ``portcullis:layer:*`` properties. Vulnerability findings are
the ``vulnerabilities`` section, each affecting its packages' components. The output is a pure
function of the report: the serial number is a UUIDv5 of the report's content and the timestamp is
``report.created_at``.

What it shares with the SPDX writer lives in ``report/sbom.py``. cyclonedx-python-lib is
imported only when the writer runs, so listing the formats stays cheap.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, TextIO

from portcullis.model.finding import Finding
from portcullis.model.package import Package
from portcullis.model.report import Report
from portcullis.report.base import WriterSpec
from portcullis.report.sbom import (
    created_utc,
    image_digest,
    image_purl,
    layer_of,
    package_key,
    report_uuid,
    sorted_packages,
)

if TYPE_CHECKING:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
    from cyclonedx.model.vulnerability import (
        Vulnerability,
        VulnerabilityAnalysis,
        VulnerabilityRating,
    )

PROP_LAYER_INDEX = "portcullis:layer:index"
PROP_LAYER_DIFF_ID = "portcullis:layer:diff_id"
PROP_LAYER_DIGEST = "portcullis:layer:digest"
PROP_PATH = "portcullis:path"
PROP_FOUND_BY = "portcullis:found_by"


def layer_properties(report: Report, index: int | None) -> list[tuple[str, str]]:
    if index is None:
        return []
    props = [(PROP_LAYER_INDEX, str(index))]
    layer = layer_of(report, index)
    if layer is not None:
        props.append((PROP_LAYER_DIFF_ID, layer.diff_id))
        if layer.digest:
            props.append((PROP_LAYER_DIGEST, layer.digest))
    return props


# --------------------------------------------------------------------------- CycloneDX


def _licenses(values: tuple[str, ...]) -> list[LicenseExpression | DisjunctiveLicense]:
    """SPDX ids as ids, a lone compound SPDX expression as an expression, the rest as names.

    CycloneDX allows either a list of licenses or exactly one expression, never both.
    """
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
    from cyclonedx.spdx import fixup_id, is_expression

    texts = sorted({v.strip() for v in values if v and v.strip()})
    if len(texts) == 1 and fixup_id(texts[0]) is None and is_expression(texts[0]):
        return [LicenseExpression(texts[0])]
    out: list[LicenseExpression | DisjunctiveLicense] = []
    for text in texts:
        spdx_id = fixup_id(text)
        out.append(DisjunctiveLicense(id=spdx_id) if spdx_id else DisjunctiveLicense(name=text))
    return out


def _properties(pairs: list[tuple[str, str]]) -> list[Property]:
    from cyclonedx.model import Property

    return [Property(name=k, value=v) for k, v in pairs]


def _package_component(report: Report, package: Package, bom_ref: str) -> Component:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    purl: PackageURL | None = None
    if package.purl:
        try:
            purl = PackageURL.from_string(package.purl)
        except ValueError:
            purl = None
    pairs = layer_properties(report, package.introduced_in)
    pairs += [(PROP_PATH, loc.path) for loc in package.locations]
    if package.found_by:
        pairs.append((PROP_FOUND_BY, package.found_by))
    pairs.append(("portcullis:package:type", package.type))
    if package.source_name:
        pairs.append(("portcullis:package:source_name", package.source_name))
    if package.source_version:
        pairs.append(("portcullis:package:source_version", package.source_version))
    pairs += [(f"portcullis:package:{k}", v) for k, v in sorted(package.properties.items())]
    return Component(
        type=ComponentType.LIBRARY,
        name=package.name,
        version=package.version,
        purl=purl,
        bom_ref=bom_ref,
        licenses=_licenses(package.licenses),
        properties=_properties(pairs),
    )


def _os_component(report: Report) -> Component | None:
    from cyclonedx.model.component import Component, ComponentType

    distro = report.distro
    if distro is None:
        return None
    pairs = layer_properties(report, distro.layer)
    if distro.source_path:
        pairs.append((PROP_PATH, distro.source_path))
    if distro.version_codename:
        pairs.append(("portcullis:os:codename", distro.version_codename))
    if distro.eol is not None:
        pairs.append(("portcullis:os:eol", "true" if distro.eol else "false"))
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=distro.family,
        version=distro.version,
        description=distro.pretty_name or distro.name,
        bom_ref=f"os:{distro.family}@{distro.version or 'unknown'}",
        properties=_properties(pairs),
    )


def _root_component(report: Report) -> Component:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    info = report.image
    purl = image_purl(info)
    digest = image_digest(info)
    pairs = [("portcullis:image:source", info.source),
             ("portcullis:image:platform", str(info.platform))]
    if info.manifest_digest:
        pairs.append(("portcullis:image:manifest_digest", info.manifest_digest))
    if info.config_digest:
        pairs.append(("portcullis:image:config_digest", info.config_digest))
    pairs += [("portcullis:image:repo_tag", t) for t in sorted(info.repo_tags)]
    for layer in info.layers:
        pairs.append((f"portcullis:image:layer:{layer.index}:diff_id", layer.diff_id))
        if layer.digest:
            pairs.append((f"portcullis:image:layer:{layer.index}:digest", layer.digest))
    return Component(
        type=ComponentType.CONTAINER,
        name=info.reference,
        version=digest,
        purl=PackageURL.from_string(purl) if purl else None,
        bom_ref=purl or f"image:{digest or info.reference}",
        properties=_properties(pairs),
    )


# --------------------------------------------------------------------------- vulnerabilities

# OpenVEX justifications in CycloneDX's words (CycloneDX has no equivalent for the others).
_JUSTIFICATIONS = {
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}
_CVSS_METHODS = {"CVSS:4.0": "CVSS_V4", "CVSS:3.1": "CVSS_V3_1", "CVSS:3.0": "CVSS_V3"}


def _vulnerabilities(report: Report, refs: dict[str, str]) -> list[Vulnerability]:
    """One CycloneDX vulnerability per id, affecting the components of its packages; its
    rating is the finding's severity (and CVSS score and vector when known). A vulnerability
    every finding of which a VEX document resolved carries that analysis."""
    from cyclonedx.model.vulnerability import BomTarget, Vulnerability

    grouped: dict[str, list[Finding]] = {}
    for finding in sorted(report.findings, key=Finding.sort_key):
        if finding.kind == "vulnerability":
            grouped.setdefault(finding.id, []).append(finding)
    out = []
    for vuln_id, findings in sorted(grouped.items()):
        first = findings[0]
        targets = sorted({refs[p] for f in findings
                          if isinstance(p := f.extra.get("package"), str) and p in refs})
        out.append(Vulnerability(
            bom_ref=f"vuln:{vuln_id}",
            id=vuln_id,
            description=first.title,
            ratings=[_rating(first)],
            recommendation=_recommendation(findings),
            analysis=_analysis(report, findings),
            affects=[BomTarget(ref=ref) for ref in targets],
        ))
    return out


def _rating(finding: Finding) -> VulnerabilityRating:
    from decimal import Decimal

    from cyclonedx.model.vulnerability import (
        VulnerabilityRating,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
    )

    cvss = finding.extra.get("cvss")
    score = cvss.get("score") if isinstance(cvss, dict) else None
    vector = cvss.get("vector") if isinstance(cvss, dict) else None
    method = None
    if isinstance(vector, str):
        name = next((m for prefix, m in _CVSS_METHODS.items() if vector.startswith(prefix)),
                    "CVSS_V2")
        method = VulnerabilityScoreSource[name]
    return VulnerabilityRating(
        severity=VulnerabilitySeverity[finding.severity.name],
        score=Decimal(str(score)) if isinstance(score, int | float) else None,
        vector=vector if isinstance(vector, str) else None,
        method=method,
    )


def _recommendation(findings: list[Finding]) -> str | None:
    fixes = sorted({v for f in findings for v in f.extra.get("fixed_versions") or []})
    return f"upgrade to {', '.join(fixes)}" if fixes else None


def _analysis(report: Report, findings: list[Finding]) -> VulnerabilityAnalysis | None:
    from cyclonedx.model.impact_analysis import ImpactAnalysisJustification, ImpactAnalysisState
    from cyclonedx.model.vulnerability import VulnerabilityAnalysis

    marks = [report.marks.get(f.fingerprint) for f in findings]
    said = [m.suppressed for m in marks if m is not None and m.suppressed is not None]
    if len(said) != len(findings) or any(s.by != "vex" for s in said):
        return None
    stated = said[0].justification or ""
    justification = _JUSTIFICATIONS.get(stated, stated)
    known = {j.value: j for j in ImpactAnalysisJustification}
    return VulnerabilityAnalysis(state=ImpactAnalysisState.NOT_AFFECTED,
                                 justification=known.get(justification),
                                 detail=said[0].reason)


def render_cyclonedx(report: Report) -> str:
    """The CycloneDX 1.6 JSON document for ``report`` (no trailing newline)."""
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output.json import JsonV1Dot6

    root = _root_component(report)
    tool = Component(type=ComponentType.APPLICATION, name="portcullis",
                     version=report.tool_version)
    components: list[Component] = []
    os_component = _os_component(report)
    if os_component is not None:
        components.append(os_component)
    packages = sorted_packages(report)
    purl_counts: dict[str, int] = {}
    for package in packages:
        if package.purl:
            purl_counts[package.purl] = purl_counts.get(package.purl, 0) + 1
    used: set[str] = {str(root.bom_ref.value), *(str(c.bom_ref.value) for c in components)}
    refs: dict[str, str] = {}  # a finding's "package" → its component's bom-ref
    for package in packages:
        if package.purl and purl_counts[package.purl] == 1 and package.purl not in used:
            bom_ref = package.purl
        else:
            bom_ref = f"pkg-{package_key(package)[:20]}"
            n = 2
            while bom_ref in used:
                bom_ref = f"pkg-{package_key(package)[:20]}-{n}"
                n += 1
        used.add(bom_ref)
        refs.setdefault(package.purl or f"{package.type}:{package.name}", bom_ref)
        components.append(_package_component(report, package, bom_ref))

    bom = Bom(
        serial_number=report_uuid(report),
        metadata=BomMetaData(
            timestamp=created_utc(report),
            component=root,
            tools=ToolRepository(components=[tool]),
        ),
        components=components,
        vulnerabilities=_vulnerabilities(report, refs),
    )
    bom.register_dependency(root, components)
    with warnings.catch_warnings():
        # The library warns when the root has no dependencies (an image without packages).
        warnings.simplefilter("ignore")
        return JsonV1Dot6(bom).output_as_string(indent=2)


def write_cyclonedx(report: Report, out: TextIO, colour: bool = False) -> None:
    out.write(render_cyclonedx(report))
    out.write("\n")


WRITER = WriterSpec(name="cyclonedx", description="CycloneDX 1.6 JSON SBOM",
                    write=write_cyclonedx, extension="cdx.json")
