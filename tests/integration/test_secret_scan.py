"""Issue 10 acceptance for secrets: secrets planted in a real image (written by the kit) are
found with the right path, line, layer and ``visible`` flag, through the CLI; none of them
appears in full in any output; the user's config adds and allows; the real Debian test image
(python + pip packages, npm packages) has no secret findings at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from portcullis.analyze.base import AnalysisContext, AnalysisResult, AnalyzerSpec
from portcullis.analyze.engine import EngineOptions, run
from portcullis.analyze.secrets.analyzer import SecretFiles
from portcullis.model.files import FileMeta
from portcullis.model.finding import Finding
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.conftest import one_line_error, run_cli
from tests.images import kit
from tests.images.debian import DebianImage
from tests.images.kit import Layer, directory, file, whiteout

# Made up for these tests; random-looking, like real ones.
AWS_ID = "AKIA4HXMWNQ2ZRBV7LJK"
AWS_SECRET = "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"
GH_ENV = "ghp_R8vKq2LmZx7TnWp4YsBd9HcFj3GtQe6UaNo1"
GH_BIG = "ghp_Zk3Wq8LmPx2TnRv5YsBd7HcFj9GtQe4UaMo6"
NPM_RUN = "npm_Xq7LmP2vRt9KzW4sNb6YcJ8dHf3GuA1eTo5i"
LABEL_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dcQm9uZX"
DB_PASSWORD = "Xk9q2LmP7zR4"
SLACK_CMD = "xoxb-2937465012-4820193746-Qm9uZXM3aHVudGVyNWdyZWVu"
PEM_BODY = ("MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi1u3PwM5yvWnmMOdcEczt1vb9m\n"
            "x8fBzvGq+AvwRk0wLm6m7AqR2bT1c9ZyW0eLkPnUoH3sJ4dVf6gXa8iCzQ7tNyEb\n")
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}-----END RSA PRIVATE KEY-----\n"
ALL_SECRETS = (AWS_ID, AWS_SECRET, GH_ENV, GH_BIG, NPM_RUN, LABEL_KEY, DB_PASSWORD, SLACK_CMD,
               PEM_BODY.split("\n", maxsplit=1)[0])

CHUNK = 1 << 20  # the layer pass reads files in chunks of up to 1 MiB (layers/index.py)


BIG_SIZE = 2_300_000


def _big_file(cut: int) -> bytes:
    """Log lines, BIG_SIZE bytes whatever ``cut`` is, with a token that starts 3 bytes
    before offset ``cut`` (where the layer pass cuts the file into chunks)."""
    line = b"2024-01-01 12:00:00 INFO request served in 12 ms\n"
    data = bytearray((line * (BIG_SIZE // len(line) + 1))[:BIG_SIZE])
    text = b"\nAuthorization: token " + GH_BIG.encode() + b"\n"
    start = cut - 3 - len(b"\nAuthorization: token ")
    data[start:start + len(text)] = text
    return bytes(data)


def _image(cut: int) -> kit.ImageSpec:
    base = Layer([
        directory("etc"), file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
        directory("app"),
        file("app/aws.ini", f"[default]\nregion = eu-west-1\naws_access_key_id = {AWS_ID}\n"
                            f"aws_secret_access_key = {AWS_SECRET}\n"),
        directory("root"), directory("root/.ssh"),
        file("root/.ssh/id_rsa", PEM, mode=0o600),
        file("app/big.log", _big_file(cut)),
        directory("usr"), directory("usr/share"), directory("usr/share/doc"),
        directory("usr/share/doc/pkg"),
        file("usr/share/doc/pkg/README", f"export GITHUB_TOKEN={GH_ENV}\n"),
        file("app/tool.bin", b"\x7fELF\0\0\0" + GH_ENV.encode()),
    ], created_by="ADD rootfs.tar /")
    env_file = Layer([
        file("app/.env", f"DEBUG=0\nDATABASE_URL=postgres://app:{DB_PASSWORD}@db:5432/app\n"),
    ], created_by=f"RUN npm config set //registry.npmjs.org/:_authToken={NPM_RUN} && npm ci")
    cleanup = Layer([whiteout("app/.env")], created_by="RUN rm /app/.env")
    return kit.ImageSpec(
        layers=[base, env_file, cleanup],
        config={"Env": ["PATH=/usr/bin:/bin", f"SECRET_TOKEN={GH_ENV}"],
                "Labels": {"org.example.stripe": LABEL_KEY, "maintainer": "ops"},
                "Cmd": ["/app/run", f"--slack-token={SLACK_CMD}"]},
        empty_history=[(1, f"ENV SECRET_TOKEN={GH_ENV}")],
    )


class _Boundaries:
    """Records where the layer pass cut /app/big.log into chunks."""

    def __init__(self, cuts: list[int]) -> None:
        self.cuts = cuts
        self.offset = 0

    def update(self, chunk: bytes) -> None:
        self.offset += len(chunk)
        self.cuts.append(self.offset)

    def finish(self) -> AnalysisResult:
        return AnalysisResult()


class ChunkRecorder:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(name="test-chunks", version=1,
                                                paths=("/app/big.log",))

    def __init__(self) -> None:
        self.cuts: list[int] = []

    def accepts(self, meta: FileMeta) -> bool:
        return True

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> _Boundaries:
        return _Boundaries(self.cuts)


def _cuts(ref: str, tmp: Path) -> tuple[list[int], list[Finding]]:
    recorder = ChunkRecorder()
    with open_image(ref, SourceOptions()) as image:
        engine = run(image, [SecretFiles(), recorder], EngineOptions(temp_dir=str(tmp)))
    return recorder.cuts, [f for f in engine.result.findings if f.path == "/app/big.log"]


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> int:
    """Where the layer pass cuts big.log first. It depends on the file's place in the tar
    stream, not on its bytes (whose size is fixed), so a probe image tells."""
    tmp = tmp_path_factory.mktemp("probe")
    probe = kit.write_oci_layout(tmp / "probe", _image(CHUNK), ref="t")
    cuts, _ = _cuts(f"oci:{probe}:t", tmp)
    return cuts[0]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, cut: int) -> str:
    root = kit.write_oci_layout(tmp_path_factory.mktemp("secrets") / "img", _image(cut),
                                ref="t")
    return f"oci:{root}:t"


def test_token_across_a_real_chunk_boundary(planted: str, tmp_path: Path) -> None:
    """The engine's own chunks, not the test's: one of them ends inside the token."""
    cuts, found = _cuts(planted, tmp_path)
    start = _big_file(cuts[0]).index(GH_BIG.encode())
    assert start < cuts[0] < start + len(GH_BIG)
    assert [(f.id, f.extra["match"]) for f in found] == [
        ("github-personal-access-token", "ghp_****************")]


def _scan(ref: str, *extra: str) -> tuple[dict[str, Any], str]:
    result = run_cli("scan", ref, "--format", "json", "--quiet", "--scanners", "secret", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stdout + result.stderr


def _secrets(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        ((f["id"], f["path"] or "", f["line"] or 0, f["layer"], f["visible"],
          f.get("location", ""))
         for f in doc["findings"] if f["kind"] == "secret"), key=str)


def test_planted_secrets_are_found(planted: str, cut: int) -> None:
    doc, _ = _scan(planted)
    assert doc["scanners"]["secret"]["status"] == "ok"
    big = _big_file(cut)
    big_line = big.count(b"\n", 0, big.index(GH_BIG.encode())) + 1
    assert _secrets(doc) == sorted([
        ("aws-access-key-id", "/app/aws.ini", 3, 0, True, ""),
        ("aws-credential-pair", "/app/aws.ini", 3, 0, True, ""),
        ("private-key-rsa", "/root/.ssh/id_rsa", 1, 0, True, ""),
        ("github-personal-access-token", "/app/big.log", big_line, 0, True, ""),
        # written by layer 1, deleted by layer 2: still in the image's bytes
        ("postgres-uri-password", "/app/.env", 2, 1, False, ""),
        ("github-personal-access-token", "", 0, None, True, "config.env[SECRET_TOKEN]"),
        ("stripe-live-secret-key", "", 0, None, True, "config.labels[org.example.stripe]"),
        ("slack-bot-token", "", 0, None, True, "config.cmd[1]"),
        ("github-personal-access-token", "", 0, None, True, "history[1].created_by"),
        ("npm-access-token", "", 0, 1, True, "history[2].created_by"),
    ], key=str)
    fingerprints = [f["fingerprint"] for f in doc["findings"]]
    assert len(set(fingerprints)) == len(fingerprints)


def test_no_secret_in_full_anywhere(planted: str, tmp_path: Path) -> None:
    doc, text = _scan(planted)
    table = run_cli("scan", planted, "--format", "table", "--quiet", "--scanners", "secret")
    assert table.returncode == 0, table.stderr
    debug = run_cli("--debug", "scan", planted, "--format", "json", "--quiet",
                    "--scanners", "secret")
    for output in (text, table.stdout + table.stderr, debug.stdout + debug.stderr):
        leaked = [s for s in ALL_SECRETS if s in output]
        assert leaked == []
    # the table says where a config secret is (a location, escaped: not rich markup)
    assert "config.env[SECRET_TOKEN]" in table.stdout
    matches = {f["match"] for f in doc["findings"]}
    assert "AKIA****************" in matches
    assert "ghp_****************" in matches
    config = doc["artifact"]["config"]
    assert config["env"] == ["PATH=/usr/bin:/bin", "SECRET_TOKEN=ghp_****************"]
    assert config["labels"] == {"maintainer": "ops",
                                "org.example.stripe": "sk_l****************"}
    assert config["cmd"] == ["/app/run", "--slack-token=xoxb****************"]
    assert doc["artifact"]["layers"][1]["created_by"] == (
        "RUN npm config set //registry.npmjs.org/:_authToken=npm_**************** && npm ci")


def test_config_is_masked_whichever_scanners_run(planted: str) -> None:
    result = run_cli("scan", planted, "--format", "json", "--quiet", "--scanners", "none")
    assert result.returncode == 0, result.stderr
    assert [s for s in ALL_SECRETS if s in result.stdout] == []
    assert json.loads(result.stdout)["scanners"]["secret"]["status"] == "skipped"


def test_user_config_allows_and_adds(planted: str, tmp_path: Path) -> None:
    config = tmp_path / "secrets.toml"
    config.write_text(f'''
disable = ["aws-access-key-id"]

[allow]
paths = ["/root/.ssh/*"]
values = ["{GH_ENV}"]

[[rule]]
id = "request-log-line"
title = "A served-request log line"
severity = "LOW"
keywords = ["request served"]
regex = \'\'\'request (?P<secret>served) in 12 ms\'\'\'
''')
    doc, _ = _scan(planted, "--secret-config", str(config))
    ids = {f["id"] for f in doc["findings"]}
    assert "aws-access-key-id" not in ids and "private-key-rsa" not in ids
    assert "config.env[SECRET_TOKEN]" not in {f.get("location") for f in doc["findings"]}
    assert "request-log-line" in ids
    assert "aws-credential-pair" in ids


def test_bad_user_config_is_one_line_error(planted: str, tmp_path: Path) -> None:
    config = tmp_path / "secrets.toml"
    config.write_text('[[rule]]\nid = "x"\ntitle = "t"\nseverity = "LOW"\n'
                      'keywords = ["a"]\nregex = "("\n')
    line = one_line_error(run_cli("scan", planted, "--secret-config", str(config)))
    assert str(config) in line and "rule 1 (x)" in line
    missing = one_line_error(run_cli("scan", planted, "--secret-config",
                                     str(tmp_path / "none.toml")))
    assert "cannot read the secret config" in missing


@pytest.mark.slow
def test_no_secrets_in_the_debian_image(debian: DebianImage) -> None:
    """Debian minbase, python3 packages, pip packages and npm packages: their docs and test
    data must not trip the rules."""
    doc, _ = _scan(debian.oci_ref)
    assert doc["scanners"]["secret"]["status"] == "ok"
    assert _secrets(doc) == []
    assert [w for w in doc["warnings"] if w["analyzer"] == "secret-files"] == []
