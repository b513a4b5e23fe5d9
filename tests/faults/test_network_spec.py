"""Network fault declarations: Toxiproxy's attribute names beside ours, and units that cannot
be misread a thousand times too long."""

from __future__ import annotations

import pytest

from chaos.experiment import ExperimentError, loads

HEAD = """\
name: spec-test
operations: 10
stores:
  db: {adapter: memory}
  pg: {adapter: postgres, settings: {dsn: "postgresql://u@127.0.0.1:5432/test"}}
system: {name: register, stores: {store: db}}
checks: [{model: cas-register}]
faults:
"""


def faults(text: str) -> list[object]:
    return list(loads(HEAD + text).experiment.faults)


def problems(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ExperimentError) as caught:
        loads(HEAD + text)
    return [(p.path, p.line, p.message) for p in caught.value.problems]


def test_toxiproxy_names_stream_and_toxicity_are_accepted() -> None:
    [fault] = faults(
        "  - {kind: network, store: pg, toxic: latency, latency: 50ms, stream: upstream, toxicity: 0.25}\n"
    )
    assert (fault.direction, fault.probability) == ("upstream", 0.25)  # type: ignore[attr-defined]


def test_ours_and_toxiproxys_name_together_is_a_mistake() -> None:
    [(path, line, message)] = problems(
        "  - {kind: network, store: pg, toxic: latency, latency: 5ms, probability: 1, toxicity: 0.5}\n"
    )
    assert (path, line) == ("faults.0", 9) and "probability or toxicity" in message


def test_a_bad_stream_is_reported_under_its_own_name() -> None:
    [(path, _, message)] = problems("  - {kind: network, store: pg, toxic: latency, latency: 5ms, stream: sideways}\n")
    assert path == "faults.0.stream" and "upstream" in message


def test_slow_close_is_a_toxic() -> None:
    [fault] = faults("  - {kind: network, store: pg, toxic: slow_close, delay: 2s}\n")
    assert (fault.toxic, fault.delay) == ("slow_close", 2.0)  # type: ignore[attr-defined]
    message = problems("  - {kind: network, store: pg, toxic: slow}\n")[0][2]
    assert "slow_close" in message


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        ("toxic: latency, latency: 100", "latency"),
        ("toxic: latency, latency: 5ms, jitter: '10'", "jitter"),
        ("toxic: timeout, timeout: 2000", "timeout"),
        ("toxic: reset_peer, timeout: 100", "timeout"),
        ("toxic: slow_close, delay: 500", "delay"),
        ("toxic: slicer, average_size: 10, delay: 10", "delay"),
    ],
)
def test_a_bare_duration_asks_for_its_unit(fault: str, field: str) -> None:
    """Toxiproxy's ``latency: 100`` is 100 ms; elsewhere in the file a bare number is seconds."""
    [(path, _, message)] = problems(f"  - {{kind: network, store: pg, {fault}}}\n")
    assert path == f"faults.0.{field}"
    assert "give the unit" in message and "Toxiproxy" in message


def test_zero_needs_no_unit_and_microseconds_are_read() -> None:
    [timeout, slicer] = faults(
        "  - {kind: network, store: pg, toxic: timeout, timeout: 0}\n"
        "  - {kind: network, store: pg, toxic: slicer, average_size: 10, delay: 250us}\n"
    )
    assert timeout.timeout == 0.0  # type: ignore[attr-defined]
    assert slicer.delay == pytest.approx(250e-6)  # type: ignore[attr-defined]


def test_a_rate_is_a_size_per_second() -> None:
    [per_second, plain] = faults(
        "  - {kind: network, store: pg, toxic: bandwidth, rate: 64KB/s}\n"
        "  - {kind: network, store: pg, toxic: bandwidth, rate: 1MB}\n"
    )
    assert (per_second.rate, plain.rate) == (64_000, 1_000_000)  # type: ignore[attr-defined]
    [(path, _, message)] = problems("  - {kind: network, store: pg, toxic: bandwidth, rate: 64}\n")
    assert path == "faults.0.rate" and "64KB" in message and "KB/s to Toxiproxy" in message
