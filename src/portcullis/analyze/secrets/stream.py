"""Search one file as it streams by, chunk after chunk, in constant memory.

Each chunk is searched together with the last ``OVERLAP`` bytes of the one before, so that a
secret split across two chunks is whole in the second search. A match that starts in that
tail is left to the next search (which sees more of what follows it), so every match is
reported exactly once, from the search that saw the most of it.
"""

from __future__ import annotations

import msgspec

from portcullis.analyze.secrets.matcher import Match, Matcher

OVERLAP = 4096  # > prefilter.BEFORE + AFTER: a keyword's whole window is in the next search
SNIFF = 8192  # a NUL byte in the first bytes: not a text file
MAX_PER_FILE = 50  # a minified bundle can hold hundreds of tokens: list the first ones


class Located(msgspec.Struct, frozen=True):
    match: Match
    line: int  # 1-based


class FileSearch(msgspec.Struct):
    matcher: Matcher
    wanted: frozenset[int]
    limit: int
    size: int | None = None  # the file's size, when known: its last chunk is searched at once
    found: list[Located] = msgspec.field(default_factory=list)
    binary: bool = False
    truncated: bool = False  # more than ``limit`` bytes: the rest was not searched
    dropped: int = 0  # matches over MAX_PER_FILE
    _tail: bytes = b""
    _base: int = 0  # offset in the file of ``_tail[0]``
    _lines: int = 0  # newlines before ``_base``
    _taken: int = 0  # matches starting before this file offset were reported already
    _started: bool = False
    _done: bool = False  # the last byte was searched

    def update(self, chunk: bytes) -> None:
        if self.binary or self._done:
            return
        if not self._started:
            self._started = True
            if b"\0" in chunk[:SNIFF]:
                self.binary = True
                return
        room = self.limit - (self._base + len(self._tail))
        if len(chunk) > room:
            chunk = chunk[:max(room, 0)]
            self.truncated = True
        data = self._tail + bytes(chunk) if self._tail else bytes(chunk)
        end = self._base + len(data)
        if self.truncated or (self.size is not None and end >= self.size):
            self._search(data, upto=len(data))  # the last chunk: no tail to keep
            self._tail = b""
            self._base = end
            self._done = True
            return
        if len(data) <= OVERLAP:
            self._tail = data
            return
        keep = len(data) - OVERLAP
        self._search(data, upto=keep)
        self._lines += data.count(b"\n", 0, keep)
        self._base += keep
        self._tail = data[keep:]

    def finish(self) -> None:
        if not self.binary and not self._done and self._tail:
            self._search(self._tail, upto=len(self._tail))
            self._tail = b""

    def _search(self, data: bytes, upto: int) -> None:
        """Report the matches of ``data`` that start before ``upto`` and were not reported
        by the previous search."""
        start = self._taken - self._base
        hits = sorted((m for m in self.matcher.search(data, self.wanted)
                       if start <= m.start < upto), key=lambda m: (m.start, m.rule.id))
        for m in hits:
            if len(self.found) >= MAX_PER_FILE:
                self.dropped += 1
                continue
            line = self._lines + data.count(b"\n", 0, m.start) + 1
            self.found.append(Located(match=m, line=line))
        self._taken = self._base + upto
