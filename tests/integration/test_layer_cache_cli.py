"""The layer cache through the command line: concurrent scans sharing one cache folder, warm
rescans, ``--no-cache`` and ``portcullis cache info|clean``, on the real Debian test image."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import run_cli, stable_report
from tests.images.debian import DebianImage

SCANNERS = "packages,files,base-image"


def _scan(image: str, cache: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "portcullis", "scan", "-q", "--scanners", SCANNERS,
         "--format", "json", "--output", str(out), "--cache-dir", str(cache), *extra, image],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _report(path: Path) -> Any:
    return stable_report(json.loads(path.read_text()))


def test_two_concurrent_scans_sharing_a_cache_give_identical_reports(
        debian: DebianImage, tmp_path: Path) -> None:
    image = f"oci-archive:{debian.oci_archive}"
    cache = tmp_path / "shared-cache"
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    children = [_scan(image, cache, out) for out in outs]
    for child in children:
        _, err = child.communicate(timeout=600)
        assert child.returncode == 0, err
    first, second = (_report(out) for out in outs)
    assert first == second
    assert len(first["packages"]) > 100

    entries = list((cache / "layers").iterdir())
    assert len(entries) == len(debian.diff_ids)
    assert not list(cache.glob("tmp-*"))

    warm = tmp_path / "warm.json"
    child = _scan(image, cache, warm)
    _, err = child.communicate(timeout=600)
    assert child.returncode == 0, err
    assert _report(warm) == first
    assert sorted((cache / "layers").iterdir()) == sorted(entries)

    uncached = tmp_path / "uncached.json"
    child = _scan(image, tmp_path / "unused", uncached, "--no-cache")
    _, err = child.communicate(timeout=600)
    assert child.returncode == 0, err
    assert _report(uncached) == first
    assert not (tmp_path / "unused").exists()


def test_cache_info_and_clean(tmp_path: Path, _own_layer_cache: Path) -> None:
    from tests.images import kit

    root = kit.write_oci_layout(tmp_path / "img", kit.sample_image(), ref="t")
    scanned = run_cli("scan", "-q", "--scanners", "files", "--format", "json", f"oci:{root}:t")
    assert scanned.returncode == 0, scanned.stderr
    layers = len(kit.sample_image().layers)
    info = run_cli("cache", "info")
    assert info.returncode == 0, info.stderr
    assert f"path:    {_own_layer_cache}" in info.stdout
    assert f"layers:  {layers}\nimages:  1\nresults: 1\n" in info.stdout
    # The tree analyzers recorded: os-release (it always runs) and the dedupe steps.
    assert "trees:   2\n" in info.stdout
    cleaned = run_cli("cache", "clean")
    # The layers, the image's inventory, its whole-scan result and the two records.
    assert cleaned.returncode == 0 and f"removed {layers + 4} entries" in cleaned.stdout
    assert "layers:  0\nimages:  0\nresults: 0\n" in run_cli("cache", "info").stdout
    assert "trees:   0\n" in run_cli("cache", "info").stdout
    elsewhere = run_cli("cache", "info", "--cache-dir", str(tmp_path / "other"))
    assert f"path:    {tmp_path / 'other'}" in elsewhere.stdout


def test_a_cache_folder_that_cannot_be_made_costs_speed_not_the_scan(tmp_path: Path) -> None:
    from tests.images import kit

    root = kit.write_oci_layout(tmp_path / "img", kit.sample_image(), ref="t")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    scanned = run_cli("scan", "-q", "--scanners", "files", "--format", "json",
                      "--cache-dir", str(blocker / "cache"), f"oci:{root}:t")
    assert scanned.returncode == 0, scanned.stderr
    warnings = [w["message"] for w in json.loads(scanned.stdout)["warnings"]]
    assert any(m.startswith(f"cache folder {blocker / 'cache'} cannot be created")
               and m.endswith("scanned without the layer cache") for m in warnings), warnings


def _malware_image(tmp_path: Path) -> str:
    from tests.images import kit

    layers = [kit.Layer([kit.file("etc/os-release", "ID=debian\nVERSION_ID=12\n")]),
              kit.Layer([kit.file("opt/tool.bin", b"known bad bytes for the hash list\n")],
                        created_by="COPY tool.bin /opt/"),
              kit.Layer([kit.file("opt/readme.txt", "nothing here\n")])]
    layout = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    return f"oci:{layout}:t"


def _malware_ids(image: str, cache: Path, *extra: str) -> list[tuple[str, int]]:
    done = run_cli("scan", image, "-q", "--scanners", "malware", "--format", "json",
                   "--cache-dir", str(cache), *extra)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    return sorted((f["id"], f["layer"]) for f in doc["findings"] if f["kind"] == "malware")


def test_user_rule_files_are_part_of_the_key_and_reach_the_workers(tmp_path: Path) -> None:
    """A layer cached without a hash list is not served to a scan that has one (and the other
    way round), and worker processes see the user's hash list like the main process does."""
    import hashlib

    image, cache = _malware_image(tmp_path), tmp_path / "cache"
    digest = hashlib.sha256(b"known bad bytes for the hash list\n").hexdigest()
    hashes = tmp_path / "bad.sha256"
    hashes.write_text(f"{digest}  test-bad-tool\n")
    assert _malware_ids(image, cache, "--parallel", "2") == []
    found = _malware_ids(image, cache, "--parallel", "2", "--malware-hashes", str(hashes))
    assert found == [("test-bad-tool", 1)]
    # warm, in one process: the same answer from the entries the workers wrote
    assert _malware_ids(image, cache, "--parallel", "1", "--malware-hashes",
                        str(hashes)) == found
    hashes.write_text(f"{'0' * 64}  something-else\n")  # the list's content changed
    assert _malware_ids(image, cache, "--malware-hashes", str(hashes)) == []
