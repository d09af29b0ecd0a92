"""``--format cyclonedx``: a CycloneDX 1.6 JSON SBOM of the image.

The image is the root component (``metadata.component``, type ``container``); the operating
system (``report.distro``) is an ``operating-system`` component and each package a ``library``
component carrying its layer as ``portcullis:layer:*`` properties. The output is a pure function
of the report: the serial number is a UUIDv5 of the report's content and the timestamp is
``report.created_at``.

What it shares with the SPDX writer lives in ``report/sbom.py``. cyclonedx-python-lib is
imported only when the writer runs, so listing the formats stays cheap.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, TextIO

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
        components.append(_package_component(report, package, bom_ref))

    bom = Bom(
        serial_number=report_uuid(report),
        metadata=BomMetaData(
            timestamp=created_utc(report),
            component=root,
            tools=ToolRepository(components=[tool]),
        ),
        components=components,
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
