"""Cycles: strongly connected components, and in each a shortest cycle of every anomaly class.

A history is serializable iff its dependency graph has no cycle, and the edges of a cycle say
which weaker level it also breaks (Adya; Elle, section 4.3). So the search goes:

1. Tarjan's algorithm (iterative: no recursion limit, however long a chain of transactions)
   splits the graph into strongly connected components; every cycle lies inside one.
2. Inside each component, cheaper subgraphs decide which levels are broken *at all*, each
   in linear time:

   * a cycle of ``ww`` edges alone (G0) exists iff the ``ww`` subgraph has a component;
   * a cycle of ``ww``/``wr`` edges (G0 or G1c, breaking read committed) iff that subgraph has one;
   * a cycle with no two adjacent ``rw`` edges (breaking snapshot isolation: G0, G1c,
     G-single, G-nonadjacent) iff the graph ``D ∪ D;RW`` has one, where ``D`` are the
     ``ww``/``wr`` edges and ``D;RW`` joins a dependency to an anti-dependency that follows it;
   * any cycle at all (breaking serializability) iff the component has two vertices or more.

3. Then a witness per class, by breadth-first search from candidate edges, shortest first:
   ``G0`` (``ww`` only), ``G1c`` (``ww``/``wr``, at least one ``wr``), ``G-single`` (exactly one
   ``rw``), ``G-nonadjacent`` (two or more ``rw``, none adjacent) and ``G2-item`` (two or more
   ``rw``, two of them adjacent). The searches that allow ``rw`` edges walk a small state
   machine (how many ``rw`` so far, whether the last edge was one) rather than all paths.

Witness searches are bounded (a number of candidate edges per class, and the check's time
limit); the existence tests are not, so a component whose witness was not found in time still
rules its level out, reported as ``PL-2-cycle-exists`` and the like.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .graph import DEPENDENCY, RW, WR, WW, kind_of

CYCLE_CLASSES = ("G0", "G1c", "G-single", "G-nonadjacent", "G2-item")
_SECOND_HOP = frozenset({1})
"""G-nonadjacent's accepting state: a second ``D;RW`` hop was taken."""
_ADJACENT_RW = frozenset({1, 2, 3})
"""G2-item's accepting states (bit 0: the last edge was an ``rw``, adjacent to the first edge,
itself an ``rw``; bit 1: two adjacent ``rw`` were seen on the way)."""


class SearchTimeout(Exception):
    """The time limit ran out during a witness search."""


class Budget:
    """The deadline of the witness searches, checked every few hundred steps."""

    __slots__ = ("deadline", "expired")

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.expired = False

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.expired = True
            raise SearchTimeout


def strongly_connected(
    vertices: Iterable[int], adj: Mapping[int, Sequence[int]] | Sequence[Iterable[int]]
) -> list[list[int]]:
    """Tarjan's strongly connected components of the graph ``adj`` (vertex -> successors),
    visiting roots in the order of ``vertices``. Iterative. Components come out in reverse
    topological order: every edge between two components goes from a later one to an earlier one."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in vertices:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(adj[root]))]
        while work:
            v, successors = work[-1]
            for w in successors:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(adj[w])))
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[v] < low[parent]:
                        low[parent] = low[v]
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    components.append(component)
    return components


def _subgraph(members: Iterable[int], inside: set[int], out: list[dict[int, int]], mask: int) -> dict[int, list[int]]:
    """``members``' edges that carry a reason in ``mask`` and stay inside ``inside``."""
    return {v: [w for w, bits in out[v].items() if bits & mask and w in inside] for v in members}


def _kinds(cycle: Sequence[int], out: list[dict[int, int]]) -> list[int]:
    return [kind_of(out[a][b]) for a, b in itertools.pairwise(cycle)]


def classify(kinds: Sequence[int]) -> str:
    """The anomaly class of a cycle with edges of ``kinds`` (Elle's rules)."""
    rw = kinds.count(RW)
    if rw == 0:
        return "G1c" if WR in kinds else "G0"
    if rw == 1:
        return "G-single"
    n = len(kinds)
    adjacent = any(kinds[i] == RW and kinds[(i + 1) % n] == RW for i in range(n))
    return "G2-item" if adjacent else "G-nonadjacent"


