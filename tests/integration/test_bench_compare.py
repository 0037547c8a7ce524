"""bench.compare runs end to end: the same graph on Temporal's LangGraph plugin and on Baton, measured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from baton.devserver import DevServer
from bench import compare
from bench.compare_measure import BurstyFakeOpenAI
from bench.compare_runs import Bench


@pytest.fixture
async def fake_model() -> AsyncIterator[BurstyFakeOpenAI]:
    fake = await BurstyFakeOpenAI().start()
    try:
        yield fake
    finally:
        await fake.stop()


async def test_the_side_by_side_bench_measures_the_plugin_and_baton_at_three_model_calls_a_task(
    temporal_server: DevServer, temporal_client: Client, fake_model: BurstyFakeOpenAI, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = Bench(temporal_server, temporal_client, fake_model, tmp_path)
    results = await compare.run_phases(bench, tasks=2, repeats=1, latency=0.0, ways=["plugin", "baton"],
                                       phases={"throughput"})
    compare.print_report(results)
    for way in ("plugin", "baton"):
        summary = results["summary"][way]
        assert summary["model_calls_a_task"] == 3, way
        assert summary["history_events"] > 0 and summary["cpu_ms_a_task"]["median"] > 0, summary
    assert "| baton |" in capsys.readouterr().out
