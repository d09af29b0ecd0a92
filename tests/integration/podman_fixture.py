"""A private Podman service speaking the Docker Engine API on a unix socket (TEST-IMAGES.md §5).

Everything Podman keeps lives below one test folder: image store (``--root``, vfs driver),
run state (``--runroot``), libpod state (``--tmpdir``), network config, temp files of image copies
(``image_copy_tmp_dir`` in a private ``containers.conf``). Nothing is written to /etc. The same
flags are used for ``podman load`` so the service sees the loaded images. The service is stopped
by its PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PODMAN = shutil.which("podman")
PODMAN_MISSING = None if PODMAN else "needs podman on PATH (apt-get install podman uidmap runc)"
_SUN_PATH_MAX = 100  # sockaddr_un.sun_path holds 108 bytes; keep a margin


@dataclass
class PodmanService:
    root: Path
    socket_path: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    def podman(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``podman`` against the same private storage as the service."""
        assert PODMAN
        result = subprocess.run(
            [PODMAN, *_global_flags(self.root), *args],
            capture_output=True, text=True, timeout=timeout, env=self.env, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def load(self, archive: Path) -> list[str]:
        """``podman load -i``; returns the names Podman reports (``Loaded image: NAME``)."""
        out = self.podman("load", "-i", str(archive)).stdout
        return [line.split(":", 1)[1].strip() for line in out.splitlines()
                if line.startswith("Loaded image")]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if not self.socket_path.is_relative_to(self.root):  # the short socket dir is ours
            shutil.rmtree(self.socket_path.parent, ignore_errors=True)


def _global_flags(root: Path) -> list[str]:
    return [
        "--root", str(root / "storage"),
        "--runroot", str(root / "run"),
        "--storage-driver", "vfs",
        "--tmpdir", str(root / "libpod"),
        "--network-config-dir", str(root / "networks"),
        "--events-backend", "none",
        "--cgroup-manager", "cgroupfs",
    ]


def _environment(root: Path) -> dict[str, str]:
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    conf = root / "containers.conf"
    conf.write_text(
        "[engine]\n"
        'events_logger = "none"\n'
        f'image_copy_tmp_dir = "{tmp}"\n'
        'runtime = "runc"\n'
    )
    storage = root / "storage.conf"
    storage.write_text(
        "[storage]\n"
        'driver = "vfs"\n'
        f'runroot = "{root / "run"}"\n'
        f'graphroot = "{root / "storage"}"\n'
    )
    env = dict(os.environ)
    env.update(CONTAINERS_CONF=str(conf), CONTAINERS_STORAGE_CONF=str(storage), TMPDIR=str(tmp))
    return env


def start_podman(root: Path, *, ready_timeout: float = 20.0) -> PodmanService:
    """Start ``podman system service`` with its socket below ``root`` (or a short temp dir)."""
    assert PODMAN, PODMAN_MISSING
    root.mkdir(parents=True, exist_ok=True)
    sock_dir = root
    if len(str(root / "podman.sock")) > _SUN_PATH_MAX:
        sock_dir = Path(tempfile.mkdtemp(prefix="pcd-"))
    sock = sock_dir / "podman.sock"
    env = _environment(root)
    log = (root / "service.log").open("wb")
    process = subprocess.Popen(
        [PODMAN, *_global_flags(root), "system", "service", "--time=0", f"unix://{sock}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
    )
    log.close()
    service = PodmanService(root=root, socket_path=sock, process=process, env=env)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = (root / "service.log").read_text(errors="replace")
            raise RuntimeError(f"podman system service exited ({process.returncode}): {text}")
        if sock.exists() and _answers(sock):
            return service
        time.sleep(0.05)
    service.stop()
    raise RuntimeError(f"podman system service: no socket at {sock} after {ready_timeout}s")


def _answers(sock: Path) -> bool:
    with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as s:
        try:
            s.settimeout(2)
            s.connect(str(sock))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.")
        except OSError:
            return False
