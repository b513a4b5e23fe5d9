"""The set of totals that some of a bag of integer amounts can add up to.

The ``counter`` and ``bank`` models refute a read without a search when no choice of the
updates allowed before it explains the value read (see their ``impossible`` hooks). That
question is subset sum, which is cheap here: the amounts are few and small, so the set of
reachable totals fits in the bits of one Python int, and adding an amount ``a`` is one
shift-and-or (``mask | mask << a``) done in C.

Amounts too large for a bitmask (a user's counter adding millions) degrade the answer to the
bounds of the reachable totals, which is still sound: ``contains`` may say yes for a total that
cannot be reached, never no for one that can.
"""

from __future__ import annotations

MAX_SPAN = 1 << 20
"""Reachable totals tracked exactly while they span at most this many values (a 128 kB int)."""


class SubsetSums:
    """Totals of sub-multisets of the amounts added so far (the empty one included: 0)."""

    __slots__ = ("high", "low", "mask")

    def __init__(self) -> None:
        self.mask: int | None = 1
        """Bit ``i`` set: the total ``i + low`` is reachable. None once the span is too large."""
        self.low = 0
        """The smallest reachable total (the sum of every negative amount)."""
        self.high = 0
        """The largest reachable total (the sum of every positive amount)."""

    def copy(self) -> SubsetSums:
        other = SubsetSums.__new__(SubsetSums)
        other.mask, other.low, other.high = self.mask, self.low, self.high
        return other

    def add(self, amount: int, count: int = 1) -> None:
        """Let up to ``count`` copies of ``amount`` take part (each may be left out)."""
        if amount == 0 or count <= 0:
            return
        if amount > 0:
            self.high += amount * count
        else:
            self.low += amount * count
        mask = self.mask
        if mask is None:
            return
        if self.high - self.low > MAX_SPAN:
            self.mask = None
            return
        # Binary splitting: chunks of 1, 2, 4... copies (the last one what remains) reach
        # every count from 0 to ``count`` with log(count) shifts.
        chunk = 1
        while count:
            take = min(chunk, count)
            step = amount * take
            # A negative step lowers ``low``: every old total moves up by -step bits, and the
            # totals that include the step land where the old ones were.
            mask = mask | (mask << step) if step > 0 else (mask << -step) | mask
            count -= take
            chunk <<= 1
        self.mask = mask

    def contains(self, total: int) -> bool:
        """Can some of the amounts add up to ``total``? (Only bounds when the span is too large.)"""
        if total < self.low or total > self.high:
            return False
        if self.mask is None:
            return True
        return bool((self.mask >> (total - self.low)) & 1)
