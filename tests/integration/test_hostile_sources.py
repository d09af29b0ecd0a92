"""Hostile inputs on the source side: every one ends in exit 2 with one line, in bounded time
and memory, never a traceback or a hang.

Each case builds the input for real (tests/images/kit.py, then corrupts it) and runs the real
CLI in a child process. Bounds, stated once: a child must finish within ``TIME_LIMIT`` seconds
(it is killed after that and the test fails) and peak at most ``RSS_LIMIT`` resident memory,
measured for that child alone (its VmHWM, which it records as it exits).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.images import kit

TIME_LIMIT = 60.0
"""Seconds; a healthy run takes 1-3 s, the slack is for a loaded 2-core machine."""

RSS_LIMIT = 300 << 20
"""Bytes of peak resident memory of the scanner process."""

ERROR = "portcullis: error: "


@dataclass
class Outcome:
    code: int
    stderr: str
    seconds: float
    max_rss: int


# Runs in the child: records the child's own peak RSS (VmHWM) at exit. ru_maxrss from wait4 would
# not do: Linux carries the parent's high-water mark across fork and exec, so a child of a big
# pytest process would report the parent's size.
_PEAK_RECORDER = """
import atexit, os, runpy, sys

def record():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["PORTCULLIS_TEST_PEAK_FILE"], "w") as out:
        out.write(peak)

atexit.register(record)
what = sys.argv[1]
sys.argv = sys.argv[1:]
if what == "-c":
    exec(sys.argv[1])
else:
    runpy.run_module(what, run_name="__main__", alter_sys=True)
