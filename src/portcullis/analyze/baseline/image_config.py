"""Image configuration checks: CIS Docker Benchmark section 4 and beyond, read from the
config and its history lines (and, for package caches, the squashed view)."""

from __future__ import annotations

import re

from portcullis.analyze.baseline.checks import CIS_DOCKER, Check, Hit, Registry
from portcullis.analyze.baseline.history import Step
from portcullis.analyze.baseline.subject import Subject
from portcullis.model.finding import Severity

rules = Registry()

_ROOT_USERS = frozenset({"", "root", "0"})
# Build-argument and ENV names that look like they hold a secret.
_SECRET_NAME = re.compile(
    r"(?i)(passw(or)?d|passwd|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|"
    r"credential|auth[_-]?key|client[_-]?secret)")
# ...unless they only point at one (a file, a path) or say where to find it.
_POINTER_NAME = re.compile(r"(?i)(_(file|path|dir|url|uri|name|id|env|length|len)$)")
_ARCHIVE = re.compile(r"(?i)\.(tar|tar\.(gz|bz2|xz|zst)|tgz|tbz2?|txz|tzst)$")
_URL = re.compile(r"^(https?|ftp)://", re.I)
_SENSITIVE_PORTS = {
    "22": (Severity.MEDIUM, "SSH"), "23": (Severity.HIGH, "telnet"),
    "2375": (Severity.HIGH, "unencrypted Docker API"), "3389": (Severity.MEDIUM, "RDP"),
}
_SYSTEM_DIRS = ("/proc", "/sys", "/dev")
_PIPE_TO_SHELL = re.compile(
    r"\b(curl|wget)\b[^;&|]*\|\s*(sudo\s+)?(/\S*/)?(ba|da|z|k|a)?sh\b")
_CHMOD_777 = re.compile(r"\bchmod\s+(-\S+\s+)*(0?777|a\+rwx|ugo\+rwx|a=rwx)\b")
# sudo as a command (start of a command), not as a word (`apt-get install sudo`).
_SUDO = re.compile(r"(^|[;&|(])\s*sudo\s")
OCI_LABELS = ("title", "source", "version")


def _runs(subject: Subject) -> list[Step]:
    return [s for s in subject.steps if s.keyword == "RUN"]


def _hit(step: Step, detail: str | None = None, severity: Severity | None = None) -> Hit:
    return Hit(detail=detail, step=step, line=step.index + 1, severity=severity)


@rules.add(Check(
    id="docker-root-user", title="Image runs as root", severity=Severity.HIGH,
    baseline=CIS_DOCKER, reference="CIS Docker Benchmark 4.1",
    rationale="A process running as root in the container is root on the host's kernel: a "
              "container escape or a mounted host path gives it the host.",
    remediation="Create an unprivileged user and end the Dockerfile with `USER <name or uid>`."))
def root_user(subject: Subject) -> list[Hit]:
    user = subject.ctx.image.config.user.strip()
    name = user.split(":", 1)[0]
    # A name whose /etc/passwd entry has UID 0 is root too (`USER toor`).
    passwd = subject.passwd
    uid0 = {r.name for r in passwd.rows if r.get(2).strip() == "0"} if passwd else set()
    if name not in _ROOT_USERS and name not in uid0:
        return []
    setter = next((s for s in reversed(subject.steps) if s.keyword == "USER"), None)
    detail = "no USER instruction" if not user else f"USER {user}"
    if setter is None:
        return [Hit(detail=detail)]
    return [_hit(setter, detail)]


@rules.add(Check(
    id="docker-no-healthcheck", title="No HEALTHCHECK", severity=Severity.LOW,
    baseline=CIS_DOCKER, reference="CIS Docker Benchmark 4.6",
    rationale="Without a health check the orchestrator only knows whether the process runs, "
              "not whether it serves.",
    remediation="Add a `HEALTHCHECK CMD ...` instruction that probes the service."))
