"""The fixed cost of a `portcullis` process: imports and set-up before and around the real work.

    python bench/bench_startup.py              # 7 runs of each case
    python bench/bench_startup.py --runs 15 --src ../other-checkout/src
    python bench/bench_startup.py --image oci:$HOME/.cache/portcullis-tests/debian-.../oci:latest

Compiles the sources first (this environment may set PYTHONDONTWRITEBYTECODE, and a process
that compiles every module measures the compiler, not the code), writes a tiny three-layer kit
image (tests/images/kit.py's sample image) and times fresh child processes, interleaved:

- import: ``python -c "import portcullis.cli.main"``
- help:   ``python -m portcullis --help``
- none:   ``scan --scanners none --format json`` of the tiny image (read the layers only)
- full:   the same with every scanner that runs offline, ``--no-cache``
- none-start, all-start: the process from its start to the engine's first layer read (the
  child exits there), for ``--scanners none`` and ``--scanners all`` with ``--parallel 1``:
  what start-up costs a scan, whatever the image

``--image REF`` scans that image instead of the kit one (e.g. the Debian test image).

Medians of wall and CPU (user + system of the child, from os.wait4) seconds, then the 15
modules with the most self import time in one ``-X importtime`` run of the full scan.
Always exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.images import kit  # noqa: E402

FULL = "packages,files,base-image,secret,malware,baseline,compliance"
TARGETS = {"import": 0.15, "none": 0.3}  # CPU seconds for import; wall seconds, idle, for none


# Runs the command line until the engine reads its first layer, then ends the process there.
# The engine is patched when the scan imports it (an import hook), so that modules load in the
# same order, and with the same collector state, as in a real scan.
TO_ENGINE = """
import importlib.abc, importlib.util, os, sys

class StopAtFirstLayerRead(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "portcullis.analyze.engine":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run_module = spec.loader.exec_module
        def exec_module(module):
            run_module(module)
            module.read_layers = lambda *args, **kwargs: os._exit(0)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, StopAtFirstLayerRead())
sys.argv = ["portcullis", *sys.argv[1:]]
from portcullis.cli.main import main
main()
"""


def cases(image: str) -> dict[str, list[str]]:
    options = [image, "--format", "json", "--quiet", "--output", os.devnull, "--no-cache"]
    scan = ["-m", "portcullis", "scan", *options]
    to_engine = ["-c", TO_ENGINE, "scan", *options, "--parallel", "1"]
    return {
        "import": ["-c", "import portcullis.cli.main"],
        "help": ["-m", "portcullis", "--help"],
        "none": [*scan, "--scanners", "none"],
        "full": [*scan, "--scanners", FULL, "--offline"],
        "none-start": [*to_engine, "--scanners", "none"],
        "all-start": [*to_engine, "--scanners", "all"],
    }


def child_env(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    env.pop("CI", None)
    return env


def compile_sources(src: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], env=env, check=False,
                   stdout=subprocess.DEVNULL, timeout=600)


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall, cpu, exit code) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def import_top(argv: list[str], env: dict[str, str], count: int = 15) -> list[tuple[int, str]]:
    """(self microseconds, module) of the slowest imports of one run."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env, check=False,
                          capture_output=True, text=True, timeout=300)
    rows: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(own), name.strip()))
    return sorted(rows, reverse=True)[:count]


def bench(runs: int, src: Path, image: str | None) -> None:
    compile_sources(src)
    env = child_env(src)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        if image is None:
            image = f"oci-archive:{kit.write_oci_archive(Path(tmp) / 'kit.tar', kit.sample_image())}"
        table = cases(image)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in table}
        failed: dict[str, int] = {}
        for argv in table.values():  # one warm-up each: page cache, not the code
            run_once(argv, env)
        for _ in range(runs):
            for name, argv in table.items():
                wall, cpu, code = run_once(argv, env)
                if code != 0:
                    failed[name] = code
                times[name].append((wall, cpu))
        print(f"src: {src}   python: {sys.version.split()[0]}   runs: {runs}   "
              f"load: {os.getloadavg()[0]:.2f}\nimage: {image}")
        print(f"{'case':10} {'wall s':>8} {'cpu s':>8}  target")
        for name, samples in times.items():
            wall = statistics.median(w for w, _ in samples)
            cpu = statistics.median(c for _, c in samples)
            note = ""
            if name in TARGETS:
                kind = "cpu" if name == "import" else "wall (idle)"
                note = f"<= {TARGETS[name]} {kind}"
            if name in failed:
                note += f"  EXIT CODE {failed[name]}"
            print(f"{name:10} {wall:8.3f} {cpu:8.3f}  {note}")
        print("\nslowest imports (self time) of one full scan:")
        for own, module in import_top(table["full"], env):
            print(f"  {own / 1000:7.1f} ms  {module}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--src", type=Path, default=REPO / "src",
                        help="the portcullis sources to time (default: this checkout's)")
    parser.add_argument("--image", help="scan this reference (default: a tiny kit archive)")
    args = parser.parse_args()
    try:
        bench(max(1, args.runs), args.src.resolve(), args.image)
    except Exception:  # a benchmark reports; it never fails a pipeline
        traceback.print_exc()
    sys.exit(0)


if __name__ == "__main__":
    main()
