"""Work counted, not timed: how many Python and builtin calls a piece of code makes.

Scaling tests compare the counts at N and 4N; a count is the same on a busy or an idle machine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

T = TypeVar("T")


def count_calls(work: Callable[[], T]) -> tuple[int, T]:
    count = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        result = work()
    finally:
        sys.setprofile(None)
    return count, result
