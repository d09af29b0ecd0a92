"""Captured files' sha256: kept by the content store, answered by the view without a read."""

from __future__ import annotations

import hashlib

from portcullis.layers.content import ContentStore
from tests.images.kit import Layer, directory, file, hardlink, symlink
from tests.unit.layer_helpers import view_of


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_the_store_hashes_an_item_once_asked_and_keeps_a_given_digest() -> None:
    store = ContentStore()
    store.put(0, "/a", b"alpha")
    assert store.digest(0, "/a") == _sha(b"alpha")
    # A digest handed in (a layer cache entry's) is what the store answers, unhashed.
    store.put(0, "/b", b"beta", sha256=_sha(b"beta"))
    assert store.digest(0, "/b") == _sha(b"beta")
    # Replacing an item forgets the old digest.
    store.put(0, "/b", b"gamma")
    assert store.digest(0, "/b") == _sha(b"gamma")
    assert store.digest(0, "/missing") is None and store.digest(1, "/a") is None


def test_a_small_item_put_in_memory_is_not_copied_and_a_large_one_is_spooled() -> None:
    store = ContentStore()
    small = b"x" * 1000
    store.put(0, "/small", small)
    assert store.get(0, "/small") is small  # the same object: no copy on the way in or out
    large = bytes(range(256)) * 8192  # 2 MiB: over the memory threshold
    store.put(0, "/large", large)
    assert store.get(0, "/large") == large and store.digest(0, "/large") == _sha(large)
    assert store.held == len(small) + len(large)
    store.close()
    assert store.held == 0 and store.digest(0, "/small") is None


def test_a_versions_digest_is_the_sha256_of_what_reading_it_gives() -> None:
    view = view_of([
        Layer([directory("etc"), file("etc/conf", "one\n"), file("etc/old", "old\n")]),
        Layer([file("etc/conf", "two\n"), hardlink("etc/link", "etc/old"),
               symlink("etc/sym", "conf")]),
    ])
    for path in ("/etc/conf", "/etc/old", "/etc/link", "/etc/sym", "/etc"):
        entry = view.entry(path)
        assert entry is not None
        data = view.read_entry(entry)
        expected = None if data is None else _sha(data)
        assert view.read_digest(entry) == expected, path
    link = view.entry("/etc/link")
    assert link is not None and view.read_digest(link) == _sha(b"old\n")
    for version in view.versions("/etc/conf"):
        assert view.read_digest(version) == _sha(view.read_entry(version) or b"")


def test_small_files_of_a_cache_entry_stay_views_and_a_large_one_makes_them_copies() -> None:
    # A bytearray stands for the entry's buffer: a view sees a later change, a copy does not.
    buffer = bytearray(b"first" + b"second")
    store = ContentStore()
    store.put_views(0, [("/a", memoryview(buffer)[:5], _sha(b"first")),
                        ("/b", memoryview(buffer)[5:], _sha(b"second"))])
    assert store.get(0, "/a") == b"first" and store.get(0, "/b") == b"second"
    assert list(store.chunks(0, "/b", size=4)) == [b"seco", b"nd"]
    assert store.digest(0, "/b") == _sha(b"second") and store.held == 11
    buffer[0:5] = b"FIRST"
    assert store.get(0, "/a") == b"FIRST"  # a view: nothing was copied
    large = bytearray(b"L" * (2 << 20))
    store.put_views(1, [("/small", memoryview(buffer)[:5], _sha(b"FIRST")),
                        ("/large", memoryview(large), _sha(bytes(large)))])
    buffer[0:5] = b"first"
    large[0:1] = b"X"
    # Copied: the entry's buffer is not kept alive for them.
    assert store.get(1, "/small") == b"FIRST" and store.get(1, "/large") == b"L" * (2 << 20)
    store.close()
    assert store.held == 0 and store.get(0, "/a") is None
