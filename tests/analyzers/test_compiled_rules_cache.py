"""Compiled YARA-X rule sets kept in the layer cache folder (analyze/malware/compiled_cache.py):
real scans of kit images with a real cache folder, real yara-x, real files.

``compiled_rules`` also caches per process; each test clears that so the next scan goes to the
folder, as a new process would."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yara_x

from portcullis.analyze.malware import compiled_cache
from portcullis.analyze.malware.settings import MalwareSettings
from portcullis.analyze.malware.yara_rules import compiled_rules
from portcullis.cache import RULES, LayerCacheDir
from portcullis.model.report import Report
from portcullis.scan import ScanOptions, scan
from tests.analyzers.malware_samples import EICAR, MINER, PHP_WEBSHELL
from tests.conftest import run_cli
from tests.images import kit
from tests.images.kit import directory, file

LONG_AGO = 1_000_000_000  # 2001: an mtime a load must refresh


@pytest.fixture(autouse=True)
def _fresh_process_cache() -> Iterator[None]:
    compiled_rules.cache_clear()
    yield
    compiled_rules.cache_clear()


def _image(tmp_path: Path, top: str) -> str:
    """A base layer of malware samples and a top layer that differs by ``top``: images that
    share their base, so a rescan reads (and prepares the analyzers for) the top layer."""
    base = kit.Layer([directory("srv"), directory("opt"),
                      file("srv/eicar.com", EICAR), file("opt/kworkerd", MINER, mode=0o755),
                      file("srv/upload.php", PHP_WEBSHELL)])
    spec = kit.ImageSpec(layers=[base, kit.Layer([file("srv/VERSION", top)])])
    root = kit.write_oci_layout(tmp_path / f"img-{top}", spec, ref="t")
    return f"oci:{root}:t"


def _scan(image: str, cache: Path | None, settings: MalwareSettings | None = None) -> Report:
    compiled_rules.cache_clear()  # as a new process: only the folder remembers
    return scan(image, ScanOptions(scanners=frozenset({"malware"}), cache_dir=cache,
                                   malware=settings or MalwareSettings()))


def _malware(report: Report) -> list[tuple[str | None, str, int | None]]:
    return sorted((f.path, f.id, f.layer) for f in report.findings if f.kind == "malware")


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / RULES).glob(f"*{compiled_cache.SUFFIX}"))


def test_a_second_scan_loads_the_stored_rules_instead_of_compiling(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _scan(_image(tmp_path, "1"), cache)
    [entry] = _entries(cache)
    assert not list((cache / RULES).glob("tmp-*"))
    inode = entry.stat().st_ino
    os.utime(entry, (LONG_AGO, LONG_AGO))

    second = _scan(_image(tmp_path, "2"), cache)
    # Read, not rewritten: the same file (a rewrite renames a new one into place), and
    # touched as most recently used.
    assert _entries(cache) == [entry]
    assert entry.stat().st_ino == inode and entry.stat().st_mtime > LONG_AGO
    assert _malware(second) == _malware(first)
    assert {"/srv/eicar.com", "/opt/kworkerd", "/srv/upload.php"} <= {
        path for path, _, _ in _malware(second)}


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty"])
def test_a_damaged_entry_is_rebuilt_quietly_and_the_results_are_the_same(
        tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache"
    _scan(_image(tmp_path, "1"), cache)
    [entry] = _entries(cache)
    whole = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(whole[: len(whole) // 2])
    elif damage == "flipped":  # yara-x itself loads this one: the checksum must refuse it
        entry.write_bytes(whole[:-100] + bytes([whole[-100] ^ 0xFF]) + whole[-99:])
    else:
        entry.write_bytes(b"")

    with caplog.at_level(logging.DEBUG):
        rebuilt = _scan(_image(tmp_path, "2"), cache)
    assert _entries(cache) == [entry] and entry.read_bytes() == whole
    assert _malware(rebuilt) == _malware(_scan(_image(tmp_path, "2"), None))
    assert not [w for w in rebuilt.warnings if "rule" in w.message.lower()]
    ours = [r for r in caplog.records if r.name == compiled_cache.__name__]
    assert ours and all(r.levelno == logging.DEBUG for r in ours)


def test_a_changed_user_rule_is_a_new_entry_and_takes_effect(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    rules = tmp_path / "rules"
    rules.mkdir()
    mine = rules / "mine.yar"
    mine.write_text('rule Version_One { strings: $a = "1" condition: $a and '
                    'filename == "VERSION" }\n')
    settings = MalwareSettings(rule_dirs=(rules,))
    before = _scan(_image(tmp_path, "1"), cache, settings)
    assert ("/srv/VERSION", "Version_One", 1) in _malware(before)
    [first] = _entries(cache)

    mine.write_text('rule Version_Two { strings: $a = "2" condition: $a and '
                    'filename == "VERSION" }\n')
    after = _scan(_image(tmp_path, "2"), cache, settings)
    assert ("/srv/VERSION", "Version_Two", 1) in _malware(after)
    assert not [f for f in _malware(after) if f[1] == "Version_One"]
    assert len(_entries(cache)) == 2 and first in _entries(cache)

    renamed = rules / "other.yar"  # the same text under another name: a rule file's
    mine.rename(renamed)           # name is its namespace and the findings' rule_file
    _scan(_image(tmp_path, "3"), cache, settings)
    assert len(_entries(cache)) == 3


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / RULES
    rules = yara_x.compile("rule R { condition: true }")
    for n in range(compiled_cache.KEEP + 2):
        compiled_cache.store(folder, f"k{n}", rules)
        os.utime(folder / f"k{n}{compiled_cache.SUFFIX}", (LONG_AGO + n, LONG_AGO + n))
    compiled_cache.store(folder, "k0", rules)  # used again: newest
    kept = sorted(p.name.removesuffix(compiled_cache.SUFFIX) for p in folder.iterdir())
    assert kept == ["k0", "k3", "k4", "k5"]
    loaded = compiled_cache.load(folder, "k4")
    assert loaded is not None and len(yara_x.Scanner(loaded).scan(b"").matching_rules) == 1
    assert compiled_cache.load(folder, "k1") is None


def test_cache_info_counts_rule_sets_and_clean_removes_them(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _scan(_image(tmp_path, "1"), cache)
    [entry] = _entries(cache)
    (cache / RULES / "tmp-dead-writer").write_bytes(b"half")
    info = run_cli("cache", "info", "--cache-dir", str(cache))
    assert info.returncode == 0, info.stderr
    assert "rules:   1" in info.stdout
    size = int(info.stdout.split("size:")[1].split()[0])
    assert size == sum(p.stat().st_size for p in cache.rglob("*.entry"))
    assert size > entry.stat().st_size > 0

    assert LayerCacheDir(cache).clean() >= 1
    assert not list((cache / RULES).iterdir())


def test_no_cache_writes_no_compiled_rules(tmp_path: Path) -> None:
    home = tmp_path / "cache-home"
    image = _image(tmp_path, "1")
    done = run_cli("scan", "-q", "--scanners", "malware", "--format", "json", "--output",
                   str(tmp_path / "r.json"), "--no-cache", image,
                   env={"PORTCULLIS_CACHE_DIR": str(home), "XDG_CACHE_HOME": str(home)})
    assert done.returncode in (0, 1), done.stderr
    assert '"EICAR' in (tmp_path / "r.json").read_text()
    assert not home.exists()
