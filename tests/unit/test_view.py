"""The squashed view: whiteouts, opaque dirs, history, links."""

from __future__ import annotations

from portcullis.layers.content import ContentStore
from portcullis.layers.view import SquashedView
from portcullis.model.files import FileKind
from tests.images import kit
from tests.images.kit import Layer, directory, file, hardlink, opaque, symlink, whiteout
from tests.unit.layer_helpers import index_of, view_of


def test_whiteout_hides_file_but_keeps_its_bytes() -> None:
    view = view_of([
        Layer([file("etc/secret", "s3cr3t"), file("etc/keep", "k")]),
        Layer([whiteout("etc/secret")]),
    ])
    assert view.entry("/etc/secret") is None
    assert view.entry("/etc/keep") is not None
    hidden = [e for e in view.hidden() if e.path == "/etc/secret"]
    assert len(hidden) == 1
    assert hidden[0].visible is False and hidden[0].layer == 0 and hidden[0].removed_in == 1
    assert view.read_entry(hidden[0]) == b"s3cr3t"
    assert [(c.layer, c.action) for c in view.history("/etc/secret")] == [(0, "add"), (1, "delete")]


def test_whiteout_of_directory_removes_subtree() -> None:
    view = view_of([
        Layer([directory("a"), directory("a/b"), file("a/b/c", "1"), file("a/d", "2"),
               file("ab", "3")]),
        Layer([whiteout("a")]),
    ])
    assert [e.path for e in view.walk()] == ["/ab"]
    assert sorted(e.path for e in view.hidden()) == ["/a/b/c", "/a/d"]


def test_opaque_dir_hides_lower_children_only() -> None:
    view = view_of([
        Layer([directory("opt"), file("opt/old1", "1"), directory("opt/sub"),
               file("opt/sub/old2", "2")]),
        Layer([opaque("opt"), file("opt/new", "n")]),
    ])
    assert sorted(e.path for e in view.walk()) == ["/opt", "/opt/new"]
    assert view.entry("/opt") is not None


def test_overwrite_keeps_old_version_hidden_and_history() -> None:
    view = view_of([
        Layer([file("app/x", "v1")]),
        Layer([file("app/y", "other")]),
        Layer([file("app/x", "v2")]),
    ])
    entry = view.entry("/app/x")
    assert entry is not None and entry.layer == 2 and view.read("/app/x") == b"v2"
    assert entry.introduced_in == 0
    assert [(c.layer, c.action) for c in entry.history] == [(0, "add"), (2, "modify")]
    old = [e for e in view.hidden() if e.path == "/app/x"]
    assert len(old) == 1 and view.read_entry(old[0]) == b"v1"


def test_readded_file_is_introduced_where_it_came_back() -> None:
    view = view_of([
        Layer([file("f", "1")]),
        Layer([whiteout("f")]),
        Layer([file("f", "2")]),
        Layer([file("f", "3")]),
    ])
    entry = view.entry("/f")
    assert entry is not None
    assert entry.layer == 3 and entry.introduced_in == 2


def test_file_replacing_directory_drops_children() -> None:
    view = view_of([
        Layer([directory("x"), file("x/inner", "1")]),
        Layer([file("x", "now a file")]),
    ])
    assert view.entry("/x") is not None and view.entry("/x/inner") is None
    assert view.entry("/x").meta.kind is FileKind.FILE  # type: ignore[union-attr]


def test_symlinks_resolve_inside_the_image() -> None:
    view = view_of([
        Layer([
            directory("etc"), file("etc/real", "content"),
            symlink("etc/abs", "/etc/real"),
            symlink("etc/rel", "real"),
            symlink("etc/escape", "../../../../etc/real"),
            symlink("lib", "usr/lib"), directory("usr"), directory("usr/lib"),
            file("usr/lib/libz.so", "z"),
            symlink("loop1", "loop2"), symlink("loop2", "loop1"),
            symlink("dangling", "/nowhere"),
        ]),
    ])
    assert view.read("/etc/abs") == b"content"
    assert view.read("/etc/rel") == b"content"
    # "../" beyond the root stays at the image root, never the host's.
    assert view.read("/etc/escape") == b"content"
    assert view.read("/lib/libz.so") == b"z"
    assert view.resolve("/loop1") is None
    assert view.resolve("/dangling") is None
    assert view.entry("/etc/abs") is not None  # lstat semantics for entry()


