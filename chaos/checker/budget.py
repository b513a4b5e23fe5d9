"""What a check may spend: a deadline and a memory ceiling, and how to tell when they are reached.

Time. ``time_limit`` covers the whole check, clean-up included; by default
:data:`DEFAULT_TIME_LIMIT` (10 minutes). Freeing a search's memo is not
free (about 0.4 µs an entry, measured: the entries lie scattered in memory), and a memo of ten
million entries takes seconds to free; so a search stops when *now plus the time to free every
live memo* reaches the deadline, not when now does.

Memory. ``memory_limit`` bounds what the check itself allocates: the growth of the process's
resident set (RSS) over its size when the check started, read from ``/proc/self/statm`` (a few
microseconds; ``tracemalloc`` would slow the search several times over). Because RSS lags
(freed memory often stays mapped) and a tiny limit is finer than the allocator's arenas, the
searches' own estimate of their memos (entries, the set's table twice over since a resize
doubles it, the stack) counts as well: whichever is larger. The default,
:func:`default_memory_limit`, is half the machine's RAM capped at 8 GiB. Reaching either
limit makes the verdict ``unknown`` and says which.
"""

from __future__ import annotations

import functools
import os
import resource
import time
from dataclasses import dataclass

DEFAULT_TIME_LIMIT = 600.0
"""Seconds a check may take when no time limit is given: long enough for any history a run
produces, short enough that a CI job gets ``unknown`` rather than hanging. ``math.inf`` for none."""
FREE_SECONDS_PER_BYTE = 4.5e-7 / 160
"""Time to free the memo, per byte of its estimate: 0.35-0.4 µs an entry of about 160 bytes
(measured on a loaded 2-core machine), with margin."""
DEFAULT_CAP = 8 << 30
_PAGE = resource.getpagesize()


def rss_bytes() -> int:
    """The resident set size of this process now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024


def machine_memory() -> int | None:
    """Physical memory of the machine in bytes, when the platform says."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@functools.cache
def default_memory_limit() -> int:
    """Half the machine's RAM, at most 8 GiB: a check that needs more is better told
    ``unknown`` than left to push the machine into swap or the OOM killer."""
    total = machine_memory()
    return min(total // 2, DEFAULT_CAP) if total else DEFAULT_CAP


@dataclass(slots=True)
class Budget:
    """The deadline and memory ceiling of one check."""

    deadline: float | None
    memory_limit: int
    rss0: int
    ceiling: int
    started: float

    @classmethod
    def start(cls, time_limit: float | None, memory_limit: int | None) -> Budget:
        limit = default_memory_limit() if memory_limit is None else int(memory_limit)
        now = time.perf_counter()
        if time_limit is None:
            time_limit = DEFAULT_TIME_LIMIT
        deadline = now + max(time_limit, 0.0) if time_limit != float("inf") else None
        # The RSS baseline is read at the first look (most checks end before any): what the
        # first slice allocated before it is counted by the memo estimate instead.
        return cls(deadline=deadline, memory_limit=limit, rss0=-1, ceiling=-1, started=now)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def out_of_time(self, live_bytes: int) -> bool:
        """Past the deadline, once freeing memos of ``live_bytes`` (estimated) is counted in."""
        return self.deadline is not None and (time.perf_counter() + live_bytes * FREE_SECONDS_PER_BYTE >= self.deadline)

    def out_of_memory(self, live_bytes: int) -> bool:
        """Over the memory limit: by the memos' estimate or by the process's RSS."""
        if live_bytes > self.memory_limit:
            return True
        rss = rss_bytes()
        if self.rss0 < 0:
            self.rss0 = rss
            self.ceiling = rss + self.memory_limit
        return rss > self.ceiling

    def freed(self) -> None:
        """After a search was stopped for memory and freed: memory the allocator kept mapped
        can be reused by the others without the RSS growing, so the ceiling moves up to what
        is mapped now (by at most what one search grew between two looks)."""
        if self.rss0 >= 0:
            self.ceiling = max(self.ceiling, rss_bytes())

    def describe_memory(self) -> str:
        return f"memory limit of {_mb(self.memory_limit)} reached"


def _mb(n: float) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"