def no_healthcheck(subject: Subject) -> list[Hit]:
    check = subject.ctx.image.config.healthcheck
    test = check.get("Test") if check else None
    if isinstance(test, list) and test and test[0] != "NONE":
        return []
    return [Hit(detail="HEALTHCHECK NONE" if test else None)]


def _add_sources(step: Step) -> list[str]:
    words = [w for w in step.body.split() if not w.startswith("--")]
    if len(words) >= 3 and words[-2] == "in":  # classic builder: ADD file:<hash> in /dest
        return words[:-2]
    return words[:-1]


@rules.add(Check(
    id="docker-add-instead-of-copy", title="ADD used where COPY would do",
    severity=Severity.LOW, baseline=CIS_DOCKER, reference="CIS Docker Benchmark 4.9",
    rationale="ADD unpacks archives and fetches URLs implicitly; for plain files that magic "
              "only hides what the step does.",
    remediation="Use COPY for local files and directories."))
def add_instead_of_copy(subject: Subject) -> list[Hit]:
    hits = []
    for step in subject.steps:
        if step.keyword != "ADD":
            continue
        sources = _add_sources(step)
        # `file:<hash>` (classic builder) may be an archive it unpacked: not judged.
        plain = [s for s in sources if not _URL.match(s) and not _ARCHIVE.search(s)
                 and not s.startswith("file:")]
        if sources and len(plain) == len(sources):
            hits.append(_hit(step))
    return hits


@rules.add(Check(
    id="docker-add-remote-url", title="ADD of a remote URL", severity=Severity.MEDIUM,
    baseline=CIS_DOCKER, reference="CIS Docker Benchmark 4.9",
    rationale="ADD fetches a URL without checking what arrives; the content can change "
              "between builds.",
    remediation="Download with a checksum check in RUN (or `ADD --checksum=`), or COPY a "
                "vendored file."))
def add_remote_url(subject: Subject) -> list[Hit]:
    return [_hit(s) for s in subject.steps if s.keyword == "ADD"
            and "--checksum" not in s.body and any(_URL.match(w) for w in _add_sources(s))]


@rules.add(Check(
    id="docker-apt-update-alone", title="`apt-get update` in a RUN without an install",
    severity=Severity.MEDIUM, baseline=CIS_DOCKER, reference="CIS Docker Benchmark 4.7",
    rationale="A cached update layer makes later installs use stale package lists.",
    remediation="Run `apt-get update && apt-get install ...` in the same RUN."))
def apt_update_alone(subject: Subject) -> list[Hit]:
    return [_hit(s) for s in _runs(subject)
            if re.search(r"\bapt(-get)?\s+(-\S+\s+)*update\b", s.body)
            and not re.search(r"\bapt(-get)?\s+(-\S+\s+)*install\b", s.body)]


@rules.add(Check(
    id="docker-dist-upgrade", title="dist-upgrade in a RUN", severity=Severity.LOW,
    baseline=CIS_DOCKER,
    rationale="dist-upgrade may remove or replace packages of the base image and makes the "
              "build depend on the day it ran.",
    remediation="Rebuild on an updated base image; install or upgrade named packages only."))
def dist_upgrade(subject: Subject) -> list[Hit]:
    return [_hit(s) for s in _runs(subject)
            if re.search(r"\b(apt(-get)?|aptitude)\s+(-\S+\s+)*(dist|full)-upgrade\b", s.body)]


_CACHES = (
    ("apt lists", "/var/lib/apt/lists/*", ("/lock", "/partial", "/auxfiles")),
    ("apt archives", "/var/cache/apt/archives/*.deb", ()),
    ("apk cache", "/var/cache/apk/*", ()),
    ("yum cache", "/var/cache/yum/*", ()),
    ("dnf cache", "/var/cache/dnf/*", ()),
)


@rules.add(Check(
    id="docker-package-cache", title="Package manager cache left in the image",
    severity=Severity.LOW, baseline=CIS_DOCKER,
    rationale="Package lists and downloaded packages are dead weight in every pull and a "
              "snapshot of repository state nobody updates.",
    remediation="Clean in the same RUN: `rm -rf /var/lib/apt/lists/*`, `apk add --no-cache`, "
                "`yum clean all` / `dnf clean all`."))
