"""Every file of tests/data has its origin, commit and license row in tests/data/SOURCES.md."""

from __future__ import annotations

from tests.fixtures import DATA


def test_every_test_data_file_is_listed_in_sources() -> None:
    sources = (DATA / "SOURCES.md").read_text()
    files = sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file())
    unlisted = [rel for rel in files if rel not in ("SOURCES.md", ".gitignore")
                and f"| {rel} |" not in sources and f"`{rel}`" not in sources]
    assert len(files) > 1
    assert unlisted == []
