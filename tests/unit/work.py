"""Counts the work of a parser without timing it.

`scanned` adds up the length of every ``str``, ``bytes`` or ``bytearray`` whose built-in method
(``find``, ``split``, ``strip``, ``replace``...) is called in the block: an upper bound on what
those methods read. A parser that re-scans what it holds on every read shows up as quadratic in
it; one that looks at each new piece a bounded number of times stays linear.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any


@dataclass
class Work:
    scanned: int = 0


@contextmanager
def counted() -> Iterator[Work]:
    work = Work()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call":
            owner = getattr(arg, "__self__", None)
            if isinstance(owner, str | bytes | bytearray):
                work.scanned += len(owner)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield work
    finally:
        sys.setprofile(previous)