"""


def run_child(*argv: str, prefix: tuple[str, ...] = ()) -> Outcome:
    """``python ARGV`` (``-m`` implied: a module, or ``-c CODE``) in a child, killed after
    TIME_LIMIT; its exit code, stderr, wall time and own peak RSS."""
    env = dict(os.environ)
    env.pop("CI", None)
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        env["PORTCULLIS_TEST_PEAK_FILE"] = str(peak_file)
        cmd = [*prefix, sys.executable, "-c", _PEAK_RECORDER, *argv]
        start = time.monotonic()
        try:
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                                  timeout=TIME_LIMIT, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"hung: killed after {TIME_LIMIT} s ({argv})")
        seconds = time.monotonic() - start
        stderr = done.stderr.decode("utf-8", "replace")
        assert peak_file.exists(), f"the child left no peak RSS: {stderr}"
        peak = int(peak_file.read_text()) * 1024
    return Outcome(done.returncode, stderr, seconds, peak)


def run_bounded(*args: str, prefix: tuple[str, ...] = ()) -> Outcome:
    """``portcullis ARGS`` in a child (see run_child)."""
    return run_child("portcullis", *args, prefix=prefix)


def scan_fails(ref: str, *extra: str, prefix: tuple[str, ...] = ()) -> str:
    """Scan ``ref``; assert exit 2, one ``portcullis: error:`` line, within the bounds."""
    got = run_bounded("scan", ref, "--quiet", "--format", "json", "--scanners", "none", *extra,
                      prefix=prefix)
    assert got.code == 2, (got.code, got.stderr)
    assert "Traceback" not in got.stderr
    lines = [line for line in got.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, got.stderr
    assert lines[0].startswith(ERROR), lines[0]
    assert got.seconds < TIME_LIMIT
    assert got.max_rss < RSS_LIMIT, f"peak RSS {got.max_rss >> 20} MiB"
    return lines[0]


# --- building hostile images -------------------------------------------------------------


@dataclass
class HostileSpec(kit.ImageSpec):
    """An image whose config document gets ``top`` merged into it after it is built."""

    top: dict[str, Any] = field(default_factory=dict)

    def config_doc(self) -> dict[str, Any]:
        doc = super().config_doc()
        doc.update(self.top)
        return doc


def small_spec(config: dict[str, Any] | None = None, top: dict[str, Any] | None = None) -> HostileSpec:
    layer = kit.Layer([kit.file("etc/hello", "hi\n")])
    return HostileSpec(layers=[layer], config=config or {"Env": ["A=1"]}, top=top or {})


def docker_archive(path: Path, spec: kit.ImageSpec,
                   manifest: Callable[[list[dict[str, Any]]], Any] | None = None) -> str:
    files, links = kit.docker_archive_files(spec, style="legacy")
    if manifest is not None:
        files["manifest.json"] = json.dumps(manifest(json.loads(files["manifest.json"]))).encode()
    kit.write_tar(path, files, links)
    return f"docker-archive:{path}"


def oci_layout(root: Path, spec: kit.ImageSpec,
               manifest: Callable[[dict[str, Any]], Any] | None = None,
               index: Callable[[dict[str, Any]], Any] | None = None) -> str:
    """A layout whose image manifest and index.json pass through the given edits."""
    sink = kit.BlobSink()
    doc = kit.oci_manifest(spec, sink)
    if manifest is not None:
        doc = manifest(doc)
    desc = sink.add(json.dumps(doc).encode())
    desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    desc["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    top: Any = {"schemaVersion": 2, "manifests": [desc]}
    if index is not None:
        top = index(top)
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": json.dumps(top).encode()}
    for digest, data in sink.blobs.items():
        files["blobs/sha256/" + digest.split(":")[1]] = data
    kit.write_tree(root, files)
    return f"oci:{root}"


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def set_in(path: str, value: Any) -> Callable[[Any], Any]:
    """An edit that puts ``value`` at ``path`` (dotted, ints index lists) of a JSON document."""

    def edit(doc: Any) -> Any:
        keys: list[str | int] = [int(k) if k.isdigit() else k for k in path.split(".")]
        node = doc
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
        return doc

    return edit


# --- JSON of the wrong shape ---------------------------------------------------------------

CONFIG_CASES = {
    # config field: (where it goes, the value, the field path in the message)
    "Env": ({"Env": 5}, {}, "config.Env: expected array | null, got int"),
    "ExposedPorts": ({"ExposedPorts": 5}, {}, "config.ExposedPorts: expected object | null, got int"),
    "Labels": ({"Labels": 5}, {}, "config.Labels: expected object | null, got int"),
    "Labels-value": ({"Labels": {"a": 5}}, {}, "config.Labels[...]: expected str, got int"),
    "Entrypoint": ({"Entrypoint": 5}, {}, "config.Entrypoint: expected str | array"),
    "Cmd-item": ({"Cmd": ["sh", 5]}, {}, "config.Cmd[1]: expected str, got int"),
    "history": ({}, {"history": 5}, "history: expected array"),
    "history-item": ({}, {"history": [5]}, "history[0]: expected object, got int"),
    "config": ({}, {"config": 5}, "config: expected object"),
    "diff_ids": ({}, {"rootfs": {"diff_ids": 5}}, "rootfs.diff_ids: expected array"),
    "diff_id": ({}, {"rootfs": {"diff_ids": ["nope"]}}, "rootfs.diff_ids[0]"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
@pytest.mark.parametrize("form", ["docker-archive", "oci"])
def test_config_of_the_wrong_shape(tmp_path: Path, case: str, form: str) -> None:
    config, top, expected = CONFIG_CASES[case]
    spec = small_spec(config, top)
    ref = (docker_archive(tmp_path / "image.tar", spec) if form == "docker-archive"
           else oci_layout(tmp_path / "oci", spec))
    line = scan_fails(ref)
    assert expected in line
    assert str(tmp_path) in line


MANIFEST_JSON_CASES = {
    "Layers": (set_in("0.Layers", 5), "manifest.json: [0].Layers: expected array, got int"),
    "Layers-item": (set_in("0.Layers", [5]), "manifest.json: [0].Layers[0]: expected str, got int"),
    "RepoTags": (set_in("0.RepoTags", 5), "manifest.json: [0].RepoTags: expected array | null, got int"),
    "Config": (set_in("0.Config", {}), "manifest.json: [0].Config: expected str, got object"),
    "no-Config": (lambda doc: [{"Layers": []}], "[0]: object missing required field Config"),
    "entry": (lambda doc: [5], "manifest.json: [0]: expected object, got int"),
    "top": (lambda doc: {"Layers": []}, "manifest.json: expected array, got object"),
    "not-json": (lambda doc: float("nan"), "manifest.json: not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(MANIFEST_JSON_CASES))
def test_docker_manifest_json_of_the_wrong_shape(tmp_path: Path, case: str) -> None:
    edit, expected = MANIFEST_JSON_CASES[case]
    line = scan_fails(docker_archive(tmp_path / "image.tar", small_spec(), manifest=edit))
    assert expected in line, line


OCI_CASES = {
    # which document, the edit, the message
    "index-manifests": ("index", set_in("manifests", 5), "index.json: manifests: expected array"),
    "index-annotations": ("index", set_in("annotations", 5),
                          "index.json: annotations: expected object | null, got int"),
    "index-descriptor": ("index", set_in("manifests.0", 5),
                         "index.json: manifests[0]: expected object, got int"),
    "index-digest": ("index", set_in("manifests.0.digest", 5),
                     "index.json: manifests[0].digest: expected str, got int"),
    "index-bad-digest": ("index", set_in("manifests.0.digest", "sha256:zz"),
                         "index.json: manifests[0].digest:"),
    "index-size": ("index", set_in("manifests.0.size", -1), "manifests[0].size: expected int >= 0"),
    "index-platform": ("index", set_in("manifests.0.platform", 5),
                       "index.json: manifests[0].platform: expected object | null, got int"),
    "index-descriptor-annotations": ("index", set_in("manifests.0.annotations", [1]),
                                     "index.json: manifests[0].annotations: expected object | null, got array"),
    "index-top": ("index", lambda doc: [doc], "index.json: manifest is not a JSON object"),
    "manifest-layers": ("manifest", set_in("layers", 5), ": layers: expected array | null, got int"),
    "manifest-layer": ("manifest", set_in("layers.0", 5), "layers[0]: expected object, got int"),
    "manifest-config": ("manifest", set_in("config", 5), ": config: expected object | null, got int"),
    "manifest-annotations": ("manifest", set_in("annotations", 5),
                             ": annotations: expected object | null, got int"),
    "manifest-mediaType": ("manifest", set_in("mediaType", 5), "mediaType: expected str"),
}


@pytest.mark.parametrize("case", sorted(OCI_CASES))
def test_oci_documents_of_the_wrong_shape(tmp_path: Path, case: str) -> None:
    which, edit, expected = OCI_CASES[case]
    kwargs = {which: edit}
    line = scan_fails(oci_layout(tmp_path / "oci", small_spec(), **kwargs))  # type: ignore[arg-type]
    assert expected in line, line


# --- deep nesting ---------------------------------------------------------------------------

DEPTH = 100_000


def test_deep_manifest_json(tmp_path: Path) -> None:
    line = scan_fails(docker_archive(tmp_path / "image.tar", small_spec(),
                                     manifest=lambda doc: json.loads("[]")))
    assert "manifest.json lists no images" in line
    files, links = kit.docker_archive_files(small_spec(), style="legacy")
    files["manifest.json"] = deep(DEPTH).encode()
    kit.write_tar(tmp_path / "deep.tar", files, links)
    line = scan_fails(f"docker-archive:{tmp_path / 'deep.tar'}")
    assert "manifest.json: JSON nested deeper than 64 levels" in line


def test_deep_index_json(tmp_path: Path) -> None:
    ref = oci_layout(tmp_path / "oci", small_spec())
    (tmp_path / "oci" / "index.json").write_text('{"manifests":' + deep(DEPTH) + "}")
    assert "index.json: JSON nested deeper than 64 levels" in scan_fails(ref)


def test_deep_manifest_and_config_blobs(tmp_path: Path) -> None:
    ref = oci_layout(tmp_path / "a", small_spec(),
                     manifest=set_in("annotations", json.loads(deep(500))))
    assert "JSON nested deeper than 64 levels" in scan_fails(ref)
    ref = oci_layout(tmp_path / "b", small_spec(top={"container_config": json.loads(deep(500))}))
    assert "config sha256:" in (line := scan_fails(ref)) and "nested deeper" in line


def test_strings_full_of_brackets_are_not_nesting(tmp_path: Path) -> None:
    labels = {"a": "[" * 10_000, "b": '\\"{' * 1000}
    ref = oci_layout(tmp_path / "oci", small_spec({"Labels": labels}))
    got = run_bounded("scan", ref, "--quiet", "--format", "json", "--scanners", "none")
    assert got.code == 0, got.stderr
    assert got.max_rss < RSS_LIMIT


# --- FIFOs and other non-regular files ----------------------------------------------------------


def test_fifo_as_archive(tmp_path: Path) -> None:
    fifo = tmp_path / "image.tar"
    os.mkfifo(fifo)
    for scheme in ("docker-archive", "oci-archive"):
        line = scan_fails(f"{scheme}:{fifo}")
        assert line == f"{ERROR}{fifo}: a FIFO, not a regular file"


def test_fifo_in_an_oci_layout(tmp_path: Path) -> None:
    spec = small_spec()
    layer_hex = hashlib.sha256(spec.layers[0].blob()).hexdigest()
    config_hex = hashlib.sha256(spec.config_bytes()).hexdigest()
    for name in ("index.json", f"blobs/sha256/{layer_hex}", f"blobs/sha256/{config_hex}"):
        root = tmp_path / name.replace("/", "_")
        ref = oci_layout(root, spec)
        (root / name).unlink()
        os.mkfifo(root / name)
        line = scan_fails(ref)
        assert line == f"{ERROR}{root}/{name}: a FIFO, not a regular file"


def test_directory_and_device_as_blobs(tmp_path: Path) -> None:
    ref = oci_layout(tmp_path / "oci", small_spec())
    (tmp_path / "oci" / "index.json").unlink()
    (tmp_path / "oci" / "index.json").mkdir()
    assert scan_fails(ref).endswith("index.json: a directory, not a regular file")
    assert scan_fails("docker-archive:/dev/null").endswith("/dev/null: a device, not a regular file")


# --- permissions and the temp dir ------------------------------------------------------------------


def without_root_privileges() -> tuple[str, ...]:
    """A command prefix under which file permissions apply to this test's user.

    Root bypasses them through CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, so as root the child
    runs with those two dropped from its bounding set (util-linux setpriv).
    """
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be made to apply")
    prefix = (setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--")
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot drop capabilities here: {probe.stderr.strip()}")
    return prefix


def test_unreadable_oci_layout(tmp_path: Path) -> None:
    prefix = without_root_privileges()
    ref = oci_layout(tmp_path / "oci", small_spec())
    (tmp_path / "oci").chmod(0)
    try:
        line = scan_fails(ref, prefix=prefix)
    finally:
        (tmp_path / "oci").chmod(0o755)
    assert line == f"{ERROR}{tmp_path / 'oci'}/index.json: cannot read: Permission denied"


def test_unreadable_blob_and_archive(tmp_path: Path) -> None:
    prefix = without_root_privileges()
    spec = small_spec()
    ref = oci_layout(tmp_path / "oci", spec)
    blob = tmp_path / "oci" / "blobs" / "sha256" / hashlib.sha256(spec.layers[0].blob()).hexdigest()
    blob.chmod(0)
    assert scan_fails(ref, prefix=prefix) == f"{ERROR}{blob}: cannot read: Permission denied"
    archive = tmp_path / "image.tar"
    docker_archive(archive, spec)
    archive.chmod(0)
    line = scan_fails(f"docker-archive:{archive}", prefix=prefix)
    assert line == f"{ERROR}{archive}: cannot read: Permission denied"


def test_missing_temp_dir(tmp_path: Path) -> None:
    ref = oci_layout(tmp_path / "oci", small_spec())
    missing = tmp_path / "no" / "such"
    line = scan_fails(ref, "--temp-dir", str(missing))
    assert line.startswith(f"{ERROR}temp dir {missing}: cannot create files there")


def test_unwritable_temp_dir(tmp_path: Path) -> None:
    prefix = without_root_privileges()
    ref = oci_layout(tmp_path / "oci", small_spec())
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    line = scan_fails(ref, "--temp-dir", str(locked), prefix=prefix)
    assert line == f"{ERROR}temp dir {locked}: cannot create files there: Permission denied"


# --- gzip bombs -------------------------------------------------------------------------------

ZEROS = 64 << 20


def member_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = kit.MTIME
    return info.tobuf(format=tarfile.PAX_FORMAT)


def gzip_zeros(size: int) -> bytes:
    """``size`` zero bytes as gzip members of 64 MiB each, made from one compressed chunk."""
    chunk = gzip.compress(bytes(ZEROS), compresslevel=9, mtime=0)
    whole, rest = divmod(size, ZEROS)
    return chunk * whole + gzip.compress(bytes(rest), mtime=0)


def test_gzip_bomb_one_huge_member(tmp_path: Path) -> None:
    """A 5 MB gzip'd ``docker save`` whose one layer inflates to 5 GB."""
    size = 5_000_000_000 // 512 * 512
    bomb = tmp_path / "bomb.tar.gz"
    with bomb.open("wb") as out:
        out.write(gzip.compress(member_header("blobs/sha256/" + "a" * 64, size), mtime=0))
        out.write(gzip_zeros(size))
    assert bomb.stat().st_size < 6_000_000
    spool = tmp_path / "spool"
    spool.mkdir()
    line = scan_fails(f"docker-archive:{bomb}", "--max-layer-bytes", "64M",
                      "--temp-dir", str(spool))
    assert line.startswith(f"{ERROR}limit exceeded in {bomb}: blobs/sha256/aaaa")
    assert line.endswith(f"max_layer_bytes ({64 << 20} bytes/entries allowed)")
    assert list(spool.iterdir()) == []


