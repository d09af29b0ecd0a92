"""A real Debian 12 test image, built from Debian packages and cached between test runs.

Recipe (mmdebstrap for the base rootfs, umoci to unpack and repack, skopeo to convert forms):

- layer 0: ``mmdebstrap --variant=minbase`` bookworm rootfs (``ADD rootfs.tar /``), with an empty
  ``./dev/`` entry appended (``--skip=output/dev`` drops the directory itself);
- ENV PATH, LABEL, EXPOSE set before unpacking (umoci loses config done between unpack and repack);
- layer 1: ``RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl
  && dpkg -i portcullis-demo_1.0-1_all.deb`` in a chroot of the umoci bundle (private mount
  namespace, /dev and /proc bound, policy-rc.d ``exit 101`` and the host's resolv.conf for the
  step only, apt lists cleaned). ``portcullis-demo`` is a tiny ``Architecture: all`` package the
  recipe builds itself with ``dpkg-deb --build``, so the upgrade below does not depend on the
  archive's state;
- layer 2: deletes /etc/issue.net (a real ``.wh.issue.net`` whiteout), rewrites /etc/motd and
  adds /app/config.ini;
- layer 3: ``RUN pip install``: pinned pure-Python wheels (requests and its four dependencies)
  put into /usr/local/lib/python3.11/dist-packages (where Debian's python3.11 looks) by the
  *host's* pip with ``--target`` and ``--platform any`` (the image has no python3 or pip);
  ``pip list --path`` of that directory is saved as ``pip-list.json``;
- layer 4: ``RUN npm install``: ``express@4.18.2`` and its dependencies into /app/node_modules
  (plus /app/package.json and /app/package-lock.json) by the host's npm; ``npm ls --all --json``
  is saved as ``npm-list.json``;
- layer 5: ``RUN dpkg -i portcullis-demo_1.1-1_all.deb``: upgrades the package of layer 1;
- USER, WORKDIR, CMD (umoci) and HEALTHCHECK (patched into the config) after the last repack;
- ``skopeo copy`` to an OCI layout, an ``oci-archive:`` tar and a ``docker-archive:`` tar.

The result lives in ``<cache_root>/debian-<first 16 hex of sha256(this file)>``: built in a temp
dir next to it and renamed when complete, under an ``fcntl`` lock so that concurrent pytest
processes build it once. Needs root, the Debian packages mmdebstrap, umoci, skopeo and npm,
and pip on the host (network: deb.debian.org, PyPI, the npm registry).

CLI (pre-warms the cache for CI and bench): ``python -m tests.images.debian [--cache DIR]``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
SOURCES = (
    f"deb {MIRROR} {SUITE} main",
    f"deb {MIRROR} {SUITE}-updates main",
    f"deb {SECURITY_MIRROR} {SUITE}-security main",
)
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TITLE = "portcullis-debian-test"
REF = "latest"
DOCKER_NAME = "portcullis/debian-test:latest"
USER = "1000"
WORKDIR = "/app"
CMD = ("curl", "--version")
HEALTHCHECK = "curl -fsS http://localhost:8080/ || exit 1"

DEMO_PACKAGE = "portcullis-demo"
DEMO_OLD = "1.0-1"
DEMO_NEW = "1.1-1"
DEMO_EPOCH = "1700000000"  # SOURCE_DATE_EPOCH of the demo .debs (reproducible builds)


def demo_deb(version: str) -> str:
    return f"{DEMO_PACKAGE}_{version}_all.deb"


RUN_INSTALL = (
    "apt-get update && apt-get install -y --no-install-recommends ca-certificates curl"
    " && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin"
    f" && dpkg -i /tmp/{demo_deb(DEMO_OLD)} && rm /tmp/{demo_deb(DEMO_OLD)}"
)
RUN_APP = (
    "rm /etc/issue.net"
    " && echo 'Welcome to the Portcullis Debian test image.' > /etc/motd"
    " && mkdir -p /app"
    " && printf '[server]\\nport = 8080\\nlog_level = info\\n' > /app/config.ini"
    " && chown -R 1000:1000 /app"
)
PIP_REQUIREMENTS = (
    "requests==2.31.0",
    "urllib3==1.26.18",
    "idna==3.4",
    "certifi==2023.7.22",
    "charset-normalizer==3.3.2",
)
PIP_TARGET = "/usr/local/lib/python3.11/dist-packages"
PIP_OPTIONS = (
    "--no-deps", "--no-compile", "--only-binary=:all:", "--python-version", "3.11",
    "--implementation", "py", "--abi", "none", "--platform", "any",
)
RUN_PIP = f"pip install {' '.join(PIP_OPTIONS)} --target {PIP_TARGET} {' '.join(PIP_REQUIREMENTS)}"
NPM_PREFIX = "/app"
NPM_PACKAGES = ("express@4.18.2",)
NPM_OPTIONS = ("--no-audit", "--no-fund", "--omit=dev", "--save-exact", "--no-update-notifier")
RUN_NPM = f"npm install --prefix {NPM_PREFIX} {' '.join(NPM_OPTIONS)} {' '.join(NPM_PACKAGES)}"
RUN_UPGRADE = f"dpkg -i {demo_deb(DEMO_NEW)}"

LAYERS = {"base": 0, "apt": 1, "app": 2, "pip": 3, "npm": 4, "upgrade": 5}
"""Index of each layer of the final image, by what its step does."""
PACKAGE_LAYERS = {"libc6": LAYERS["base"], "curl": LAYERS["apt"],
                  "ca-certificates": LAYERS["apt"], DEMO_PACKAGE: LAYERS["upgrade"]}
"""The layer a scanner should attribute to some dpkg packages (``portcullis-demo`` at
``DEMO_NEW``: installed in the apt layer, upgraded in the last one)."""

DPKG_QUERY_FORMAT = "${Package}\\t${Version}\\t${Architecture}\\n"

REQUIRED_TOOLS = ("mmdebstrap", "umoci", "skopeo", "unshare", "chroot", "mount", "dpkg-deb",
                  "npm")
STEP_TIMEOUT = 1800  # seconds; mmdebstrap and apt download over the network


@dataclass(frozen=True)
class DebianImage:
    oci_dir: Path
    """An OCI image layout directory holding the image under ``ref``."""
    ref: str
    oci_archive: Path
    docker_archive: Path
    diff_ids: list[str]
    """``rootfs.diff_ids`` of the image config (six layers, see ``layers``)."""
    rootfs_dpkg_status: Path
    """A copy of the final /var/lib/dpkg/status."""
    dpkg_query: Path
    """Output of ``dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\n'``,
    run via chroot in the final rootfs."""
    pip_list: Path
    """``pip list --path DIST-PACKAGES --format json`` after the pip layer: a JSON list of
    ``{"name", "version"}``."""
    npm_list: Path
    """``npm ls --all --json`` of /app after the npm layer (a dependency tree)."""
    layers: dict[str, int]
    """Layer index by step: base, apt, app (whiteout), pip, npm, upgrade."""
    package_layers: dict[str, int]
    """Expected layer of some dpkg packages: libc6 (base), curl and ca-certificates (apt),
    portcullis-demo (upgrade; its final version is ``DEMO_NEW``)."""

    @property
    def oci_ref(self) -> str:
        """The image as a ``oci:DIR:REF`` source string."""
        return f"oci:{self.oci_dir}:{self.ref}"


# --------------------------------------------------------------------------------------------
# Cache plumbing (also used by bench/bench_layers.py)


def default_cache_root() -> Path:
    env = os.environ.get("PORTCULLIS_TEST_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "portcullis-tests"


def recipe_key() -> str:
    """First 16 hex digits of sha256 over this file's source text."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def cached_build(final: Path, build: Callable[[Path], None]) -> Path:
    """Return ``final``, building it first with ``build(tmp_dir)`` if it does not exist.

    ``build`` fills a fresh temp dir next to ``final``; it is renamed to ``final`` only when
    ``build`` returns. A lock file ``<final>.lock`` serializes builders across processes.
    """
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(final.with_name(final.name + ".lock")):
        if final.is_dir():
            return final
        # leftovers of builds that were killed; nobody else can be building (we hold the lock)
        for stale in final.parent.glob(f".{final.name}.tmp-*"):
            _remove_tree(stale)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            build(tmp)
            tmp.chmod(0o755)  # mkdtemp made it 0700
            tmp.rename(final)
        except BaseException:
            _remove_tree(tmp)
            raise
    return final


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    found = []
    with Path("/proc/self/mounts").open() as fh:
        for line in fh:
            point = line.split()[1].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return found


