"""Exploit data keyed by CVE: CISA's Known Exploited Vulnerabilities catalog (JSON) and FIRST's
EPSS scores (CSV, gzip-compressed or not), read into rows for the database.

Both files come from the network, so they are bounded and checked: KEV through
``model/json_doc`` (size, nesting, typed fields), EPSS line by line (a row that is not
``CVE-…,score,percentile`` with both numbers in [0, 1] is an error naming its line). An error
is a ``VulnDBError`` naming the file.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib

import msgspec

from portcullis.errors import DocumentError, LimitExceededError, VulnDBError
from portcullis.model import json_doc

MAX_KEV_BYTES = 64 << 20  # the catalog is about 1.3 MB
MAX_EPSS_BYTES = 256 << 20  # the uncompressed daily CSV is about 12 MB
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_EPSS_HEADER = re.compile(r"#model_version:(?P<model>[^,]*),score_date:(?P<date>\S+)")


class KevRow(msgspec.Struct, frozen=True):
    cve: str
    date_added: str
    ransomware: str  # "Known" or "Unknown", as CISA writes it


class EpssRow(msgspec.Struct, frozen=True):
    cve: str
    score: float
    percentile: float


class Kev(msgspec.Struct, frozen=True):
    version: str  # catalogVersion
    rows: tuple[KevRow, ...]
    url: str = ""  # where it was read from, and when (set by the update)
    fetched_at: str = ""


class Epss(msgspec.Struct, frozen=True):
    version: str  # "<score_date> (model <model_version>)", or "" without the header line
    rows: tuple[EpssRow, ...]
    url: str = ""
    fetched_at: str = ""


class _KevEntry(msgspec.Struct, kw_only=True):
    cveID: str
    dateAdded: str = ""
    knownRansomwareCampaignUse: str = ""


class _KevCatalog(msgspec.Struct, kw_only=True):
    catalogVersion: str = ""
    vulnerabilities: list[_KevEntry]


def parse_kev(data: bytes, where: str) -> Kev:
    try:
        doc = json_doc.decode(data, where, max_size=MAX_KEV_BYTES)
        catalog = json_doc.convert(doc, _KevCatalog, where)
    except (DocumentError, LimitExceededError) as e:
        raise VulnDBError(f"KEV catalog {e}") from e
    rows = {}
    for i, entry in enumerate(catalog.vulnerabilities):
        if not _CVE.fullmatch(entry.cveID):
            raise VulnDBError(f"KEV catalog {where}: vulnerabilities[{i}].cveID: not a CVE id: "
                              f"{entry.cveID[:40]!r}")
        rows[entry.cveID] = KevRow(entry.cveID, entry.dateAdded,
                                   entry.knownRansomwareCampaignUse)
    return Kev(catalog.catalogVersion, tuple(rows[k] for k in sorted(rows)))


def _inflate(data: bytes, where: str) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            out = f.read(MAX_EPSS_BYTES + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise VulnDBError(f"EPSS file {where}: bad gzip data ({e})") from e
    if len(out) > MAX_EPSS_BYTES:
        raise VulnDBError(f"EPSS file {where}: more than {MAX_EPSS_BYTES} bytes uncompressed")
    return out


def _unit(text: str, where: str, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:  # also rejects nan
        raise VulnDBError(f"EPSS file {where}: line {line}: {what} {text[:20]!r} is not a "
                          "number from 0 to 1")
    return value


def parse_epss(data: bytes, where: str) -> Epss:
    if len(data) > MAX_EPSS_BYTES:
        raise VulnDBError(f"EPSS file {where}: larger than {MAX_EPSS_BYTES} bytes")
    text = _inflate(data, where).decode("utf-8", errors="replace")
    version = ""
    rows: dict[str, EpssRow] = {}
    header_seen = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if m := _EPSS_HEADER.match(line):
                version = f"{m.group('date')} (model {m.group('model')})"
            continue
        fields = [f.strip() for f in line.split(",")]
        if not header_seen:
            if fields[:3] != ["cve", "epss", "percentile"]:
                raise VulnDBError(f"EPSS file {where}: line {number}: expected the header "
                                  "'cve,epss,percentile'")
            header_seen = True
            continue
        if len(fields) != 3 or not _CVE.fullmatch(fields[0]):
            raise VulnDBError(f"EPSS file {where}: line {number}: expected "
                              "'CVE-YYYY-NNNN,score,percentile'")
        rows[fields[0]] = EpssRow(fields[0], _unit(fields[1], where, number, "score"),
                                  _unit(fields[2], where, number, "percentile"))
    if not header_seen:
        raise VulnDBError(f"EPSS file {where}: no 'cve,epss,percentile' header: not an EPSS CSV")
    return Epss(version, tuple(rows[k] for k in sorted(rows)))