def package_cache(subject: Subject) -> list[Hit]:
    hits = []
    for name, pattern, skip in _CACHES:
        files = [e for e in subject.fs.glob(pattern)
                 if e.meta.is_file and not any(part in e.path for part in skip)]
        if files:
            first = files[0]
            hit = subject.file_hit(first, detail=f"{name} ({len(files)} files)")
            hits.append(hit)
    return hits


@rules.add(Check(
    id="docker-apk-add-cache", title="`apk add` without --no-cache", severity=Severity.LOW,
    baseline=CIS_DOCKER,
    rationale="apk keeps the package index in /var/cache/apk unless told not to.",
    remediation="Use `apk add --no-cache ...`."))
def apk_add_cache(subject: Subject) -> list[Hit]:
    return [_hit(s) for s in _runs(subject)
            if re.search(r"\bapk\s+(-\S+\s+)*add\b", s.body) and "--no-cache" not in s.body
            and "/var/cache/apk" not in s.body]


@rules.add(Check(
    id="docker-sudo-in-run", title="sudo used in RUN", severity=Severity.MEDIUM,
    baseline=CIS_DOCKER,
    rationale="Build steps already run as the USER in effect; sudo in an image means sudo "
              "is installed and configured, which a container rarely needs.",
    remediation="Switch with USER around the steps that need root; do not install sudo."))
def sudo_in_run(subject: Subject) -> list[Hit]:
    return [_hit(s) for s in _runs(subject) if _SUDO.search(s.body)]


def _secret_names(names: list[str]) -> list[str]:
    return sorted({n for n in names if _SECRET_NAME.search(n) and not _POINTER_NAME.search(n)})


@rules.add(Check(
    id="docker-secret-in-env", title="Secret-looking name in ENV or build arguments",
    severity=Severity.HIGH, baseline=CIS_DOCKER, reference="CIS Docker Benchmark 4.10",
    rationale="ENV values ship in the image config and build arguments in its history: "
              "anyone who can pull the image can read them.",
    remediation="Pass secrets at run time, or with `RUN --mount=type=secret` at build time."))
def secret_in_env(subject: Subject) -> list[Hit]:
    hits = []
    reported: set[str] = set()
    for step in subject.steps:
        names: list[str] = list(step.build_args)
        if step.keyword in ("ENV", "ARG"):
            names += _assigned_names(step.body)
        found = _secret_names(names)
        if found:
            reported.update(found)
            kind = "build argument" if step.keyword in ("ARG", "RUN") else "ENV"
            hits.append(Hit(detail=f"{kind} {', '.join(found)}", step=step, line=step.index + 1,
                            redact=tuple(found)))
    # ENV in the config that no history line shows (squashed or hand-made images).
    rest = [n for n in _secret_names([e.split("=", 1)[0] for e in subject.ctx.image.config.env])
            if n not in reported]
    if rest:
        hits.append(Hit(detail=f"ENV {', '.join(rest)}"))
    return hits


def _assigned_names(body: str) -> list[str]:
    """``A=1 B=2``, ``A 1`` (old ENV form) or ``NAME`` (ARG without default) → names."""
    words = body.split()
    if not words:
        return []
    if "=" not in words[0]:
        return [words[0]]
    return [w.split("=", 1)[0] for w in words if "=" in w]


@rules.add(Check(
    id="docker-sensitive-port", title="Sensitive port exposed", severity=Severity.MEDIUM,
    baseline=CIS_DOCKER, reference="CIS Docker Benchmark 5.8",
    rationale="SSH, telnet, the Docker API and RDP in a container are remote-login or "
              "remote-control services an application image should not offer.",
    remediation="Remove the EXPOSE and the service; use `docker exec` for access."))