def _remove_tree(path: Path) -> None:
    """rmtree, but never through a mount (a leaked /dev bind mount must not be emptied)."""
    if not path.exists():
        return
    mounts = _mounts_under(path)
    if mounts:
        raise RuntimeError(f"refusing to delete {path}: mount points inside it: {mounts}")
    shutil.rmtree(path)


# --------------------------------------------------------------------------------------------
# Running commands


def _tail(text: bytes | str | None, lines: int = 40) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    argv: Sequence[str | Path], *, env: dict[str, str] | None = None, stdout_to: Path | None = None
) -> str:
    """Run a command; raise RuntimeError with its stderr tail if it fails. Returns stdout."""
    args = [str(a) for a in argv]
    try:
        if stdout_to is not None:
            with stdout_to.open("wb") as out:
                proc = subprocess.run(
                    args, stdout=out, stderr=subprocess.PIPE, env=env, timeout=STEP_TIMEOUT,
                    check=False,
                )
            stdout = ""
        else:
            proc = subprocess.run(
                args, capture_output=True, env=env, timeout=STEP_TIMEOUT, check=False
            )
            stdout = proc.stdout.decode(errors="replace")
    except FileNotFoundError as exc:
        raise RuntimeError(
            f"command not found: {args[0]} (needed to build the Debian test image)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(
            f"command timed out after {STEP_TIMEOUT}s: {' '.join(args)}\n"
            f"--- stderr tail ---\n{_tail(exc.stderr)}"
        ) from exc
    if proc.returncode != 0:
        detail = _tail(proc.stderr) or _tail(stdout)
        raise RuntimeError(
            f"Debian test image: command failed with exit code {proc.returncode}:\n"
            f"  {' '.join(args)}\n--- stderr tail ---\n{detail}"
        )
    return stdout


