"""OSV exports for the vulnerability database tests: real records from ``tests/data/osv``
zipped in the export layout (``<Ecosystem>/all.zip``), and a local HTTP server for them.

The server runs on 127.0.0.1 in a thread and can misbehave on purpose, as real hosts do:
drop the connection mid-body (always, or once and then honour ``Range``), or serve bytes that
are not a zip.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fixtures import DATA, fixture_path

OSV = DATA / "osv"


def osv_record(ecosystem: str, record_id: str) -> bytes:
    return fixture_path(OSV / ecosystem / f"{record_id}.json").read_bytes()


def export_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# The records the database tests count on (other tests keep more records in tests/data/osv).
DB_TEST_RECORDS = {
    "npm": ("GHSA-jf85-cpcp-j695", "GHSA-35jh-r3h4-6jhm"),
    "PyPI": ("GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"),
    "Ubuntu": ("UBUNTU-CVE-2023-38545", "USN-6429-1"),
    "Go": ("GO-2020-0001", "GO-2024-2442"),
    "crates.io": ("RUSTSEC-2020-0070",),
}


def ecosystem_zip(ecosystem: str, extra: dict[str, bytes] | None = None) -> bytes:
    """The database tests' records of ``ecosystem``, as ``all.zip`` names them (``ID.json``)."""
    members = {f"{rid}.json": osv_record(ecosystem, rid)
               for rid in DB_TEST_RECORDS.get(ecosystem, ())}
    assert members, f"no test records for {ecosystem}"
    return export_zip({**members, **(extra or {})})


def full_ecosystem_zip(ecosystem: str) -> bytes:
    """Every record of ``tests/data/osv/<ecosystem>``."""
    return export_zip({p.name: p.read_bytes()
                       for p in sorted((OSV / ecosystem).glob("*.json"))})


@dataclass
class ExportServer:
    """Serves ``files`` (URL path → bytes). ``drop`` paths are cut after half their body every
    time; ``drop_once`` paths only the first time, and ranges are honoured when ``ranges``."""

    files: dict[str, bytes] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)
    drop_once: set[str] = field(default_factory=set)
    ranges: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)
    md5_header: dict[str, str] = field(default_factory=dict)  # path → x-goog-hash md5 value
    stall: set[str] = field(default_factory=set)  # half the body, then silence (at most 20 s)
    stalled: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""

    def put(self, ecosystem: str, data: bytes) -> None:
        self.files[f"/{ecosystem}/all.zip"] = data

    def fetched(self) -> list[str]:
        return [path for path, _ in self.requests]


def _handler(server: ExportServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            from urllib.parse import unquote

            path = unquote(self.path)
            server.requests.append((path, self.headers.get("Range")))
            data = server.files.get(path)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            start = 0
            wanted = self.headers.get("Range")
            if (wanted and server.ranges and wanted.startswith("bytes=")
                    and self.headers.get("If-Range") == etag):
                start = int(wanted[len("bytes="):].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", "Tue, 01 Dec 2026 09:00:00 GMT")
            if path in server.md5_header:
                self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={server.md5_header[path]}")
            self.end_headers()
            if path in server.stall:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                server.stalled.set()
                time.sleep(20)
                self.close_connection = True
                return
            cut = path in server.drop or path in server.drop_once
            if cut:
                server.drop_once.discard(path)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(server: ExportServer) -> Iterator[ExportServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