def sensitive_port(subject: Subject) -> list[Hit]:
    hits = []
    unlocated: list[tuple[str, Severity]] = []  # ports no EXPOSE line shows: one hit
    exposes = [s for s in subject.steps if s.keyword == "EXPOSE"]
    for port in subject.ctx.image.config.exposed_ports:
        number = port.split("/", 1)[0]
        if number not in _SENSITIVE_PORTS:
            continue
        severity, what = _SENSITIVE_PORTS[number]
        pattern = re.compile(rf"(^|[^0-9]){number}([^0-9]|$)")
        step = next((s for s in reversed(exposes) if pattern.search(s.body)), None)
        detail = f"{port} ({what})"
        if step is None:
            unlocated.append((detail, severity))
        else:
            hits.append(_hit(step, detail, severity))
    if unlocated:
        hits.append(Hit(detail=", ".join(d for d, _ in unlocated),
                        severity=max(s for _, s in unlocated)))
    return hits


@rules.add(Check(
    id="docker-system-volume", title="VOLUME over /proc, /sys or /dev", severity=Severity.HIGH,
    baseline=CIS_DOCKER,
    rationale="A volume there shadows the kernel interfaces the runtime mounts, or invites "
              "mounting the host's.",
    remediation="Remove the VOLUME instruction."))
def system_volume(subject: Subject) -> list[Hit]:
    hits = []
    for step in subject.steps:
        if step.keyword != "VOLUME":
            continue
        paths = re.findall(r"/[^\s\[\]\",]*", step.body)
        bad = [p for p in paths if any(p.rstrip("/") == d or p.startswith(d + "/")
                                       for d in _SYSTEM_DIRS)]
        if bad:
            hits.append(_hit(step, ", ".join(bad)))
    return hits


@rules.add(Check(
    id="docker-pipe-to-shell", title="Download piped into a shell", severity=Severity.HIGH,
    baseline=CIS_DOCKER,
    rationale="`curl ... | sh` runs whatever the server sends, unchecked, as the build user.",
    remediation="Download to a file, verify its checksum or signature, then run it."))
def pipe_to_shell(subject: Subject) -> list[Hit]:
    return [_hit(s) for s in _runs(subject) if _PIPE_TO_SHELL.search(s.body)]


@rules.add(Check(
    id="docker-chmod-777", title="chmod 777 in RUN", severity=Severity.MEDIUM,
    baseline=CIS_DOCKER,
    rationale="World-writable files let any user in the container change what others run.",
    remediation="Grant the owner what it needs (e.g. `chown app` and `chmod 750`)."))
def chmod_777(subject: Subject) -> list[Hit]:
    return [_hit(s) for s in _runs(subject) if _CHMOD_777.search(s.body)]


@rules.add(Check(
    id="docker-latest-tag", title="Image referenced by `latest`", severity=Severity.LOW,
    baseline=CIS_DOCKER,
    rationale="`latest` moves: the same Dockerfile builds a different image tomorrow.",
    remediation="Pin images by version tag and digest."))
def latest_tag(subject: Subject) -> list[Hit]:
    hits = []
    for step in subject.steps:
        for ref in re.findall(r"--from=(\S+)", step.body):
            if ref.endswith(":latest"):
                hits.append(_hit(step, ref))
    info = subject.ctx.image
    base = (info.annotations.get("org.opencontainers.image.base.name")
            or info.config.labels.get("org.opencontainers.image.base.name"))
    if base and "@" not in base and _tag(base) in (None, "latest"):
        hits.append(Hit(detail=f"base image {base}"))
    return hits


def _tag(reference: str) -> str | None:
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


@rules.add(Check(
    id="docker-oci-labels", title="Missing org.opencontainers.image labels",
    severity=Severity.LOW, baseline=CIS_DOCKER,
    rationale="Without title, source and version labels nobody can tell where a running "
              "image came from or which build it is.",
    remediation="Add `LABEL org.opencontainers.image.title=... source=... version=...` "
                "(or let the build tool set them)."))
def oci_labels(subject: Subject) -> list[Hit]:
    labels = subject.ctx.image.config.labels
    missing = [n for n in OCI_LABELS if not labels.get(f"org.opencontainers.image.{n}")]
    return [Hit(detail=", ".join(missing))] if missing else []
