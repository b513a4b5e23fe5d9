"""Deterministic, well-spread numbers from the workload's request number ``n``.

A system's ``request(f, key, n, expected)`` hook turns ``n`` (unique per request, a pure
function of the seed) into an operation's value. The counter and bank draw small amounts and
accounts from it; consecutive ``n`` of one worker differ by the worker count, so ``n % 5``
would repeat a short cycle. SplitMix64's finaliser spreads every bit of ``n`` over the result,
at the cost of a few integer operations (this runs once per operation).
"""

from __future__ import annotations

_MASK = (1 << 64) - 1


def scramble(n: int) -> int:
    """A 64-bit number that looks random but depends only on ``n``."""
    z = (n * 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)
