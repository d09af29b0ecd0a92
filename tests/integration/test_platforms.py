"""Multi-platform OCI layouts: --platform picks the image; a missing platform is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import one_line_error, run_cli
from tests.images import kit
from tests.images.kit import Layer, file


def _spec(arch: str, variant: str | None, release: str) -> kit.ImageSpec:
    return kit.ImageSpec(
        layers=[Layer([file("etc/alpine-release", f"{release}\n"), file(f"arch-{arch}", arch)])],
        architecture=arch, variant=variant)


def _multi(tmp_path: Path) -> Path:
    images = [(_spec("amd64", None, "3.19.1"), "multi"), (_spec("arm64", "v8", "3.19.2"), "multi")]
    return kit.write_tree(tmp_path / "multi", kit.layout_files(images, as_index=True))


def test_platform_selects_image_from_index(tmp_path: Path) -> None:
    root = _multi(tmp_path)
    for platform, arch, release in (("linux/amd64", "amd64", "3.19.1"),
                                    ("linux/arm64", "arm64", "3.19.2"),
                                    ("linux/arm64/v8", "arm64", "3.19.2")):
        result = run_cli("scan", f"oci:{root}:multi", "--platform", platform, "--format", "json")
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["artifact"]["platform"]["architecture"] == arch
        assert doc["artifact"]["os"]["version"] == release
        assert doc["artifact"]["layers"][0]["diff_id"] == _spec(arch, None, release).diff_ids[0]


def test_default_platform_is_the_host(tmp_path: Path) -> None:
    result = run_cli("scan", f"oci:{_multi(tmp_path)}", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["artifact"]["platform"]["architecture"] == "amd64"


def test_missing_platform(tmp_path: Path) -> None:
    line = one_line_error(run_cli("scan", f"oci:{_multi(tmp_path)}", "--platform", "linux/s390x"))
    assert "linux/s390x" in line and "linux/amd64" in line and "linux/arm64/v8" in line


def test_unknown_ref_name(tmp_path: Path) -> None:
    line = one_line_error(run_cli("scan", f"oci:{_multi(tmp_path)}:nope"))
    assert "'nope'" in line and "multi" in line
