"""Run the rules on a buffer: keyword windows (prefilter.py), then each rule's regex, then the
checks that tell a secret from an example (entropy, stop words, the user's allow rules)."""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import cache
from pathlib import Path

import msgspec

from portcullis.analyze.secrets.prefilter import Prefilter
from portcullis.analyze.secrets.redact import mask
from portcullis.analyze.secrets.rules import (
    KNOWN_EXAMPLES,
    STOPWORDS,
    Rule,
    RuleSet,
    globs,
    load_ruleset,
)


class Match(msgspec.Struct, frozen=True):
    """One secret found: where (offsets into the searched buffer) and its masked form.
    The secret itself is not kept."""

    rule: Rule
    start: int  # of the whole match (its line is the finding's line)
    secret_start: int
    secret_end: int
    masked: str


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


# Letters and underscores, dot- or dash-separated, no digit: ``Name.Builtin``,
# ``self.pending``, ``alert_kind``, ``__WEBPACK_MODULE_REFERENCE__``,
# ``invalid-obs-local-part``. The right-hand side of an assignment in
# source code (``token = Keyword.Type``), never a generated secret, which has digits.
_IDENTIFIER = re.compile(r"[A-Za-z_]+(?:[.\-][A-Za-z_]+)*")


def _placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return secret in KNOWN_EXAMPLES or any(word in lowered for word in STOPWORDS)


def _first_per_secret(found: list[tuple[int, Match]]) -> list[Match]:
    kept: list[Match] = []
    for _, match in sorted(found, key=lambda f: (f[0], f[1].secret_start)):
        if not any(match.secret_start < k.secret_end and k.secret_start < match.secret_end
                   for k in kept):
            kept.append(match)
    return kept


class Matcher:
    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._prefilter = Prefilter(ruleset.rules)
        self._all = frozenset(range(len(ruleset.rules)))
        self._unrestricted = frozenset(
            i for i, rule in enumerate(ruleset.rules) if rule.paths is None)
        self._restricted = [(i, rule.paths) for i, rule in enumerate(ruleset.rules)
                            if rule.paths is not None]
        # one test rejects a path that none of them names (nearly every path)
        self._any_restricted = globs([p for _, g in self._restricted for p in g.patterns])

    def rules_for(self, path: str | None) -> frozenset[int]:
        """Indexes of the rules that apply to a file (rules with ``paths`` only to theirs)."""
        if path is None:
            return self._all
        if self._any_restricted is None or not self._any_restricted.match(path):
            return self._unrestricted
        extra = [i for i, paths in self._restricted if paths.match(path)]
        return self._unrestricted.union(extra) if extra else self._unrestricted

    def search(self, data: bytes, wanted: frozenset[int] | None = None) -> list[Match]:
        """Every secret in ``data`` by the rules ``wanted`` (default: those not tied to file
        paths). A secret is reported once, by the first rule (in file order: specific rules
        come before generic ones) whose secret overlaps it."""
        rules = self.ruleset.rules
        found: list[tuple[int, Match]] = []
        windows = self._prefilter.windows(data, self._unrestricted if wanted is None else wanted)
        for index, spans in windows.items():
            rule = rules[index]
            for lo, hi in spans:
                for m in rule.regex.finditer(data, lo, hi):
                    match = self._check(rule, m.start(), rule.secret_span(m), data)
                    if match is not None:
                        found.append((index, match))
        return _first_per_secret(found)

    def _check(self, rule: Rule, start: int, span: tuple[int, int] | None,
               data: bytes) -> Match | None:
        if span is None or span[0] == span[1]:
            return None
        secret = data[span[0]:span[1]].decode("utf-8", "replace")
        if rule.entropy is not None and entropy(secret) < rule.entropy:
            return None
        if rule.stopwords and _placeholder(secret):
            return None
        if not rule.identifiers and _IDENTIFIER.fullmatch(secret):
            return None
        if self.ruleset.allow.allows(secret):
            return None
        return Match(rule=rule, start=start, secret_start=span[0], secret_end=span[1],
                     masked=mask(secret.strip()))

    def redact(self, text: str) -> str:
        """``text`` with every secret the rules find in it masked (the image config's ENV,
        labels and RUN lines as the report shows them)."""
        data = text.encode("utf-8", "surrogateescape")
        found = sorted(self.search(data), key=lambda m: m.secret_start)
        if not found:
            return text
        out: list[bytes] = []
        done = 0
        for m in found:
            if m.secret_start < done:  # overlaps one already masked: mask its rest too
                done = max(done, m.secret_end)
                continue
            out += [data[done:m.secret_start], m.masked.encode()]
            done = m.secret_end
        out.append(data[done:])
        return b"".join(out).decode("utf-8", "surrogateescape")


@cache
def matcher(user_file: Path | None) -> Matcher:
    """One matcher per process and secret config: the automaton and regexes build once (every
    scan has one: it masks the image config; the secret analyzers share it)."""
    return Matcher(load_ruleset(user_file))
