"""Hostile package files (issue 8): one bad file is one located warning, its neighbours are
still found, and every parser is linear (bounds stated per test, measured on a loaded 2-core
machine; they are generous on purpose)."""

from __future__ import annotations

import struct
import time
from pathlib import Path

from portcullis.analyze.engine import EngineOptions, run
from portcullis.analyze.lang.java import JavaArchives, bundle_licenses, directory_size
from portcullis.analyze.lang.npm import NpmPackages
from portcullis.analyze.lang.python import PythonPackages, parse_metadata
from portcullis.analyze.os.apk import split_licenses
from portcullis.analyze.os.control import parse as parse_control
from portcullis.analyze.os.dpkg import Dpkg, copyright_licenses
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

DEEP = 100_000


def _package_json(name: str, version: str) -> bytes:
    return f'{{"name": "{name}", "version": "{version}", "license": "MIT"}}'.encode()


def test_a_package_json_nested_100000_deep_is_a_warning_and_its_neighbours_stay() -> None:
    deep = b'{"name": "x", "version": "1", "a": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    view = view_of([kit.Layer([
        kit.file("app/node_modules/aaa/package.json", _package_json("aaa", "1.0.0")),
        kit.file("app/node_modules/deep/package.json", deep),
        kit.file("app/node_modules/zzz/package.json", _package_json("zzz", "2.0.0")),
    ])])
    result = NpmPackages().analyze(view, analysis_context())
    assert {(p.name, p.version) for p in result.packages} == {("aaa", "1.0.0"), ("zzz", "2.0.0")}
    [warning] = result.warnings
    assert warning.path == "/app/node_modules/deep/package.json"
    assert warning.layer == 0
    assert warning.analyzer == "npm"
    assert "nested too deeply" in warning.message


def test_a_deep_pipfile_lock_is_a_warning_and_the_metadata_next_to_it_stays() -> None:
    deep = b'{"default": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}"
    metadata = b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n"
    view = view_of([kit.Layer([
        kit.file("srv/Pipfile.lock", deep),
        kit.file("usr/lib/python3/site-packages/requests-2.31.0.dist-info/METADATA", metadata),
    ])])
    result = PythonPackages().analyze(view, analysis_context())
    assert [(p.name, p.version) for p in result.packages] == [("requests", "2.31.0")]
    [warning] = result.warnings
    assert (warning.path, warning.layer, warning.analyzer) == ("/srv/Pipfile.lock", 0, "python")


def test_invalid_utf8_metadata_and_a_rejected_license_still_give_the_package(
        tmp_path: Path) -> None:
    metadata = (b"Metadata-Version: 2.1\nName: bad\xff\xfename\nVersion: 1.0\xc3\n"
                b"License: MIT AND\nSummary: \xed\xa0\x80 surrogate\n\n\xff\xfe body")
    layers = [kit.Layer([kit.file(
        "usr/lib/python3/site-packages/bad-1.0.dist-info/METADATA", metadata)])]
    root = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    with open_image(f"oci:{root}:t", SourceOptions()) as image:
        engine = run(image, [PythonPackages()], EngineOptions(temp_dir=str(tmp_path)))
    [package] = engine.result.packages
    assert package.name == "bad\ufffd\ufffdname"
    assert package.licenses == ("MIT AND",)
    assert all(s.status == "ok" for s in engine.statuses.values())


def test_dpkg_status_with_1_6_million_continuation_lines_parses_in_seconds() -> None:
    lines = 1_600_000
    status = (b"Package: big\nStatus: install ok installed\nVersion: 1.0\n"
              b"Architecture: amd64\nDescription: x\n" + b" y\n" * lines
              + b"\nPackage: next\nStatus: install ok installed\nVersion: 2.0\n")
    started = time.perf_counter()
    paragraphs = parse_control(status)
    elapsed = time.perf_counter() - started
    assert [p.get("package") for p in paragraphs] == ["big", "next"]
    assert paragraphs[0].get("description").count("\n") == lines
    assert elapsed < 10  # 0.6 s measured; the quadratic version took over 300 s
    view = view_of([kit.Layer([kit.file("var/lib/dpkg/status", status)])])
    result = Dpkg().analyze(view, analysis_context())
    assert [p.name for p in result.packages] == ["big", "next"]


