"""Reuse a tree analyzer's result from an earlier scan when everything it read is the same.

A rescan after a change to the top layer misses the whole-inventory entry (its key holds every
layer's blob hash), yet most inventory analyzers read nothing that changed: dpkg reads the
package DB, npm the package.json files. Here each such analyzer runs on a ``Recorder`` of the
view, which logs every query it asks (``entry``, ``resolve``, ``read``, ``glob``...) and feeds
a stable digest of each answer into one hash. Its result is kept with that log in the layer
cache, under a key made of the salt and the analyzer's name only (not of the layers), as a few
recent candidates. Before the analyzer runs in a later scan, each candidate's queries are asked
of the new view: when every answer digests the same, and so do the other inputs, the stored
result is the result.

Why that is sound. An analyzer that may be reused is a deterministic function of (a) the salt
(tool and analyzer versions, settings, limits: all in the key), (b) the inputs handed to it
besides the view (``ctx.distro`` for the inventory stage, the merged inventory for the dedupe
steps: digested into ``inputs``), and (c) the answers to its view queries. Its first query
depends on (a) and (b) only, so a replay asks it again; if the answer is the same, the second
query is the same, and so on: by induction, an analyzer whose recorded queries all get the same
answers from the new view asks exactly those queries and returns the stored result. (Queries
are pure functions of the view, so the log is replayed in any order.) What keeps that true:
a test runs every inventory analyzer over the real images with a context that records which
attributes it reads (only ``distro`` and ``limits`` are allowed), and the ``Recorder`` has no
method it does not record: anything else an analyzer asks of it is an AttributeError.

Digests are of content, never of a layer's identity: an entry digests its whole value (meta,
layer index, history, visibility, removed_in: all an analyzer can see of it), a read the
sha256 of the bytes, a glob every matched entry. A rebuilt top layer with the same package DB
and one more file elsewhere therefore still reuses dpkg. ``walk`` and ``hidden`` (every entry of the
image) would cost more to digest than most analyzers cost to run: an analyzer that calls them
is simply not recorded, and runs every time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import msgspec

from portcullis.analyze.base import AnalysisResult
from portcullis.layers.view import SquashedView, SymlinkLoopError
from portcullis.model.files import FileEntry, FileKind, FileMeta

log = logging.getLogger(__name__)

CANDIDATES = 4  # records kept per analyzer, newest first

# One query: its name, then its arguments (a path, a flag; many paths are one string, joined
# by NUL, which no path holds: decoded at once, not string by string).
Arg = str | int | bool | None
Query = list[Arg]

_encoder = msgspec.msgpack.Encoder()
_queries = msgspec.msgpack.Decoder(list[Query])
_result = msgspec.msgpack.Decoder(AnalysisResult)
_owned = msgspec.msgpack.Decoder(list[tuple[str, list[str]]])


class TreeRecord(msgspec.Struct):
    """One run of one analyzer: what it was given, what it asked and the digest of the
    answers, and what it found (kept encoded: decoded only when needed). The OS analyzers'
    owned paths (~10k for a Debian image) are kept apart: only a dedupe step that runs again
    reads them, so a reused result decodes them only then (``TreeReuse.owned``)."""

    inputs: str  # digest of its inputs besides the view (see ``inputs_digest``)
    answers: str  # digest of the answers to ``queries``, in order
    queries: msgspec.Raw  # list[Query], msgpack
    result: msgspec.Raw  # AnalysisResult less its owned_paths, msgpack
    owned: msgspec.Raw  # its owned_paths as ``owned_digest_form``, msgpack
    digest: str  # of result and owned (``_result_digest``): an input of the dedupe steps


class TreeRecords(msgspec.Struct):
    """What the layer cache keeps per (salt, analyzer): recent records, newest first."""

    records: list[TreeRecord] = msgspec.field(default_factory=list)


def record_key(salt: str, name: str) -> str:
    return hashlib.sha256("\n".join([salt, "tree", name]).encode()).hexdigest()


def inputs_digest(*values: object) -> str:
    """A stable digest of an analyzer's inputs besides the view (msgpack: no hash seed)."""
    return hashlib.sha256(_encoder.encode(values)).hexdigest()


def _framed(h: hashlib._Hash, data: bytes) -> None:
    h.update(len(data).to_bytes(8, "little"))
    h.update(data)


