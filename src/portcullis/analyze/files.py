"""File information: inventory totals per layer and notable files (CONTRACT.md §5).

Findings are of kind ``file`` and look only at the visible (final) version of each path,
except ``wasted-space``, which is about the hidden ones. Severities, and why:

- ``setuid-binary`` / ``setgid-binary`` (MEDIUM): a regular file that runs with its owner's
  (group's) privileges is an escalation path. Dockle (CIS-DI-0008) lists them for review; we
  lower the well-known distro binaries (``passwd``, ``su``, ``mount``, ...) in system
  directories to LOW, because nearly every base image ships them, so that a MEDIUM means
  "someone added this". A setuid binary of that name not owned by root stays MEDIUM.
- ``world-writable-file`` (MEDIUM): any user in the container may change it.
- ``world-writable-dir-no-sticky`` (MEDIUM): any user may delete or replace others' files in
  it (``/tmp`` with mode 1777 is fine and is not reported). Symlinks are never reported.
- ``device-file-outside-dev`` (HIGH): a character or block device node outside ``/dev`` can
  give raw access to host hardware or memory, and has no business in an image layer.
- ``executable-in-tmp`` (MEDIUM): executables dropped in ``/tmp`` or ``/var/tmp`` are a
  classic sign of a leftover build step or of a compromise.
- ``unknown-owner`` / ``unknown-group`` (LOW): uid (gid) missing from the image's
  ``/etc/passwd`` (``/etc/group``); checked only when that file exists and reads. One finding
  per uid (gid), on its first path, with ``count`` in extra (two ids, so that an unknown uid
  and gid of the same file do not share a fingerprint).
- ``wasted-space`` (LOW): bytes of versions that a later layer deleted or overwrote; they are
  still downloaded and stored. One finding per removing layer over 1 MiB; its path is the
  largest such file (a path no other wasted-space finding uses, so fingerprints stay apart),
  its ``layer`` the removing layer, and ``visible`` False (CONTRACT.md: the bytes are hidden).

Also sets ``layer_totals`` (per layer: visible regular files it wrote, their bytes, and the
lower-layer versions it deleted or overwrote) and ``wasted_bytes`` (the image total).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from itertools import groupby
from operator import attrgetter
from typing import Any, ClassVar

import msgspec

from portcullis.analyze.base import STAGE_CHECKS, AnalysisContext, AnalysisResult, AnalyzerSpec
from portcullis.layers.view import Filesystem
from portcullis.model.files import FILE_KINDS, FileEntry, FileKind
from portcullis.model.finding import Finding, Severity
from portcullis.model.report import LayerTotals

KIND = "file"
WASTE_THRESHOLD = 1 << 20  # report a layer that wasted more than 1 MiB
TMP_DIRS = ("/tmp/", "/var/tmp/")
SYSTEM_DIRS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/libexec/",
               "/lib/", "/usr/local/bin/")

# setuid/setgid binaries that distributions ship on purpose (Debian, Ubuntu, Alpine, RHEL).
KNOWN_PRIVILEGED = frozenset({
    "passwd", "su", "sudo", "sudoedit", "mount", "umount", "newgrp", "gpasswd", "chsh", "chfn",
    "chage", "expiry", "unix_chkpwd", "pam_timestamp_check", "ping", "ping6", "pkexec",
    "fusermount", "fusermount3", "newuidmap", "newgidmap", "ssh-keysign", "ssh-agent",
    "dbus-daemon-launch-helper", "crontab", "wall", "write", "bsd-write", "dotlockfile",
    "traceroute6.iputils", "mount.nfs", "mount.cifs", "userhelper", "staprun", "at",
    "Xorg.wrap", "polkit-agent-helper-1", "chromium-sandbox", "utempter", "bbsuid", "busybox",
})


def _mode(entry: FileEntry) -> str:
    return f"{entry.meta.mode & 0o7777:04o}"


def _under(path: str, prefixes: Iterable[str]) -> bool:
    return any(path.startswith(p) for p in prefixes)


def _ids(data: bytes | None, column: int) -> frozenset[int] | None:
    """Numeric ids in column ``column`` of a passwd/group style file; None if unreadable."""
    if data is None:
        return None
    out: set[int] = set()
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) > column and fields[column].strip().isdigit():
            out.add(int(fields[column]))
    return frozenset(out)


class _Owners(msgspec.Struct):
    """First path and count per unknown id."""

    first: dict[int, FileEntry] = msgspec.field(default_factory=dict)
    count: dict[int, int] = msgspec.field(default_factory=dict)

    def add(self, ident: int, entry: FileEntry) -> None:
        self.first.setdefault(ident, entry)
        self.count[ident] = self.count.get(ident, 0) + 1


class _LayerTotals(msgspec.Struct):
    files: int = 0
    bytes: int = 0
    removed_files: int = 0
    removed_bytes: int = 0
    removed_paths: list[tuple[int, str]] = msgspec.field(default_factory=list)  # (size, path)


def _finding(entry: FileEntry, id_: str, severity: Severity, title: str,
             **extra: Any) -> Finding:
    return Finding(kind=KIND, id=id_, severity=severity, title=title, path=entry.path,
                   layer=entry.layer, visible=True, extra=extra)


def _privileged(entry: FileEntry) -> list[Finding]:
    meta = entry.meta
    out: list[Finding] = []
    known = _under(entry.path, SYSTEM_DIRS) and posixpath.basename(entry.path) in KNOWN_PRIVILEGED
    extra = {"mode": _mode(entry), "uid": meta.uid, "gid": meta.gid}
    if meta.setuid:
        severity = Severity.LOW if known and meta.uid == 0 else Severity.MEDIUM
        who = "root" if meta.uid == 0 else f"uid {meta.uid}"
        out.append(_finding(entry, "setuid-binary", severity,
                            f"setuid binary: runs as its owner ({who}) whoever starts it",
                            **extra))
    if meta.setgid:
        severity = Severity.LOW if known else Severity.MEDIUM
        out.append(_finding(entry, "setgid-binary", severity,
                            f"setgid binary: runs with its group (gid {meta.gid}) whoever "
                            "starts it", **extra))
    return out


def _checks(entry: FileEntry) -> list[Finding]:
    meta = entry.meta
    path = entry.path
    out: list[Finding] = []
    if meta.is_file:
        out.extend(_privileged(entry))
        if meta.mode & 0o002:
            out.append(_finding(entry, "world-writable-file", Severity.MEDIUM,
                                "world-writable file: any user in the container can change it",
                                mode=_mode(entry), uid=meta.uid, gid=meta.gid))
        if meta.is_executable and _under(path, TMP_DIRS):
            out.append(_finding(entry, "executable-in-tmp", Severity.MEDIUM,
                                "executable in a temporary directory: leftover build artefact "
                                "or dropped payload", mode=_mode(entry), uid=meta.uid,
                                gid=meta.gid))
    elif meta.is_dir:
        if meta.mode & 0o002 and not meta.mode & 0o1000:
            out.append(_finding(entry, "world-writable-dir-no-sticky", Severity.MEDIUM,
                                "world-writable directory without the sticky bit: any user can "
                                "delete or replace other users' files in it",
                                mode=_mode(entry), uid=meta.uid, gid=meta.gid))
    elif meta.kind in (FileKind.CHAR, FileKind.BLOCK) and not (path == "/dev"
                                                               or path.startswith("/dev/")):
        out.append(_finding(entry, "device-file-outside-dev", Severity.HIGH,
                            f"{meta.kind.value} device outside /dev: raw access to a device "
                            "node has no place in an image layer", mode=_mode(entry),
                            uid=meta.uid, gid=meta.gid, device=meta.kind.value))
    return out


# Mode bits any check of a regular file looks at (setuid, setgid, other-writable).
_FILE_BITS = 0o6002


def _may_find(kind: FileKind, is_file: bool, mode: int, path: str) -> bool:
    """False only when ``_checks`` finds nothing for such an entry: ~10k entries a scan, and
    nearly all are plain files, directories and links that need no finding built."""
    if is_file:
        return bool(mode & _FILE_BITS) or (bool(mode & 0o111) and path.startswith(TMP_DIRS))
    if kind is FileKind.DIR:
        return bool(mode & 0o002) and not mode & 0o1000
    return (kind is FileKind.CHAR or kind is FileKind.BLOCK) and not (
        path == "/dev" or path.startswith("/dev/"))


_layer = attrgetter("layer")


def _candidates(fs: Filesystem, entries: list[FileEntry]) -> list[FileEntry]:
    """Those of ``entries`` (sorted by path) ``_checks`` may find something in, in the same
    order. A coarse test first, in one comprehension, then ``_may_find``: any entry it accepts
    has a mode bit of ``_FILE_BITS`` and is no symlink (a file, or a world-writable
    directory), is a device node, or is under a temporary directory (those come from the
    index, not from testing every path)."""
    symlink = FileKind.SYMLINK
    devices = (FileKind.CHAR, FileKind.BLOCK)
    coarse = [e for e in entries if (e.meta.mode & _FILE_BITS and e.meta.kind is not symlink)
              or e.meta.kind in devices]
    in_tmp = [e for prefix in TMP_DIRS for e in fs.glob(prefix + "*")]
    if in_tmp:
        by_path = {e.meta.path: e for e in [*coarse, *in_tmp]}
        coarse = [by_path[path] for path in sorted(by_path)]
    return [e for e in coarse
            if _may_find(e.meta.kind, e.meta.kind in FILE_KINDS, e.meta.mode, e.meta.path)]


def _per_layer(files: list[FileEntry]) -> list[tuple[int, int, int]]:
    """(layer, count, bytes) of ``files`` per layer that wrote any, by layer."""
    out = []
    for layer, group in groupby(sorted(files, key=_layer), key=_layer):
        sizes = [e.meta.size for e in group]
        out.append((layer, len(sizes), sum(sizes)))
    return out


def _unknown(entries: list[FileEntry], ids: list[int], known: frozenset[int]) -> _Owners:
    """The entries whose id (``ids``: the uid or gid of each entry) is not in ``known``."""
    owners = _Owners()
    missing = set(ids) - known
    if missing:
        for entry, ident in [(e, i) for e, i in zip(entries, ids, strict=True) if i in missing]:
            owners.add(ident, entry)
    return owners


class FileInfo:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="files",
        version=1,
        scanners=frozenset({"files"}),
        paths=("/etc/passwd", "/etc/group"),
        stage=STAGE_CHECKS,
    )
    # Its result depends on the files and the number of layers only: an image's layer cache
    # entry may keep it (see analyze/layer_cache.py).
    reads_only_files: ClassVar[bool] = True

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        uids = _ids(fs.read("/etc/passwd"), 2) if fs.entry("/etc/passwd") else None
        gids = _ids(fs.read("/etc/group"), 2) if fs.entry("/etc/group") else None
        # Every scan runs this over the whole view (~10k entries): comprehensions and C-level
        # passes over one list of them, and Python work only for the few that may matter.
        entries = list(fs.walk())
        for entry in _candidates(fs, entries):
            result.findings.extend(_checks(entry))
        files = [e for e in entries if e.meta.kind in FILE_KINDS]
        totals = {layer: _LayerTotals(files=count, bytes=size)
                  for layer, count, size in _per_layer(files)}
        users = _Owners() if uids is None else _unknown(entries, [e.meta.uid for e in entries],
                                                        uids)
        groups = _Owners() if gids is None else _unknown(entries, [e.meta.gid for e in entries],
                                                         gids)
        result.findings.extend(self._owners(users, "unknown-owner", "uid", "/etc/passwd"))
        result.findings.extend(self._owners(groups, "unknown-group", "gid", "/etc/group"))

        wasted = 0
        for entry in fs.hidden():
            if not entry.meta.is_file or entry.removed_in is None:
                continue
            layer = totals.setdefault(entry.removed_in, _LayerTotals())
            layer.removed_files += 1
            layer.removed_bytes += entry.meta.size
            layer.removed_paths.append((entry.meta.size, entry.path))
            wasted += entry.meta.size
        result.findings.extend(self._waste(totals))

        count = max([len(ctx.image.layers), *(i + 1 for i in totals)])
        result.layer_totals = tuple(
            LayerTotals(layer=i, files=t.files, bytes=t.bytes, removed_files=t.removed_files,
                        removed_bytes=t.removed_bytes)
            for i in range(count) for t in [totals.get(i, _LayerTotals())]
        )
        result.wasted_bytes = wasted
        return result

    @staticmethod
    def _owners(owners: _Owners, id_: str, key: str, source: str) -> list[Finding]:
        out = []
        for ident in sorted(owners.first):
            entry = owners.first[ident]
            n = owners.count[ident]
            out.append(Finding(
                kind=KIND, id=id_, severity=Severity.LOW,
                title=f"{n} path(s) owned by {key} {ident}, which {source} does not define: "
                      "a user created later with that id would own them",
                path=entry.path, layer=entry.layer, visible=True,
                extra={key: ident, "count": n},
            ))
        return out

    @staticmethod
    def _waste(totals: dict[int, _LayerTotals]) -> list[Finding]:
        out = []
        used: set[str] = set()
        for index in sorted(totals):
            t = totals[index]
            if t.removed_bytes <= WASTE_THRESHOLD:
                continue
            ranked = sorted(t.removed_paths, key=lambda item: (-item[0], item[1]))
            path = next((p for _, p in ranked if p not in used), ranked[0][1])
            used.add(path)
            out.append(Finding(
                kind=KIND, id="wasted-space", severity=Severity.LOW,
                title=f"layer {index} deletes or overwrites {t.removed_files} file(s) "
                      f"({t.removed_bytes} bytes) of lower layers: the bytes still ship "
                      "with the image",
                path=path, layer=index, visible=False,
                extra={"bytes": t.removed_bytes, "count": t.removed_files},
            ))
        return out