def _chroot_env() -> dict[str, str]:
    env = {
        "PATH": PATH_ENV.partition("=")[2],
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "DEBIAN_FRONTEND": "noninteractive",
        "DEBCONF_NONINTERACTIVE_SEEN": "true",
    }
    for proxy in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        if proxy in os.environ:
            env[proxy] = os.environ[proxy]
    return env


def chroot_run(rootfs: Path, script: str, *, network: bool = False) -> None:
    """Run ``/bin/sh -ec script`` chrooted into ``rootfs``, like a Dockerfile RUN step.

    A private mount namespace (``unshare -m``) holds the /dev and /proc mounts, so they vanish
    with the step. Service starts are blocked by policy-rc.d (removed after); with ``network``
    the host's resolv.conf is handed over for the step and the image's own one put back after.
    """
    for sub in ("dev", "proc"):
        (rootfs / sub).mkdir(exist_ok=True)
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    resolv = rootfs / "etc/resolv.conf"
    saved = rootfs / "etc/.resolv.conf.portcullis-saved"
    had_resolv = resolv.exists() or resolv.is_symlink()
    try:
        if network:
            if had_resolv:
                resolv.rename(saved)
            host = Path("/etc/resolv.conf")
            if host.exists():
                shutil.copyfile(host.resolve(), resolv)
        inner = (
            'set -e; mount --rbind /dev "$1/dev"; mount -t proc proc "$1/proc"; '
            'exec chroot "$1" /bin/sh -ec "$2"'
        )
        run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", inner, "sh", rootfs, script],
            env=_chroot_env(),
        )
    finally:
        policy.unlink(missing_ok=True)
        if network:
            resolv.unlink(missing_ok=True)
            if had_resolv:
                saved.rename(resolv)
    leaked = _mounts_under(rootfs)
    if leaked:
        raise RuntimeError(f"mounts leaked out of the build namespace: {leaked}")


# --------------------------------------------------------------------------------------------
# The recipe


