"""CVSS vectors from NVD's CVE JSON 2.0, for the records that carry none.

Accepted shapes, plain or gzip-compressed: an API 2.0 response page or a 2.0 data feed
(``{"vulnerabilities": [{"cve": {...}}, ...]}``), or one CVE object (``{"id": "CVE-…",
"metrics": {...}}``). For each CVE one vector is kept: the newest CVSS standard NVD gives (v4.0,
then v3.1, v3.0, v2), NVD's own ``Primary`` assessment before a ``Secondary`` one. Only the
vector is stored; the base score is computed from it by the ``cvss`` library when matching,
like a record's own vector. Bad input is a ``VulnDBError`` naming the file.
"""

from __future__ import annotations

import gzip
import io
import zlib

import msgspec

from portcullis.errors import VulnDBError

MAX_NVD_BYTES = 512 << 20  # a year of the 2.0 feed is 100-300 MB uncompressed

# NVD metric key → the OSV severity type the rating code reads, newest standard first.
_METRICS = (("cvssMetricV40", "CVSS_V4"), ("cvssMetricV31", "CVSS_V3"),
            ("cvssMetricV30", "CVSS_V3"), ("cvssMetricV2", "CVSS_V2"))


class NvdRow(msgspec.Struct, frozen=True):
    cve: str
    type: str  # CVSS_V4, CVSS_V3, CVSS_V2
    vector: str


class Nvd(msgspec.Struct, frozen=True):
    version: str  # the response's timestamp, or "" for a single CVE object
    rows: tuple[NvdRow, ...]
    url: str = ""
    fetched_at: str = ""


class _CvssData(msgspec.Struct):
    vectorString: str = ""


class _Metric(msgspec.Struct):
    cvssData: _CvssData
    type: str = ""


class _Cve(msgspec.Struct):
    id: str
    metrics: dict[str, list[_Metric]] = {}


class _Item(msgspec.Struct):
    cve: _Cve


class _Document(msgspec.Struct):
    """A response page or feed (``vulnerabilities``), or one CVE object (``id``)."""

    vulnerabilities: list[_Item] | None = None
    timestamp: str = ""
    id: str | None = None
    metrics: dict[str, list[_Metric]] = {}


_document = msgspec.json.Decoder(_Document)


def _best(cve: _Cve) -> NvdRow | None:
    for key, kind in _METRICS:
        metrics = cve.metrics.get(key) or []
        for metric in sorted(metrics, key=lambda m: m.type != "Primary"):
            if metric.cvssData.vectorString:
                return NvdRow(cve.id, kind, metric.cvssData.vectorString)
    return None


def _unpacked(data: bytes, source: str) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            out = f.read(MAX_NVD_BYTES + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise VulnDBError(f"NVD file {source}: not readable gzip ({e})") from e
    if len(out) > MAX_NVD_BYTES:
        raise VulnDBError(f"NVD file {source}: larger than {MAX_NVD_BYTES} bytes unpacked")
    return out


def parse_nvd(data: bytes, source: str) -> Nvd:
    data = _unpacked(data, source)
    try:
        doc = _document.decode(data)
    except msgspec.DecodeError as e:
        raise VulnDBError(f"NVD file {source}: not NVD CVE JSON 2.0 ({e})") from e
    if doc.vulnerabilities is not None:
        cves, version = [item.cve for item in doc.vulnerabilities], doc.timestamp
    elif doc.id is not None:
        cves, version = [_Cve(id=doc.id, metrics=doc.metrics)], ""
    else:
        raise VulnDBError(f"NVD file {source}: not NVD CVE JSON 2.0 (neither a "
                          "`vulnerabilities` list nor a CVE `id`)")
    rows = tuple(row for row in map(_best, cves) if row is not None)
    return Nvd(version=version, rows=rows)
