"""Tree-analyzer reuse (analyze/tree_reuse.py): a rescan after a change to the top layer runs
again only the inventory analyzers whose inputs changed, and its report is the report of a
scan without any cache. Real kit images, every shipped analyzer, the real engine and cache."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    TreeAnalyzer,
)
from portcullis.analyze.engine import EngineOptions, run
from portcullis.analyze.tree_reuse import Recorder
from portcullis.cache import LayerCacheDir, decode_entry
from portcullis.errors import PortcullisError
from portcullis.layers.view import Filesystem
from portcullis.limits import ScanLimits
from portcullis.model.distro import Distro
from portcullis.scan import _selected_analyzers, parse_scanners
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.conftest import run_cli, scan_noting_reuse, stable_report
from tests.images import kit

DAY = datetime(2026, 12, 1, 12, tzinfo=UTC)

STATUS = """Package: libfoo
Status: install ok installed
Architecture: amd64
Version: 1.2-1
Maintainer: Someone <a@example.org>
Description: a library

Package: pybar
Status: install ok installed
Architecture: all
Version: 2.0-3
Maintainer: Someone <a@example.org>
Description: a Python module
"""
LIBFOO_LIST = "/.\n/usr\n/usr/lib\n/usr/lib/libfoo.so.1\n/usr/share/doc/libfoo/copyright\n"
PYBAR_LIST = ("/.\n/usr/lib/python3/dist-packages/pybar-2.0.dist-info/METADATA\n"
              "/usr/share/doc/pybar/copyright\n")
COPYRIGHT = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
             "Files: *\nLicense: GPL-2+\n")
OS_RELEASE = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
LEFT_PAD = '{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}\n'
METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n"


def _base() -> kit.Layer:
    return kit.Layer([
        kit.directory("etc"), kit.file("etc/os-release", OS_RELEASE),
        kit.file("var/lib/dpkg/status", STATUS),
        kit.file("var/lib/dpkg/info/libfoo.list", LIBFOO_LIST),
        kit.file("var/lib/dpkg/info/pybar.list", PYBAR_LIST),
        kit.file("usr/lib/libfoo.so.1", b"\x7fELF" + b"\0" * 40),
        kit.file("usr/share/doc/libfoo/copyright", COPYRIGHT),
        kit.file("usr/share/doc/pybar/copyright", COPYRIGHT.replace("GPL-2+", "MIT")),
        # Owned by pybar: the python analyzer finds it, the dedupe step drops it.
        kit.file("usr/lib/python3/dist-packages/pybar-2.0.dist-info/METADATA",
                 METADATA.format(name="pybar", version="2.0")),
    ])


def _apps() -> kit.Layer:
    return kit.Layer([
        kit.file("app/node_modules/left-pad/package.json", LEFT_PAD),
        kit.file("usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
                 METADATA.format(name="six", version="1.16.0")),
    ])


def _image(tmp_path: Path, name: str, top: list[kit.Entry]) -> str:
    spec = kit.ImageSpec(layers=[_base(), _apps(),
                                 kit.Layer([kit.file("app/server.js", "serve()\n"), *top])])
    root = kit.write_oci_layout(tmp_path / name, spec, ref="t")
    return f"oci:{root}:t"


@pytest.fixture
def primed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Path:
    """A cache that scanned the image with the plain top layer."""
    cache = tmp_path / "primed"
    _, reused = scan_noting_reuse(_image(tmp_path, "v0", []), cache, tmp_path, caplog)
    assert reused == set()
    return cache


def _rescan(tmp_path: Path, primed: Path, caplog: pytest.LogCaptureFixture,
            name: str, top: list[kit.Entry]) -> set[str]:
    """Scan the variant on a copy of the primed cache; its report must be the no-cache one."""
    ref = _image(tmp_path, name, top)
    cache = tmp_path / f"cache-{name}"
    shutil.copytree(primed, cache)
    warm, reused = scan_noting_reuse(ref, cache, tmp_path, caplog)
    cold, _ = scan_noting_reuse(ref, None, tmp_path, caplog)
    assert warm == cold
    return reused


def test_an_unrelated_file_in_the_top_layer_reuses_every_inventory_analyzer(
        tmp_path: Path, primed: Path, caplog: pytest.LogCaptureFixture) -> None:
    reused = _rescan(tmp_path, primed, caplog, "extra", [kit.file("app/new.txt", "x")])
    assert {"os-release", "dpkg", "npm", "python", "dedupe"} <= reused


@pytest.mark.parametrize(("name", "top", "rerun"), [
    ("status", [kit.file("var/lib/dpkg/status", STATUS.replace("1.2-1", "1.2-2"))], "dpkg"),
    ("list", [kit.file("var/lib/dpkg/info/libfoo.list", LIBFOO_LIST.replace(".so.1", ".so.2"))],
     "dpkg"),
    ("copyright", [kit.file("usr/share/doc/libfoo/copyright", COPYRIGHT.replace("2+", "3+"))],
     "dpkg"),
    ("package-json", [kit.file("app/node_modules/left-pad/package.json",
                               LEFT_PAD.replace("1.3.0", "1.3.1"))], "npm"),
    ("new-package-json", [kit.file("app/node_modules/is-odd/package.json",
                                   '{"name": "is-odd", "version": "3.0.1"}\n')], "npm"),
    ("metadata", [kit.file("usr/local/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
                           METADATA.format(name="six", version="1.16.1"))], "python"),
    ("deleted-copyright", [kit.whiteout("usr/share/doc/libfoo/copyright")], "dpkg"),
    ("deleted-package-json", [kit.whiteout("app/node_modules/left-pad/package.json")], "npm"),
    # A symlink where a copyright file was: resolve() answers differently.
    ("relinked-doc", [kit.whiteout("usr/share/doc/pybar"),
                      kit.symlink("usr/share/doc/pybar", "libfoo")], "dpkg"),
])
def test_a_changed_input_in_the_top_layer_runs_its_analyzer_again(
        tmp_path: Path, primed: Path, caplog: pytest.LogCaptureFixture,
        name: str, top: list[kit.Entry], rerun: str) -> None:
    reused = _rescan(tmp_path, primed, caplog, name, top)
    assert rerun not in reused
    others = {"dpkg", "npm", "python"} - {rerun}
    assert others <= reused


def test_a_changed_os_release_runs_every_inventory_analyzer_again(
        tmp_path: Path, primed: Path, caplog: pytest.LogCaptureFixture) -> None:
    reused = _rescan(tmp_path, primed, caplog, "os",
                     [kit.file("etc/os-release", OS_RELEASE.replace("12", "13"))])
    # The distro is an input of every inventory analyzer.
    assert not reused & {"os-release", "dpkg", "npm", "python"}


def test_a_truncated_record_is_ignored_and_rebuilt(
        tmp_path: Path, primed: Path, caplog: pytest.LogCaptureFixture) -> None:
    trees = sorted((primed / "trees").iterdir())
    assert trees
    for path in trees:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert _rescan(tmp_path, primed, caplog, "after-tear", [kit.file("app/a.txt", "a")]) == set()
    rebuilt = tmp_path / "cache-after-tear" / "trees"
    assert sorted(p.name for p in rebuilt.iterdir()) == sorted(p.name for p in trees)
    assert all(decode_entry(p.read_bytes(), "trees") is not None for p in rebuilt.iterdir())
    # Rebuilt: the next rescan reuses them again.
    shutil.rmtree(primed)
    shutil.copytree(tmp_path / "cache-after-tear", primed)
    assert "dpkg" in _rescan(tmp_path, primed, caplog, "again", [kit.file("app/b.txt", "b")])


def _captured_digests(cache: Path) -> dict[str, list[tuple[str, bytes, bytes]]]:
    """Per layer entry file: its captured files' paths, sha256 as stored, and true sha256."""
    out = {}
    for path in sorted((cache / "layers").iterdir()):
        entry = decode_entry(path.read_bytes())
        assert entry is not None
        out[path.name] = [(c.path, c.sha256, hashlib.sha256(c.data).digest())
                          for c in entry.captured]
    return out


