"""A real ClamAV daemon for tests: ``clamd`` (Debian's clamav-daemon) with a signature database
the test writes (``.hdb`` file hashes and ``.ndb`` body patterns; public signatures cannot be
downloaded here, and freshclam is never run), on a unix socket and a free 127.0.0.1 port."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from portcullis.analyze.malware.clamd import ClamdError, ping
from portcullis.analyze.malware.settings import ClamdAddress
from tests.integration.registry_server import LOOPBACK, free_port

CLAMD = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)

# What the test database knows: one file by its hash, one by a byte pattern in its body.
HASHED = b"portcullis clamav test payload: known by its MD5\n"
PATTERN = b"PORTCULLIS-" + b"NDB-TEST-MARKER"
HASH_SIGNATURE = "Portcullis.Test.Hashed"
PATTERN_SIGNATURE = "Portcullis.Test.Pattern"


@dataclass(frozen=True)
class Clamd:
    socket: str
    port: int
    log: Path

    @property
    def unix(self) -> ClamdAddress:
        return ClamdAddress(socket=self.socket)

    @property
    def tcp(self) -> ClamdAddress:
        return ClamdAddress(host=LOOPBACK, port=self.port)


def write_database(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portcullis.hdb").write_text(
        f"{hashlib.md5(HASHED).hexdigest()}:{len(HASHED)}:{HASH_SIGNATURE}\n")
    (folder / "portcullis.ndb").write_text(f"{PATTERN_SIGNATURE}:0:*:{PATTERN.hex()}\n")


@contextmanager
def running_clamd(timeout: float = 60.0) -> Iterator[Clamd]:
    assert CLAMD is not None
    # A short path: a unix socket path must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="pc-clamd-"))
    try:
        write_database(root / "db")
        port = free_port()
        server = Clamd(socket=str(root / "clamd.sock"), port=port, log=root / "clamd.log")
        (root / "clamd.conf").write_text(
            f"LocalSocket {server.socket}\nTCPSocket {port}\nTCPAddr {LOOPBACK}\n"
            f"DatabaseDirectory {root / 'db'}\nLogFile {server.log}\nForeground yes\n"
            "StreamMaxLength 8M\n")
        proc = subprocess.Popen([CLAMD, f"--config-file={root / 'clamd.conf'}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait(server, proc, timeout)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait(server: Clamd, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            log = server.log.read_text() if server.log.exists() else ""
            raise RuntimeError(f"clamd exited with {proc.returncode}: {err}\n{log}")
        try:
            ping(server.unix)
            ping(server.tcp)
            return
        except ClamdError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
