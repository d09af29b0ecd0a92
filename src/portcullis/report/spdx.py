"""``--format spdx-json``: an SPDX 2.3 JSON SBOM of the image.

The document DESCRIBES the image (a package with ``primaryPackagePurpose`` CONTAINER), which
CONTAINS the operating system and every package. Each package names its layer in its
``comment`` ("layer 2 sha256:…"). The JSON is written directly (no spdx-tools at run time);
it is a pure function of the report: the namespace is derived from a hash of the report and
``created`` is ``report.created_at``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, TextIO

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

NOASSERTION = "NOASSERTION"
DOCUMENT_ID = "SPDXRef-DOCUMENT"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def _id_part(text: str) -> str:
    return _ID_UNSAFE.sub("-", text).strip("-") or "x"


class _Licenses:
    """Turns free-form license strings into SPDX expressions, collecting LicenseRefs."""

    def __init__(self) -> None:
        from license_expression import get_spdx_licensing

        self._licensing = get_spdx_licensing()
        self._refs: dict[str, str] = {}  # license text -> LicenseRef id

    def _ref(self, text: str) -> str:
        ref = self._refs.get(text)
        if ref is None:
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
            ref = f"LicenseRef-{_id_part(text)[:64]}-{digest}"
            self._refs[text] = ref
        return ref

    def one(self, text: str) -> str:
        info = self._licensing.validate(text)
        if not info.errors and info.normalized_expression:
            return str(info.normalized_expression)
        return self._ref(text)

    def declared(self, values: tuple[str, ...]) -> str:
        texts = sorted({v.strip() for v in values if v and v.strip()})
        if not texts:
            return NOASSERTION
        parts = [self.one(t) for t in texts]
        if len(parts) == 1:
            return parts[0]
        return " AND ".join(p if " " not in p else f"({p})" for p in parts)

    def extracted(self) -> list[dict[str, Any]]:
        return [
            {"licenseId": ref, "name": text, "extractedText": text,
             "comment": "license name as found in the image; not an SPDX license id"}
            for text, ref in sorted(self._refs.items(), key=lambda kv: kv[1])
        ]


def _layer_comment(report: Report, index: int | None) -> str | None:
    if index is None:
        return None
    layer = layer_of(report, index)
    if layer is None:
        return f"layer {index}"
    text = f"layer {index} {layer.diff_id}"
    if layer.digest and layer.digest != layer.diff_id:
        text += f" (blob {layer.digest})"
    return text


def _purl_ref(purl: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
            "referenceLocator": purl}


def _package_entry(report: Report, package: Package, spdx_id: str,
                   licenses: _Licenses) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "SPDXID": spdx_id,
        "name": package.name,
        "versionInfo": package.version,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": licenses.declared(package.licenses),
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": "LIBRARY",
    }
    if package.purl:
        entry["externalRefs"] = [_purl_ref(package.purl)]
    source: list[str] = []
    if package.found_by:
        source.append(f"found by {package.found_by}")
    paths = [loc.path for loc in package.locations]
    if paths:
        source.append("at " + ", ".join(paths))
    if package.source_name:
        version = f" {package.source_version}" if package.source_version else ""
        source.append(f"built from source package {package.source_name}{version}")
    if source:
        entry["sourceInfo"] = "; ".join(source)
    comment = _layer_comment(report, package.introduced_in)
    if comment:
        entry["comment"] = comment
    return entry


def render_spdx(report: Report) -> dict[str, Any]:
    """The SPDX 2.3 document for ``report`` as a JSON-ready dict."""
    info = report.image
    doc_uuid = report_uuid(report)
    image_id = f"SPDXRef-Image-{doc_uuid.hex[:16]}"
    licenses = _Licenses()
    digest = image_digest(info)

    image: dict[str, Any] = {
        "SPDXID": image_id,
        "name": info.reference,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": NOASSERTION,
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": "CONTAINER",
    }
    if digest:
        image["versionInfo"] = digest
    purl = image_purl(info)
    if purl:
        image["externalRefs"] = [_purl_ref(purl)]
    layer_lines = [
        f"layer {layer.index} {layer.diff_id}"
        + (f" (blob {layer.digest})" if layer.digest and layer.digest != layer.diff_id else "")
        for layer in info.layers
    ]
    image["comment"] = "\n".join([f"source {info.source}, platform {info.platform}",
                                  *layer_lines])

    packages: list[dict[str, Any]] = [image]
    relationships: list[dict[str, str]] = [
        {"spdxElementId": DOCUMENT_ID, "relationshipType": "DESCRIBES",
         "relatedSpdxElement": image_id},
    ]

    distro = report.distro
    if distro is not None:
        os_id = f"SPDXRef-OperatingSystem-{_id_part(distro.family)}"
        os_entry: dict[str, Any] = {
            "SPDXID": os_id,
            "name": distro.family,
            "downloadLocation": NOASSERTION,
            "filesAnalyzed": False,
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": NOASSERTION,
            "copyrightText": NOASSERTION,
            "primaryPackagePurpose": "OPERATING-SYSTEM",
            "description": distro.pretty_name or distro.name,
        }
        if distro.version:
            os_entry["versionInfo"] = distro.version
        if distro.source_path:
            os_entry["sourceInfo"] = f"identified from {distro.source_path}"
        comment = _layer_comment(report, distro.layer)
        if comment:
            os_entry["comment"] = comment
        packages.append(os_entry)
        relationships.append({"spdxElementId": image_id, "relationshipType": "CONTAINS",
                              "relatedSpdxElement": os_id})

    used: set[str] = {image_id, *(p["SPDXID"] for p in packages)}
    for package in sorted_packages(report):
        base = (f"SPDXRef-Package-{_id_part(package.type)}-{_id_part(package.name)[:64]}-"
                f"{package_key(package)[:16]}")
        spdx_id, n = base, 2
        while spdx_id in used:
            spdx_id = f"{base}-{n}"
            n += 1
        used.add(spdx_id)
        packages.append(_package_entry(report, package, spdx_id, licenses))
        relationships.append({"spdxElementId": image_id, "relationshipType": "CONTAINS",
                              "relatedSpdxElement": spdx_id})

    name = _id_part(info.reference)[:80]
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": DOCUMENT_ID,
        "name": info.reference,
        "documentNamespace": f"https://spdx.org/spdxdocs/portcullis/{name}-{doc_uuid}",
        "creationInfo": {
            "created": created_utc(report).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": [f"Tool: portcullis-{report.tool_version}"],
        },
        "packages": packages,
        "relationships": relationships,
    }
    extracted = licenses.extracted()
    if extracted:
        doc["hasExtractedLicensingInfos"] = extracted
    return doc


def write_spdx_json(report: Report, out: TextIO, colour: bool = False) -> None:
    json.dump(render_spdx(report), out, indent=2, ensure_ascii=False)
    out.write("\n")


WRITER = WriterSpec(name="spdx-json", description="SPDX 2.3 JSON SBOM", write=write_spdx_json,
                    extension="spdx.json")
