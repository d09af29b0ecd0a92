"""The "files" analyzer over kit layers run through the real layer pipeline, and end to end.

Expected numbers come from the recipe below (sizes of the literal contents), not from the
analyzer: layer 1 overwrites a 2 MiB file, layer 2 deletes a 3 MiB one and overwrites a
12-byte one, layer 3 overwrites that again (below the 1 MiB threshold).
"""

from __future__ import annotations

import json
from pathlib import Path

from portcullis.analyze.base import STAGE_CHECKS, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.files import FileInfo, _candidates, _checks, _may_find, _per_layer
from portcullis.layers.index import LayerIndex
from portcullis.layers.view import SquashedView
from portcullis.model.files import FileEntry, FileKind, FileMeta
from portcullis.model.finding import Finding, Severity
from tests.conftest import run_cli
from tests.images import kit
from tests.images.kit import Entry, directory, file, symlink, whiteout
from tests.unit.layer_helpers import analysis_context, view_of

MIB = 1 << 20
ELF = b"\x7fELF" + b"\0" * 28
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/sbin/nologin\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\n"
BIG = b"\0" * (2 * MIB)
HUGE = b"\1" * (3 * MIB)
KEEP_V0 = b"version zero"  # 12 bytes
KEEP_V2 = b"version two!!"  # 13 bytes
KEEP_V3 = b"v3"


def _layers() -> list[kit.Layer]:
    base_files = [
        file("etc/passwd", PASSWD),
        file("etc/group", GROUP),
        file("usr/bin/passwd", ELF, mode=0o4755),  # distro setuid: LOW
        file("usr/bin/wall", ELF, mode=0o2755),  # distro setgid: LOW
        file("usr/local/sbin/escalate", ELF, mode=0o4755),  # unknown setuid root: MEDIUM
        file("opt/app/report", ELF, mode=0o2755),  # unknown setgid: MEDIUM
        file("data/shared.txt", "anyone", mode=0o666),
        file("tmp/run.sh", "#!/bin/sh\n", mode=0o755),
        file("tmp/notes.txt", "not executable"),
        file("var/tmp/payload", ELF, mode=0o700),
        file("home/app/a.txt", "a", uid=4242, gid=4242),
        file("home/app/b.txt", "bb", uid=4242, gid=4242),
    ]
    base = kit.Layer([
        directory("etc"),
        directory("usr"), directory("usr/bin"), directory("usr/local"),
        directory("usr/local/sbin"), directory("opt"), directory("opt/app"),
        directory("data"),
        directory("data/drop", mode=0o777),  # world-writable, no sticky: reported
        directory("tmp", mode=0o1777),  # sticky: not reported
        directory("var"), directory("var/tmp", mode=0o1777),
        directory("dev"),
        Entry("dev/null", "char", mode=0o666),  # a device in /dev: fine
        Entry("opt/disk", "char", mode=0o660),  # HIGH
        Entry("opt/sda", "block", mode=0o660),  # HIGH
        Entry("opt/pipe", "fifo", mode=0o666),  # neither a device nor a file
        symlink("opt/link", "/data/shared.txt"),  # symlinks are 0777 and never reported
        directory("home"), directory("home/app", uid=4242, gid=4242),
        directory("srv"),
        file("srv/big.bin", BIG),
        file("srv/huge.bin", HUGE),
        file("srv/keep.txt", KEEP_V0),
        *base_files,
    ])
    layer1 = kit.Layer([file("srv/big.bin", b"small"), file("app/run", ELF, mode=0o755)])
    layer2 = kit.Layer([whiteout("srv/huge.bin"), file("srv/keep.txt", KEEP_V2)])
    layer3 = kit.Layer([file("srv/keep.txt", KEEP_V3)])
    return [base, layer1, layer2, layer3]


def _base_file_bytes() -> tuple[int, int]:
    """Visible regular files of layer 0: the base files (big, huge, keep are gone)."""
    sizes = [len(PASSWD), len(GROUP), len(ELF) * 5, len(b"anyone"), len(b"#!/bin/sh\n"),
             len(b"not executable"), 1, 2]
    return 12, sum(sizes)


def _run(layers: list[kit.Layer]) -> AnalysisResult:
    view = view_of(layers)
    try:
        return FileInfo().analyze(view, analysis_context())
    finally:
        view.close()


def _by_id(result: AnalysisResult) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in result.findings:
        out.setdefault(f.id, []).append(f)
    return out


def test_discovered_as_tree_analyzer() -> None:
    assert FileInfo in analyzer_classes()
    assert isinstance(FileInfo(), TreeAnalyzer)
    spec = FileInfo.spec
    assert (spec.name, spec.version, spec.stage) == ("files", 1, STAGE_CHECKS)
    assert spec.scanners == frozenset({"files"})
    assert spec.paths == ("/etc/passwd", "/etc/group")


