"""A warm rescan through the command line, every scan item on: the report is the cold scan's
(apart from times), and it came from the whole-scan entry (no layer was read again). On the
real Debian test image and on the kit's sample image."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import stable_report
from tests.images.debian import DebianImage


def _scan(image: str, cache: Path, out: Path, db: Path) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "portcullis", "scan", "-q", "--scanners", "all", "--db", str(db),
         "--format", "json", "--output", str(out), "--cache-dir", str(cache), image],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return stable_report(json.loads(out.read_text()))


def _cold_then_warm(image: str, tmp_path: Path) -> tuple[Any, Any]:
    cache, db = tmp_path / "cache", tmp_path / "no-such.db"
    cold = _scan(image, cache, tmp_path / "cold.json", db)
    assert len(list((cache / "images").iterdir())) == 1
    # A rescan that read any layer would write its entry again.
    for kind in ("layers", "inventories"):
        for entry in (cache / kind).iterdir():
            entry.unlink()
    warm = _scan(image, cache, tmp_path / "warm.json", db)
    assert list((cache / "layers").iterdir()) == []
    return cold, warm


def test_a_warm_rescan_of_the_debian_image_reports_the_same(
        debian: DebianImage, tmp_path: Path) -> None:
    cold, warm = _cold_then_warm(debian.oci_ref, tmp_path)
    assert warm == cold
    assert len(cold["packages"]) > 100 and cold["files"]["count"] > 1000
    assert cold["scanners"]["compliance"]["status"] == "ok"
    assert cold["scanners"]["baseline"]["status"] == "ok"


@pytest.mark.parametrize("style", ["oci", "docker-archive"])
def test_a_warm_rescan_of_a_kit_image_reports_the_same(style: str, tmp_path: Path) -> None:
    from tests.images import kit

    spec = kit.sample_image()
    if style == "oci":
        image = f"oci:{kit.write_oci_layout(tmp_path / 'img', spec, ref='t')}:t"
    else:
        image = f"docker-archive:{kit.write_docker_archive(tmp_path / 'img.tar', spec)}"
    cold, warm = _cold_then_warm(image, tmp_path)
    assert warm == cold
    assert cold["findings"] and cold["files"]["count"] > 0