def _append_dev_dir(rootfs_tar: Path) -> None:
    with tarfile.open(rootfs_tar, "a") as tar:
        info = tarfile.TarInfo("./dev")
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        info.mtime = int(time.time())
        info.uname = info.gname = "root"
        tar.addfile(info)


def _umoci_config(image: str, created_by: str, *options: str) -> None:
    run(["umoci", "config", "--image", image, "--history.created_by", created_by, *options])


def _read_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def _blob(layout: Path, digest: str) -> Path:
    alg, _, hexdigest = digest.partition(":")
    return layout / "blobs" / alg / hexdigest


def _write_blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _blob(layout, digest).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _manifest_desc(layout: Path, ref: str) -> dict[str, Any]:
    index = _read_json(layout / "index.json")
    for desc in index["manifests"]:
        if desc.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            return dict(desc)
    raise RuntimeError(f"no manifest named {ref!r} in {layout}/index.json")


def image_config(layout: Path, ref: str) -> dict[str, Any]:
    manifest = _read_json(_blob(layout, _manifest_desc(layout, ref)["digest"]))
    config: dict[str, Any] = _read_json(_blob(layout, manifest["config"]["digest"]))
    return config


def _add_healthcheck(layout: Path, ref: str) -> None:
    """HEALTHCHECK is Docker-only (umoci has no flag): patch config, manifest and index.json."""
    index = _read_json(layout / "index.json")
    desc = _manifest_desc(layout, ref)
    manifest = _read_json(_blob(layout, desc["digest"]))
    config = _read_json(_blob(layout, manifest["config"]["digest"]))
    config.setdefault("config", {})["Healthcheck"] = {
        "Test": ["CMD-SHELL", HEALTHCHECK],
        "Interval": 30_000_000_000,
        "Timeout": 5_000_000_000,
        "Retries": 3,
    }
    created = config.get("history", [{}])[-1].get("created", config.get("created"))
    config.setdefault("history", []).append(
        {
            "created": created,
            "created_by": f'HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["CMD-SHELL", '
            f"{json.dumps(HEALTHCHECK)}]",
            "empty_layer": True,
        }
    )
    manifest["config"].update(_write_blob(layout, json.dumps(config).encode()))
    new_desc = _write_blob(layout, json.dumps(manifest).encode())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            entry.update(new_desc)
    (layout / "index.json").write_text(json.dumps(index))
    run(["umoci", "gc", "--layout", layout])


def _build_demo_deb(work: Path, version: str) -> Path:
    """A tiny ``Architecture: all`` .deb, reproducible (root-owned, fixed mtimes)."""
    tree = work / f"{DEMO_PACKAGE}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    share = tree / "usr/share" / DEMO_PACKAGE
    share.mkdir(parents=True)
    (share / "VERSION").write_text(f"{version}\n")
    doc = tree / "usr/share/doc" / DEMO_PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Public domain. A test package of the Portcullis tests.\n")
    (tree / "DEBIAN/control").write_text(
        f"Package: {DEMO_PACKAGE}\n"
        f"Version: {version}\n"
        "Architecture: all\n"
        "Maintainer: Portcullis tests <tests@portcullis.invalid>\n"
        "Installed-Size: 8\n"
        "Section: misc\n"
        "Priority: optional\n"
        "Description: Portcullis test package\n"
        " Installed in one layer of the Debian test image and upgraded in a later one.\n"
    )
    for path in tree.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    deb = work / demo_deb(version)
    env = {**os.environ, "SOURCE_DATE_EPOCH": DEMO_EPOCH}
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", tree, deb], env=env)
    shutil.rmtree(tree)
    return deb