def test_notable_files() -> None:
    found = _by_id(_run(_layers()))
    assert all(f.kind == "file" for fs in found.values() for f in fs)

    setuid = {f.path: f for f in found["setuid-binary"]}
    assert set(setuid) == {"/usr/bin/passwd", "/usr/local/sbin/escalate"}
    assert setuid["/usr/bin/passwd"].severity is Severity.LOW
    assert setuid["/usr/local/sbin/escalate"].severity is Severity.MEDIUM
    assert setuid["/usr/local/sbin/escalate"].extra == {"mode": "4755", "uid": 0, "gid": 0}
    assert setuid["/usr/local/sbin/escalate"].layer == 0
    assert setuid["/usr/local/sbin/escalate"].visible is True

    setgid = {f.path: f.severity for f in found["setgid-binary"]}
    assert setgid == {"/usr/bin/wall": Severity.LOW, "/opt/app/report": Severity.MEDIUM}

    [ww_file] = found["world-writable-file"]
    assert (ww_file.path, ww_file.severity, ww_file.extra["mode"]) == (
        "/data/shared.txt", Severity.MEDIUM, "0666")
    [ww_dir] = found["world-writable-dir-no-sticky"]  # not /tmp, /var/tmp (1777), not symlinks
    assert (ww_dir.path, ww_dir.severity, ww_dir.extra["mode"]) == (
        "/data/drop", Severity.MEDIUM, "0777")

    devices = {f.path: f for f in found["device-file-outside-dev"]}
    assert set(devices) == {"/opt/disk", "/opt/sda"}  # not /dev/null, not the fifo
    assert all(f.severity is Severity.HIGH for f in devices.values())
    assert devices["/opt/sda"].extra["device"] == "block"

    tmp = {f.path: f for f in found["executable-in-tmp"]}
    assert set(tmp) == {"/tmp/run.sh", "/var/tmp/payload"}
    assert all(f.severity is Severity.MEDIUM for f in tmp.values())


def test_unknown_owner_is_aggregated_per_id() -> None:
    found = _by_id(_run(_layers()))
    [owner] = found["unknown-owner"]
    assert (owner.path, owner.layer, owner.severity) == ("/home/app", 0, Severity.LOW)
    assert owner.extra == {"uid": 4242, "count": 3}
    [group] = found["unknown-group"]
    assert group.extra == {"gid": 4242, "count": 3}
    assert owner.fingerprint != group.fingerprint


def test_no_owner_check_without_passwd() -> None:
    layers = [kit.Layer([file("etc/os-release", "ID=alpine\n"),
                         file("app/x", "x", uid=4242, gid=4242)])]
    found = _by_id(_run(layers))
    assert "unknown-owner" not in found
    assert "unknown-group" not in found


def test_wasted_space_per_removing_layer() -> None:
    result = _run(_layers())
    wasted = {f.layer: f for f in _by_id(result)["wasted-space"]}
    assert set(wasted) == {1, 2}  # layer 3 wasted 13 bytes only: under 1 MiB
    assert wasted[1].extra == {"bytes": 2 * MIB, "count": 1}
    assert wasted[1].path == "/srv/big.bin"
    assert wasted[2].extra == {"bytes": 3 * MIB + len(KEEP_V0), "count": 2}
    assert wasted[2].path == "/srv/huge.bin"
    assert all(f.severity is Severity.LOW and f.visible is False for f in wasted.values())
    assert wasted[1].fingerprint != wasted[2].fingerprint
    assert result.wasted_bytes == 2 * MIB + 3 * MIB + len(KEEP_V0) + len(KEEP_V2)


def test_wasted_space_fingerprints_differ_for_the_same_path() -> None:
    layers = [kit.Layer([file("a.bin", BIG), file("b.bin", b"b")]),
              kit.Layer([file("a.bin", BIG + b"x"), file("b.bin", BIG)]),
              kit.Layer([file("a.bin", b"y"), file("b.bin", b"z")])]
    wasted = {f.layer: f for f in _by_id(_run(layers))["wasted-space"]}
    assert wasted[1].extra == {"bytes": 2 * MIB + 1, "count": 2}
    assert wasted[2].extra == {"bytes": 4 * MIB + 1, "count": 2}
    # the fingerprint ignores the layer: layer 2 names its largest file not already named
    assert (wasted[1].path, wasted[2].path) == ("/a.bin", "/b.bin")
    assert wasted[1].fingerprint != wasted[2].fingerprint


def test_per_layer_totals() -> None:
    files0, bytes0 = _base_file_bytes()
    assert [t.to_dict() for t in _run(_layers()).layer_totals or ()] == [
        {"layer": 0, "files": files0, "bytes": bytes0, "removed_files": 0, "removed_bytes": 0},
        {"layer": 1, "files": 2, "bytes": len(b"small") + len(ELF), "removed_files": 1,
         "removed_bytes": 2 * MIB},
        {"layer": 2, "files": 0, "bytes": 0, "removed_files": 2,
         "removed_bytes": 3 * MIB + len(KEEP_V0)},
        {"layer": 3, "files": 1, "bytes": len(KEEP_V3), "removed_files": 1,
         "removed_bytes": len(KEEP_V2)},
    ]


