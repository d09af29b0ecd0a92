"""``portcullis db`` end to end: a child process against a local export server on 127.0.0.1
serving real OSV records in the export layout, including servers that misbehave."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from portcullis.vulndb.store import VulnStore
from tests.fixtures import DATA, fixture_path
from tests.osv_exports import ExportServer, ecosystem_zip, serve

ECOSYSTEMS = ["PyPI", "npm", "Go"]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "true"}
    env.pop("PORTCULLIS_DB", None)
    return subprocess.run([sys.executable, "-m", "portcullis", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)


@pytest.fixture
def server() -> Iterator[ExportServer]:
    exports = ExportServer()
    for eco in ECOSYSTEMS:
        exports.put(eco, ecosystem_zip(eco))
    with serve(exports) as running:
        yield running


def update(server: ExportServer, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("db", "update", "--db", str(db), "--source", server.base_url,
               "--ecosystems", ",".join(ECOSYSTEMS), *extra)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("portcullis: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_update_then_info(server: ExportServer, tmp_path: Path) -> None:
    db = tmp_path / "db" / "vuln.db"
    result = update(server, db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"updated {db}: 6 vulnerabilities (1 withdrawn), 10 affected packages from 3 sources")
    assert result.stderr == ""
    info = run("db", "info", "--db", str(db))
    assert info.returncode == 0, info.stderr
    assert "vulnerabilities: 6 (1 withdrawn)" in info.stdout
    assert "schema:          1" in info.stdout
    for eco in ECOSYSTEMS:
        assert f"  {eco}: 2 records" in info.stdout
        assert f"from {server.base_url}/{eco}/all.zip" in info.stdout
    assert "last modified Tue, 01 Dec 2026 09:00:00 GMT" in info.stdout
    # The work directory of the downloads is gone after a success.
    assert sorted(p.name for p in db.parent.iterdir()) == [".vuln.db.lock", "vuln.db"]


def test_ecosystems_limit_what_is_fetched(server: ExportServer, tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    result = run("db", "update", "--db", str(db), "--source", server.base_url,
                 "--ecosystems", "npm")
    assert result.returncode == 0, result.stderr
    assert server.fetched() == ["/npm/all.zip"]
    with VulnStore(db) as store:
        assert [s.ecosystem for s in store.meta().sources] == ["npm"]
        assert store.affected_for("PyPI", "requests") == []
        assert store.affected_for("npm", "lodash")


def test_release_ecosystems_are_fetched_by_their_path(server: ExportServer,
                                                      tmp_path: Path) -> None:
    server.put("Ubuntu:22.04:LTS", ecosystem_zip("Ubuntu"))
    db = tmp_path / "vuln.db"
    result = run("db", "update", "--db", str(db), "--source", server.base_url,
                 "--ecosystems", "Ubuntu:22.04:LTS")
    assert result.returncode == 0, result.stderr
    assert server.fetched() == ["/Ubuntu:22.04:LTS/all.zip"]


def test_connection_dropped_mid_download_keeps_the_old_db(server: ExportServer,
                                                          tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    assert update(server, db).returncode == 0
    before = db.read_bytes()
    server.requests.clear()
    server.drop.add("/npm/all.zip")
    result = update(server, db, "--retries", "1")
    line = one_error_line(result)
    assert "npm" in line and "connection lost mid-download" in line
    assert "after 2 tries" in line
    assert line.endswith(f"the database at {db} is unchanged")
    assert server.fetched().count("/npm/all.zip") == 2
    assert db.read_bytes() == before
    info = run("db", "info", "--db", str(db))
    assert info.returncode == 0 and "vulnerabilities: 6" in info.stdout
    assert not list(tmp_path.glob(".vuln.db.new-*"))


def test_a_dropped_download_resumes_with_a_range(server: ExportServer, tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    server.drop_once.add("/PyPI/all.zip")
    result = update(server, db, "--retries", "1")
    assert result.returncode == 0, result.stderr
    pypi = [rng for path, rng in server.requests if path == "/PyPI/all.zip"]
    assert pypi[0] is None
    size = len(server.files["/PyPI/all.zip"])
    assert pypi[1] == f"bytes={size // 2}-"
    with VulnStore(db) as store:
        assert len(store.affected_for("PyPI", "requests")) == 2


def test_an_interrupted_update_resumes_in_the_next_run(server: ExportServer,
                                                       tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    server.drop_once.add("/Go/all.zip")
    first = update(server, db, "--retries", "0")
    assert "no database was written" in one_error_line(first)
    assert not db.exists()
    second = update(server, db, "--retries", "0")
    assert second.returncode == 0, second.stderr
    go = [rng for path, rng in server.requests if path == "/Go/all.zip"]
    assert go[0] is None and go[1] is not None and go[1].startswith("bytes=")


def test_a_server_without_ranges_restarts_the_download(server: ExportServer,
                                                       tmp_path: Path) -> None:
    server.ranges = False
    server.drop_once.add("/npm/all.zip")
    db = tmp_path / "vuln.db"
    result = update(server, db, "--retries", "1")
    assert result.returncode == 0, result.stderr
    with VulnStore(db) as store:
        assert len(store.affected_for("npm", "lodash")) == 2


def test_a_corrupt_zip_keeps_the_old_db(server: ExportServer, tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    assert update(server, db).returncode == 0
    before = db.read_bytes()
    server.files["/Go/all.zip"] = b"<html><body>503 Slow Down</body></html>"
    line = one_error_line(update(server, db))
    assert "Go: not a readable zip" in line and line.endswith("is unchanged")
    assert db.read_bytes() == before


def test_a_damaged_member_keeps_the_old_db(server: ExportServer, tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    assert update(server, db).returncode == 0
    before = db.read_bytes()
    data = bytearray(server.files["/PyPI/all.zip"])
    name_len = int.from_bytes(data[26:28], "little")
    data[30 + name_len + 20] ^= 0xFF
    server.files["/PyPI/all.zip"] = bytes(data)
    line = one_error_line(update(server, db))
    assert "PyPI: corrupt zip member" in line
    assert db.read_bytes() == before


def test_an_unknown_ecosystem_is_one_line(server: ExportServer, tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    line = one_error_line(run("db", "update", "--db", str(db), "--source", server.base_url,
                              "--ecosystems", "PyPI,NoSuchEcosystem"))
    assert "NoSuchEcosystem" in line and "HTTP 404" in line
    assert not db.exists()


def test_skipped_records_are_named_and_counted(server: ExportServer, tmp_path: Path) -> None:
    server.put("npm", ecosystem_zip("npm", {"GHSA-broken.json": b'{"id": "GHSA-broken"}'}))
    db = tmp_path / "vuln.db"
    result = update(server, db)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "portcullis: warning: skipped npm:GHSA-broken.json (GHSA-broken): not an OSV record: "
        "Object missing required field `modified`"]
    assert result.stdout.rstrip().endswith("from 3 sources, 1 records skipped")
    assert "skipped:         1 records" in run("db", "info", "--db", str(db)).stdout


def test_export_import_round_trip(server: ExportServer, tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    assert update(server, db).returncode == 0
    archive = tmp_path / "vuln.db.zst"
    exported = run("db", "export", str(archive), "--db", str(db))
    assert exported.returncode == 0, exported.stderr
    assert archive.stat().st_size < db.stat().st_size
    other = tmp_path / "airgap" / "vuln.db"
    imported = run("db", "import", str(archive), "--db", str(other))
    assert imported.returncode == 0, imported.stderr
    assert other.read_bytes() == db.read_bytes()
    info = run("db", "info", "--db", str(other))
    assert info.stdout.replace(str(other), "X") == run(
        "db", "info", "--db", str(db)).stdout.replace(str(db), "X")


def test_a_damaged_export_is_refused_and_changes_nothing(server: ExportServer,
                                                         tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    assert update(server, db).returncode == 0
    archive = tmp_path / "vuln.db.zst"
    assert run("db", "export", str(archive), "--db", str(db)).returncode == 0
    target = tmp_path / "target.db"
    target.write_bytes(db.read_bytes())
    before = target.read_bytes()
    data = bytearray(archive.read_bytes())
    del data[len(data) // 2:]  # truncated in transfer
    archive.write_bytes(bytes(data))
    line = one_error_line(run("db", "import", str(archive), "--db", str(target)))
    assert str(archive) in line
    assert target.read_bytes() == before
    assert not list(tmp_path.glob(".target.db.import-*"))
    archive.write_bytes(b"PK\x03\x04 not an export")
    assert "not a Portcullis database export" in one_error_line(
        run("db", "import", str(archive), "--db", str(target)))


def test_info_without_a_database_is_one_line(tmp_path: Path) -> None:
    line = one_error_line(run("db", "info", "--db", str(tmp_path / "none.db")))
    assert "run `portcullis db update` first" in line


def test_the_default_path_follows_the_environment(server: ExportServer, tmp_path: Path) -> None:
    env = {**os.environ, "CI": "true", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("PORTCULLIS_DB", None)
    result = subprocess.run(
        [sys.executable, "-m", "portcullis", "db", "update", "--source", server.base_url,
         "--ecosystems", "npm"], capture_output=True, text=True, env=env, timeout=120,
        check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cache" / "portcullis" / "db" / "vuln.db").is_file()
    env["PORTCULLIS_DB"] = str(tmp_path / "explicit.db")
    result = subprocess.run(
        [sys.executable, "-m", "portcullis", "db", "update", "--source", server.base_url,
         "--ecosystems", "npm"], capture_output=True, text=True, env=env, timeout=120,
        check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "explicit.db").is_file()


def test_a_terminated_update_keeps_the_old_db(server: ExportServer, tmp_path: Path) -> None:
    """SIGTERM (what a CI timeout sends) in the middle of a download."""
    db = tmp_path / "vuln.db"
    assert update(server, db).returncode == 0
    before = db.read_bytes()
    server.stall.add("/Go/all.zip")
    env = {**os.environ, "CI": "true"}
    child = subprocess.Popen(
        [sys.executable, "-m", "portcullis", "db", "update", "--db", str(db), "--source",
         server.base_url, "--ecosystems", ",".join(ECOSYSTEMS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stalled.wait(30), "the download never started"
        time.sleep(0.2)  # the first half is in the child's partial file
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 2
    assert stderr.splitlines() == [
        f"portcullis: error: db update terminated; the database at {db} is unchanged"]
    assert db.read_bytes() == before
    assert not list(tmp_path.glob(".vuln.db.new-*"))
    # What arrived is kept for the next run to resume.
    assert (tmp_path / ".vuln.db.update" / "Go.zip.part").stat().st_size > 0


def test_a_mirror_on_disk_is_a_source(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    for eco in ("npm", "PyPI"):
        (mirror / eco).mkdir(parents=True)
        (mirror / eco / "all.zip").write_bytes(ecosystem_zip(eco))
    db = tmp_path / "vuln.db"
    for source in (str(mirror), mirror.as_uri()):
        result = run("db", "update", "--db", str(db), "--source", source,
                     "--ecosystems", "npm,PyPI")
        assert result.returncode == 0, result.stderr
        with VulnStore(db) as store:
            assert [s.url for s in store.meta().sources] == [
                str(mirror / "npm" / "all.zip"), str(mirror / "PyPI" / "all.zip")]
            assert store.ids_for_alias("CVE-2023-32681")
    assert (mirror / "npm" / "all.zip").is_file()  # the mirror is read, never moved
    line = one_error_line(run("db", "update", "--db", str(db), "--source", str(mirror),
                              "--ecosystems", "Go"))
    assert f"Go: no export at {mirror / 'Go' / 'all.zip'}" in line


def test_native_distro_feeds_are_fetched_and_built_beside_osv(server: ExportServer,
                                                             tmp_path: Path) -> None:
    tracker = fixture_path(DATA / "distro-advisories/debian/security-tracker-json-subset.json")
    secdb = fixture_path(DATA / "distro-advisories/alpine/secdb-v3.15-main-subset.yaml")
    server.files["/tracker/data/json"] = tracker.read_bytes()
    server.files["/v3.15/main.yaml"] = secdb.read_bytes()
    db = tmp_path / "vuln.db"
    result = update(server, db, "--debian-tracker", f"{server.base_url}/tracker/data/json",
                    "--alpine-secdb", f"{server.base_url}/v3.15/main.yaml")
    assert result.returncode == 0, result.stderr
    # 6 OSV records, 5 tracker records (package x issue), 13 secdb records (package x issue)
    assert result.stdout.startswith(f"updated {db}: 24 vulnerabilities (1 withdrawn)")
    assert result.stdout.rstrip().endswith("from 5 sources")
    info = run("db", "info", "--db", str(db)).stdout
    assert (f"  debian-tracker: 5 records (0 withdrawn, 0 skipped), {tracker.stat().st_size} "
            f"bytes from {server.base_url}/tracker/data/json") in info
    assert f"  alpine-secdb: 13 records (0 withdrawn, 0 skipped), {secdb.stat().st_size}" in info
    with VulnStore(db) as store:
        assert [r.vuln_id for r in store.affected_for("Debian:12", "sope")] == [
            "DEBIAN-TRACKER:CVE-2025-53603:sope"]
    # A feed that is not one fails the update in one line; the database stays as it was.
    server.files["/tracker/data/json"] = b"<html>maintenance</html>"
    before = db.read_bytes()
    line = one_error_line(update(server, db, "--debian-tracker",
                                 f"{server.base_url}/tracker/data/json"))
    assert "not the Debian security tracker JSON" in line and "is unchanged" in line
    assert db.read_bytes() == before
