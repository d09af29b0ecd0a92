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
