"""Vulnerability matches kept in the layer cache (vulndb/match_cache.py): a rescan with the
same packages and database reuses them and reports the same findings; another database, the
same database rebuilt in place, or other packages are matched again. Real kit images, real
databases built from the OSV records in tests/data/osv, the real scan façade."""

from __future__ import annotations

import shutil
from pathlib import Path

from portcullis.cache import LayerCacheDir
from portcullis.scan import ScanOptions, scan
from portcullis.vulndb.build import Download, build, now_utc
from tests.images import kit
from tests.osv_exports import full_ecosystem_zip

METADATA = "Metadata-Version: 2.1\nName: requests\nVersion: {version}\n"
PACKAGE_JSON = '{{"name": "lodash", "version": "{version}", "license": "MIT"}}'


def _image(tmp_path: Path, name: str, lodash: str = "4.17.11") -> str:
    site = "usr/lib/python3.11/site-packages"
    layers = [
        kit.Layer([kit.file("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n")]),
        kit.Layer([kit.file(f"{site}/requests-2.30.0.dist-info/METADATA",
                            METADATA.format(version="2.30.0"))]),
        kit.Layer([kit.file("app/node_modules/lodash/package.json",
                            PACKAGE_JSON.format(version=lodash))]),
    ]
    layout = kit.write_oci_layout(tmp_path / name, kit.ImageSpec(layers=layers), ref="t")
    return f"oci:{layout}:t"


def _db(path: Path, ecosystems: tuple[str, ...]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    downloads = []
    for ecosystem in ecosystems:
        data = full_ecosystem_zip(ecosystem)
        zipped = path.parent / f"{path.stem}-{ecosystem}.zip"
        zipped.write_bytes(data)
        downloads.append(Download(ecosystem, f"http://127.0.0.1/{ecosystem}/all.zip",
                                  zipped, now_utc(), None, len(data)))
    build(path, downloads)
    return path


def _vulns(ref: str, db: Path, cache: Path | None) -> list[tuple[str, str]]:
    report = scan(ref, ScanOptions(scanners=frozenset({"vuln", "packages"}), db=db,
                                   cache_dir=cache))
    assert report.scanners["vuln"].status == "ok"
    return sorted((str(f.extra["package_name"]), f.id) for f in report.findings
                  if f.kind == "vulnerability")


def _matches(cache: Path) -> int:
    return LayerCacheDir(cache).info().matches


def test_a_rescan_reuses_the_matches_and_reports_the_same(tmp_path: Path) -> None:
    db = _db(tmp_path / "db" / "all.db", ("PyPI", "npm"))
    cache = tmp_path / "cache"
    ref = _image(tmp_path, "img")
    fresh = _vulns(ref, db, None)
    assert ("requests", "CVE-2023-32681") in fresh and ("lodash", "CVE-2019-10744") in fresh
    assert _vulns(ref, db, cache) == fresh
    assert _matches(cache) == 1
    assert _vulns(ref, db, cache) == fresh  # from the entry
    assert _matches(cache) == 1


def test_another_or_a_rebuilt_database_is_matched_again(tmp_path: Path) -> None:
    full = _db(tmp_path / "db" / "all.db", ("PyPI", "npm"))
    npm_only = _db(tmp_path / "db" / "npm.db", ("npm",))
    cache = tmp_path / "cache"
    ref = _image(tmp_path, "img")
    both = _vulns(ref, full, cache)
    assert any(name == "requests" for name, _ in both)
    lodash = _vulns(ref, npm_only, cache)
    assert lodash == [v for v in both if v[0] == "lodash"]
    assert _matches(cache) == 2
    # The first database's file replaced by the npm-only one: never the older answer.
    shutil.copyfile(npm_only, full)
    assert _vulns(ref, full, cache) == lodash
    assert _matches(cache) == 3


def test_other_packages_are_matched_again(tmp_path: Path) -> None:
    db = _db(tmp_path / "db" / "all.db", ("PyPI", "npm"))
    cache = tmp_path / "cache"
    old = _vulns(_image(tmp_path, "old"), db, cache)
    fixed = _vulns(_image(tmp_path, "new", lodash="4.17.21"), db, cache)
    assert ("lodash", "CVE-2019-10744") in old
    assert [v for v in fixed if v[0] == "lodash"] == []
    assert fixed == _vulns(_image(tmp_path, "new2", lodash="4.17.21"), db, None)
    assert _matches(cache) == 2


def test_no_cache_writes_no_match(tmp_path: Path) -> None:
    db = _db(tmp_path / "db" / "all.db", ("npm",))
    _vulns(_image(tmp_path, "img"), db, None)
    assert not (tmp_path / "cache").exists()
