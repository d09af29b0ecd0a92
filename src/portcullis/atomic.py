"""Files replaced whole or not at all: written to a temporary file beside the target, synced,
then renamed over it (atomic on POSIX). A reader never sees half a file, and a writer killed
mid-way leaves only its temporary file (named ``prefix``..., for the owner to clean up)."""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path


def write_atomic(path: Path, data: bytes, prefix: str = "tmp-",
                 tmp_dir: Path | None = None, sync: bool = True) -> None:
    """Replace ``path`` with ``data``. ``tmp_dir`` (default: the target's folder) must be on
    the target's filesystem. ``sync=False`` skips the fsync (~1 ms here, far more on a busy CI
    disk): for files whose readers check a checksum and rebuild a torn one (cache entries),
    where a power cut may cost the entry but never serves a wrong one; a killed process
    cannot tear a renamed file either way."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=tmp_dir or path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with suppress(OSError):
            Path(tmp).unlink()
        raise