def _ask(view: SquashedView, query: Query, want: bool = True) -> tuple[object, bytes]:
    """Ask ``query`` of ``view``: the answer, and the bytes its digest is made of. The one
    place a query is answered, for the recorder and for a replay alike (``want`` False: a
    replay, which needs only the digest: a read is then not read)."""
    op, *args = query
    if op in ("read", "read_entry"):
        # A read digests the sha256 of the bytes, which the content store knows without
        # hashing them again when the layer cache recorded it (layer_cache.CapturedFile).
        target = view.resolve(_str(args[0])) if op == "read" else _entry_of(args)
        digest = view.read_digest(target) if target is not None else None
        answer = b"\x00" if digest is None else b"\x01" + digest
        if not want:
            return None, answer
        return (view.read_entry(target) if target is not None else None), answer
    if op == "entry":
        value: object = view.entry(_str(args[0]))
        return value, _encoder.encode(value)
    if op == "resolve":
        value = view.resolve(_str(args[0]))
        return value, _encoder.encode(value)
    if op == "resolve_path":
        try:
            value = view.resolve_path(_str(args[0]), bool(args[1]))
        except SymlinkLoopError as e:  # raised to the analyzer, who may quote it
            return e, _encoder.encode(["loop", str(e)])
        return value, _encoder.encode(value)
    if op in ("glob", "versions"):
        path = _str(args[0])
        value = list(view.glob(path)) if op == "glob" else view.versions(path)
        return value, _encoder.encode(value)
    if op == "dirs_among":
        joined = _str(args[0])
        found = view.dirs_in_order(joined.split("\0") if joined else [])
        # In the order asked (no sorting): the answer is the subset, listed.
        return frozenset(found), "\0".join(found).encode()
    raise ValueError(f"unknown recorded query {op!r}")


def _str(arg: Arg) -> str:
    if not isinstance(arg, str):
        raise TypeError(f"expected a path, got {arg!r}")
    return arg


def _entry_of(args: list[Arg]) -> FileEntry:
    """The entry a read_entry was asked about: the fields that read depends on (see
    SquashedView.read_entry)."""
    layer, path, kind, linkname = args
    if not isinstance(layer, int) or not isinstance(kind, str) \
            or not (linkname is None or isinstance(linkname, str)):
        raise TypeError("bad read_entry query")
    return FileEntry(meta=FileMeta(path=_str(path), kind=FileKind(kind), linkname=linkname),
                     layer=layer)


class Recorder:
    """The view as a tree analyzer sees it while being recorded (the ``Filesystem``
    protocol, and nothing else: see the module docstring)."""

    __slots__ = ("_hash", "_seen", "_view", "complete", "queries")

    def __init__(self, view: SquashedView) -> None:
        self._view = view
        self._hash = hashlib.sha256()
        self.queries: list[Query] = []
        self._seen: set[tuple[object, ...]] = set()
        self.complete = True  # False once it asked something not recorded (walk, hidden)

    def _ask(self, query: Query) -> object:
        value, answer = _ask(self._view, query)
        # A repeated query (a DB read twice) is asked once on replay: same answer anyway.
        key = tuple(query)
        if key not in self._seen:
            self._seen.add(key)
            self.queries.append(query)
            _framed(self._hash, answer)
        if isinstance(value, SymlinkLoopError):
            raise value
        return value

    def digest(self) -> str:
        return self._hash.hexdigest()

    def entry(self, path: str) -> FileEntry | None:
        return self._ask(["entry", path])  # type: ignore[return-value]

    def resolve(self, path: str) -> FileEntry | None:
        return self._ask(["resolve", path])  # type: ignore[return-value]

    def resolve_path(self, path: str, follow_final: bool = True) -> str:
        return self._ask(["resolve_path", path, follow_final])  # type: ignore[return-value]

    def read(self, path: str) -> bytes | None:
        return self._ask(["read", path])  # type: ignore[return-value]

    def read_entry(self, entry: FileEntry) -> bytes | None:
        meta = entry.meta
        return self._ask(  # type: ignore[return-value]
            ["read_entry", entry.layer, meta.path, meta.kind.value, meta.linkname])

    def glob(self, pattern: str) -> Iterator[FileEntry]:
        # All matches are digested: an analyzer that stops early is still sound, only less
        # likely to be reused.
        found: list[FileEntry] = self._ask(["glob", pattern])  # type: ignore[assignment]
        return iter(found)

    def versions(self, path: str) -> list[FileEntry]:
        return self._ask(["versions", path])  # type: ignore[return-value]

    def dirs_among(self, paths: Iterable[str]) -> frozenset[str]:
        return self._ask(["dirs_among", "\0".join(paths)])  # type: ignore[return-value]

    def walk(self) -> Iterator[FileEntry]:
        self.complete = False
        return self._view.walk()

    def hidden(self) -> Iterator[FileEntry]:
        self.complete = False
        return self._view.hidden()


def replay(view: SquashedView, queries: list[Query]) -> str | None:
    """The digest of ``view``'s answers to ``queries``; None when one cannot be asked."""
    h = hashlib.sha256()
    try:
        for query in queries:
            _framed(h, _ask(view, query, want=False)[1])
    except Exception:  # a garbled record, whatever it raises, is a miss
        log.debug("a recorded query cannot be replayed", exc_info=True)
        return None
    return h.hexdigest()


