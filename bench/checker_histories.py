"""History generators for bench/checker.py: simulated stores whose histories have the shapes
that make a linearizability checker slow, hungry or stuck.

- :func:`simulate`: a linearizable cas-register / kv store with many clients and unique values
  (what our own runner records).
- :func:`jepsen_etcd`: Jepsen's etcd test: 5 clients on one register of values 0-4, read /
  write / cas, requests that time out stay indeterminate to the end of the history (each
  overlapping every later operation), failed cas recorded as ``fail``. Small value domains
  and long-lived indeterminate writes are what make these hard, not their size.
- :func:`intractable_block`: a burst of concurrent writes, each read back by a concurrent
  read, followed by two sequential reads that cannot both be explained: every order of the
  burst has to be refuted, 2^k of them.
- :func:`corrupt`: one definitely stale read.

Every generator is seeded by the ``random.Random`` it is given, so a figure can be re-run.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from chaos.history import Operation


def simulate(
    rng: random.Random,
    n_ops: int,
    n_procs: int,
    info_rate: float,
    n_keys: int | None,
    mix: tuple[float, float] = (0.5, 0.3),
) -> list[Operation]:
    """One history of a linearizable cas-register / kv store (keys k0..k{n-1}, or no key).

    Concurrent clients each issue one call at a time; every call takes effect at a random
    instant inside its interval; info calls (timeouts) take effect or not and move their
    client to a new process id; cas expectations are guessed from recent values, so some cas
    fail. Every written value is unique.
    """
    heap = [(rng.random(), slot) for slot in range(n_procs)]
    heapq.heapify(heap)
    proc_of = list(range(n_procs))
    next_proc = n_procs
    plans = []
    for i in range(n_ops):
        t, slot = heapq.heappop(heap)
        call = t
        ret = call + rng.expovariate(1.0)
        point = rng.uniform(call, ret)
        info = rng.random() < info_rate
        happens = not info or rng.random() < 0.5
        r = rng.random()
        f = "read" if r < mix[0] else "write" if r < mix[0] + mix[1] else "cas"
        key = None if n_keys is None else f"k{rng.randrange(n_keys)}"
        plans.append((point, i, proc_of[slot], f, key, call, ret, info, happens))
        if info:
            proc_of[slot] = next_proc
            next_proc += 1
        heapq.heappush(heap, (ret + rng.expovariate(4.0), slot))
    store: dict[Any, Any] = {}
    recent: dict[Any, list[Any]] = {}
    counter = 0
    ops: list[Operation | None] = [None] * n_ops
    for _point, i, proc, f, key, call, ret, info, happens in sorted(plans):
        status = "info" if info else "ok"
        value = output = None
        cur = store.get(key)
        if f == "read":
            output = cur
        elif f == "write":
            counter += 1
            value = output = counter
            if happens:
                store[key] = value
                recent.setdefault(key, []).append(value)
        else:
            counter += 1
            history = recent.get(key, [None])
            expected = cur if rng.random() < 0.6 else rng.choice(history[-4:])
            value = output = [expected, counter]
            if expected == cur:
                if happens:
                    store[key] = counter
                    recent.setdefault(key, []).append(counter)
            elif not info:
                status = "fail"
        ops[i] = Operation(
            id=i,
            process=proc,
            f=f,
            key=key,
            value=value,
            output=None if info else output,
            status=status,  # type: ignore[arg-type]
            call=int(call * 1_000_000),
            ret=None if info else int(ret * 1_000_000),
        )
    return [op for op in ops if op is not None]


def jepsen_etcd(rng: random.Random, n_ops: int | None = None, clients: int = 5) -> list[Operation]:
    """A history shaped like Jepsen's etcd register test (see the module docstring).

    73-90 operations; each request times out with a probability drawn per history from
    10-25%. A timed-out request is recorded as ``info`` and never completes; it takes effect
    with probability one half, at some point after its call (possibly long after: the client
    has given up, the cluster has not). The client then continues as a new process, as
    Jepsen's do. Reads of the initial register return nil.
    """
    n_ops = n_ops if n_ops is not None else rng.randint(73, 90)
    timeout_rate = rng.uniform(0.10, 0.25)
    free = [(rng.random(), slot) for slot in range(clients)]
    heapq.heapify(free)
    proc_of = list(range(clients))
    next_proc = clients
    plans = []
    for i in range(n_ops):
        t, slot = heapq.heappop(free)
        call = t
        r = rng.random()
        f = "read" if r < 1 / 3 else "write" if r < 2 / 3 else "cas"
        timed_out = rng.random() < timeout_rate
        if timed_out:
            give_up = call + 6.0  # the client waits this long, then records :info
            point = call + rng.expovariate(1 / 4.0) if rng.random() < 0.5 else None
            ret = None
            plans.append((point, i, proc_of[slot], f, call, ret))
            proc_of[slot] = next_proc
            next_proc += 1
            heapq.heappush(free, (give_up + rng.expovariate(4.0), slot))
        else:
            ret = call + rng.expovariate(1.0)
            point = rng.uniform(call, ret)
            plans.append((point, i, proc_of[slot], f, call, ret))
            heapq.heappush(free, (ret + rng.expovariate(4.0), slot))
    value: Any = None
    ops: list[Operation | None] = [None] * n_ops
    never = [p for p in plans if p[0] is None]
    for point, i, proc, f, call, ret in sorted((p for p in plans if p[0] is not None), key=lambda p: p[0]):
        del point
        status = "ok" if ret is not None else "info"
        arg: Any = None
        out: Any = None
        if f == "read":
            out = value
        elif f == "write":
            arg = out = rng.randrange(5)
            value = arg
        else:
            arg = out = [rng.randrange(5), rng.randrange(5)]
            if arg[0] == value:
                value = arg[1]
            elif status == "ok":
                status = "fail"
        ops[i] = _op(i, proc, f, arg, out, status, call, ret)
    for _point, i, proc, f, call, _ret in never:
        arg = None if f == "read" else rng.randrange(5) if f == "write" else [rng.randrange(5), rng.randrange(5)]
        ops[i] = _op(i, proc, f, arg, None, "info", call, None)
    return [op for op in ops if op is not None]


def _op(i: int, proc: int, f: str, arg: Any, out: Any, status: str, call: float, ret: float | None) -> Operation:
    return Operation(
        id=i,
        process=proc,
        f=f,
        key=None,
        value=arg,
        output=None if status == "info" else out,
        status=status,  # type: ignore[arg-type]
        call=int(call * 1_000_000),
        ret=None if ret is None else int(ret * 1_000_000),
    )


def corrupt(rng: random.Random, ops: list[Operation]) -> bool:
    """Make one read definitely stale: it returns the value of a write w1 although another
    write w2 started after w1 returned and returned before the read started. False if no read
    qualifies."""
    writes: dict[Any, list[Operation]] = {}
    for op in ops:
        if op.status == "ok" and op.f in ("write", "cas"):
            writes.setdefault(op.key, []).append(op)
    reads = [op for op in ops if op.status == "ok" and op.f == "read"]
    rng.shuffle(reads)
    for read in reads:
        before = [w for w in writes.get(read.key, []) if w.ret is not None and w.ret < read.call]
        before.sort(key=lambda w: w.call)
        for w2 in reversed(before):
            older = [w1 for w1 in before if w1.ret is not None and w1.ret < w2.call]
            if older:
                w1 = rng.choice(older)
                read.output = w1.value if w1.f == "write" else w1.value[1]
                return True
    return False


def corrupt_small(rng: random.Random, ops: list[Operation]) -> bool:
    """Jepsen-style corruption for small value domains: one ok read returns another value."""
    reads = [op for op in ops if op.status == "ok" and op.f == "read"]
    if not reads:
        return False
    read = rng.choice(reads)
    read.output = rng.choice([v for v in range(5) if v != read.output])
    return True


def intractable_block(key: Any, width: int, start: float, first_id: int, first_proc: int) -> list[Operation]:
    """``width`` concurrent ok writes of distinct values, each read back by a concurrent ok
    read (``2 * width`` processes), then a read of the first value and, after it, a read of
    the second. Only the last write of the burst can be read afterwards, so the two reads
    cannot both be right; every search that orders the burst one write at a time has to
    refute all 2^(width-2) subsets of the other writes before it can say so."""
    ops: list[Operation] = []
    t = start
    end = t + 10.0
    for j in range(width):
        value = f"{key}-v{j}"
        ops.append(
            Operation(
                id=0,
                process=first_proc + 2 * j,
                f="write",
                key=key,
                value=value,
                output=value,
                status="ok",
                call=int((t + 0.01 * j) * 1e6),
                ret=int((end + 0.01 * j) * 1e6),
            )
        )
        ops.append(
            Operation(
                id=0,
                process=first_proc + 2 * j + 1,
                f="read",
                key=key,
                value=None,
                output=value,
                status="ok",
                call=int((t + 0.005 + 0.01 * j) * 1e6),
                ret=int((end + 0.005 + 0.01 * j) * 1e6),
            )
        )
    after = end + 1.0
    for j in range(2):
        ops.append(
            Operation(
                id=0,
                process=first_proc + j,
                f="read",
                key=key,
                value=None,
                output=f"{key}-v{j}",
                status="ok",
                call=int((after + 2 * j) * 1e6),
                ret=int((after + 2 * j + 1) * 1e6),
            )
        )
    for n, op in enumerate(ops):
        op.id = first_id + n
    return ops


def starved(
    rng: random.Random,
    n_ops: int = 2000,
    n_keys: int = 10,
    clients: int = 50,
    width: int = 24,
    hard_keys: int = 2,
    invalid: bool = True,
) -> list[Operation]:
    """A kv history where the first ``hard_keys`` keys' partitions are intractable
    (:func:`intractable_block`) and, when ``invalid``, the last key has one plainly stale
    read. The hard blocks run while the other clients are idle; the rest of the history is
    :func:`simulate`'s, so ``2 * width`` must not exceed ``clients``."""
    assert 2 * width <= clients
    hard = [f"k{i}" for i in range(hard_keys)]
    base_ops = n_ops - hard_keys * (2 * width + 2)
    ops = simulate(rng, base_ops, clients, 0.05, n_keys - hard_keys)
    for op in ops:  # the simulated keys follow the hard ones
        op.key = f"k{int(op.key[1:]) + hard_keys}"
    if invalid:
        victim = [op for op in ops if op.key == f"k{n_keys - 1}"]
        while not corrupt(rng, victim):
            raise AssertionError("no read to corrupt")
    shift = int(30 * hard_keys * 1e6)
    for op in ops:  # make room at the start for the hard blocks
        op.call += shift
        if op.ret is not None:
            op.ret += shift
    out: list[Operation] = []
    for n, key in enumerate(hard):
        out.extend(intractable_block(key, width, 30.0 * n, 0, 10_000 + 1000 * n))
    out.extend(ops)
    out.sort(key=lambda op: op.call)
    for i, op in enumerate(out):
        op.id = i
    return out
