"""The demo model drives both example agents through their real graphs, tools and checkpoints, with no network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workers.agents import ops_audit, sales_report
from workers.demo_model import DEMO_LABEL, DemoChatModel
from workers.llm import UsageCounter


async def test_ops_audit_completes_with_the_demo_model_and_applies_its_proposal(drive: Callable[..., Any]) -> None:
    run = drive(ops_audit.SPEC, DemoChatModel, "Audit prod")
    checkpoint = await run.start()
    assert checkpoint is not None
    steps = checkpoint.proposed_action.args["steps"]
    assert len(steps) == 5 and checkpoint.proposed_action.args["summary"].startswith(DEMO_LABEL)
    assert {s["action"] for s in steps} <= {"upgrade_package", "close_port", "free_disk_space", "renew_certificate"}

    assert await run.decide("accept") is None

    result = await run.result()
    assert result.outcome == "success" and "Applied 5 remediation step(s)." in result.summary
    assert result.artifacts[0].content.startswith(f"{DEMO_LABEL} **Audit summary.** 24 findings")
    assert all(c["status"] == "applied" for c in (await run.state())["changes"])


async def test_ops_audit_rejection_with_the_demo_model_reports_no_change(drive: Callable[..., Any]) -> None:
    run = drive(ops_audit.SPEC, DemoChatModel, "Audit prod")
    await run.start()
    await run.decide("reject", text="not now")
    result = await run.result()
    assert result.outcome == "rejected"
    assert "rejected the plan; nothing was changed. Reviewer's note: not now" in result.artifacts[0].content


async def test_sales_report_completes_with_the_demo_model(drive: Callable[..., Any]) -> None:
    run = drive(sales_report.SPEC, DemoChatModel, "Sales report for APAC in H2")
    assert await run.start() is not None
    assert await run.decide("respond", text="mention Training") is None
    result = await run.result()
    assert result.outcome == "success"
    narrative = result.artifacts[0].content
    assert narrative.startswith(f"{DEMO_LABEL} **Sales overview.**")
    assert "Strongest region: APAC" in narrative and "As requested: mention Training." in narrative


async def test_demo_model_labels_free_text_and_reports_usage() -> None:
    counter = UsageCounter()
    reply = await DemoChatModel().ainvoke("hello there", config={"callbacks": [counter]})
    assert str(reply.content).startswith(DEMO_LABEL) and "hello there" in str(reply.content)
    assert counter.usage.llm_calls == 1 and counter.usage.input_tokens > 0 and counter.usage.output_tokens > 0
