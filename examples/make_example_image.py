"""Write a small example image (OCI layout) to scan in seconds, with only the standard library.

    python examples/make_example_image.py OUT_DIR     # then: portcullis scan oci:OUT_DIR:latest

The image has three layers like a typical Dockerfile build: a base with /etc/os-release, an
application layer, and a clean-up layer that deletes a file (its bytes stay in the image).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

MTIME = 1_700_000_000


def _tar(entries: list[tuple[str, bytes | None, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime, info.mode = MTIME, mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _blob(root: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    path = root / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build(root: Path) -> None:
    os_release = (b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                  b'VERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n')
    layers = [
        ("ADD rootfs.tar /", [("etc", None, 0o755), ("etc/os-release", os_release, 0o644),
                              ("etc/debian_version", b"12.5\n", 0o644),
                              ("tmp", None, 0o1777)]),
        ("COPY app /app", [("app", None, 0o755),
                           ("app/server.py", b"print('serving')\n", 0o755),
                           ("app/.env", b"DATABASE_URL=postgres://app:changeme@db/app\n", 0o600),
                           ("app/requirements.txt", b"requests==2.25.0\nflask==1.1.2\n", 0o644)]),
        ("RUN rm /app/.env", [("app/.wh..env", b"", 0o644)]),
    ]
    tars = [_tar(entries) for _, entries in layers]
    config = {
        "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["python3", "/app/server.py"],
                   "ExposedPorts": {"8080/tcp": {}}, "WorkingDir": "/app"},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]},
        "history": [{"created_by": cmd} for cmd, _ in layers],
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    cfg = _blob(root, json.dumps(config, sort_keys=True).encode())
    cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
    descs = []
    for t in tars:
        desc = _blob(root, gzip.compress(t, mtime=0))
        desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
        descs.append(desc)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cfg, "layers": descs}
    man = _blob(root, json.dumps(manifest, sort_keys=True).encode())
    man["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    man["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [man]}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_example_image.py OUT_DIR")
    build(Path(sys.argv[1]))
    print(f"oci:{sys.argv[1]}:latest")
