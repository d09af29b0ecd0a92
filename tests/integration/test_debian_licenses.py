"""The Debian image's copyright files are normalised from the SPDX table alone: a scan that
does not need license-expression's parser (no compound expression among them) never imports
it, and still reports the parser's SPDX forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.images.debian import DebianImage
from tests.unit.test_startup import loaded

pytestmark = pytest.mark.slow

_MAIN = ("sys.argv = ['portcullis'] + sys.argv[1:]\n    from portcullis.cli.main import main"
         "\n    try:\n        main()\n    except SystemExit as e:\n"
         "        assert not e.code, e.code")


def test_a_full_scan_of_the_debian_image_does_not_load_the_license_parser(
        debian: DebianImage, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    modules = loaded(_MAIN, "scan", f"oci:{debian.oci_dir}:{debian.ref}", "--scanners",
                     "packages,files,base-image", "--no-cache", "--format", "json", "--quiet",
                     "--output", str(out))
    assert "portcullis.analyze.licenses" in modules  # the probe sees the step that ran
    assert [m for m in modules if m.split(".")[0] == "license_expression"] == []
    licenses = {p["name"]: p["licenses"] for p in json.loads(out.read_text())["packages"]}
    # Table answers: "Ms-PL" made the SPDX id, names the parser does not know kept as written.
    assert {"MS-PL", "MIT-old", "TCL-like"} <= set(licenses["libdb5.3"])
    assert "GPL-3+ with Bison exception" in licenses["bash"]
