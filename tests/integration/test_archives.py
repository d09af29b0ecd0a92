"""Every archive form gives the same image; bad archives fail cleanly (exit 2, one line)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.conftest import one_line_error, run_cli
from tests.images import kit
from tests.images.kit import Layer, file, symlink


def scan_json(ref: str, *extra: str) -> dict:  # type: ignore[type-arg]
    result = run_cli("scan", ref, "--format", "json", "--quiet", *extra)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_all_archive_forms_agree(sample_formats: dict[str, str]) -> None:
    spec = kit.sample_image()
    seen = {}
    for name, ref in sample_formats.items():
        doc = scan_json(ref)
        art = doc["artifact"]
        seen[name] = ([layer["diff_id"] for layer in art["layers"]], art["os"])
        assert art["config"]["user"] == "1000"
        assert art["config"]["exposed_ports"] == ["8080/tcp"]
        assert [layer["created_by"] for layer in art["layers"]] == [
            layer.created_by for layer in spec.layers]
        assert doc["files"]["count"] == 7
        assert doc["scanners"]["vuln"]["status"] == "ok"
    assert {tuple(v[0]) for v in seen.values()} == {tuple(spec.diff_ids)}
    assert all(v[1] == seen["oci"][1] for v in seen.values())
    assert seen["oci"][1]["family"] == "alpine" and seen["oci"][1]["version"] == "3.19.1"


def test_report_fields(sample_formats: dict[str, str]) -> None:
    doc = scan_json(sample_formats["oci"])
    art = doc["artifact"]
    assert art["source"] == "oci"
    assert art["manifest_digest"].startswith("sha256:")
    assert art["platform"] == {"os": "linux", "architecture": "amd64", "variant": None}
    assert art["size"] == sum(layer["size"] for layer in art["layers"])
    assert art["config"]["cmd"] == ["python", "/app/main.py"]
    assert art["config"]["working_dir"] == "/app"
    largest = doc["files"]["largest"]
    sizes = [item["size"] for item in largest]
    assert sizes == sorted(sizes, reverse=True) and len(largest) == 7
    by_path = {item["path"]: item for item in largest}
    assert by_path["/usr/bin/tool"] == {"path": "/usr/bin/tool", "size": 64, "layer": 0}
    assert by_path["/app/main.py"]["layer"] == 2
    for key in ("schema_version", "tool", "created_at", "base_image", "packages", "findings",
                "scanners", "summary", "db", "verdict", "warnings"):
        assert key in doc
    assert set(doc["scanners"]) == {"vuln", "secret", "malware", "baseline", "compliance",
                                    "packages", "files", "base-image"}


def test_table_output_and_output_file(sample_formats: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    table = tmp_path / "r.txt"
    result = run_cli("scan", sample_formats["oci-archive"], "--format", "table", "--quiet",
                     "--output", str(table), "--report", f"json={out}")
    assert result.returncode == 0, result.stderr
    assert "Alpine Linux 3.19.1" in table.read_text()
    assert json.loads(out.read_text())["artifact"]["source"] == "oci-archive"


def test_scanners_flag(sample_formats: dict[str, str]) -> None:
    doc = scan_json(sample_formats["oci"], "--scanners", "secret,files")
    assert doc["scanners"]["vuln"] == {"status": "skipped", "message": "not requested",
                                       "seconds": 0.0}
    bad = run_cli("scan", sample_formats["oci"], "--scanners", "viruses")
    assert "unknown scanner" in one_line_error(bad)


def _layout(tmp_path: Path, layers: list[Layer], name: str = "img") -> Path:
    return kit.write_oci_layout(tmp_path / name, kit.ImageSpec(layers=layers), ref="t")


def _base() -> Layer:
    return Layer([file("etc/os-release", "ID=debian\nVERSION_ID=12\nNAME=Debian\n")])


def _blob_of(root: Path, digest: str) -> Path:
    return root / "blobs" / "sha256" / digest.split(":")[1]


def test_corrupt_gzip_layer(tmp_path: Path) -> None:
    good = gzip.compress(_base().tar_bytes(), mtime=0)
    broken = good[:20] + bytes(b ^ 0xFF for b in good[20:60]) + good[60:]
    layer = Layer([], blob_override=broken, tar_override=_base().tar_bytes())
    root = _layout(tmp_path, [layer])
    line = one_line_error(run_cli("scan", f"oci:{root}:t", "--quiet"))
    assert "layer 0" in line and ("corrupt" in line or "mismatch" in line)


def test_truncated_layer_tar(tmp_path: Path) -> None:
    big = Layer([file("data.bin", b"x" * 50_000), file("etc/os-release", "ID=alpine\n")])
    cut = big.tar_bytes()[:30_000]
    root = _layout(tmp_path, [Layer([], tar_override=cut)])
    line = one_line_error(run_cli("scan", f"oci:{root}:t", "--quiet"))
    assert "truncated" in line or "corrupt" in line


def test_truncated_archive_file(sample_formats: dict[str, str], tmp_path: Path) -> None:
    src = Path(sample_formats["docker-archive-skopeo"].split(":", 1)[1])
    cut = tmp_path / "cut.tar"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    line = one_line_error(run_cli("scan", f"docker-archive:{cut}", "--quiet"))
    assert str(cut) in line


def test_missing_blob(tmp_path: Path) -> None:
    spec = kit.ImageSpec(layers=[_base()])
    root = kit.write_oci_layout(tmp_path / "img", spec, ref="t")
    layer_blob = _blob_of(root, kit.sha(spec.layers[0].blob()))
    layer_blob.unlink()
    line = one_line_error(run_cli("scan", f"oci:{root}:t", "--quiet"))
    assert "missing" in line


def test_wrong_blob_digest(tmp_path: Path) -> None:
    spec = kit.ImageSpec(layers=[_base()])
    root = kit.write_oci_layout(tmp_path / "img", spec, ref="t")
    other = Layer([file("etc/os-release", "ID=evil\n")]).blob()
    blob = _blob_of(root, kit.sha(spec.layers[0].blob()))
    blob.write_bytes(other)
    line = one_line_error(run_cli("scan", f"oci:{root}:t", "--quiet"))
    assert "mismatch" in line


def test_wrong_diff_id(tmp_path: Path) -> None:
    spec = kit.ImageSpec(layers=[_base()])
    files = kit.layout_files([(spec, "t")])
    # Rewrite the config with a wrong diff_id, then the manifest and index that name it.
    doc = spec.config_doc()
    doc["rootfs"]["diff_ids"] = ["sha256:" + "1" * 64]
    sink = kit.BlobSink()
    config = sink.add(kit.canonical(doc))
    layer_desc = sink.add(spec.layers[0].blob())
    manifest = sink.add(kit.canonical({"schemaVersion": 2, "config": config,
                                       "layers": [layer_desc]}))
    manifest["annotations"] = {"org.opencontainers.image.ref.name": "t"}
    files = {"oci-layout": files["oci-layout"],
             "index.json": kit.canonical({"schemaVersion": 2, "manifests": [manifest]})}
    for digest, data in sink.blobs.items():
        files[f"blobs/sha256/{digest.split(':')[1]}"] = data
    root = kit.write_tree(tmp_path / "img", files)
    line = one_line_error(run_cli("scan", f"oci:{root}:t", "--quiet"))
    assert "diff_id mismatch" in line


def test_manifest_not_json(tmp_path: Path) -> None:
    garbage = b"<html>502 Bad Gateway</html>"
    digest = kit.sha(garbage)
    files = {"oci-layout": kit.canonical({"imageLayoutVersion": "1.0.0"}),
             "index.json": kit.canonical({"schemaVersion": 2, "manifests": [
                 {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "digest": digest, "size": len(garbage)}]}),
             f"blobs/sha256/{digest.split(':')[1]}": garbage}
    root = kit.write_tree(tmp_path / "img", files)
    line = one_line_error(run_cli("scan", f"oci:{root}", "--quiet"))
    assert "not valid JSON" in line


def test_index_json_not_json(tmp_path: Path) -> None:
    root = tmp_path / "img"
    root.mkdir()
    (root / "oci-layout").write_text("{}")
    (root / "index.json").write_text("{nope")
    assert "not valid JSON" in one_line_error(run_cli("scan", f"oci:{root}", "--quiet"))


def test_path_traversal_member_is_ignored_and_never_written(tmp_path: Path,
                                                            empty_dir: Path) -> None:
    evil = Layer([
        file("../../etc/passwd", "pwned:x:0:0::/:/bin/sh\n"),
        file("/abs/../../../tmp/evil-portcullis", "x"),
        file("./usr/../tmp/inside", "y"),
        file("etc/os-release", "ID=alpine\nVERSION_ID=3.19.0\n"),
    ])
    root = _layout(tmp_path, [evil])
    before = Path("/etc/passwd").read_bytes()
    doc = scan_json(f"oci:{root}:t", "--temp-dir", str(empty_dir))
    assert Path("/etc/passwd").read_bytes() == before
    assert not Path("/tmp/evil-portcullis").exists()
    assert list(empty_dir.iterdir()) == []
    messages = [w["message"] for w in doc["warnings"]]
    assert any("escapes the image root" in m and "../../etc/passwd" in m for m in messages)
    # the in-image path that does stay inside the root is normalised, not dropped
    assert doc["files"]["count"] == 2
    assert {item["path"] for item in doc["files"]["largest"]} == {"/tmp/inside", "/etc/os-release"}
    assert doc["artifact"]["os"]["family"] == "alpine"


def test_absolute_symlink_to_os_release_is_followed_inside_image(tmp_path: Path) -> None:
    layer = Layer([
        file("usr/lib/os-release", 'ID=debian\nVERSION_ID="12"\nNAME="Debian GNU/Linux"\n'),
        symlink("etc/os-release", "/usr/lib/os-release"),
    ])
    doc = scan_json(f"oci:{_layout(tmp_path, [layer])}:t")
    assert doc["artifact"]["os"]["family"] == "debian"
    assert doc["artifact"]["os"]["version"] == "12"


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    layer = Layer([symlink("etc/os-release", "/etc/os-loop"),
                   symlink("etc/os-loop", "/etc/os-release")])
    doc = scan_json(f"oci:{_layout(tmp_path, [layer])}:t")
    assert doc["artifact"]["os"] is None
    assert any("not recognised" in w["message"] for w in doc["warnings"])


def test_decompression_bomb(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = 64 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    bomb = Layer([], tar_override=buf.getvalue())
    root = _layout(tmp_path, [bomb])
    assert (tmp_path / "img").exists()
    blob_size = len(bomb.blob())
    assert blob_size < 200_000
    line = one_line_error(run_cli("scan", f"oci:{root}:t", "--quiet", "--max-layer-bytes", "8M"))
    assert "max_layer_bytes" in line


def test_image_over_sized(sample_formats: dict[str, str]) -> None:
    line = one_line_error(run_cli("scan", sample_formats["oci"], "--max-image-size", "100"))
    assert "max_image_size" in line and "over-sized" in line


def test_file_count_limit(sample_formats: dict[str, str]) -> None:
    line = one_line_error(run_cli("scan", sample_formats["oci"], "--max-files", "3"))
    assert "max_files" in line


def test_usage_errors(tmp_path: Path) -> None:
    assert "no such file" in one_line_error(run_cli("scan", str(tmp_path / "nope.tar")))
    assert "platform" in one_line_error(run_cli("scan", str(tmp_path), "--platform", "linux"))
    empty = tmp_path / "empty.tar"
    empty.write_bytes(b"")
    one_line_error(run_cli("scan", f"docker-archive:{empty}"))


def test_dir_source(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=ubuntu\nVERSION_ID=22.04\nNAME=Ubuntu\n")
    (root / "etc" / "link").symlink_to("/etc/os-release")
    doc = scan_json(f"dir:{root}")
    assert doc["artifact"]["source"] == "dir"
    assert doc["artifact"]["os"]["family"] == "ubuntu"
    assert doc["files"]["count"] == 1


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_compression_is_sniffed_not_trusted(tmp_path: Path, compression: str) -> None:
    layer = Layer([file("etc/alpine-release", "3.18.4\n")], compression=compression)
    spec = kit.ImageSpec(layers=[layer])
    files = kit.layout_files([(spec, "t")])
    # Lie about the media type: the scanner must look at the bytes.
    for name, data in list(files.items()):
        if b"tar+gzip" in data or b"tar+zstd" in data:
            files[name] = data.replace(b"tar+gzip", b"tar").replace(b"tar+zstd", b"tar")
    text_root = kit.write_tree(tmp_path / "img", files)
    # The edit changed manifest bytes, so rebuild a consistent layout with the lying manifest.
    del text_root
    sink = kit.BlobSink()
    config = sink.add(spec.config_bytes())
    desc = sink.add(layer.blob())
    desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    manifest = sink.add(kit.canonical({"schemaVersion": 2, "config": config, "layers": [desc]}))
    fresh = {"oci-layout": files["oci-layout"],
             "index.json": kit.canonical({"schemaVersion": 2, "manifests": [manifest]})}
    for digest, data in sink.blobs.items():
        fresh[f"blobs/sha256/{digest.split(':')[1]}"] = data
    root = kit.write_tree(tmp_path / "img2", fresh)
    doc = scan_json(f"oci:{root}")
    assert doc["artifact"]["os"] == {"family": "alpine", "name": "Alpine Linux",
                                     "version": "3.18.4", "codename": None,
                                     "pretty_name": None, "eol": True}  # ended 2025-05-09


def test_progress_on_a_terminal_only(sample_formats: dict[str, str], tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("script") is None:
        pytest.skip("needs script(1) from util-linux to get a pseudo-terminal")
    out = tmp_path / "r.json"
    log = tmp_path / "tty.log"
    cmd = (f"{sys.executable} -m portcullis scan {sample_formats['oci']} --format json "
           f"--output {out}")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    done = subprocess.run(["script", "-qec", cmd, str(log)], capture_output=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout
    assert "layer 3/3" in log.read_text(errors="replace")
    assert json.loads(out.read_text())["artifact"]["source"] == "oci"
    quiet = run_cli("scan", sample_formats["oci"], "--format", "json")  # no TTY: no progress
    assert quiet.returncode == 0 and quiet.stderr == ""