def test_gzip_bomb_many_members(tmp_path: Path) -> None:
    """Members each under the layer bound, together far over the image bound."""
    size = 48 << 20
    member = b"".join([gzip.compress(member_header("m", size), mtime=0), gzip_zeros(size)])
    bomb = tmp_path / "bomb.tar.gz"
    with bomb.open("wb") as out:
        for _ in range(40):
            out.write(member)
    spool = tmp_path / "spool"
    spool.mkdir()
    line = scan_fails(f"docker-archive:{bomb}", "--max-layer-bytes", "64M",
                      "--max-image-size", "256M", "--temp-dir", str(spool))
    assert line == f"{ERROR}limit exceeded in {bomb}: max_image_size ({256 << 20} bytes/entries allowed)"
    assert list(spool.iterdir()) == []


def test_gzip_archive_within_limits_still_scans(tmp_path: Path) -> None:
    path = kit.write_docker_archive(tmp_path / "ok.tar.gz", small_spec(), style="legacy",
                                    gzip_whole=True)
    spool = tmp_path / "spool"
    spool.mkdir()
    got = run_bounded("scan", f"docker-archive:{path}", "--quiet", "--format", "json",
                      "--max-layer-bytes", "1M", "--max-image-size", "1M",
                      "--temp-dir", str(spool))
    assert got.code == 0, got.stderr
    assert list(spool.iterdir()) == []


