"""What a `portcullis` process loads before and around the real work.

Every pipeline step pays the start-up of a fresh process, and on a small or cached image it
is most of the scan. These run real child processes and read their ``sys.modules``: the
command line must not load the network stack, rich, YAML, YARA or the console until a
command needs them, and discovery must not import the analyzers of scanners not asked for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from portcullis.analyze.base import SCANNERS
from portcullis.analyze.discovery import analyzer_classes
from tests.images import kit

# Each belongs to a command or an output that a plain JSON scan of a local archive does not use.
LIBRARIES = ("httpx", "rich", "yaml", "yara_x", "fastapi", "starlette", "uvicorn", "sqlalchemy",
             "ssl", "http.client", "portcullis.server", "portcullis.upload",
             "html",  # its entity table: the HTML writer escapes without it
             "_strptime")  # its format regexes: ~5 ms (the DB age is read with fromisoformat)
SUBCOMMANDS = ("portcullis.cli.db", "portcullis.cli.server", "portcullis.cli.upload",
               "portcullis.cli.pipeline", "portcullis.cli.base")
HEAVY = LIBRARIES + SUBCOMMANDS

# Analyzer code only a scan that asks for its scanner may import. (Discovery reads each
# package's __init__ for its SERVES; the malware settings are part of every scan's options;
# the secret rules and their matcher mask the image config in every report, the secret
# analyzers are not needed for that.) Nor the SBOM reader, for an image, nor the compliance
# policy model.
NOT_FOR_NONE = ("portcullis.analyze.baseline.", "portcullis.analyze.compliance.",
                "portcullis.analyze.secrets.sensitive",
                "portcullis.analyze.lang.", "portcullis.analyze.binary.",
                "portcullis.analyze.os.",
                "portcullis.analyze.malware.analyzer", "portcullis.analyze.malware.yara_rules",
                "portcullis.analyze.malware.hashes", "portcullis.analyze.malware.clamav",
                "portcullis.analyze.secrets.analyzer", "portcullis.analyze.secrets.stream",
                "portcullis.sbom_input", "portcullis.model.compliance")

_REPORT = """
import json, sys
try:
    {run}
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)
"""


# The command line with the child's arguments, as ``loaded``'s code; it must exit 0.
MAIN = ("sys.argv = ['portcullis'] + sys.argv[1:]\n    from portcullis.cli.main import main"
        "\n    try:\n        main()\n    except SystemExit as e:\n"
        "        assert not e.code, e.code")


def loaded(run: str, *args: str) -> list[str]:
    """The modules a child process holds after ``run`` (code on one line)."""
    proc = subprocess.run([sys.executable, "-c", _REPORT.format(run=run), *args],
                          capture_output=True, text=True, timeout=120, check=False)
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    assert last.startswith("["), f"no module list; stderr: {proc.stderr[-2000:]}"
    return list(json.loads(last))


def offending(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """``modules`` that are one of ``names`` or below one ("x." names only what is below x)."""
    return sorted(m for m in modules
                  if any(m == n or m.startswith(n if n.endswith(".") else n + ".")
                         for n in names))


@pytest.fixture(scope="module")
def tiny_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit.write_oci_archive(tmp_path_factory.mktemp("startup") / "kit.tar",
                                 kit.sample_image())


def test_the_child_sees_what_it_imports() -> None:
    """The probe itself: a module the child imports shows up (so an empty answer means
    something)."""
    assert "yaml" in offending(loaded("import yaml"), HEAVY)


def test_importing_the_command_line_loads_nothing_heavy() -> None:
    modules = loaded("import portcullis.cli.main")
    assert offending(modules, HEAVY) == []
    # Nor the model, the scan or any writer: `--help` and `version` need none of it.
    assert offending(modules, ("portcullis.model", "portcullis.scan", "portcullis.report",
                               "portcullis.analyze")) == []


def test_the_help_lists_every_command_without_loading_anything_heavy() -> None:
    run = ("sys.argv = ['portcullis', '--help']\n    from portcullis.cli.main import main"
           "\n    try:\n        main()\n    except SystemExit as e:\n"
           "        assert not e.code, e.code")
    # The subcommand modules are loaded (for their one-line help); what they use is not.
    modules = loaded(run)
    assert set(SUBCOMMANDS) <= set(modules)  # the probe sees them
    assert offending(modules, LIBRARIES) == []


def test_a_json_scan_with_no_scanners_loads_nothing_heavy(tiny_archive: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    modules = loaded(MAIN, "scan", f"oci-archive:{tiny_archive}", "--scanners", "none",
                     "--no-cache", "--format", "json", "--quiet", "--output", str(out))
    assert json.loads(out.read_text())["files"]["count"] > 0  # the scan ran, wrote its report
    assert offending(modules, HEAVY) == []
    assert offending(modules, NOT_FOR_NONE) == []


def test_the_scan_knows_the_sbom_scheme_without_importing_the_sbom_reader() -> None:
    from portcullis import sbom_input, scan

    assert scan.SBOM_SCHEME == sbom_input.SCHEME


@pytest.mark.parametrize("scanner", SCANNERS)
def test_discovery_for_a_scanner_finds_every_analyzer_that_serves_it(scanner: str) -> None:
    """Skipping packages by their SERVES declaration must never drop an analyzer a scan
    needs: the filtered discovery holds every analyzer of the full one that serves the
    scanner, or that runs for every scan."""
    wanted = frozenset({scanner})
    needed = {c for c in analyzer_classes()
              if not c.spec.scanners or c.spec.scanners & wanted}  # type: ignore[attr-defined]
    assert needed <= set(analyzer_classes(wanted))


def test_discovery_for_no_scanner_skips_the_declared_packages() -> None:
    found = {c.__module__ for c in analyzer_classes(frozenset())}
    assert "portcullis.analyze.os_release" in found  # runs for every scan
    assert offending(sorted(found), NOT_FOR_NONE) == []


_GC_PROBE = """
import gc, json, sys
sys.argv = ['portcullis'] + sys.argv[1:]
from portcullis.analyze import engine
from portcullis.cli.main import main
seen = {{}}
read_layers = engine.read_layers
def probe(*args, **kwargs):
    seen["frozen_at_layer_pass"] = gc.get_freeze_count()
    return read_layers(*args, **kwargs)