def _host_pip() -> list[str]:
    """The host's pip: this interpreter's, else ``pip`` on PATH."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    pip = shutil.which("pip3") or shutil.which("pip")
    if pip is None:
        raise RuntimeError("building the Debian test image needs pip on the host")
    return [pip]


def _pip_install(rootfs: Path, pip_list: Path) -> None:
    """The pip layer's files, written by the host's pip (the image has no python3 or pip)."""
    target = rootfs / PIP_TARGET.lstrip("/")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
           "PIP_ROOT_USER_ACTION": "ignore"}
    pip = _host_pip()
    run([*pip, "install", "--quiet", *PIP_OPTIONS, "--target", target, *PIP_REQUIREMENTS],
        env=env)
    # console scripts: --target puts them in TARGET/bin with the host's interpreter as shebang
    scripts = target / "bin"
    if scripts.is_dir():
        bindir = rootfs / "usr/local/bin"
        bindir.mkdir(parents=True, exist_ok=True)
        for script in sorted(scripts.iterdir()):
            text = script.read_bytes()
            if text.startswith(b"#!"):
                text = b"#!/usr/bin/python3" + text[text.index(b"\n"):]
            (bindir / script.name).write_bytes(text)
            (bindir / script.name).chmod(0o755)
        shutil.rmtree(scripts)
    run([*pip, "list", "--path", target, "--format", "json"], env=env, stdout_to=pip_list)


def _npm_install(rootfs: Path, npm_list: Path) -> None:
    """The npm layer's files, written by the host's npm (the image has no node)."""
    prefix = rootfs / NPM_PREFIX.lstrip("/")
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false",
           "npm_config_audit": "false"}
    run(["npm", "install", "--prefix", prefix, *NPM_OPTIONS, *NPM_PACKAGES], env=env)
    run(["npm", "ls", "--all", "--json", "--prefix", prefix], env=env, stdout_to=npm_list)


def build_debian_image(out: Path) -> None:
    """Run the whole recipe; results go to ``out`` (an empty dir); scratch goes to out/work."""
    if os.geteuid() != 0:
        raise RuntimeError(
            "building the Debian test image needs root (mmdebstrap --mode=root, chroot)"
        )
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"building the Debian test image needs {', '.join(missing)}: "
            "apt-get install -y mmdebstrap umoci skopeo npm"
        )
    started = time.monotonic()
    work = out / "work"
    work.mkdir()
    rootfs_tar = work / "rootfs.tar"
    layout = work / "oci"
    bundle = work / "bundle"
    image = f"{layout}:build"
    old_deb = _build_demo_deb(work, DEMO_OLD)
    new_deb = _build_demo_deb(work, DEMO_NEW)

    # layer 0: the base system
    run(
        [
            "mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar",
            "--skip=output/dev", SUITE, rootfs_tar, *SOURCES,
        ]
    )
    _append_dev_dir(rootfs_tar)
    run(["umoci", "init", "--layout", layout])
    run(["umoci", "new", "--image", image])
    run(["umoci", "raw", "add-layer", "--image", image,
         "--history.created_by", "ADD rootfs.tar /", rootfs_tar])
    rootfs_tar.unlink()

    # config that must exist before the RUN steps (umoci drops config done mid-bundle)
    _umoci_config(image, f"ENV {PATH_ENV}", "--config.env", PATH_ENV)
    _umoci_config(
        image, f"LABEL org.opencontainers.image.title={TITLE}",
        "--config.label", f"org.opencontainers.image.title={TITLE}",
        "--config.label", "org.opencontainers.image.vendor=Portcullis tests",
    )
    _umoci_config(image, "EXPOSE 8080/tcp", "--config.exposedports", "8080/tcp")

    def repack(created_by: str) -> None:
        run(["umoci", "repack", "--image", image, "--refresh-bundle",
             "--history.created_by", created_by, bundle])

    # layers 1 and 2: RUN steps in a chroot of the unpacked bundle
    run(["umoci", "unpack", "--image", image, bundle])
    rootfs = bundle / "rootfs"
    shutil.copyfile(old_deb, rootfs / "tmp" / old_deb.name)
    chroot_run(rootfs, RUN_INSTALL, network=True)
    repack(f"RUN /bin/sh -c {RUN_INSTALL}")
    chroot_run(rootfs, RUN_APP)
    repack(f"RUN /bin/sh -c {RUN_APP}")

    # layers 3 and 4: language packages, installed by the host's pip and npm
    _pip_install(rootfs, out / "pip-list.json")
    repack(f"RUN {RUN_PIP}")
    _npm_install(rootfs, out / "npm-list.json")
    repack(f"RUN {RUN_NPM}")

    # layer 5: upgrade the demo package of layer 1
    shutil.copyfile(new_deb, rootfs / "tmp" / new_deb.name)
    chroot_run(rootfs, f"cd /tmp && {RUN_UPGRADE} && rm {new_deb.name}")
    repack(f"RUN {RUN_UPGRADE}")

    # facts about the final rootfs, captured before the bundle goes away
    shutil.copyfile(rootfs / "var/lib/dpkg/status", out / "dpkg-status")
    run(["chroot", rootfs, "dpkg-query", "-W", f"-f={DPKG_QUERY_FORMAT}"],
        env=_chroot_env(), stdout_to=out / "dpkg-query.txt")
    _remove_tree(bundle)

    # config after the last repack
    _umoci_config(image, f"USER {USER}", "--config.user", USER)
    _umoci_config(image, f"WORKDIR {WORKDIR}", "--config.workingdir", WORKDIR)
    _umoci_config(
        image, f"CMD {json.dumps(list(CMD))}",
        *[arg for part in CMD for arg in ("--config.cmd", part)],
    )
    _add_healthcheck(layout, "build")

    # every format a pipeline produces
    tmpdir = work / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    source = f"oci:{image}"
    copy = ["skopeo", "--insecure-policy", "copy", "--quiet"]
    run([*copy, source, f"oci:{out / 'oci'}:{REF}"], env=env)
    run([*copy, source, f"oci-archive:{out / 'debian.oci.tar'}:{REF}"], env=env)
    run([*copy, source, f"docker-archive:{out / 'debian.docker.tar'}:{DOCKER_NAME}"], env=env)
    _remove_tree(work)

    diff_ids = image_config(out / "oci", REF)["rootfs"]["diff_ids"]
    if len(diff_ids) != len(LAYERS):
        raise RuntimeError(f"expected {len(LAYERS)} layers, the image has {len(diff_ids)}")
    meta = {
        "ref": REF,
        "diff_ids": diff_ids,
        "layers": LAYERS,
        "package_layers": PACKAGE_LAYERS,
        "recipe_key": recipe_key(),
        "build_seconds": round(time.monotonic() - started, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def debian_image(cache_root: Path | None = None) -> DebianImage:
    """The cached Debian test image, built on first use (1-3 minutes, needs root + network)."""
    root = (cache_root or default_cache_root()).expanduser().resolve()
    final = cached_build(root / f"debian-{recipe_key()}", build_debian_image)
    meta = _read_json(final / "meta.json")
    return DebianImage(
        oci_dir=final / "oci",
        ref=meta["ref"],
        oci_archive=final / "debian.oci.tar",
        docker_archive=final / "debian.docker.tar",
        diff_ids=list(meta["diff_ids"]),
        rootfs_dpkg_status=final / "dpkg-status",
        dpkg_query=final / "dpkg-query.txt",
        pip_list=final / "pip-list.json",
        npm_list=final / "npm-list.json",
        layers=dict(meta["layers"]),
        package_layers=dict(meta["package_layers"]),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.images.debian",
        description="Build (or find) the cached Debian test image and print its paths.",
    )
    parser.add_argument(
        "--cache", type=Path, default=None,
        help="cache root (default: $PORTCULLIS_TEST_CACHE or ~/.cache/portcullis-tests)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        img = debian_image(args.cache)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"oci_dir            {img.oci_dir}")
    print(f"ref                {img.ref}")
    print(f"oci_ref            {img.oci_ref}")
    print(f"oci_archive        {img.oci_archive}")
    print(f"docker_archive     {img.docker_archive}")
    print(f"rootfs_dpkg_status {img.rootfs_dpkg_status}")
    print(f"dpkg_query         {img.dpkg_query}")
    print(f"pip_list           {img.pip_list}")
    print(f"npm_list           {img.npm_list}")
    print(f"layers             {json.dumps(img.layers)}")
    print(f"package_layers     {json.dumps(img.package_layers)}")
    for i, diff_id in enumerate(img.diff_ids):
        print(f"diff_id[{i}]         {diff_id}")
    print(f"elapsed            {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