def test_peak_rss_is_the_childs_own() -> None:
    """A child holding 400 MB reports over the bound; a small one well under it, however big
    this test process is."""
    ballast = bytearray(400 << 20)
    ballast[::4096] = b"x" * len(ballast[::4096])
    small = run_child("-c", "pass")
    big = run_child("-c", "b = bytearray(400 << 20); b[::4096] = b'x' * len(b[::4096])")
    del ballast
    assert small.code == 0 and big.code == 0, (small.stderr, big.stderr)
    assert small.max_rss < 64 << 20 < RSS_LIMIT < big.max_rss


# --- the same decoders behind a registry -----------------------------------------------------------


class HostileRegistry:
    """A minimal Docker Registry v2 on 127.0.0.1 (a real HTTP server in this process) that
    serves one repository ``x``: ``manifests`` and ``blobs`` map a tag or digest to a
    (content type, bytes) pair."""

    def __init__(self) -> None:
        import http.server

        self.manifests: dict[str, tuple[str, bytes]] = {}
        self.blobs: dict[str, bytes] = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                kind, _, key = self.path.removeprefix("/v2/x/").partition("/")
                if self.path == "/v2/":
                    self._send(200, "application/json", b"{}")
                elif kind == "manifests" and key in outer.manifests:
                    self._send(200, *outer.manifests[key])
                elif kind == "blobs" and key in outer.blobs:
                    self._send(200, "application/octet-stream", outer.blobs[key])
                else:
                    self._send(404, "application/json", b'{"errors":[{"code":"NOT_FOUND"}]}')

            do_HEAD = do_GET

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.ref = f"registry:127.0.0.1:{self.server.server_address[1]}/x:latest"

    def serve(self, spec: kit.ImageSpec,
              manifest: Callable[[dict[str, Any]], Any] | None = None) -> None:
        sink = kit.BlobSink()
        doc = kit.oci_manifest(spec, sink)
        self.blobs = dict(sink.blobs)
        body = json.dumps(manifest(doc) if manifest else doc).encode()
        self.manifests = {"latest": ("application/vnd.oci.image.manifest.v1+json", body)}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile_registry() -> Iterator[HostileRegistry]:
    registry = HostileRegistry()
    yield registry
    registry.close()