engine.read_layers = probe
try:
    main()
except SystemExit as e:
    seen["code"] = e.code
seen["enabled_after"] = gc.isenabled()
print(json.dumps(seen), file=sys.__stderr__)
"""


def _gc_after(*args: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", _GC_PROBE.format(), *args],
                          capture_output=True, text=True, timeout=120, check=False)
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    assert last.startswith("{"), f"no probe output; stderr: {proc.stderr[-2000:]}"
    return dict(json.loads(last))


@pytest.mark.parametrize("args", [("version",), ("scan", "--no-such-option", "x"), ("--help",)])
def test_the_collector_paused_for_start_up_runs_again_after_main(args: tuple[str, ...]) -> None:
    """main() pauses the cyclic collector while modules load; whichever way the command ends
    (done, usage error, help) it is running again when main() returns."""
    seen = _gc_after(*args)
    assert seen["enabled_after"] is True
    assert seen.get("code") in (None, 0, 2)


def test_a_scan_freezes_what_start_up_made_before_the_layer_pass(tiny_archive: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    seen = _gc_after("scan", f"oci-archive:{tiny_archive}", "--scanners", "none", "--no-cache",
                     "--format", "json", "--quiet", "--output", str(out))
    assert seen["code"] == 0 and json.loads(out.read_text())["files"]["count"] > 0
    # start-up's modules and classes are out of every later collection
    assert isinstance(seen["frozen_at_layer_pass"], int) and seen["frozen_at_layer_pass"] > 10_000
    assert seen["enabled_after"] is True


# Imported only when an image has something for them: a Python METADATA file (email.parser),
# a password hash to try (ctypes, for libcrypt), a layer worker's fallback answer (pickle),
# a clamd to ask (socket).
ON_DEMAND = ("email.parser", "ctypes", "pickle", "socket")


def _scan_all(tmp_path: Path, extra: list[kit.Entry]) -> list[str]:
    layers = [kit.Layer([kit.file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
                         kit.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                         kit.file("srv/readme.txt", "hello\n"), *extra])]
    tmp_path.mkdir()
    archive = kit.write_oci_archive(tmp_path / "img.tar", kit.ImageSpec(layers=layers))
    out = tmp_path / "report.json"
    modules = loaded(MAIN, "scan", f"oci-archive:{archive}", "--scanners", "all",
                     "--no-cache", "--format", "json", "--quiet", "--output", str(out))
    assert json.loads(out.read_text())["scanners"]["secret"]["status"] == "ok"
    return modules


def test_a_scan_with_every_scanner_loads_parsers_only_for_what_the_image_has(
        tmp_path: Path) -> None:
    assert offending(_scan_all(tmp_path / "plain", []), ON_DEMAND) == []
    metadata = kit.file("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                        "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n")
    assert "email.parser" in _scan_all(tmp_path / "python", [metadata])


def test_the_collector_is_paused_through_the_scans_imports_and_on_again_after(
        tiny_archive: Path, tmp_path: Path) -> None:
    """__main__.entry turns the cyclic collector off before any import; the scan's on_loaded
    turns it back on (frozen past start-up's objects) before any layer is read."""
    probe = ("import gc, sys\nfrom portcullis import scan as S\nseen = []\n"
             "def spy_select(*a):\n"
             "    seen.append(gc.isenabled())\n"
             "    return select(*a)\n"
             "select = S._selected_analyzers\nS._selected_analyzers = spy_select\n"
             "def spy(image, *a, **k):\n"
             "    seen.append((gc.isenabled(), gc.get_freeze_count() > 0))\n"
             "    return run(image, *a, **k)\n"
             "import portcullis.analyze.engine as E\nrun = E.run\nE.run = spy\n"
             "sys.argv = ['portcullis'] + sys.argv[1:]\n"
             "from portcullis.cli.main import main as program\n"
             "gc.disable()\ntry:\n    program(collector_paused=True)\n"
             "except SystemExit:\n    pass\n"
             "print(seen, gc.isenabled(), file=sys.__stderr__)\n")
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-c", probe, "scan", f"oci-archive:{tiny_archive}",
                           "--scanners", "none", "--format", "json", "--quiet", "--output",
                           str(out)], capture_output=True, text=True, timeout=120, check=False)
    # off while the analyzers load; on (and start-up frozen) when the engine starts
    assert proc.stderr.strip().splitlines()[-1] == "[False, (True, True)] True", proc.stderr
