"""Downloads of OSV exports against a local server: checksums, resume, and the update lock."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from portcullis.errors import VulnDBError
from portcullis.progress import NullProgress
from portcullis.vulndb.fetch import Retry, fetch
from portcullis.vulndb.store import locked
from portcullis.vulndb.update import (
    UpdateOptions,
    export_url,
    parse_ecosystems,
    update,
)
from tests.osv_exports import ExportServer, ecosystem_zip, serve

NO_WAIT = Retry(retries=1, backoff=0.0)


@pytest.fixture
def server() -> Iterator[ExportServer]:
    exports = ExportServer()
    exports.put("PyPI", ecosystem_zip("PyPI"))
    with serve(exports) as running:
        yield running


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_announced_md5_is_checked(server: ExportServer, tmp_path: Path) -> None:
    data = server.files["/PyPI/all.zip"]
    server.md5_header["/PyPI/all.zip"] = _md5(data)
    with httpx.Client() as client:
        got = fetch(client, f"{server.base_url}/PyPI/all.zip", tmp_path / "a.zip", "PyPI",
                    NO_WAIT, NullProgress())
    assert got.path.read_bytes() == data and got.bytes == len(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_a_checksum_mismatch_is_retried_then_fails(server: ExportServer, tmp_path: Path) -> None:
    server.md5_header["/PyPI/all.zip"] = _md5(b"something else")
    with httpx.Client() as client, pytest.raises(VulnDBError, match="MD5 checksum mismatch"):
        fetch(client, f"{server.base_url}/PyPI/all.zip", tmp_path / "a.zip", "PyPI",
              NO_WAIT, NullProgress())
    assert server.fetched() == ["/PyPI/all.zip"] * 2
    assert not (tmp_path / "a.zip").exists()


def test_a_resumed_download_is_checked_whole(server: ExportServer, tmp_path: Path) -> None:
    data = server.files["/PyPI/all.zip"]
    server.md5_header["/PyPI/all.zip"] = _md5(data)
    server.drop_once.add("/PyPI/all.zip")
    with httpx.Client() as client:
        got = fetch(client, f"{server.base_url}/PyPI/all.zip", tmp_path / "a.zip", "PyPI",
                    NO_WAIT, NullProgress())
    assert got.path.read_bytes() == data
    assert [r for _, r in server.requests][1] == f"bytes={len(data) // 2}-"


def test_nothing_listens_is_one_error(tmp_path: Path) -> None:
    with httpx.Client() as client, pytest.raises(VulnDBError, match="cannot connect"):
        fetch(client, "http://127.0.0.1:9/PyPI/all.zip", tmp_path / "a.zip", "PyPI",
              Retry(retries=0), NullProgress())


def test_two_updates_of_one_database_do_not_mix(server: ExportServer, tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    options = UpdateOptions(db_path=db, source=server.base_url, ecosystems=("PyPI",),
                            retry=NO_WAIT)
    with locked(db), pytest.raises(VulnDBError, match="another update or import"):
        update(options)
    assert not db.exists()
    assert update(options).meta.vulnerabilities == 2


def test_ecosystem_lists_and_urls() -> None:
    assert parse_ecosystems(" PyPI, npm,PyPI ,Debian:12") == ("PyPI", "npm", "Debian:12")
    with pytest.raises(VulnDBError, match="empty name"):
        parse_ecosystems("PyPI,,npm")
    with pytest.raises(VulnDBError, match="not an ecosystem"):
        parse_ecosystems("../etc")
    assert export_url("https://h/x/", "Red Hat") == "https://h/x/Red%20Hat/all.zip"
    assert export_url("https://h", "Debian:12") == "https://h/Debian:12/all.zip"


def test_a_download_past_the_limit_is_refused(server: ExportServer, tmp_path: Path) -> None:
    size = len(server.files["/PyPI/all.zip"])
    with httpx.Client() as client, pytest.raises(VulnDBError, match="more than the 100 allowed"):
        fetch(client, f"{server.base_url}/PyPI/all.zip", tmp_path / "a.zip", "PyPI",
              NO_WAIT, NullProgress(), limit=100)
    assert size > 100
    assert server.fetched() == ["/PyPI/all.zip"]  # not retried
