"""sales_report end to end on its real graph, with the real ChatOpenAI against the fake model server."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from langchain_openai import ChatOpenAI

from sandbox.openai_server import FakeOpenAI
from workers.agents.sales_report import DATA_DIR, SPEC

ALL_REGIONS = ["APAC", "EMEA", "LATAM", "NA"]


def revenue(regions: list[str], start: str, end: str, products: list[str] | None = None) -> float:
    with (DATA_DIR / "sales.csv").open() as f:
        return round(
            sum(
                float(r["revenue"])
                for r in csv.DictReader(f)
                if r["region"] in regions
                and start <= r["month"] <= end
                and (products is None or r["product"] in products)
            ),
            2,
        )


async def test_accepted_scope_from_the_request_produces_the_report(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    fake_openai.script("EMEA grew steadily through Q2.")
    run = drive(SPEC, chat_model, "Sales report for EMEA in Q2 please")

    checkpoint = await run.start()

    assert checkpoint is not None and checkpoint.convention == "agent_inbox"
    assert checkpoint.title == "confirm_scope"
    assert checkpoint.allowed_decisions == ["accept", "edit", "respond", "ignore"]
    assert checkpoint.proposed_action.args == {
        "regions": ["EMEA"],
        "products": ["Baton Cloud", "Baton Enterprise", "Support Plus", "Training"],
        "start_month": "2024-04",
        "end_month": "2024-06",
    }
    assert fake_openai.call_count == 0

    assert await run.decide("accept") is None

    result = await run.result()
    assert result.outcome == "success"
    expected = revenue(["EMEA"], "2024-04", "2024-06")
    assert f"revenue {expected:,.2f}" in result.summary
    report, table = result.artifacts
    assert report.name == "sales_report.md" and report.content.startswith("EMEA grew steadily through Q2.")
    assert "| EMEA |" in report.content and "| 2024-05 |" in report.content and "| NA |" not in report.content
    assert table.name == "sales_summary.csv" and table.content.startswith("dimension,name,revenue,units")
    assert fake_openai.call_count == 1
    assert '"start_month": "2024-04"' in fake_openai.calls[0].last_user_text
    assert "Aggregated 12 rows in scope" in run.progress


async def test_edited_scope_is_what_gets_aggregated(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    fake_openai.script("APAC and LATAM in H2.")
    run = drive(SPEC, chat_model, "Sales report for EMEA in Q2")
    await run.start()

    edited = {
        "regions": ["apac", "LATAM", "Mars"],
        "products": ["Training"],
        "start_month": "2024-07",
        "end_month": "2024-12",
    }
    assert await run.decide("edit", edited_args=edited) is None

    state = await run.state()
    assert state["scope"] == {
        "regions": ["APAC", "LATAM"],
        "products": ["Training"],
        "start_month": "2024-07",
        "end_month": "2024-12",
    }
    assert state["figures"]["revenue"] == revenue(["APAC", "LATAM"], "2024-07", "2024-12", ["Training"])
    result = await run.result()
    assert result.outcome == "success" and "scope edited by a reviewer" in result.summary
    assert fake_openai.call_count == 1


async def test_a_response_keeps_the_scope_and_reaches_the_narrative(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    fake_openai.script("Full-year view, with the Enterprise focus requested.")
    run = drive(SPEC, chat_model, "Yearly sales report")
    checkpoint = await run.start()
    assert checkpoint.proposed_action.args["regions"] == ALL_REGIONS

    assert await run.decide("respond", text="Focus on Baton Enterprise") is None

    state = await run.state()
    assert state["note"] == "Focus on Baton Enterprise"
    assert state["figures"]["revenue"] == revenue(ALL_REGIONS, "2024-01", "2024-12")
    assert "Focus on Baton Enterprise" in fake_openai.calls[0].last_user_text
    assert (await run.result()).outcome == "success"
    assert fake_openai.call_count == 1


async def test_ignoring_the_scope_cancels_the_report_without_model_calls(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    run = drive(SPEC, chat_model, "Sales report")
    await run.start()

    assert await run.decide("ignore") is None

    result = await run.result()
    assert result.outcome == "rejected" and "cancelled at the scope check" in result.summary
    assert "figures" not in await run.state()
    assert fake_openai.call_count == 0


async def test_expiry_default_reject_also_cancels(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    run = drive(SPEC, chat_model, "Sales report")
    await run.start()
    assert await run.decide("reject") is None
    assert (await run.result()).outcome == "rejected"


async def test_parameters_override_the_request_text(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    run = drive(SPEC, chat_model, "Sales report for EMEA", {"regions": ["NA"], "start_month": "2024-11"})
    checkpoint = await run.start()
    assert checkpoint.proposed_action.args["regions"] == ["NA"]
    assert (checkpoint.proposed_action.args["start_month"], checkpoint.proposed_action.args["end_month"]) == (
        "2024-11",
        "2024-12",
    )
