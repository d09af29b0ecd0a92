"""The Portcullis scanner image, built from the repository's Dockerfile as CI would build it.

- base: ``mmdebstrap --variant=minbase --include=python3,python3-venv`` bookworm rootfs, made an
  image by ``buildah bud`` of ``FROM scratch`` + ``ADD rootfs.tar /`` (the public python:slim
  image cannot be pulled here); cached by this file's hash;
- ``dist/``: a wheel of the working tree plus its dependencies' wheels from the wheelhouse that
  ``scripts/test`` fills (``pip wheel``), so the build itself needs no network;
- ``buildah bud --build-arg BASE=...`` of ./Dockerfile (vfs storage, chroot isolation,
  TEST-IMAGES.md §5), pushed to an ``oci-archive:`` tar; cached by the hash of the Dockerfile,
  pyproject.toml, every file under src/ and the wheelhouse's listing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.images.debian import MIRROR, SUITE, cached_build, default_cache_root, run

ROOT = Path(__file__).resolve().parents[2]
TAG = "localhost/portcullis-scanner:test"
BASE_TAG = "localhost/portcullis-python-base:test"
TOOLS = ("mmdebstrap", "buildah")


def wheelhouse() -> Path:
    env = os.environ.get("PORTCULLIS_WHEELHOUSE")
    return Path(env) if env else default_cache_root() / "wheelhouse"


def missing_reason() -> str | None:
    if os.geteuid() != 0:
        return "building the scanner image needs root (mmdebstrap --mode=root, buildah)"
    tools = [tool for tool in TOOLS if shutil.which(tool) is None]
    if tools:
        return f"needs {', '.join(tools)} (apt-get install -y {' '.join(tools)})"
    if not any(wheelhouse().glob("*.whl")):
        return f"needs the wheelhouse {wheelhouse()} that scripts/test fills (pip wheel)"
    return None


def _digest_of(paths: list[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def scanner_key() -> str:
    sources = [p for p in (ROOT / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    wheels = "\n".join(sorted(p.name for p in wheelhouse().glob("*.whl")))
    return _digest_of([ROOT / "Dockerfile", ROOT / "pyproject.toml", Path(__file__), *sources],
                      wheels)


def _buildah(storage: Path, *args: str | Path) -> str:
    flags = ["--root", str(storage / "root"), "--runroot", str(storage / "run"),
             "--storage-driver", "vfs"]
    return run(["buildah", *flags, *map(str, args)])


ROOTFS_RECIPE = ("mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar",
                 "--include=python3,python3-venv", "--skip=output/dev", SUITE)


def _build_rootfs(out: Path) -> None:
    run([*ROOTFS_RECIPE, out / "rootfs.tar", f"deb {MIRROR} {SUITE} main"])


def _build_base(storage: Path, work: Path) -> None:
    context = work / "base"
    context.mkdir()
    base_key = hashlib.sha256(" ".join(ROOTFS_RECIPE).encode()).hexdigest()[:16]
    rootfs = cached_build(default_cache_root() / f"python-rootfs-{base_key}", _build_rootfs)
    os.link(rootfs / "rootfs.tar", context / "rootfs.tar")
    (context / "Containerfile").write_text("FROM scratch\nADD rootfs.tar /\nCMD [\"bash\"]\n")
    _buildah(storage, "bud", "--isolation", "chroot", "--timestamp", "0", "-t", BASE_TAG,
             "-f", context / "Containerfile", context)


def _dist(context: Path) -> None:
    dist = context / "dist"
    dist.mkdir()
    for wheel in wheelhouse().glob("*.whl"):
        if not wheel.name.startswith("portcullis-"):
            shutil.copy2(wheel, dist / wheel.name)
    # The working tree's own wheel: built offline, its build requirements from the wheelhouse.
    # From a copy of exactly what the image key hashes: built in the tree, setuptools would
    # reuse the tree's build/lib, where a module since moved or deleted still lies.
    source = context / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run(
        [os.environ.get("PORTCULLIS_PYTHON", sys.executable), "-m", "pip",
         "wheel", "--quiet", "--no-deps", "--no-index", "--find-links", str(wheelhouse()),
         "--wheel-dir", str(dist), str(source)],
        check=True, capture_output=True, timeout=600,
    )


def build_scanner_image(out: Path) -> None:
    storage = Path(tempfile.mkdtemp(prefix="buildah-", dir=out))
    try:
        _build_base(storage, out)
        context = out / "context"
        context.mkdir()
        shutil.copy2(ROOT / "Dockerfile", context / "Dockerfile")
        _dist(context)
        _buildah(storage, "bud", "--isolation", "chroot", "--timestamp", "0", "--layers",
                 "--build-arg", f"BASE={BASE_TAG}", "-t", TAG, context)
        _buildah(storage, "push", TAG, f"oci-archive:{out / 'scanner.oci.tar'}:{TAG}")
    finally:
        shutil.rmtree(storage, ignore_errors=True)
        shutil.rmtree(out / "base", ignore_errors=True)
        shutil.rmtree(out / "context", ignore_errors=True)


def scanner_image(cache_root: Path | None = None) -> Path:
    """The scanner image as an ``oci-archive`` tar, tagged :data:`TAG`."""
    root = cache_root or default_cache_root()
    folder = cached_build(root / f"scanner-{scanner_key()}", build_scanner_image)
    return folder / "scanner.oci.tar"
