"""The built-in ``counter`` and ``bank`` systems and their experiments: the correct ones are
valid on every store (memory, PostgreSQL, S3, an HTTP service), the read-then-write ones are
caught, and the workload's values follow from the seed alone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.memory import MemoryStore
from chaos.clock import ScaledClock
from chaos.experiment import load, loads
from chaos.history import load_operations
from chaos.pipeline import run_experiment
from chaos.pytest_plugin import run_file
from chaos.system import BUILTINS, Env, OperationFailed, SystemLoadError, resolve
from chaos.systems.bank import Bank, RacyBank
from chaos.systems.counter import Counter, RacyCounter

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
MEMORY = {
    "counter-memory.yaml": "valid",
    "counter-racy-memory.yaml": "invalid",
    "bank-memory.yaml": "valid",
    "bank-racy-memory.yaml": "invalid",
}


def env(store: MemoryStore, options: dict[str, Any] | None = None) -> Env:
    return Env(stores={"store": store}, clock=ScaledClock(), options=options or {})


async def opened() -> MemoryStore:
    store = MemoryStore()
    await store.open()
    return store


# ---------------------------------------------------------------------------- the systems


def test_builtin_names() -> None:
    assert resolve("counter") is Counter and resolve("counter-racy") is RacyCounter
    assert resolve("bank") is Bank and resolve("bank-racy") is RacyBank
    assert {"counter", "counter-racy", "bank", "bank-racy"} <= set(BUILTINS)


def test_requests_follow_from_the_request_number() -> None:
    transfers = [Bank.request("transfer", "k0", n, None) for n in range(1, 400)]
    assert transfers == [Bank.request("transfer", "k0", n, None) for n in range(1, 400)]
    assert all(t["from"] != t["to"] for t in transfers)
    assert {t["from"] for t in transfers} == {t["to"] for t in transfers} == {f"a{i}" for i in range(5)}
    assert {t["amount"] for t in transfers} == {1, 2, 3, 4, 5}
    assert {Counter.request("add", "k0", n, None) for n in range(1, 100)} == {1}
    assert Bank.request("read", "k0", 3, None) is None and Counter.request("read", "k0", 3, None) is None

    class Wide(Counter):
        max_add = 4

    assert {Wide.request("add", "k0", n, None) for n in range(1, 100)} == {1, 2, 3, 4}


async def test_counter_adds_and_reads() -> None:
    counter = Counter(env(await opened()))
    assert await counter.read("k", None) == 0
    assert await counter.add("k", 3) == 3
    assert await counter.add("k", -1) == -1
    assert await counter.read("k", None) == 2
    with pytest.raises(OperationFailed, match="must be an integer"):
        await counter.add("k", "x")


async def test_counter_adds_are_not_lost_and_racy_ones_are() -> None:
    """Fifty concurrent adds of 1 on the in-memory store, which yields at every call."""
    for system, expect_all in ((Counter, True), (RacyCounter, False)):
        instance = system(env(await opened()))
        await asyncio.gather(*(instance.add("k", 1) for _ in range(50)))
        total = await instance.read("k", None)
        assert (total == 50) is expect_all, (system.__name__, total)


async def test_counter_gives_up_after_its_attempts_without_effect() -> None:
    """Another client writes between every read and compare-and-set of the add, so each
    compare-and-set loses: the add gives up with a definite failure, having changed nothing."""
    store = await opened()
    counter = Counter(env(store))
    stop = False

    async def other_client() -> None:
        n = 0
        while not stop:
            n += 100
            await store.put("k", b"%d" % n)

    writer = asyncio.create_task(other_client())
    await asyncio.sleep(0)
    with pytest.raises(OperationFailed, match="64 times in a row"):
        await counter.add("k", 1)
    stop = True
    await writer
    assert await counter.read("k", None) % 100 == 0  # our 1 never landed


async def test_bank_transfers_refuses_overdrafts_and_reads_every_balance() -> None:
    bank = Bank(env(await opened()))
    assert await bank.read("k", None) == {"a0": 20, "a1": 20, "a2": 20, "a3": 20, "a4": 20}
    assert await bank.transfer("k", {"from": "a0", "to": "a1", "amount": 20}) == {
        "from": "a0",
        "to": "a1",
        "amount": 20,
    }
    with pytest.raises(OperationFailed, match="a0 holds 0, less than 1"):
        await bank.transfer("k", {"from": "a0", "to": "a1", "amount": 1})
    with pytest.raises(OperationFailed, match="no account 'a7'"):
        await bank.transfer("k", {"from": "a7", "to": "a1", "amount": 1})
    with pytest.raises(OperationFailed, match="expected"):
        await bank.transfer("k", [1, 2])
    assert await bank.read("k", None) == {"a0": 0, "a1": 40, "a2": 20, "a3": 20, "a4": 20}


async def test_bank_configured_by_subclass_and_refuses_options() -> None:
    class Small(Bank):
        accounts = 2
        total = 7

    assert await Small(env(await opened())).read("k", None) == {"a0": 4, "a1": 3}
    assert Small.request("transfer", "k", 11, None)["from"] in ("a0", "a1")
    with pytest.raises(SystemLoadError, match="takes no system options"):
        Bank(env(await opened(), {"accounts": 8}))


async def test_racy_bank_loses_transfers_but_keeps_the_total() -> None:
    for system in (Bank, RacyBank):
        bank = system(env(await opened()))
        moves = [{"from": f"a{i % 5}", "to": f"a{(i + 1) % 5}", "amount": 1} for i in range(40)]
        await asyncio.gather(*(bank.transfer("k", m) for m in moves))
        balances = await bank.read("k", None)
        assert sum(balances.values()) == 100  # what Jepsen's bank checker looks at
        # Each account sent 8 and received 8: only lost transfers can change a balance (the
        # racy bank's transfers all read the opening document, and the last write wins).
        assert (balances == {f"a{i}": 20 for i in range(5)}) is (system is Bank)


# ---------------------------------------------------------------------------- the experiments


def test_every_counter_and_bank_experiment_expects_what_it_should() -> None:
    found = {p.name for p in EXPERIMENTS.glob("counter-*.yaml")} | {p.name for p in EXPERIMENTS.glob("bank-*.yaml")}
    assert found == {*MEMORY, "counter-postgres.yaml"}
    for name, expect in MEMORY.items():
        assert load(EXPERIMENTS / name).experiment.expect == expect
    plain = yaml.safe_load((EXPERIMENTS / "counter-memory.yaml").read_text())
    racy = yaml.safe_load((EXPERIMENTS / "counter-racy-memory.yaml").read_text())
    assert racy["system"] == "counter-racy" and racy["workload"] == plain["workload"]


@pytest.mark.parametrize("name", sorted(MEMORY))
def test_experiment_reaches_its_verdict_on_memory(name: str, tmp_path: Path) -> None:
    """A correct system is valid with two seeds (faults active the whole run); a racy one is
    caught by the first of three seeds that catches it (real time is not deterministic)."""
    expect = MEMORY[name]
    verdicts = []
    for seed in (1, 2, 3) if expect == "invalid" else (1, 2):
        result = run_file(EXPERIMENTS / name, out=tmp_path / f"run-{seed}", seed=seed, report=False)
        verdicts.append(result.verdict)
        if expect == "valid":
            assert result.exit_code == 0, f"{name} seed {seed}: {result.verdict} {result.checks[0].reason}"
            assert result.stats.to_dict()["total"] >= 1000
        elif result.verdict == "invalid":
            assert result.exit_code == 0
            assert "legal in no reachable state" in result.checks[0].reason
            break
    assert verdicts[-1] == expect, f"{name}: verdicts {verdicts}"


def test_faults_leave_info_updates_in_the_valid_runs(tmp_path: Path) -> None:
    """What makes the valid experiments worth running: indeterminate updates to check."""
    for name, f in (("counter-memory.yaml", "add"), ("bank-memory.yaml", "transfer")):
        result = run_file(EXPERIMENTS / name, out=tmp_path / name, seed=7, report=False)
        assert result.verdict == "valid"
        ops = load_operations(result.run_dir / "history.jsonl")
        assert sum(op.f == f and op.status == "info" for op in ops) >= 10


@pytest.mark.postgres
async def test_counter_on_postgres_is_valid(pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_PG_DSN", pg_dsn)
    result = await asyncio.to_thread(
        run_file, EXPERIMENTS / "counter-postgres.yaml", out=tmp_path / "run", seed=1, report=False
    )
    assert result.exit_code == 0, f"{result.verdict}: {result.checks[0].reason}"
    assert result.verdict == "valid" and result.stats.to_dict()["total"] == 2000


# ---------------------------------------------------------------------------- every store


def experiment(system: str, model: str, store: dict[str, Any], mix: dict[str, int]) -> str:
    """A short run of ``system`` on one store, two keys (two counters, two banks)."""
    return yaml.safe_dump(
        {
            "name": f"{system}-store",
            "seed": 5,
            "operations": 300,
            "duration": "60s",
            "concurrency": 4,
            "stores": {"db": store},
            "system": system,
            "workload": {"keys": 2, "mix": mix},
            "checks": [{"model": model, "time_limit": "60s"}],
        }
    )


CASES = [("counter", "counter", {"add": 1, "read": 1}), ("bank", "bank", {"transfer": 1, "read": 1})]


@pytest.mark.postgres
@pytest.mark.parametrize(("system", "model", "mix"), CASES)
async def test_valid_on_postgres(pg_dsn: str, tmp_path: Path, system: str, model: str, mix: dict[str, int]) -> None:
    text = experiment(system, model, {"adapter": "postgres", "settings": {"dsn": pg_dsn}}, mix)
    result = await run_experiment(loads(text), tmp_path / "run", report=False)
    assert result.verdict == "valid", result.checks[0].reason


@pytest.mark.s3
@pytest.mark.parametrize(("system", "model", "mix"), CASES)
async def test_valid_on_s3(
    s3_settings: dict[str, Any], tmp_path: Path, system: str, model: str, mix: dict[str, int]
) -> None:
    text = experiment(system, model, {"adapter": "s3", "settings": s3_settings}, mix)
    result = await run_experiment(loads(text), tmp_path / "run", report=False)
    assert result.verdict == "valid", result.checks[0].reason


@pytest.mark.parametrize(("system", "model", "mix"), CASES)
async def test_valid_on_an_http_service(
    kv_settings: dict[str, Any], tmp_path: Path, system: str, model: str, mix: dict[str, int]
) -> None:
    text = experiment(system, model, {"adapter": "http", "settings": kv_settings}, mix)
    result = await run_experiment(loads(text), tmp_path / "run", report=False)
    assert result.verdict == "valid", result.checks[0].reason
