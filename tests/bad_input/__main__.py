"""``python -m tests.bad_input``: the corpus's cases per command."""

from __future__ import annotations

from .catalogue import ALL
from .corpus import counts

for group, count in counts(ALL).items():
    print(f"{group:>15}  {count}")
print(f"{'total':>15}  {len(ALL)}")
