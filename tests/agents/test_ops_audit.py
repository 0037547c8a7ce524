"""ops_audit end to end on its real graph, with the real ChatOpenAI against the fake model server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_openai import ChatOpenAI

from sandbox.openai_server import FakeOpenAI, tool_call
from workers.agents.ops_audit import SPEC

PROPOSAL = {
    "summary": "Close telnet on the CI runner and patch OpenSSL on web-3 first.",
    "steps": [
        {"finding_id": "F1", "host": "ci-runner-1", "action": "close_port", "target": "23", "reason": "telnet"},
        {"finding_id": "F2", "host": "web-3", "action": "upgrade_package", "target": "openssl", "reason": "1.1.1f"},
        {"finding_id": "F3", "host": "monitor-1", "action": "renew_certificate", "reason": "4 days left"},
    ],
}


def script_run(fake_openai: FakeOpenAI, proposal: dict[str, Any] = PROPOSAL) -> None:
    fake_openai.script(tool_call("ProposeRemediation", proposal), "Audit done: the riskiest issues are handled.")


def host(state: dict[str, Any], name: str) -> dict[str, Any]:
    return next(h for h in state["inventory"]["hosts"] if h["name"] == name)


async def test_approved_remediation_is_applied_and_reported(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    script_run(fake_openai)
    run = drive(SPEC, chat_model, "Audit prod and fix what is urgent")

    checkpoint = await run.start()

    assert checkpoint is not None and checkpoint.convention == "hitl_middleware"
    assert checkpoint.title == "Approve apply_remediation?"
    assert checkpoint.proposed_action.args["steps"][0]["host"] == "ci-runner-1"
    assert "- ci-runner-1: close_port 23 (F1: telnet)" in checkpoint.description
    assert checkpoint.allowed_decisions == ["accept", "edit", "respond", "reject"]
    assert fake_openai.call_count == 1
    first = fake_openai.calls[0]
    assert first.tool_names == ["ProposeRemediation"] and "FINDINGS_JSON" in first.last_user_text
    assert "Audit prod and fix what is urgent" in first.last_user_text
    assert "telnet" not in str((await run.state()).get("changes", ""))

    assert await run.decide("accept") is None

    state = await run.state()
    assert 23 not in host(state, "ci-runner-1")["open_ports"]
    assert host(state, "web-3")["packages"]["openssl"] == "3.0.13"
    assert host(state, "monitor-1")["cert_expiry"] == "2025-04-06"
    assert [c["status"] for c in state["changes"]] == ["applied"] * 3
    result = await run.result()
    assert result.outcome == "success"
    assert "24 findings" in result.summary and "Applied 3 remediation step(s)." in result.summary
    report = result.artifacts[0]
    assert report.name == "ops_audit_report.md"
    assert report.content.startswith("Audit done") and "| ci-runner-1 | close_port 23 | applied |" in report.content
    assert fake_openai.call_count == 2
    assert '"decision": "approve"' in fake_openai.calls[1].last_user_text
    assert any("Found 24 issues" in p for p in run.progress)


async def test_edited_remediation_applies_only_the_edited_steps(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    script_run(fake_openai)
    run = drive(SPEC, chat_model, "Audit prod")
    await run.start()
    edited = {"summary": "Only the disk.", "steps": [{"host": "api-1", "action": "free_disk_space"}]}

    assert await run.decide("edit", edited_args=edited) is None

    state = await run.state()
    assert host(state, "api-1")["disk_used_pct"] == 60
    assert 23 in host(state, "ci-runner-1")["open_ports"]
    assert [c["host"] for c in state["changes"]] == ["api-1"]
    result = await run.result()
    assert result.outcome == "success" and "Applied 1 remediation step(s) as edited." in result.summary
    assert fake_openai.call_count == 2


async def test_rejected_remediation_changes_nothing_and_says_so(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    script_run(fake_openai)
    run = drive(SPEC, chat_model, "Audit prod")
    await run.start()

    assert await run.decide("reject", text="Change freeze until Monday") is None

    state = await run.state()
    assert "changes" not in state
    assert 23 in host(state, "ci-runner-1")["open_ports"]
    result = await run.result()
    assert result.outcome == "rejected"
    assert "nothing was changed" in result.summary and "Change freeze until Monday" in result.summary
    assert fake_openai.call_count == 2
    assert "Change freeze until Monday" in fake_openai.calls[1].last_user_text


async def test_a_response_instead_of_a_decision_changes_nothing_and_is_reported(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    script_run(fake_openai)
    run = drive(SPEC, chat_model, "Audit prod")
    await run.start()

    assert await run.decide("respond", text="Ops already fixed these by hand") is None

    result = await run.result()
    assert result.outcome == "success"
    assert "the reviewer answered: Ops already fixed these by hand" in result.summary
    assert "changes" not in await run.state()
    assert fake_openai.call_count == 2


async def test_malformed_steps_from_the_model_are_dropped_not_fatal(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    bad = {"summary": "x", "steps": [{"host": "web-3", "action": "reboot_everything"}, PROPOSAL["steps"][0]]}
    script_run(fake_openai, bad)
    run = drive(SPEC, chat_model, "Audit prod")
    checkpoint = await run.start()
    assert checkpoint is not None and len(checkpoint.proposed_action.args["steps"]) == 1


async def test_no_proposal_skips_the_checkpoint_and_changes_nothing(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    fake_openai.script("I would not change anything.", "Nothing to do.")
    run = drive(SPEC, chat_model, "Audit prod")
    assert await run.start() is None
    result = await run.result()
    assert result.outcome == "success" and "No remediation was proposed" in result.summary
    assert fake_openai.call_count == 2


async def test_streamed_model_calls_work_and_usage_is_counted_across_the_pause(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], drive: Callable[..., Any]
) -> None:
    script_run(fake_openai)
    run = drive(SPEC, lambda: chat_model(stream_usage=True), "Audit prod")
    run.stream_modes = ["custom", "updates", "messages"]
    await run.start()
    await run.decide("accept")
    assert (await run.result()).outcome == "success"
    assert all(call.stream for call in fake_openai.calls)
    assert run.usage.usage.llm_calls == 2
    assert run.usage.usage.input_tokens == sum(c.usage["prompt_tokens"] for c in fake_openai.calls if c.usage)