def test_hard_link_reads_target_content() -> None:
    view = view_of([Layer([file("bin/a", "payload"), hardlink("bin/b", "bin/a")])])
    entry = view.entry("/bin/b")
    assert entry is not None and entry.meta.kind is FileKind.HARDLINK
    assert view.read("/bin/b") == b"payload"


def test_sample_image_view() -> None:
    spec = kit.sample_image()
    view = view_of(spec.layers)
    assert view.read("/app/main.py") == b"print('hello, world')\n"
    assert view.read("/app/current") == b"print('hello, world')\n"
    assert view.read("/app/main-link.py") == b"print('hello')\n"  # hard link of layer 1
    assert view.entry("/tmp-secret") is None
    assert sorted(e.path for e in view.glob("/opt/cache/*")) == ["/opt/cache/c.txt"]


def test_versions_lists_every_version_bottom_up() -> None:
    view = view_of([
        Layer([file("var/lib/db", "v0")]),
        Layer([file("other", "x")]),
        Layer([file("var/lib/db", "v2")]),
        Layer([whiteout("var/lib/db")]),
        Layer([file("var/lib/db", "v4")]),
    ])
    versions = view.versions("/var/lib/db")
    assert [(e.layer, e.visible, view.read_entry(e)) for e in versions] == [
        (0, False, b"v0"), (2, False, b"v2"), (4, True, b"v4")]


def test_every_version_carries_the_full_history_when_queried_between_layers() -> None:
    """Entries are stamped with their history when put and restamped when it grows: a view
    queried after each layer ends with the same versions as one built at once."""
    layers = [
        Layer([file("app/x", "v1"), file("app/keep", "k"), directory("opt/d"),
               file("opt/d/f", "f")]),
        Layer([file("app/x", "v2"), whiteout("opt/d")]),
        Layer([whiteout("app/x"), file("opt/d", "now a file")]),
        Layer([file("app/x", "v4")]),
    ]
    store = ContentStore()
    indexes = [index_of(layer, i, store) for i, layer in enumerate(layers)]
    stepwise = SquashedView(store)
    for index in indexes:
        stepwise.apply(index)
        list(stepwise.walk())  # stamps what changed so far
        list(stepwise.hidden())
    at_once = SquashedView.build(indexes, store)
    for path in ("/app/x", "/app/keep", "/opt/d", "/opt/d/f"):
        assert stepwise.versions(path) == at_once.versions(path), path
    versions = at_once.versions("/app/x")
    full = [(0, "add"), (1, "modify"), (2, "delete"), (3, "add")]
    assert [v.layer for v in versions] == [0, 1, 3]
    assert all([(c.layer, c.action) for c in v.history] == full for v in versions)
    assert [v.visible for v in versions] == [False, False, True]
    assert [(c.layer, c.action) for c in at_once.history("/app/keep")] == [(0, "add")]


# A tar may name /a/b/c without entries for /a and /a/b (the folders are implied). A later
# layer's whiteout of /a, or a file written at /a, still removes everything under it, as the
# runtimes do when they unpack the layers.
def test_whiteout_of_an_implied_directory_removes_its_subtree() -> None:
    view = view_of([
        Layer([file("a/b/c", "1"), file("a/d", "2"), file("ab", "3")]),
        Layer([whiteout("a")]),
    ])
    assert [e.path for e in view.walk()] == ["/ab"]
    gone = sorted((e.path, e.removed_in) for e in view.hidden())
    assert gone == [("/a/b/c", 1), ("/a/d", 1)]
    assert view.entry("/a") is None and view.resolve("/a/d") is None
    assert list(view.glob("/a/**")) == []


def test_a_file_over_an_implied_directory_removes_its_subtree() -> None:
    view = view_of([
        Layer([file("a/b/c", "1"), file("a/d", "2")]),
        Layer([file("a", "now a file")]),
    ])
    assert [e.path for e in view.walk()] == ["/a"]
    assert view.read("/a") == b"now a file"
    assert sorted((e.path, e.removed_in) for e in view.hidden()) == [("/a/b/c", 1), ("/a/d", 1)]


def test_an_implied_directory_whited_out_and_written_again_in_one_layer() -> None:
    view = view_of([
        Layer([file("a/old", "1")]),
        Layer([whiteout("a"), file("a/new", "2")]),
    ])
    assert sorted(e.path for e in view.walk()) == ["/a/new"]
    assert [(e.path, e.removed_in) for e in view.hidden()] == [("/a/old", 1)]
