"""The sensitive-file kinds one by one: the name decides, and where the name is not enough the
content must show it too, even when the marker is split across chunks."""

from __future__ import annotations

import pytest

from portcullis.analyze.secrets.sensitive import SensitiveFiles, classify
from portcullis.model.files import FileKind, FileMeta
from tests.analyzers.malware_samples import CERT_ONLY_PEM, private_key_pem
from tests.unit.layer_helpers import analysis_context

KUBECONFIG = b"apiVersion: v1\nkind: Config\nclusters:\n- name: prod\nusers:\n- name: admin\n"


def found(path: str, data: bytes, chunk: int = 1 << 20) -> str | None:
    """The id the analyzer reports for ``path`` holding ``data``, fed in ``chunk``-byte pieces."""
    analyzer = SensitiveFiles()
    meta = FileMeta(path=path, kind=FileKind.FILE, size=len(data))
    if not analyzer.accepts(meta):
        return None
    scan = analyzer.start(meta, 2, analysis_context())
    assert scan is not None
    for start in range(0, len(data), chunk):
        scan.update(data[start:start + chunk])
    findings = scan.finish().findings
    assert len(findings) <= 1
    if not findings:
        return None
    assert findings[0].kind == "sensitive-file" and findings[0].layer == 2
    assert findings[0].extra == {"size": len(data)}
    return findings[0].id


@pytest.mark.parametrize(("path", "data", "expected"), [
    ("/etc/ssh/ssh_host_ed25519_key", None, "ssh-host-key"),
    ("/etc/ssh/ssh_host_ed25519_key.pub", b"ssh-ed25519 AAAA host\n", None),
    ("/home/app/.ssh/id_ed25519", None, "private-key-file"),
    ("/srv/tls/server.key", None, "private-key-file"),
    ("/srv/tls/bundle.pem", CERT_ONLY_PEM, None),
    ("/srv/tls/bundle.pem", CERT_ONLY_PEM + b"\n" + b"x" * 5000, None),
    ("/srv/keys/app.ppk", b"PuTTY-User-Key-File-3: ssh-ed25519\n", "private-key-file"),
    ("/srv/keys/server.key", b"just some text\n", None),
    ("/opt/app/keystore.jks", b"\xfe\xed\xfe\xed\x00\x00\x00\x02", "keystore-file"),
    ("/opt/app/client.p12", b"\x30\x82\x0a\x00", "keystore-file"),
    ("/opt/app/notes.keystore", b"not a keystore", None),
    ("/root/.aws/credentials", b"[default]\n", "aws-credentials"),
    ("/root/.aws/config", b"[default]\nregion = x\n", None),
    ("/root/.config/gcloud/credentials.db", b"SQLite format 3\0", "gcloud-credentials"),
    ("/root/.config/gcloud/application_default_credentials.json", b"{}", "gcloud-credentials"),
    ("/root/.config/gcloud/configurations/config_default", b"[core]\n", None),
    ("/root/.azure/msal_token_cache.json", b"{}", "azure-credentials"),
    ("/root/.kube/config", KUBECONFIG, "kubeconfig"),
    ("/etc/kubernetes/admin.conf", KUBECONFIG, "kubeconfig"),
    ("/etc/kubernetes/admin.conf", b"# nothing here\n", None),
    ("/infra/prod.tfstate", b'{"version": 4}', "terraform-state"),
    ("/infra/prod.tfstate.backup", b'{"version": 4}', "terraform-state"),
    ("/app/.env", b"SECRET_KEY=abc\n", "dotenv-file"),
    ("/app/.env.production", b"export SECRET_KEY=abc\n", "dotenv-file"),
    ("/app/.env.example", b"SECRET_KEY=\n", None),
    ("/app/.env.template", b"SECRET_KEY=\n", None),
    ("/app/.env", b"# only a comment\n", None),
    ("/root/.zsh_history", b": 1700000000:0;ls\n", "shell-history"),
    ("/root/.python_history", b"import os\n", "shell-history"),
    ("/root/.psql_history", b"select 1;\n", "database-history"),
    ("/root/.mysql_history", b"show databases;\n", "database-history"),
    ("/root/.dbshell", b"db.users.find()\n", "database-history"),
    ("/srv/site/.git/HEAD", b"ref: refs/heads/main\n", "git-folder"),
    ("/srv/site/.git/config", b"[core]\n", None),
    ("/usr/share/doc/git/HEAD", b"x\n", None),
])
def test_kinds(path: str, data: bytes | None, expected: str | None) -> None:
    assert found(path, private_key_pem() if data is None else data) == expected


def test_a_private_key_marker_split_across_chunks_is_found() -> None:
    data = b"x" * 1000 + private_key_pem()
    assert found("/srv/tls/server.pem", data, chunk=1010) == "private-key-file"


def test_an_empty_file_is_not_reported() -> None:
    meta = FileMeta(path="/root/.bash_history", kind=FileKind.FILE, size=0)
    assert not SensitiveFiles().accepts(meta)
    assert classify("/root/.bash_history") is not None
