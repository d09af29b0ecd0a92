"""Fuzz the layer tar reader (src/portcullis/layers/tar.py) with many inputs.

Usage: ``python bench/fuzz_tar.py [--inputs 100000] [--seed 0] [--hang 5]``

Inputs, in equal parts: random bytes; real archives written by ``tarfile`` (ustar, GNU, pax;
long names, links, big ids) then damaged (bytes flipped, cut short, zero blocks inserted,
header fields overwritten); and random 512-byte headers given a valid checksum, so the parser
gets past the first gate. Every input must end in members or a ``LayerError`` (the reader's
``TarFormatError``): anything else is a crash, anything over ``--hang`` seconds a hang.
Crashers are written to bench/out/fuzz-tar-crashers/. Exits 1 when there were crashes.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tarfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from portcullis.errors import LayerError  # noqa: E402
from portcullis.layers.tar import TarReader  # noqa: E402

OUT = REPO / "bench" / "out" / "fuzz-tar-crashers"
FORMATS = (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT)


def archive(rng: random.Random) -> bytes:
    buf = io.BytesIO()
    fmt = rng.choice(FORMATS)
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for i in range(rng.randint(1, 6)):
            name = "d/" * rng.randint(0, 3) + f"f{i}" + "x" * rng.choice((0, 5, 120, 300))
            if fmt == tarfile.USTAR_FORMAT:
                name = name[:99]
            info = tarfile.TarInfo(name)
            kind = rng.choice((tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE,
                               tarfile.LNKTYPE, tarfile.FIFOTYPE))
            info.type = kind
            data = rng.randbytes(rng.randint(0, 3000)) if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = "t" * rng.choice((1, 50, 99 if fmt == tarfile.USTAR_FORMAT
                                                  else 200))
            if fmt != tarfile.USTAR_FORMAT and rng.random() < 0.2:
                info.uid = rng.choice((2**21, 2**40))
            try:
                tar.addfile(info, io.BytesIO(data) if data else None)
            except ValueError:
                continue  # a field the chosen format cannot hold
    return buf.getvalue()


def damage(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        how = rng.randrange(4)
        if how == 0 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif how == 1 and out:
            del out[rng.randrange(len(out)):]
        elif how == 2:
            at = rng.randrange(0, len(out) + 1, 512) if out else 0
            out[at:at] = b"\0" * 512
        elif out:
            block = rng.randrange(max(1, len(out) // 512)) * 512
            field = rng.choice((100, 108, 116, 124, 136, 156, 257))
            out[block + field:block + field + 8] = rng.randbytes(8)
    return bytes(out)


def valid_checksum_header(rng: random.Random) -> bytes:
    head = bytearray(rng.randbytes(512))
    head[148:156] = b" " * 8
    head[148:156] = b"%06o\0 " % (sum(head) & 0o777777)
    return bytes(head) + rng.randbytes(rng.randint(0, 2048))


def one_input(rng: random.Random) -> bytes:
    kind = rng.randrange(3)
    if kind == 0:
        return rng.randbytes(rng.randint(0, 4096))
    if kind == 1:
        return damage(rng, archive(rng))
    return valid_checksum_header(rng)


def read_all(data: bytes) -> int:
    reader = TarReader(io.BytesIO(data), max_meta=1 << 16)
    members = 0
    for _ in reader:
        for _chunk in reader.chunks(4096):
            pass
        members += 1
    reader.drain()
    return members


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hang", type=float, default=5.0, help="seconds that count as a hang")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    crashes = hangs = refused = 0
    slowest = 0.0
    started = time.perf_counter()
    for index in range(args.inputs):
        data = one_input(rng)
        t0 = time.perf_counter()
        try:
            read_all(data)
        except LayerError:
            refused += 1
        except Exception:
            crashes += 1
            OUT.mkdir(parents=True, exist_ok=True)
            (OUT / f"crash-{args.seed}-{index}.tar").write_bytes(data)
            traceback.print_exc()
        spent = time.perf_counter() - t0
        slowest = max(slowest, spent)
        if spent > args.hang:
            hangs += 1
    total = time.perf_counter() - started
    print(f"inputs {args.inputs}  refused {refused}  crashes {crashes}  hangs {hangs}  "
          f"time {total:.1f} s  slowest {slowest * 1000:.0f} ms  seed {args.seed}")
    return 1 if crashes or hangs else 0


if __name__ == "__main__":
    sys.exit(main())