class RecordStore(Protocol):
    """Where records are kept (the layer cache)."""

    def get_tree(self, key: str) -> TreeRecords | None: ...

    def put_tree(self, key: str, record: TreeRecord) -> None: ...


class TreeReuse:
    """Run tree analyzers of one scan, reusing recorded results where they still hold."""

    def __init__(self, store: RecordStore, salt: str, view: SquashedView) -> None:
        self._store = store
        self._salt = salt
        self._view = view
        self.reused: list[str] = []
        # Per analyzer run so far, a digest of its result (None: it has no msgpack form).
        self.results: list[tuple[str, str | None]] = []
        self._owned: list[msgspec.Raw] = []  # reused results' owned paths, not decoded yet

    def run(self, name: str, inputs: str | None, analyze: Callable[[Recorder], AnalysisResult],
            failed: Callable[[], bool]) -> AnalysisResult:
        """``analyze``'s result on the view, or a recorded one that still holds. ``failed``
        says, after a run, whether it failed (a failed run is not recorded); ``inputs`` None:
        they are not known, it just runs."""
        key = record_key(self._salt, name)
        found = self._reusable(key, inputs) if inputs is not None else None
        if found is not None:
            record, result = found
            self.reused.append(name)
            self.results.append((name, record.digest))
            self._owned.append(record.owned)
            log.debug("tree analyzer %s: result reused (its inputs did not change)", name)
            return result
        recorder = Recorder(self._view)
        result = analyze(recorder)
        try:
            encoded, owned = _split_encoding(result)
        except (UnicodeEncodeError, msgspec.EncodeError) as e:
            # A path that is not UTF-8 has no msgpack form: that run is not recorded.
            log.info("tree analyzer %s not recorded: %s", name, e)
            self.results.append((name, None))
            return result
        digest = _result_digest(encoded, owned)
        self.results.append((name, digest))
        if inputs is not None and recorder.complete and not failed():
            try:
                queries = _encoder.encode(recorder.queries)
            except (UnicodeEncodeError, msgspec.EncodeError) as e:
                log.info("tree analyzer %s not recorded: %s", name, e)
                return result
            self._store.put_tree(key, TreeRecord(
                inputs=inputs, answers=recorder.digest(), queries=msgspec.Raw(queries),
                result=msgspec.Raw(encoded), owned=msgspec.Raw(owned), digest=digest))
        return result

    def owned(self) -> dict[str, frozenset[str]]:
        """The owned paths of the results reused so far (their results carry none: see
        TreeRecord), for a dedupe step that runs again; keyed by analyzer, as in a result."""
        return {name: frozenset(paths) for raw in self._owned for name, paths in _owned.decode(raw)}

    def results_digest(self, before: str) -> str | None:
        """A digest of what the analyzers run so far handed on (their results, in order)
        after ``before`` (the digest of what they were merged into); None when one of them
        has no digest."""
        if any(digest is None for _, digest in self.results):
            return None
        return inputs_digest(before, self.results)

    def _reusable(self, key: str, inputs: str) -> tuple[TreeRecord, AnalysisResult] | None:
        """A record whose inputs and answers still hold, and its result (less its owned
        paths, left encoded in the record)."""
        stored = self._store.get_tree(key)
        if stored is None:
            return None
        for record in stored.records:
            if record.inputs != inputs:
                continue
            try:
                queries = _queries.decode(record.queries)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if replay(self._view, queries) != record.answers:
                continue
            try:
                result: AnalysisResult = _result.decode(record.result)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            return record, result
        return None


def newest_first(old: TreeRecords | None, new: TreeRecord) -> TreeRecords:
    """``new`` in front of the records kept so far (less any it repeats), at most CANDIDATES."""
    kept = [new]
    for record in old.records if old is not None else []:
        if len(kept) >= CANDIDATES:
            break
        if (record.inputs, record.answers) != (new.inputs, new.answers):
            kept.append(record)
    return TreeRecords(records=kept)


def _split_encoding(result: AnalysisResult) -> tuple[bytes, bytes]:
    """``result`` as msgpack less its owned paths, and those apart: the same bytes in every
    process for the same value (a frozenset's order follows the process's string hashes;
    sorted here), since their digest is an input of the dedupe steps, which a rescan reuses
    when an analyzer ran again and found the same."""
    rest = msgspec.structs.replace(result, owned_paths={}) if result.owned_paths else result
    return _encoder.encode(rest), _encoder.encode(owned_digest_form(result.owned_paths))


def _result_digest(encoded: bytes, owned: bytes) -> str:
    h = hashlib.sha256()
    _framed(h, encoded)
    _framed(h, owned)
    return h.hexdigest()


def owned_digest_form(owned: dict[str, frozenset[str]]) -> list[tuple[str, list[str]]]:
    """``owned_paths`` in a stable order (a frozenset's order follows the hash seed)."""
    return [(name, sorted(paths)) for name, paths in sorted(owned.items())]