def test_layer_entries_record_the_sha256_of_each_captured_file(primed: Path) -> None:
    stored = _captured_digests(primed)
    paths = {path for files in stored.values() for path, _, _ in files}
    assert "/var/lib/dpkg/status" in paths
    assert all(kept == true for files in stored.values() for _, kept, true in files)


def test_a_garbled_captured_file_digest_is_not_trusted(
        tmp_path: Path, primed: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A replayed read compares the digest stored beside the bytes (never hashing them
    again). That digest is inside the entry's checksum: one garbled there, as any byte of
    the entry, makes the whole entry a miss, so the layer is read and the entry rebuilt."""
    garbled = []
    for path in sorted((primed / "layers").iterdir()):
        data = path.read_bytes()
        entry = decode_entry(data)
        assert entry is not None
        for item in entry.captured:
            if item.path == "/var/lib/dpkg/status":
                assert data.count(item.sha256) == 1
                path.write_bytes(data.replace(item.sha256, hashlib.sha256(b"lie").digest()))
                garbled.append(path.name)
    assert len(garbled) == 1
    _rescan(tmp_path, primed, caplog, "garbled", [kit.file("app/c.txt", "c")])
    rebuilt = _captured_digests(tmp_path / "cache-garbled")
    assert all(kept == true for _, kept, true in rebuilt[garbled[0]])


def test_a_record_keeps_the_owned_paths_apart_from_the_result(primed: Path) -> None:
    """A reused result decodes dpkg's owned paths only if the dedupe step runs again (the
    'metadata' case above: python runs again, dpkg's paths still drop pybar)."""
    owned = {}
    for path in (primed / "trees").iterdir():
        stored = decode_entry(path.read_bytes(), "trees")
        assert stored is not None
        for record in stored.records:
            result = msgspec.msgpack.decode(record.result, type=AnalysisResult)
            assert result.owned_paths == {}
            owned.update(msgspec.msgpack.decode(record.owned, type=list[tuple[str, list[str]]]))
    assert "/usr/lib/libfoo.so.1" in owned["dpkg"]
    # Consumed by the dedupe step: the cached inventory does not carry them.
    [inventory] = (primed / "inventories").iterdir()
    cached = decode_entry(inventory.read_bytes(), "inventories")
    assert cached is not None and cached.result.owned_paths == {}
    assert [p.name for p in cached.result.packages if p.name == "pybar"] == ["pybar"]


def test_cache_info_counts_the_records(primed: Path) -> None:
    info = LayerCacheDir(primed).info()
    assert info.trees == len(list((primed / "trees").iterdir())) > 0


class Flaky:
    """An inventory analyzer that fails while /data/boom exists."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(name="flaky", version=1, paths=("/data/*",),
                                                 stage=STAGE_INVENTORY)
    runs = 0

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        Flaky.runs += 1
        if fs.resolve("/data/boom") is not None:
            raise PortcullisError("boom")
        return AnalysisResult()


def test_a_failed_run_is_not_recorded(tmp_path: Path) -> None:
    def image(name: str, top: list[kit.Entry]) -> str:
        spec = kit.ImageSpec(layers=[kit.Layer([kit.file("data/boom", "1")]), kit.Layer(top)])
        return f"oci:{kit.write_oci_layout(tmp_path / name, spec, ref='t')}:t"

    cache = LayerCacheDir(tmp_path / "cache")

    def once(ref: str) -> list[str]:
        with open_image(ref, SourceOptions()) as opened:
            engine = run(opened, [Flaky()], EngineOptions(temp_dir=str(tmp_path), cache=cache,
                                                          now=DAY))
            engine.close()
        return engine.reused

    Flaky.runs = 0
    assert "flaky" not in once(image("a", [kit.file("x", "1")]))
    assert "flaky" not in once(image("b", [kit.file("x", "2")]))
    assert Flaky.runs == 2  # failed both times: nothing recorded, nothing reused
    assert cache.info().trees == 1  # the dedupe step's record only
    assert "flaky" not in once(image("c", [kit.file("x", "3"), kit.whiteout("data/boom")]))
    assert "flaky" in once(image("d", [kit.file("x", "4"), kit.whiteout("data/boom")]))
    assert Flaky.runs == 3


def test_the_recorder_answers_the_filesystem_protocol_and_nothing_else(tmp_path: Path) -> None:
    protocol = {n for n in vars(Filesystem) if not n.startswith("_")}
    recorded = {n for n in dir(Recorder) if not n.startswith("_")}
    assert recorded - {"queries", "complete", "digest"} == protocol
    ref = _image(tmp_path, "img", [])
    with open_image(ref, SourceOptions()) as opened:
        engine = run(opened, [], EngineOptions(temp_dir=str(tmp_path)))
        recorder = Recorder(engine.view)
        with pytest.raises(AttributeError):
            recorder.history("/etc/os-release")  # type: ignore[attr-defined]
        assert recorder.resolve("/etc/os-release") == engine.view.resolve("/etc/os-release")
        # As entry() sees them: /usr/lib is only implied by its files (no entry of its own).
        assert recorder.dirs_among(["/etc", "/etc/os-release", "/nope", "/usr/lib"]) == \
            frozenset({"/etc"})
        assert [q[0] for q in recorder.queries] == ["resolve", "dirs_among"]
        assert recorder.complete
        list(recorder.walk())
        assert not recorder.complete  # walk() is not recorded: such a run is not kept
        engine.close()


READS: set[str] = set()


class WatchedContext(AnalysisContext):
    """A context that notes every attribute an analyzer reads of it."""

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("__"):
            READS.add(name)
        return super().__getattribute__(name)


# What an inventory analyzer may read of the context: the distro is digested into its
# record's inputs, the limits are in the salt (tree_reuse.py's soundness argument).
ALLOWED = {"distro", "limits"}


@pytest.mark.parametrize("which", ["kit", "sample", pytest.param("debian", marks=pytest.mark.slow)])
def test_inventory_analyzers_read_only_the_view_the_distro_and_the_limits(
        tmp_path: Path, request: pytest.FixtureRequest, which: str) -> None:
    if which == "debian":
        ref = request.getfixturevalue("debian").oci_ref
    elif which == "sample":
        ref = f"oci:{kit.write_oci_layout(tmp_path / 'sample', kit.sample_image(), ref='t')}:t"
    else:
        ref = _image(tmp_path, "kit", [kit.whiteout("usr/share/doc/pybar/copyright")])
    analyzers = _selected_analyzers(parse_scanners("all"))
    early = [a for a in analyzers
             if isinstance(a, TreeAnalyzer) and a.spec.stage <= STAGE_INVENTORY]
    assert {"os-release", "dpkg", "npm", "python"} <= {a.spec.name for a in early}
    with open_image(ref, SourceOptions()) as opened:
        engine = run(opened, analyzers, EngineOptions(temp_dir=str(tmp_path), now=DAY))
        view = engine.view
        found = 0
        for analyzer in early:
            distro = engine.result.distro if analyzer.spec.stage == STAGE_INVENTORY else None

            def context(cls: type[AnalysisContext], distro: Distro | None = distro,
                        ) -> AnalysisContext:
                return cls(image=opened.info, limits=ScanLimits(), now=DAY, distro=distro)

            watched = context(WatchedContext)
            READS.clear()
            recorder = Recorder(view)
            recorded = analyzer.analyze(recorder, watched)
            assert READS <= ALLOWED, (analyzer.spec.name, READS)
            # Through the recorder, the same result as on the view itself, and every query
            # recorded (none went around it: an unknown one would have raised above).
            assert recorded == analyzer.analyze(view, context(AnalysisContext))
            assert recorder.complete, analyzer.spec.name
            found += len(recorded.packages)
        engine.close()
    if which != "sample":  # the sample image has no package DB
        assert found > 0


def test_an_analyzer_run_again_that_finds_the_same_keeps_the_dedupe_step(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """dpkg runs again (its DB's mode changed: an answer differs) and finds what it found;
    the dedupe steps' input is the same, in another process too (other string hashes: the
    digest of a result does not follow a set's order)."""
    cache = tmp_path / "cache"
    first = _image(tmp_path, "v0", [kit.file("var/lib/dpkg/status", STATUS)])
    then = _image(tmp_path, "v1", [kit.file("var/lib/dpkg/status", STATUS, mode=0o600)])
    common = ["--scanners", "packages", "--format", "json", "--cache-dir", str(cache)]
    cold = run_cli("scan", *common, "--output", str(tmp_path / "cold.json"), first,
                   env={"PYTHONHASHSEED": "1"})
    assert cold.returncode == 0, cold.stderr
    warm = run_cli("--debug", "scan", *common, "--output", str(tmp_path / "warm.json"), then,
                   env={"PYTHONHASHSEED": "2"})
    assert warm.returncode == 0, warm.stderr
    reused = re.findall(r"tree analyzer (\S+): result reused", warm.stderr)
    assert "dpkg" not in reused and "dedupe" in reused
    assert {"npm", "python"} <= set(reused)
    plain, _ = scan_noting_reuse(then, None, tmp_path, caplog)
    assert stable_report(json.loads((tmp_path / "warm.json").read_text()))["packages"] == \
        plain["packages"]
