"""Privilege checks: sudoers, privileged groups, world-writable files in PATH, cron files
others can write, setuid shells."""

from __future__ import annotations

import posixpath
import re
import stat

from portcullis.analyze.baseline.checks import PRIVILEGES, Check, Hit, Registry
from portcullis.analyze.baseline.etc_files import read_text
from portcullis.analyze.baseline.subject import Subject
from portcullis.model.files import FILE_KINDS, FileKind
from portcullis.model.finding import Severity

rules = Registry()

PRIVILEGED_GROUPS = frozenset({"root", "sudo", "wheel", "admin", "docker", "disk", "shadow",
                               "kmem", "lxd"})
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "csh", "tcsh", "ash",
                    "fish", "busybox", "rbash", "pdksh", "yash"})
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NOPASSWD_ALL = re.compile(r"NOPASSWD\s*:\s*(\([^)]*\)\s*)?ALL\s*$")
_SETID = stat.S_ISUID | stat.S_ISGID
CRON_FILES = ("/etc/crontab", "/etc/cron.d/*", "/etc/cron.hourly/*", "/etc/cron.daily/*",
              "/etc/cron.weekly/*", "/etc/cron.monthly/*", "/var/spool/cron/crontabs/*",
              "/var/spool/cron/*")


@rules.add(Check(
    id="sudo-nopasswd-all", title="sudoers grants ALL without a password",
    severity=Severity.HIGH, baseline=PRIVILEGES,
    rationale="Whoever runs as that user is root, with no password asked.",
    remediation="Remove the NOPASSWD: ALL rule (and sudo itself from the image)."))
def sudo_nopasswd(subject: Subject) -> list[Hit] | None:
    paths = ["/etc/sudoers", *(e.path for e in subject.fs.glob("/etc/sudoers.d/*")
                               if e.meta.is_file)]
    hits: list[Hit] = []
    seen = False
    for path in paths:
        found = read_text(subject.fs, path)
        if found is None:
            continue
        seen = True
        entry, text = found
        for n, raw in enumerate(_joined(text), 1):
            line = raw.strip()
            if line.startswith("#") or line.startswith(("Defaults", "@")):
                continue  # comments and #include/@include, defaults
            if _NOPASSWD_ALL.search(line.split("#", 1)[0].strip()):
                who = line.split(None, 1)[0]
                hits.append(subject.file_hit(entry, line=n, detail=who))
    return hits if seen else None


def _joined(text: str) -> list[str]:
    """Lines with backslash continuations joined, one slot per physical line kept so that
    line numbers stay right (a joined line is reported at its first line)."""
    out: list[str] = []
    pending = ""
    start = 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not pending:
            start = i
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        out.extend([""] * (start - len(out)))
        out.append(whole)
    return out


@rules.add(Check(
    id="privileged-group-members", title="Account in a privileged group",
    severity=Severity.MEDIUM, baseline=PRIVILEGES,
    rationale="Members of root, sudo, wheel, docker, disk, shadow or kmem can become root or "
              "read every secret.",
    remediation="Remove the account from the group."))
def privileged_members(subject: Subject) -> list[Hit] | None:
    group = subject.group
    if group is None:
        return None
    hits = []
    privileged: dict[str, str] = {}  # GID → group name
    for row in group.rows:
        if row.name not in PRIVILEGED_GROUPS:
            continue
        privileged[row.get(2)] = row.name
        members = [m.strip() for m in row.get(3).split(",") if m.strip() and m.strip() != "root"]
        if members:
            hits.append(subject.file_hit(group.entry, line=row.line,
                                         detail=f"{row.name}: {', '.join(members)}"))
    # A privileged group as an account's primary group counts the same.
    passwd = subject.passwd
    if passwd is not None:
        for row in passwd.rows:
            name = privileged.get(row.get(3))
            if name is not None and row.name != "root" and row.get(2) != "0":
                hits.append(subject.file_hit(passwd.entry, line=row.line,
                                             detail=f"{name}: {row.name} (primary group)",
                                             account=row.name))
    return hits


def _path_dirs(subject: Subject) -> list[str]:
    for item in subject.ctx.image.config.env:
        if item.startswith("PATH="):
            return [p for p in item[5:].split(":") if p.startswith("/")]
    return DEFAULT_PATH.split(":")


@rules.add(Check(
    id="path-world-writable", title="World-writable file or directory in PATH",
    severity=Severity.HIGH, baseline=PRIVILEGES,
    rationale="Anyone in the container can replace a command that root later runs.",
    remediation="Remove the write bit for others (`chmod o-w`)."))
def path_world_writable(subject: Subject) -> list[Hit]:
    hits = []
    seen: set[str] = set()
    for directory in _path_dirs(subject):
        try:
            real = subject.fs.resolve_path(directory)
        except Exception:
            continue  # a symlink loop: nothing to judge
        if real in seen:
            continue
        seen.add(real)
        top = subject.fs.entry(real)
        if top is None:
            continue
        # A world-writable directory without the sticky bit lets others replace any file.
        if top.meta.is_dir and top.meta.mode & 0o002 and not top.meta.mode & 0o1000:
            hits.append(subject.file_hit(top, detail=directory))
        prefix = real.rstrip("/")
        for entry in subject.fs.glob(prefix + "/*"):
            meta = entry.meta
            # The mode first: it rules out nearly every file of /usr/bin and its likes.
            if not meta.mode & 0o002 or meta.kind is FileKind.SYMLINK \
                    or posixpath.dirname(meta.path) != prefix:
                continue
            if not (meta.is_dir and meta.mode & 0o1000):
                hits.append(subject.file_hit(entry))
    return hits


@rules.add(Check(
    id="cron-writable", title="Cron file writable by others", severity=Severity.HIGH,
    baseline=PRIVILEGES,
    rationale="Cron runs these as root (or their owner): whoever can write one runs code as "
              "that user.",
    remediation="`chown root:root` and `chmod go-w` the cron files."))
def cron_writable(subject: Subject) -> list[Hit] | None:
    files = {e.path: e for pattern in CRON_FILES for e in subject.fs.glob(pattern)
             if e.meta.is_file}
    if not files:
        return None
    return [subject.file_hit(e, detail=f"{e.path} mode {e.meta.mode & 0o7777:o}")
            for _, e in sorted(files.items()) if e.meta.mode & 0o002]


@rules.add(Check(
    id="setuid-shell", title="Setuid or setgid shell", severity=Severity.CRITICAL,
    baseline=PRIVILEGES,
    rationale="A setuid shell hands its owner's rights (usually root) to anyone who runs it.",
    remediation="Remove the setuid and setgid bits (`chmod ug-s`) or the file."))
def setuid_shell(subject: Subject) -> list[Hit]:
    # The mode test first, inline: it rules out nearly every one of the ~10k entries a scan
    # walks, without a property call per entry.
    return [subject.file_hit(e, detail=f"{e.path} mode {e.meta.mode & 0o7777:o}")
            for e in subject.fs.walk()
            if e.meta.mode & _SETID and e.meta.kind in FILE_KINDS
            and posixpath.basename(e.path) in SHELLS]
