"""VEX documents (``--vex FILE``): statements that a product is not affected by a vulnerability.

Two formats are read, told apart by their content:

- OpenVEX (``@context`` https://openvex.dev/ns/…): ``statements[]`` with ``vulnerability``
  (``{"name": …}``, or a plain string in v0.0.1), ``products[]`` (``{"@id": purl}``, with
  optional ``subcomponents[]``, or plain strings in v0.0.1), ``status`` and ``justification``.
- CycloneDX VEX (``bomFormat: CycloneDX``): ``vulnerabilities[]`` with ``id``,
  ``analysis.state``, ``analysis.justification`` and ``affects[].ref``.

A statement that names packages (purls) applies to a finding when the finding's package has
the same type, namespace and name, and the same version when the statement gives one. A
statement that names only the image (a ``pkg:oci``/``pkg:docker`` purl, or anything that is not
a package purl) applies to every package of the image scanned with it: the user chose to pass
it for this image.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from packageurl import PackageURL

from portcullis.errors import PolicyError
from portcullis.policy.rules import finding_ids

# Statuses that mean "this finding does not apply here".
OPENVEX_RESOLVED = {"not_affected", "fixed"}
CYCLONEDX_RESOLVED = {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}
IMAGE_PURL_TYPES = {"oci", "docker"}
MAX_VEX_BYTES = 64 * 1024 * 1024


class VexStatement(msgspec.Struct, frozen=True, kw_only=True):
    vulnerability: str
    status: str  # as the document writes it
    resolved: bool  # the status means not affected (or fixed)
    justification: str | None
    detail: str | None  # impact statement / analysis detail
    packages: tuple[PackageURL, ...]  # empty: every package of the image
    source: str  # the file

    def applies_to(self, finding: Mapping[str, Any]) -> bool:
        if finding.get("kind") != "vulnerability":
            return False
        if self.vulnerability not in finding_ids(finding):
            return False
        if not self.packages:
            return True
        purl = _purl(finding.get("package"))
        return purl is not None and any(_same_package(p, purl) for p in self.packages)

    def reason(self) -> str:
        text = self.justification or self.status
        return f"{text}: {self.detail}" if self.detail else text


def read_vex(path: Path) -> list[VexStatement]:
    name = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_VEX_BYTES + 1)
    except OSError as e:
        raise PolicyError(f"cannot read VEX document {name}: {e.strerror}") from e
    if len(raw) > MAX_VEX_BYTES:
        raise PolicyError(f"VEX document {name} is larger than {MAX_VEX_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise PolicyError(f"VEX document {name} is not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise PolicyError(f"VEX document {name}: expected a JSON object")
    if isinstance(doc.get("statements"), list) and "openvex" in str(doc.get("@context", "")):
        return _openvex(doc["statements"], name)
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc.get("vulnerabilities") or [], name)
    raise PolicyError(f"VEX document {name} is neither OpenVEX (an @context of openvex.dev "
                      "and statements) nor CycloneDX (bomFormat CycloneDX)")


def _openvex(statements: list[Any], name: str) -> list[VexStatement]:
    out = []
    for i, item in enumerate(statements):
        where = f"VEX document {name}: statements[{i}]"
        if not isinstance(item, dict):
            raise PolicyError(f"{where}: expected an object")
        vuln = item.get("vulnerability")
        vuln_id = vuln.get("name") if isinstance(vuln, dict) else vuln
        if not isinstance(vuln_id, str) or not vuln_id:
            raise PolicyError(f"{where}.vulnerability: expected a name")
        status = item.get("status")
        if not isinstance(status, str):
            raise PolicyError(f"{where}.status: expected a string")
        ids: list[str] = []
        for product in _list(item.get("products"), f"{where}.products"):
            ids.append(_product_id(product, f"{where}.products"))
            if isinstance(product, dict):
                ids.extend(_product_id(sub, f"{where}.products.subcomponents")
                           for sub in _list(product.get("subcomponents"),
                                            f"{where}.products.subcomponents"))
        ids.extend(_product_id(s, f"{where}.subcomponents")
                   for s in _list(item.get("subcomponents"), f"{where}.subcomponents"))
        out.append(VexStatement(
            vulnerability=vuln_id, status=status, resolved=status in OPENVEX_RESOLVED,
            justification=_text(item.get("justification")),
            detail=_text(item.get("impact_statement") or item.get("status_notes")),
            packages=_packages(ids), source=name))
    return out


def _cyclonedx(vulns: Any, name: str) -> list[VexStatement]:
    out = []
    for i, item in enumerate(_list(vulns, f"VEX document {name}: vulnerabilities")):
        where = f"VEX document {name}: vulnerabilities[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise PolicyError(f"{where}: expected an object with an id")
        analysis = item.get("analysis")
        if not isinstance(analysis, dict) or not isinstance(analysis.get("state"), str):
            continue  # no analysis: a plain vulnerability listing, not a VEX statement
        refs = [a.get("ref") for a in _list(item.get("affects"), f"{where}.affects")
                if isinstance(a, dict)]
        state = analysis["state"]
        out.append(VexStatement(
            vulnerability=item["id"], status=state, resolved=state in CYCLONEDX_RESOLVED,
            justification=_text(analysis.get("justification")),
            detail=_text(analysis.get("detail")),
            packages=_packages([r.split("#", 1)[-1] for r in refs if isinstance(r, str)]),
            source=name))
    return out


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"{where}: expected a list")
    return value


def _product_id(product: Any, where: str) -> str:
    ident = product.get("@id") if isinstance(product, dict) else product
    if not isinstance(ident, str):
        raise PolicyError(f"{where}: expected an @id")
    return ident


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _packages(ids: list[str]) -> tuple[PackageURL, ...]:
    """The package purls among product ids; image purls and other ids name the image."""
    out = []
    for ident in ids:
        purl = _purl(ident)
        if purl is not None and purl.type not in IMAGE_PURL_TYPES:
            out.append(purl)
    return tuple(out)


def _purl(text: Any) -> PackageURL | None:
    if not isinstance(text, str) or not text.startswith("pkg:"):
        return None
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _same_package(stated: PackageURL, found: PackageURL) -> bool:
    same = (stated.type, stated.namespace, stated.name) == (found.type, found.namespace,
                                                            found.name)
    return same and (stated.version is None or stated.version == found.version)