REGISTRY_CASES = {
    "layers": (set_in("layers", 5), {}, "manifest latest: layers: expected array | null, got int"),
    "annotations": (set_in("annotations", [1]), {},
                    "manifest latest: annotations: expected object | null, got array"),
    "deep": (set_in("annotations", json.loads(deep(500))), {},
             "manifest latest: JSON nested deeper than 64 levels"),
    "config-Env": (None, {"Env": 5}, "config.Env: expected array | null, got int"),
    "config-Entrypoint": (None, {"Entrypoint": {"a": 1}}, "config.Entrypoint: expected str | array"),
}


@pytest.mark.parametrize("case", sorted(REGISTRY_CASES))
def test_registry_documents_of_the_wrong_shape(hostile_registry: HostileRegistry, case: str) -> None:
    edit, config, expected = REGISTRY_CASES[case]
    hostile_registry.serve(small_spec(config or None), edit)
    line = scan_fails(hostile_registry.ref)
    assert expected in line, line


def test_hostile_registry_serves_a_good_image(hostile_registry: HostileRegistry) -> None:
    hostile_registry.serve(small_spec())
    got = run_bounded("scan", hostile_registry.ref, "--quiet", "--format", "json",
                      "--scanners", "none")
    assert got.code == 0, got.stderr


# --- archives of very many entries -------------------------------------------------------------------


def test_archive_of_very_many_entries(tmp_path: Path) -> None:
    """200,000 empty entries (100 MB of headers, 100 KB gzip'd) stop at the entry cap,
    plain or gzip'd, before their headers fill memory."""
    header = member_header("a", 0)
    assert len(header) == 512
    body = header * 200_000 + bytes(1024)
    plain = tmp_path / "many.tar"
    plain.write_bytes(body)
    packed = tmp_path / "many.tar.gz"
    packed.write_bytes(gzip.compress(body, mtime=0))
    for path in (plain, packed):
        line = scan_fails(f"docker-archive:{path}")
        assert line == f"{ERROR}limit exceeded in {path}: archive_members (20000 bytes/entries allowed)"
