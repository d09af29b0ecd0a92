"""Scale benchmark: one million entries and 800,000 symlinks, in seconds and in memory
proportional to the entries (issue 8).

Usage: ``python bench/bench_scale.py [--entries N] [--symlinks M] [--cli]``

1. view (always): in this process, a layer index of N entries (folders, files and M symlinks,
   relative and absolute, some chained) is squashed into a ``SquashedView``, walked, globbed
   and every symlink resolved. Prints the seconds of each step and the peak RSS (VmHWM).
2. ``--cli``: the same tree written as a real layer tar in an OCI layout (under
   ``--work DIR``, default a temp dir) and scanned by ``portcullis scan --scanners files`` in
   a child; prints its wall time and the child's own peak RSS (it records VmHWM at exit).

Always exits 0: benchmarks report, they don't assert. Defaults: N = 1,000,000, M = 800,000.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from portcullis.layers.index import LayerIndex
from portcullis.layers.view import SquashedView, SymlinkLoopError
from portcullis.model.files import FileKind, FileMeta

FOLDERS = 1000


def tree(entries: int, symlinks: int) -> Iterator[tuple[str, FileKind, str | None]]:
    """(path, kind, link target): FOLDERS folders two levels deep, files, then symlinks
    spread over the folders; every 4th link is absolute, every 8th points at another link."""
    files = entries - symlinks - FOLDERS - FOLDERS // 10
    for top in range(FOLDERS // 10):
        yield f"/srv/t{top}", FileKind.DIR, None
        for sub in range(10):
            yield f"/srv/t{top}/s{sub}", FileKind.DIR, None
    for i in range(files):
        yield f"/srv/t{i % 100}/s{i // 100 % 10}/file{i}.txt", FileKind.FILE, None
    for i in range(symlinks):
        folder = f"/srv/t{i % 100}/s{i // 100 % 10}"
        target_file = i % max(files, 1)
        if i % 8 == 7:
            target = f"link{i - 1}"
        elif i % 4 == 0:
            target = f"/srv/t{target_file % 100}/s{target_file // 100 % 10}/file{target_file}.txt"
        else:
            target = f"../../t{target_file % 100}/s{target_file // 100 % 10}/file{target_file}.txt"
        yield f"{folder}/link{i}", FileKind.SYMLINK, target


def peak_rss_mib() -> float:
    with Path("/proc/self/status").open() as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    return int(peak) / 1024


def bench_view(entries: int, symlinks: int) -> None:
    start = time.perf_counter()
    index = LayerIndex(layer=0)
    links: list[str] = []
    for path, kind, target in tree(entries, symlinks):
        index.entries[path] = FileMeta(path=path, kind=kind, linkname=target, size=1)
        if kind is FileKind.SYMLINK:
            links.append(path)
    built = time.perf_counter()
    view = SquashedView.build([index])
    squashed = time.perf_counter()
    walked = sum(1 for _ in view.walk())
    globbed = sum(1 for _ in view.glob("*/s3/file1*.txt"))
    queried = time.perf_counter()
    resolved = loops = 0
    for link in links:
        try:
            view.resolve_path(link)
            resolved += 1
        except SymlinkLoopError:
            loops += 1
    done = time.perf_counter()
    print(f"view: {entries:,} entries ({symlinks:,} symlinks)")
    print(f"  index built in      {built - start:6.2f} s")
    print(f"  squashed in         {squashed - built:6.2f} s")
    print(f"  walk + glob in      {queried - squashed:6.2f} s ({walked:,} walked, {globbed:,} globbed)")
    print(f"  symlinks resolved   {done - queried:6.2f} s ({resolved:,} resolved, {loops:,} refused)")
    print(f"  peak RSS            {peak_rss_mib():6.0f} MiB "
          f"({peak_rss_mib() * 1024 * 1024 / entries:.0f} bytes per entry, index included)")


def write_layout(root: Path, entries: int, symlinks: int) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.images import kit  # the test kit writes the layout around a tar we stream

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, target in tree(entries, symlinks):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.mtime = kit.MTIME
            if kind is FileKind.DIR:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind is FileKind.SYMLINK:
                info.type, info.linkname = tarfile.SYMTYPE, target or ""
            tar.addfile(info, io.BytesIO(b"") if kind is FileKind.FILE else None)
    layer = kit.Layer([], tar_override=buf.getvalue())
    return f"oci:{kit.write_oci_layout(root, kit.ImageSpec(layers=[layer]), ref='t')}:t"


PEAK = """
import atexit, runpy, sys
def record():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(f"child peak RSS {int(peak) / 1024:.0f} MiB", file=sys.stderr)
atexit.register(record)
sys.argv = sys.argv[1:]
runpy.run_module("portcullis", run_name="__main__", alter_sys=True)
"""


def bench_cli(entries: int, symlinks: int, work: Path) -> None:
    start = time.perf_counter()
    ref = write_layout(work / "img", entries, symlinks)
    written = time.perf_counter()
    out = work / "report.json"
    cmd = [sys.executable, "-c", PEAK, "portcullis", "scan", ref, "--quiet", "--format", "json",
           "--scanners", "files", "--no-cache", "--output", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    scanned = time.perf_counter()
    print(f"cli: {entries:,} entries ({symlinks:,} symlinks), layout written in "
          f"{written - start:.1f} s")
    print(f"  portcullis scan: exit {done.returncode} in {scanned - written:.1f} s; "
          f"{done.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--symlinks", type=int, default=800_000)
    parser.add_argument("--cli", action="store_true", help="also scan a real image of the tree")
    parser.add_argument("--work", type=Path, help="where the --cli image goes (default: temp)")
    args = parser.parse_args(argv)
    if args.cli:
        # First, in a fresh process state: the view bench below would inflate this one's RSS.
        if args.work:
            args.work.mkdir(parents=True, exist_ok=True)
            bench_cli(args.entries, args.symlinks, args.work)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                bench_cli(args.entries, args.symlinks, Path(tmp))
    bench_view(args.entries, args.symlinks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
