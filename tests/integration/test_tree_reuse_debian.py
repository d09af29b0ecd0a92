"""The real Debian test image with its top layer rebuilt (one more file, as a new build of the
application layer makes): a rescan reuses the inventory analyzers whose inputs are in that
layer but unchanged (dpkg's status and file lists sit in the top, ``.deb`` upgrade, layer),
and its report is the report of a scan without cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import scan_noting_reuse
from tests.images import kit
from tests.images.debian import DebianImage

pytestmark = pytest.mark.slow


def test_a_rebuilt_top_layer_reuses_the_inventory(
        debian: DebianImage, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    top = kit.write_top_changed(debian.oci_dir, debian.ref, tmp_path / "top", "rebuilt.txt",
                                b"a new build\n")
    cache = tmp_path / "cache"
    scan_noting_reuse(debian.oci_ref, cache, tmp_path, caplog)
    warm, reused = scan_noting_reuse(top, cache, tmp_path, caplog)
    assert {"os-release", "dpkg", "npm", "python", "dedupe"} <= reused
    cold, _ = scan_noting_reuse(top, None, tmp_path, caplog)
    assert warm == cold
    assert len(cold["packages"]) > 50
