"""``db update --eol-source``: end-of-life dates fetched from a local server on 127.0.0.1,
checked, saved beside the database, and read by later scans with that database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.images import kit
from tests.integration.test_db_command import ECOSYSTEMS, one_error_line, run
from tests.osv_exports import ExportServer, ecosystem_zip, serve

EOL_DOC = {
    "schema": 1,
    "updated": "2026-11-30",
    "products": {"debian": {"kind": "os", "title": "Debian",
                            "source": "https://example.test/debian-eol",
                            "cycles": [{"cycle": "12", "eol": "2020-01-01",
                                        "codename": "bookworm"}]}},
}


@pytest.fixture
def server() -> Iterator[ExportServer]:
    exports = ExportServer()
    for eco in ECOSYSTEMS:
        exports.put(eco, ecosystem_zip(eco))
    exports.files["/eol.json"] = json.dumps(EOL_DOC).encode()
    exports.files["/broken-eol.json"] = b'{"schema": 1, "products": {"debian": {"kind": "os"'
    with serve(exports) as running:
        yield running


def _update(server: ExportServer, db: Path, eol: str) -> tuple[int, str, str]:
    result = run("db", "update", "--db", str(db), "--source", server.base_url,
                 "--ecosystems", ",".join(ECOSYSTEMS), "--eol-source", eol)
    return result.returncode, result.stdout, result.stderr


def _bookworm(tmp_path: Path) -> str:
    release = 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nNAME="Debian GNU/Linux"\n'
    spec = kit.ImageSpec(layers=[kit.Layer([kit.file("etc/os-release", release)],
                                           created_by="ADD rootfs.tar /")])
    return f"oci:{kit.write_oci_layout(tmp_path / 'img', spec, ref='1')}:1"


def test_refreshed_dates_are_saved_and_scans_read_them(server: ExportServer,
                                                       tmp_path: Path) -> None:
    db = tmp_path / "db" / "vuln.db"
    url = f"{server.base_url}/eol.json"
    code, out, err = _update(server, db, url)
    assert code == 0, err
    saved = db.parent / "eol.json"
    assert out.splitlines()[-1] == (
        f"saved end-of-life dates to {saved}: 1 products (updated 2026-11-30) from {url}")
    assert json.loads(saved.read_bytes()) == EOL_DOC
    assert "/eol.json" in server.fetched()
    info = run("db", "info", "--db", str(db))
    assert f"eol:             1 products, updated 2026-11-30, from {saved}" in info.stdout

    image = _bookworm(tmp_path)
    with_db = run("scan", image, "--scanners", "compliance", "--format", "json", "--quiet",
                  "--db", str(db))
    assert with_db.returncode == 0, with_db.stderr
    doc = json.loads(with_db.stdout)
    [finding] = [f for f in doc["findings"] if f["kind"] == "compliance"]
    assert finding["id"] == "os-end-of-life"
    assert finding["source"] == "https://example.test/debian-eol"
    assert finding["eol"] == "2020-01-01" and finding["layer"] == 0
    assert doc["artifact"]["os"]["eol"] is True

    # Another database (no refreshed file beside it): the shipped dates, bookworm not ended.
    other = run("scan", image, "--scanners", "compliance", "--format", "json", "--quiet",
                "--db", str(tmp_path / "elsewhere" / "vuln.db"))
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["artifact"]["os"]["eol"] is False


@pytest.mark.parametrize(("path", "message"), [
    ("/broken-eol.json", "not JSON"),
    ("/missing-eol.json", "404"),
])
def test_a_bad_eol_source_fails_before_anything_changes(server: ExportServer, tmp_path: Path,
                                                       path: str, message: str) -> None:
    db = tmp_path / "vuln.db"
    result = run("db", "update", "--db", str(db), "--source", server.base_url,
                 "--ecosystems", ",".join(ECOSYSTEMS), "--eol-source",
                 f"{server.base_url}{path}")
    line = one_error_line(result)
    assert message in line and "no database was written" in line
    assert not db.exists() and not (tmp_path / "eol.json").exists()
    assert not [p for p in server.fetched() if p.endswith("all.zip")]  # checked first
