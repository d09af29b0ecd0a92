"""``docker-daemon:`` against a real Docker-compatible API: a private Podman service (TEST-IMAGES §5).

The sample image (tests/images/kit.py) is written as a docker-archive and ``podman load``-ed;
Podman stores it as ``localhost/example/app:latest``, and a user types ``example/app:latest``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from portcullis.errors import LimitExceededError, NotFoundError, SourceError
from portcullis.limits import ScanLimits
from portcullis.scan import ScanOptions, scan
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.conftest import one_line_error, run_cli
from tests.images import kit
from tests.integration.podman_fixture import PODMAN_MISSING, PodmanService, start_podman

pytestmark = [
    pytest.mark.daemon,
    pytest.mark.skipif(PODMAN_MISSING is not None, reason=PODMAN_MISSING or ""),
]

NAME = "example/app:latest"
STORED_NAME = "localhost/example/app:latest"


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanService]:
    root = tmp_path_factory.mktemp("podman")
    service = start_podman(root)
    try:
        archive = kit.write_docker_archive(root / "app.docker.tar", kit.sample_image(),
                                           repo_tag=NAME, style="skopeo")
        assert service.load(archive) == [STORED_NAME]
        yield service
    finally:
        service.stop()


@pytest.fixture
def daemon(podman: PodmanService, monkeypatch: pytest.MonkeyPatch) -> PodmanService:
    """DOCKER_HOST points at the Podman socket (for this process and the CLI children)."""
    monkeypatch.setenv("DOCKER_HOST", podman.docker_host)
    for var in ("PORTCULLIS_DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(var, raising=False)
    return podman


@pytest.fixture
def image_id(podman: PodmanService) -> str:
    return podman.podman("image", "inspect", "--format", "{{.Id}}", STORED_NAME).stdout.strip()


def assert_empty(directory: Path) -> None:
    assert list(directory.iterdir()) == [], sorted(p.name for p in directory.rglob("*"))


# --------------------------------------------------------------------------- library API


def test_scan_reads_the_image_from_the_daemon(daemon: PodmanService, empty_dir: Path) -> None:
    options = ScanOptions(source=SourceOptions(temp_dir=empty_dir))
    report = scan(f"docker-daemon:{NAME}", options)
    assert report.image.source == "docker-daemon"
    assert report.image.reference == f"docker-daemon:{NAME}"
    assert [layer.diff_id for layer in report.image.layers] == kit.sample_image().diff_ids
    assert report.image.repo_tags == (STORED_NAME,)
    assert report.image.config_digest == kit.sha(kit.sample_image().config_bytes())
    assert report.distro is not None and report.distro.family == "alpine"
    assert_empty(empty_dir)


@pytest.mark.parametrize("name", ["example/app", STORED_NAME, "localhost/example/app"])
def test_names_the_daemon_resolves(daemon: PodmanService, name: str, empty_dir: Path) -> None:
    with open_image(f"docker-daemon:{name}", SourceOptions(temp_dir=empty_dir)) as image:
        assert [layer.diff_id for layer in image.info.layers] == kit.sample_image().diff_ids
        assert any(empty_dir.iterdir())  # the export is spooled below the temp dir ...
    assert_empty(empty_dir)  # ... and removed on close


def test_image_id_and_short_id(daemon: PodmanService, image_id: str, empty_dir: Path) -> None:
    for ref in (image_id, image_id[:12], f"sha256:{image_id}"):
        with open_image(f"docker-daemon:{ref}", SourceOptions(temp_dir=empty_dir)) as image:
            assert [layer.diff_id for layer in image.info.layers] == kit.sample_image().diff_ids
            assert image.info.repo_tags == ()  # an export by ID carries no tags
    assert_empty(empty_dir)


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []

    def start(self, key: str, description: str, total: int | None) -> None:
        self.events.append(("start", key, total))

    def advance(self, key: str, amount: int) -> None:
        self.events.append(("advance", key, amount))

    def finish(self, key: str) -> None:
        self.events.append(("finish", key, None))


def test_progress_reports_the_export(daemon: PodmanService, empty_dir: Path) -> None:
    progress = RecordingProgress()
    with open_image(f"docker-daemon:{NAME}",
                    SourceOptions(temp_dir=empty_dir, progress=progress)) as image:
        assert image.info.source == "docker-daemon"
    kinds = [e[0] for e in progress.events]
    assert kinds[0] == "start" and kinds[-1] == "finish" and "advance" in kinds
    assert {e[1] for e in progress.events} == {"export"}
    copied = sum(e[2] or 0 for e in progress.events if e[0] == "advance")
    assert copied > sum(len(layer.tar_bytes()) for layer in kit.sample_image().layers)


def test_library_errors_are_portcullis_errors(daemon: PodmanService, empty_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    options = SourceOptions(temp_dir=empty_dir, timeout=5)
    with pytest.raises(NotFoundError, match="no such image"):
        open_image("docker-daemon:example/missing:1.0", options)
    tiny = SourceOptions(temp_dir=empty_dir, limits=ScanLimits(max_image_size=10_000))
    with pytest.raises(LimitExceededError, match="max_image_size"):
        open_image(f"docker-daemon:{NAME}", tiny)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{empty_dir}/nothing-here.sock")
    with pytest.raises(SourceError, match="cannot reach the Docker daemon at unix://"):
        open_image(f"docker-daemon:{NAME}", options)
    # PORTCULLIS_DOCKER_HOST wins over DOCKER_HOST
    monkeypatch.setenv("PORTCULLIS_DOCKER_HOST", daemon.docker_host)
    with open_image(f"docker-daemon:{NAME}", options) as image:
        assert image.info.repo_tags == (STORED_NAME,)
    assert_empty(empty_dir)


class _FakeDaemon(BaseHTTPRequestHandler):
    """Answers like a broken Docker daemon, or like some other HTTP server, by image name."""

    def do_GET(self) -> None:
        if "/images/cut-short/" in self.path:  # a daemon that dies mid-export
            self.send_response(200)
            self.send_header("Api-Version", "1.41")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\0" * 1000)
            self.wfile.flush()
            self.close_connection = True
            return
        if "/images/boom/" in self.path:  # a daemon-side failure
            body = json.dumps({"message": "storage is\nbroken"}).encode()
            self.send_response(500)
            self.send_header("Api-Version", "1.41")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(404)  # not a Docker API at all
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def fake_daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeDaemon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"tcp://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.delenv("PORTCULLIS_DOCKER_HOST", raising=False)
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()


def test_broken_daemons_give_one_line_source_errors(fake_daemon: str, empty_dir: Path) -> None:
    options = SourceOptions(temp_dir=empty_dir, timeout=5)
    with pytest.raises(SourceError, match="not a Docker Engine API") as info:
        open_image(f"docker-daemon:{NAME}", options)
    assert not isinstance(info.value, NotFoundError)
    with pytest.raises(SourceError, match="broke off"):
        open_image("docker-daemon:cut-short", options)
    with pytest.raises(SourceError, match="answered 500: storage is broken") as info:
        open_image("docker-daemon:boom", options)
    assert "\n" not in str(info.value)
    assert_empty(empty_dir)


# --------------------------------------------------------------------------- command line


def test_cli_scan_json(daemon: PodmanService, empty_dir: Path) -> None:
    result = run_cli("scan", f"docker-daemon:{NAME}", "--format", "json", "--quiet",
                     "--temp-dir", str(empty_dir))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    art = doc["artifact"]
    assert art["source"] == "docker-daemon"
    assert art["reference"] == f"docker-daemon:{NAME}"
    assert [layer["diff_id"] for layer in art["layers"]] == kit.sample_image().diff_ids
    assert art["os"]["family"] == "alpine"
    assert art["config"]["user"] == "1000"
    assert_empty(empty_dir)


def test_cli_missing_image(daemon: PodmanService, empty_dir: Path) -> None:
    line = one_line_error(run_cli("scan", "docker-daemon:example/missing:1.0", "--quiet",
                                  "--temp-dir", str(empty_dir)))
    assert "docker-daemon:example/missing:1.0" in line and "no such image" in line
    assert_empty(empty_dir)


def test_cli_daemon_not_reachable(daemon: PodmanService, empty_dir: Path,
                                  tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "docker.sock"
    line = one_line_error(run_cli("scan", f"docker-daemon:{NAME}", "--quiet",
                                  "--temp-dir", str(empty_dir),
                                  env={"DOCKER_HOST": f"unix://{missing}"}))
    assert f"cannot reach the Docker daemon at unix://{missing}" in line
    assert_empty(empty_dir)


def test_cli_image_size_limit(daemon: PodmanService, empty_dir: Path) -> None:
    line = one_line_error(run_cli("scan", f"docker-daemon:{NAME}", "--quiet",
                                  "--temp-dir", str(empty_dir), "--max-image-size", "10000"))
    assert "max_image_size" in line
    assert_empty(empty_dir)