def test_cli_end_to_end(tmp_path: Path) -> None:
    spec = kit.ImageSpec(layers=_layers())
    root = kit.write_oci_layout(tmp_path / "img", spec, ref="t")
    result = run_cli("scan", f"oci:{root}:t", "--format", "json", "--quiet", "--scanners", "files")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["scanners"]["files"]["status"] == "ok"
    ids = {(f["kind"], f["id"]) for f in doc["findings"]}
    assert {("file", i) for i in ("setuid-binary", "setgid-binary", "world-writable-file",
                                  "world-writable-dir-no-sticky", "device-file-outside-dev",
                                  "executable-in-tmp", "unknown-owner", "unknown-group",
                                  "wasted-space")} == ids
    escalate = next(f for f in doc["findings"] if f["path"] == "/usr/local/sbin/escalate")
    assert (escalate["severity"], escalate["mode"], escalate["uid"]) == ("MEDIUM", "4755", 0)
    files = doc["files"]
    files0, bytes0 = _base_file_bytes()
    assert files["count"] == files0 + 2 + 1
    assert [(x["layer"], x["files"], x["bytes"]) for x in files["per_layer"]] == [
        (0, files0, bytes0), (1, 2, len(b"small") + len(ELF)), (2, 0, 0), (3, 1, len(KEEP_V3))]
    assert files["wasted_bytes"] == 5 * MIB + len(KEEP_V0) + len(KEEP_V2)
    assert {"count", "total_size", "largest"} <= set(files)


def test_the_per_entry_gate_skips_only_entries_without_findings() -> None:
    """``_may_find`` lets the analyzer skip building ``_checks`` for most entries: over every
    kind, every permission bit pattern and the paths the checks look at, it says False only
    where ``_checks`` finds nothing (and True where it finds something, so it skips work)."""
    paths = ["/tmp/x", "/var/tmp/x", "/dev/x", "/dev", "/opt/tmp/x"]
    missed, extra = [], 0
    for kind in FileKind:
        for mode in range(0o10000):
            for path in paths:
                entry = FileEntry(meta=FileMeta(path=path, kind=kind, mode=mode), layer=0)
                is_file = kind in (FileKind.FILE, FileKind.HARDLINK)
                gate = _may_find(kind, is_file, mode, path)
                found = bool(_checks(entry))
                if found and not gate:
                    missed.append((kind, oct(mode), path))
                extra += gate and not found
    assert missed == []
    assert extra == 0


def _gate_view() -> SquashedView:
    """Every kind with every mix of the mode bits the checks read, in and out of the paths
    they look at (temporary directories, /dev), and a path of each kind named like them."""
    bits = [0o4000, 0o2000, 0o1000, 0o100, 0o010, 0o001, 0o002, 0o020, 0o200]
    modes = sorted({sum(b for i, b in enumerate(bits) if n >> i & 1) for n in range(1 << 9)})
    entries: dict[str, FileMeta] = {}
    for folder in ("/tmp", "/var/tmp", "/dev", "/opt/tmp", "/opt", "/tmpx"):
        for kind in FileKind:
            for mode in modes:
                path = f"{folder}/{kind.value}-{mode:o}"
                entries[path] = FileMeta(path=path, kind=kind, mode=mode)
    for path, kind in (("/dev", FileKind.CHAR), ("/tmp", FileKind.DIR),
                       ("/var/tmp", FileKind.FILE)):
        entries[path] = FileMeta(path=path, kind=kind, mode=0o7777)
    return SquashedView.build([LayerIndex(layer=0, entries=entries)])


def test_candidates_are_what_the_per_entry_gate_accepts() -> None:
    """``_candidates`` finds the entries ``_may_find`` accepts without asking it of each: its
    coarse test and the index's temporary directories must miss none, in walk order."""
    view = _gate_view()
    entries = list(view.walk())
    expected = [e for e in entries
                if _may_find(e.meta.kind, e.meta.is_file, e.meta.mode, e.path)]
    assert len(expected) > 1000
    assert _candidates(view, entries) == expected


def test_per_layer_counts_visible_files_only() -> None:
    files = [FileEntry(meta=FileMeta(path=f"/f{i}", kind=kind, size=i), layer=i % 3)
             for i, kind in enumerate([FileKind.FILE, FileKind.HARDLINK] * 5)]
    assert _per_layer(files) == [(0, 4, 0 + 3 + 6 + 9), (1, 3, 1 + 4 + 7), (2, 3, 2 + 5 + 8)]
    assert _per_layer([]) == []
