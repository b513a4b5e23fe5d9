"""The virtual clock: time stands still while anything can run and jumps to the next wake-up
when every task waits."""

from __future__ import annotations

import asyncio

from chaos.clock import ScaledClock, VirtualClock, make_clock


async def test_sleepers_wake_in_deadline_order_at_their_deadline(virtual: VirtualClock) -> None:
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await virtual.sleep(seconds)
        woke.append((name, await virtual.now()))

    await asyncio.gather(sleeper("two hours", 7200), sleeper("one second", 1), sleeper("one hour", 3600))
    assert woke == [("one second", 1.0), ("one hour", 3600.0), ("two hours", 7200.0)]
    await virtual.aclose()


async def test_time_stands_still_while_a_task_can_run(virtual: VirtualClock) -> None:
    seen: list[float] = []
    woke_at_step: list[int] = []

    async def busy() -> None:
        for _ in range(200):
            seen.append(await virtual.now())
            await asyncio.sleep(0)

    async def sleeper() -> None:
        await virtual.sleep(10)
        woke_at_step.append(len(seen))

    await asyncio.gather(busy(), sleeper())
    assert set(seen) == {0.0}, "computation takes no system time"
    assert woke_at_step == [200], "the sleeper woke only once nothing else could run"
    assert await virtual.now() == 10.0
    await virtual.aclose()


async def test_a_cancelled_sleeper_does_not_hold_time(virtual: VirtualClock) -> None:
    short = asyncio.create_task(virtual.sleep(5))
    await asyncio.sleep(0)
    short.cancel()
    await virtual.sleep(60)
    assert await virtual.now() == 60.0
    assert virtual.jumps == 1, "straight to 60: the cancelled 5 s sleep was skipped"
    await virtual.aclose()


async def test_tasks_waiting_on_each_other_let_time_jump(virtual: VirtualClock) -> None:
    """A task blocked on a lock held by a sleeper is not runnable: time still moves."""
    lock = asyncio.Lock()
    order: list[tuple[str, float]] = []

    async def holder() -> None:
        async with lock:
            await virtual.sleep(3600)
            order.append(("holder", await virtual.now()))

    async def waiter() -> None:
        await asyncio.sleep(0)
        async with lock:
            order.append(("waiter", await virtual.now()))

    await asyncio.gather(holder(), waiter())
    assert order == [("holder", 3600.0), ("waiter", 3600.0)]
    await virtual.aclose()


async def test_make_clock() -> None:
    assert isinstance(make_clock("virtual"), VirtualClock)
    scaled = make_clock("scaled", 3600)
    assert isinstance(scaled, ScaledClock) and scaled.scale == 3600
    assert scaled.peek() >= 0
