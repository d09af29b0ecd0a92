"""Real reports for the console tests: a small image with a vulnerable npm package, a private
key, the EICAR test file and baseline problems, scanned by the real scanner (every scan item
has findings); variants change the reference."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from tests.images import kit

LODASH = json.dumps({"name": "lodash", "version": "4.17.4", "license": "MIT"})
# Built from parts so no scanner reading this repository mistakes it for a real key.
KEY = "-----BEGIN " + "RSA PRIVATE KEY-----\n" + "MIIEpAIBAAKCAQEA" + "x" * 64 + \
      "\n-----END " + "RSA PRIVATE KEY-----\n"
# The EICAR test file, also built from parts (this repository must not look infected).
EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


def console_image() -> kit.ImageSpec:
    spec = kit.sample_image()
    app = kit.Layer([
        kit.directory("app/node_modules"),
        kit.directory("app/node_modules/lodash"),
        kit.file("app/node_modules/lodash/package.json", LODASH),
        kit.file("app/id_rsa", KEY, mode=0o600),
        kit.file("app/eicar.com", EICAR),
        kit.file("usr/bin/su", b"\x7fELF" + b"\0" * 60, mode=0o4755),
    ], created_by="COPY node_modules /app/node_modules # buildkit")
    spec.layers.append(app)
    return spec


def scan_report(tmp: Path) -> dict[str, Any]:
    from portcullis.model.finding import Severity
    from portcullis.scan import ScanOptions, scan

    archive = kit.write_docker_archive(tmp / "console.tar", console_image(), style="skopeo")
    report = scan(f"docker-archive:{archive}", ScanOptions(fail_on=Severity.HIGH))
    doc: dict[str, Any] = report.to_dict()
    return doc


def finding(kind: str, fid: str, severity: str, title: str, path: str | None,
            layer: int | None, **extra: Any) -> dict[str, Any]:
    """A finding as docs/report.md defines it, fingerprint included."""
    text = json.dumps([kind, fid, path, None, None])
    return {"kind": kind, "id": fid, "severity": severity, "title": title, "path": path,
            "line": None, "layer": layer, "visible": True, "from_base_image": False,
            "fingerprint": "sha256:" + hashlib.sha256(text.encode()).hexdigest(), **extra}


def variant(doc: dict[str, Any], reference: str, *, digest: str | None = None,
            created_at: str | None = None) -> dict[str, Any]:
    """The same scan as if it were of another image (or another run of it)."""
    out = copy.deepcopy(doc)
    out["artifact"]["reference"] = reference
    if digest is not None:
        out["artifact"]["manifest_digest"] = digest
    if created_at is not None:
        out["created_at"] = created_at
    return out


def body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode("utf-8")