def test_metadata_with_240k_blank_lines_in_its_description_parses_in_seconds() -> None:
    data = (b"Metadata-Version: 1.0\nName: blank\nVersion: 1.0\nDescription: x\n"
            + b"\n" * 240_000 + b"        end\nLicense: MIT\n")
    started = time.perf_counter()
    [found] = parse_metadata(data)
    assert time.perf_counter() - started < 10  # 0.6 s measured; it was 259 s
    assert (found.name, found.version, found.licenses) == ("blank", "1.0", ("MIT",))


def test_apk_license_nested_100000_deep_is_read() -> None:
    assert split_licenses("(" * DEEP + "MIT" + ")" * DEEP) == ("MIT",)


def _central_directory(entries: int) -> bytes:
    """A zip64 archive's directory with ``entries`` empty members, written directly: zipfile
    would take a minute to write 600,000 of them."""
    records = []
    for number in range(entries):
        name = f"lib/{number}.jar".encode()
        records.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0,
                                   len(name), 0, 0, 0, 0, 0, 0) + name)
    directory = b"".join(records)
    end64 = struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries,
                        len(directory), 0)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(directory), 1)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                      0xFFFFFFFF, 0)
    return directory + end64 + locator + end


def test_a_jar_with_600000_entries_is_one_warning_in_bounded_time() -> None:
    jar = _central_directory(600_000)
    assert directory_size(jar) == (600_000, len(jar) - 98)
    view = view_of([kit.Layer([kit.file("opt/app/huge.jar", jar),
                               kit.file("opt/app/commons-io-2.11.0.jar", b"not a zip")])])
    started = time.perf_counter()
    result = JavaArchives().analyze(view, analysis_context())
    assert time.perf_counter() - started < 10  # 0.01 s measured; zipfile alone took 10 s
    huge = [w for w in result.warnings if w.path == "/opt/app/huge.jar"]
    assert len(huge) == 1
    assert "600000 entries" in huge[0].message


def test_nested_archives_are_bounded_by_count(tmp_path: Path) -> None:
    import io
    import zipfile

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Implementation-Title: inner\n"
                                            "Implementation-Version: 1.0\n")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zf:
        for number in range(30):
            zf.writestr(f"lib/inner-{number:02}.jar", inner.getvalue())
    view = view_of([kit.Layer([kit.file("opt/app/outer.jar", outer.getvalue())])])
    result = JavaArchives(max_nested=10).analyze(view, analysis_context())
    nested = [p for p in result.packages if "!/" in p.properties["archive_path"]]
    assert len(nested) == 10
    [warning] = result.warnings
    assert "20 nested archives" in warning.message and warning.path == "/opt/app/outer.jar"


def test_a_bundle_license_of_500000_commas_splits_in_seconds() -> None:
    started = time.perf_counter()
    assert bundle_licenses("MIT," * 500_000 + '"a,b";x, Apache-2.0') == (
        "MIT", "a,b", "Apache-2.0")
    assert time.perf_counter() - started < 10  # 0.3 s measured; the look-ahead regex: hours


def test_a_dep5_license_line_with_a_long_run_of_spaces_splits_in_seconds() -> None:
    data = (b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            b"Files: *\nLicense: GPL-2+ or" + b" " * 1_000_000 + b"and MIT\n")
    started = time.perf_counter()
    assert copyright_licenses(data) == ("GPL-2.0-or-later", "MIT")
    assert time.perf_counter() - started < 10  # 0.1 s measured; 2,500 spaces took minutes