def simple_cycles(walk: Sequence[int]) -> list[list[int]]:
    """A closed walk (``walk[0] == walk[-1]``) cut into simple cycles at repeated vertices."""
    stack: list[int] = []
    position: dict[int, int] = {}
    cycles: list[list[int]] = []
    for v in walk:
        i = position.get(v)
        if i is None:
            position[v] = len(stack)
            stack.append(v)
            continue
        cycles.append([*stack[i:], v])
        for w in stack[i + 1 :]:
            del position[w]
        del stack[i + 1 :]
    return cycles


@dataclass(slots=True)
class ComponentFindings:
    """What one strongly connected component holds."""

    size: int
    witnesses: dict[str, list[int]] = field(default_factory=dict)
    """Class -> a shortest cycle found (vertices, first repeated last)."""
    broken: set[str] = field(default_factory=set)
    """Levels some cycle here breaks, proven by the existence tests: ``PL-1`` (a G0 cycle),
    ``PL-2`` (G0 or G1c), ``PL-SI`` (a cycle without adjacent anti-dependencies), ``PL-3``."""
    timed_out: bool = False


class _Search:
    """The witness searches of one component."""

    def __init__(self, members: list[int], out: list[dict[int, int]], budget: Budget, tries: int) -> None:
        self.members = sorted(members, reverse=True)
        self.inside = set(members)
        self.out = out
        self.budget = budget
        self.tries = tries
        self.findings = ComponentFindings(len(members), broken={"PL-3"})

    def offer(self, walk: list[int]) -> None:
        """Keep each simple cycle of ``walk`` if it is the shortest of its class so far."""
        for cycle in simple_cycles(walk):
            if len(cycle) < 3:  # pragma: no cover - the graph has no self-edges
                continue
            kind = classify(_kinds(cycle, self.out))
            best = self.findings.witnesses.get(kind)
            if best is None or len(cycle) < len(best):
                self.findings.witnesses[kind] = cycle

    def run(self) -> ComponentFindings:
        """Existence tests (always, each linear), and witness searches while time remains."""
        out, inside, members, broken = self.out, self.inside, self.members, self.findings.broken
        ww = _subgraph(members, inside, out, WW)
        for component in strongly_connected(members, ww):
            if len(component) > 1:
                broken.add("PL-1")
                self.attempt(self.g0, component, ww)
        dependency = _subgraph(members, inside, out, DEPENDENCY)
        components = strongly_connected(members, dependency)
        rank = {v: r for r, component in enumerate(components) for v in component}
        for component in components:
            if len(component) > 1:
                broken.add("PL-2")
                self.attempt(self.g1c, component, dependency)
        composed, via, loops = self.extension(dependency)
        if loops:  # x -D-> u -rw-> x: a G-single of two transactions
            broken.add("PL-SI")
            x, u = min(loops, key=lambda e: abs(e[0] - e[1]))
            self.offer([u, x, u])
        for component in strongly_connected(members, composed):
            if len(component) > 1:
                broken.add("PL-SI")
                self.attempt(self.g_single, component, dependency, via, rank)
                self.attempt(self.g_nonadjacent, component, dependency, via)
        self.attempt(self.g2_item)
        return self.findings

    def attempt(self, search: Callable[..., None], *args: object) -> None:
        """Run one witness search, unless the time limit has passed (then, or if it passes
        during the search, the component is marked as not fully searched)."""
        try:
            self.budget.check()
            search(*args)
        except SearchTimeout:
            self.findings.timed_out = True

    # ---------------------------------------------------------------- the subgraphs

    def extension(
        self, dependency: dict[int, list[int]]
    ) -> tuple[dict[int, list[int]], dict[int, dict[int, int]], list[tuple[int, int]]]:
        """``D ∪ D;RW``: dependency edges, and ``x -> v`` wherever ``x -D-> u -rw-> v``
        (``via[x][v] = u``). Its cycles are exactly the cycles with no two adjacent ``rw``;
        its self-loops (``x -D-> u -rw-> x``, returned as ``(x, u)`` pairs) are cycles of two
        transactions with one ``rw``, which strongly connected components do not show."""
        out, inside = self.out, self.inside
        anti = {u: [w for w, bits in out[u].items() if bits == RW and w in inside] for u in self.members}
        composed: dict[int, list[int]] = {}
        via: dict[int, dict[int, int]] = {}
        loops: list[tuple[int, int]] = []
        for x, successors in dependency.items():
            hops: dict[int, int] = {}
            for u in successors:
                for v in anti[u]:
                    if v != x:
                        hops.setdefault(v, u)
                    else:
                        loops.append((x, u))
            via[x] = hops
            composed[x] = [*successors, *(v for v in hops if v not in successors)] if hops else successors
        return composed, via, loops

    # ---------------------------------------------------------------- breadth-first searches

    def path(
        self,
        adj: Mapping[int, Sequence[int]],
        start: int,
        goal: int,
        allowed: Mapping[int, int] | None = None,
        floor: int = 0,
    ) -> list[int] | None:
        """A shortest path ``start ... goal`` in ``adj`` (a cycle when ``start == goal``),
        through vertices whose ``allowed`` rank is at least ``floor`` when ranks are given."""
        parent: dict[int, int] = {}
        queue = deque([start])
        steps = 0
        check = self.budget.check
        while queue:
            v = queue.popleft()
            for w in adj.get(v, ()):
                if w in parent or (allowed is not None and allowed[w] < floor):
                    continue
                parent[w] = v
                if w == goal:
                    found = [goal]
                    node = v
                    while node != start:
                        found.append(node)
                        node = parent[node]
                    found.append(start)
                    found.reverse()
                    return found
                queue.append(w)
            steps += 1
            if not steps & 511:
                check()
        return None

    def g0(self, component: list[int], ww: dict[int, list[int]]) -> None:
        """Shortest ``ww`` cycles through a few of the component's vertices."""
        members = set(component)
        sub = {v: [w for w in ww[v] if w in members] for v in component}
        for start in sorted(component)[: self.tries]:
            cycle = self.path(sub, start, start)
            if cycle is not None:
                self.offer(cycle)

    def g1c(self, component: list[int], dependency: dict[int, list[int]]) -> None:
        """Cycles of ``ww``/``wr`` edges through a ``wr`` edge, closest pairs first."""
        members = set(component)
        out = self.out
        sub = {v: [w for w in dependency[v] if w in members] for v in component}
        candidates = [(u, v) for u in component for v in sub[u] if kind_of(out[u][v]) == WR]
        candidates.sort(key=lambda e: abs(e[0] - e[1]))
        for u, v in candidates[: self.tries]:
            back = self.path(sub, v, u)
            if back is not None:
                self.offer([u, *back])

    def g_single(
        self,
        component: list[int],
        dependency: dict[int, list[int]],
        via: dict[int, dict[int, int]],
        rank: dict[int, int],
    ) -> None:
        """Cycles with exactly one ``rw``: ``x -D-> u -rw-> v`` then ``v`` back to ``x`` by
        dependencies. Components of the dependency graph are ranked in reverse topological
        order (ranks never grow along an edge), so ``v`` can reach ``x`` only through ranks
        between theirs: candidates with the narrowest window go first, and the search stays
        inside it."""
        members = set(component)
        candidates = [
            (rank[v] - rank[x], x, u, v)
            for x in component
            for v, u in via[x].items()
            if v in members and rank[v] >= rank[x]
        ]
        candidates.sort()
        sub = {v: [w for w in dependency[v] if w in members] for v in component}
        for _, x, u, v in candidates[: self.tries * 4]:
            back = self.path(sub, v, x, rank, rank[x]) if v != x else [v]
            if back is not None:
                if u in back:  # u -rw-> v ... u: a shorter cycle with the same single rw
                    self.offer([u, *back[: back.index(u) + 1]])
                else:
                    self.offer([u, *back, u])
                if len(self.findings.witnesses.get("G-single", ())) == 3:
                    return

    def states(
        self,
        start: tuple[int, int],
        goal: int,
        accept: frozenset[int],
        step: Callable[[int, int], Iterable[tuple[int, int]]],
    ) -> list[int] | None:
        """Breadth-first search over ``(vertex, state)`` pairs from ``start`` to ``goal`` in
        a state of ``accept``; ``step(v, state)`` yields the next ``(vertex, state)`` pairs.
        The walk found, as vertices (it may repeat some: the caller cuts it into simple cycles)."""
        parent: dict[tuple[int, int], tuple[int, int]] = {start: start}
        queue = deque([start])
        steps = 0
        check = self.budget.check
        while queue:
            node = queue.popleft()
            for nxt in step(*node):
                if nxt in parent:
                    continue
                parent[nxt] = node
                if nxt[0] == goal and nxt[1] in accept:
                    walk = [nxt[0]]
                    back = node
                    while back != start:
                        walk.append(back[0])
                        back = parent[back]
                    walk.append(start[0])
                    walk.reverse()
                    return walk
                queue.append(nxt)
            steps += 1
            if not steps & 511:
                check()
        return None

    def g_nonadjacent(
        self, component: list[int], dependency: dict[int, list[int]], via: dict[int, dict[int, int]]
    ) -> None:
        """Cycles of ``D ∪ D;RW`` that use two or more ``D;RW`` hops (so two or more ``rw``,
        each after a dependency: never adjacent). State: whether a second hop was taken."""
        members = set(component)
        sub = {v: [w for w in dependency[v] if w in members] for v in component}
        hops = {v: [(w, u) for w, u in via[v].items() if w in members] for v in component}
        through: dict[tuple[int, int], int] = {}

        def step(v: int, more: int) -> Iterable[tuple[int, int]]:
            for w in sub[v]:
                yield (w, more)
            for w, u in hops[v]:
                through[(v, w)] = u
                yield (w, 1)

        candidates = [(abs(x - v), x, u, v) for x in component for v, u in hops[x]]
        candidates.sort()
        for _, x, u, v in candidates[: self.tries]:
            walk = self.states((v, 0), x, _SECOND_HOP, step)
            if walk is None:
                continue
            full = [x, u, v]
            for a, b in itertools.pairwise(walk):
                if b not in self.out[a] or not self.out[a][b] & DEPENDENCY:
                    full.append(through[(a, b)])
                full.append(b)
            self.offer(full)
            if "G-nonadjacent" in self.findings.witnesses:
                return

    def g2_item(self) -> None:
        """Cycles with two adjacent ``rw`` edges, from ``rw`` edges of close transactions first.
        State: whether the last edge was an ``rw``, and whether two adjacent ones were seen."""
        out, inside = self.out, self.inside

        def step(v: int, state: int) -> Iterable[tuple[int, int]]:
            last_rw, seen = state & 1, state & 2
            for w, bits in out[v].items():
                if w in inside:
                    if bits == RW:
                        yield (w, 1 | (2 if last_rw else seen))
                    else:
                        yield (w, seen)

        candidates = [
            (abs(u - v), u, v) for u in self.members for v, bits in out[u].items() if bits == RW and v in inside
        ]
        candidates.sort()
        for _, u, v in candidates[: self.tries]:
            walk = self.states((v, 1), u, _ADJACENT_RW, step)
            if walk is not None:
                self.offer([u, *walk])
            if "G2-item" in self.findings.witnesses:
                return


def find_cycles(out: list[dict[int, int]], budget: Budget, tries: int = 8) -> list[ComponentFindings]:
    """The findings of every strongly connected component of two vertices or more."""
    findings = []
    n = len(out)
    for component in strongly_connected(range(n - 1, -1, -1), out):
        if len(component) < 2:
            continue
        findings.append(_Search(component, out, budget, tries).run())
    return findings
