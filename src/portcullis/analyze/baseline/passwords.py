"""The weak-password check: every password hash in the image against a dictionary of common
passwords (shipped: ``data/common-passwords.txt``) plus the user's (``--password-dictionary``).

Hashing runs on threads (one per core; libcrypt releases the GIL) within a wall-time budget.
Words are tried most common first, for every account in turn, so a budget that runs out
still covered the likeliest passwords of each account; the accounts not finished are named.
The password itself is never kept or reported: only that the account's hash matched.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from importlib import resources
from pathlib import Path

import msgspec

from portcullis.analyze.baseline.libcrypt import CryptUnavailable, Hasher

MAX_USER_WORDS = 1_000_000
CHUNK = 32  # words per work item: small enough to stop near the deadline


class Target(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    hash: str


class Outcome(msgspec.Struct):
    cracked: set[str] = msgspec.field(default_factory=set)  # account names (never the password)
    unfinished: dict[str, int] = msgspec.field(default_factory=dict)  # account → words tried
    unsupported: set[str] = msgspec.field(default_factory=set)  # this libcrypt cannot compute them
    words: int = 0


def builtin_words() -> list[bytes]:
    text = resources.files("portcullis").joinpath("data/common-passwords.txt").read_bytes()
    return [w for w in text.splitlines() if w and not w.startswith(b"#")]


def user_words(path: Path) -> tuple[list[bytes], int]:
    """Words of a user dictionary (one per line, as bytes) and how many were left off."""
    words: list[bytes] = []
    dropped = 0
    with path.open("rb") as f:
        for line in f:  # streamed: a huge file costs only the words kept
            word = line.rstrip(b"\r\n")
            if not word:
                continue
            if len(words) < MAX_USER_WORDS:
                words.append(word)
            else:
                dropped += 1
    return words, dropped


def dictionary(extra: list[bytes]) -> list[bytes]:
    """The user's words first (they know their defaults), then the built-in list; each once."""
    return list(dict.fromkeys([*extra, *builtin_words()]))


def crack(targets: list[Target], words: list[bytes], budget: float,
          workers: int | None = None) -> Outcome:
    outcome = Outcome(words=len(words))
    if not targets:
        return outcome
    deadline = time.monotonic() + budget
    tried = {t.account: 0 for t in targets}
    done: set[str] = set()  # cracked or unsupported: nothing more to try
    lock = threading.Lock()
    # Work items: chunk by chunk, every account per chunk (common words first for all).
    items = [(t, start) for start in range(0, len(words), CHUNK) for t in targets]
    position = [0]

    def next_item() -> tuple[Target, int] | None:
        with lock:
            while position[0] < len(items):
                item = items[position[0]]
                position[0] += 1
                if item[0].account not in done:
                    return item
        return None

    def work() -> None:
        try:
            hasher = Hasher()
        except CryptUnavailable:
            return
        while time.monotonic() < deadline:
            item = next_item()
            if item is None:
                return
            target, start = item
            setting = target.hash.encode()
            for word in words[start:start + CHUNK]:
                if target.account in done or time.monotonic() >= deadline:
                    break
                try:
                    result = hasher.crypt(word, setting)
                except Exception:  # a thread must not die with work queued: count it as
                    result = None  # a hash this libcrypt cannot compute
                with lock:
                    tried[target.account] += 1
                    if result is None:
                        outcome.unsupported.add(target.account)
                        done.add(target.account)
                    elif hmac.compare_digest(result, setting):
                        outcome.cracked.add(target.account)
                        done.add(target.account)

    count = workers or max(1, min(len(os.sched_getaffinity(0)), 16))
    threads = [threading.Thread(target=work, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for target in targets:
        if target.account not in done and tried[target.account] < len(words):
            outcome.unfinished[target.account] = tried[target.account]
    return outcome
