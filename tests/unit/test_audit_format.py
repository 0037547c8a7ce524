"""The audit trail's pure parts: `--since`, the edited-arguments diff, rows read from recorded histories (an expiry,
a quorum with an edit, a run from before approvals were logged), the table and JSON lines, the `baton status`
"Decisions:" section, and the final Slack message's decision trail."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.audit import (
    DecisionRow,
    NotATask,
    args_diff,
    format_json_lines,
    parse_since,
    rows_from_history,
    rows_from_status,
)
from baton.render import diff_summary, format_table, render_status
from bot.blocks import final_message
from bot.blocks.final import MAX_DECISIONS_SHOWN, decision_trail
from contracts import ApprovalPolicyV1, ApprovalV1, DecisionRecordV1, TaskResultV1
from sandbox.block_limits import block_errors
from tests.bot.factories import T0, make_status

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
JSON_KEYS = ["task_id", "agent", "checkpoint_id", "checkpoint_title", "action", "decision", "by", "at", "expired",
             "text", "requester", "policy", "quorum", "args_diff"]


async def rows_of(name: str) -> list[DecisionRow]:
    path = HISTORIES / f"{name}.json"
    return await rows_from_history(WorkflowHistory.from_json(name, path.read_text()), pydantic_data_converter)


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)), ("12h", timedelta(hours=12)), ("7d", timedelta(days=7)),
    (" 2W ", timedelta(weeks=2)), ("45s", timedelta(seconds=45)),
])
def test_since_accepts_minutes_hours_days(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7x", "-1d", "0h", "1.5h", "7 days", "1d2h", "99999999d", "5000w"])
def test_since_refuses_anything_else_in_one_line(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_since(text)
    assert "\n" not in str(refused.value) and "--since" in str(refused.value)


def test_diff_names_changed_added_and_removed_keys_by_path() -> None:
    before = {"env": "prod", "replicas": 3, "opts": {"drain": True, "timeout": 30}, "note": "x"}
    after = {"env": "prod", "replicas": 1, "opts": {"drain": True, "timeout": 60}, "force": True}
    assert args_diff(before, after) == {
        "replicas": {"from": 3, "to": 1},
        "opts.timeout": {"from": 30, "to": 60},
        "note": {"from": "x"},
        "force": {"to": True},
    }
    assert args_diff(before, dict(reversed(list(before.items())))) == {}, "key order is not a change"


def test_diff_compares_values_as_json_like_the_quorum_digest() -> None:
    assert args_diff({"n": 1}, {"n": True}) == {"n": {"from": 1, "to": True}}
    assert args_diff({"n": 1}, {"n": 1.0}) == {"n": {"from": 1, "to": 1.0}}
    assert args_diff({"n": None}, {"n": None}) == {}


def test_diff_matches_list_items_by_content_so_dropping_one_step_is_one_removal() -> None:
    steps = [{"host": "a"}, {"host": "b"}, {"host": "c"}]
    assert args_diff({"steps": steps}, {"steps": [steps[0], steps[2]]}) == {"steps[1]": {"from": {"host": "b"}}}
    assert args_diff({"steps": steps}, {"steps": [*steps, {"host": "d"}]}) == {"steps[3]": {"to": {"host": "d"}}}
    changed = [steps[0], {"host": "B"}, steps[2]]
    assert args_diff({"steps": steps}, {"steps": changed}) == {"steps[1].host": {"from": "b", "to": "B"}}


def test_diff_summary_is_one_compact_line() -> None:
    diff = args_diff({"replicas": 3, "steps": [{"host": "a" * 80}], "x": 1}, {"replicas": 1, "steps": [], "y": 2})
    summary = diff_summary(diff)
    assert summary.startswith("replicas: 3 → 1; steps[0]: removed {\"host\":\"aaaa")
    assert "…" in summary and "x: removed 1" in summary and "y: added 2" in summary and "\n" not in summary
    assert diff_summary(None) == "-" and diff_summary({}) == "arguments unchanged"


async def test_a_recorded_expiry_is_a_row_of_the_policys_default() -> None:
    [row] = await rows_of("expired_after_escalation")
    assert (row.decision, row.by, row.expired, row.checkpoint_title) == ("reject", "expiry", True, "Ship it?")
    assert row.approvals == () and row.args_diff is None
    assert row.requester.channel_id == "C_OPS" and row.policy.on_expiry == "reject"
    record = row.to_json()
    assert record["expired"] is True and record["quorum"] == {"required": 1, "approvals": 0, "approved_by": [],
                                                             "withdrawn": []}
    assert "reject (expiry default)" in format_table([row])


async def test_a_recorded_quorum_edit_shows_the_diff_the_approvals_and_whom_the_edit_withdrew() -> None:
    [row] = await rows_of("quorum_edit_withdraws_then_accept")
    assert (row.decision, row.by, row.quorum, row.action) == ("edit", "U_C", 2, "apply_remediation")
    assert [(a.by, a.decision) for a in row.approvals] == [("U_B", "edit"), ("U_C", "accept")]
    assert [(a.by, a.withdrawn_by) for a in row.withdrawn] == [("U_A", "U_B")]
    assert row.args_diff, "the agent resumed with other arguments than it proposed"
    record = json.loads(format_json_lines([row]))
    assert list(record) == JSON_KEYS
    assert record["quorum"]["approvals"] == 2 and record["quorum"]["withdrawn"][0]["withdrawn_by"] == "U_B"
    assert record["args_diff"] == row.args_diff and record["at"].endswith("Z")


async def test_a_run_recorded_before_approvals_were_logged_still_counts_its_quorum() -> None:
    [row] = await rows_of("quorum_two_of_two")
    assert (row.decision, row.by) == ("accept", "U_B")
    assert [a.by for a in row.approvals] == ["U_A", "U_B"] and row.approvals[1].at == row.at
    assert "2/2 U_A U_B" in format_table([row])


async def test_a_quorum_of_one_edit_and_two_checkpoints_are_rows_in_order() -> None:
    [edit] = await rows_of("sales_report_edited")
    assert edit.decision == "edit" and edit.args_diff and [a.by for a in edit.approvals] == ["U_A"]
    rows = await rows_of("two_checkpoints")
    assert [(r.decision, r.by) for r in rows] == [("respond", "U_A"), ("accept", "U_B")]
    assert rows[0].text and rows[0].args_diff is None


async def test_a_history_of_another_workflow_is_not_a_task() -> None:
    history = WorkflowHistory.from_json("x", (HISTORIES / "diagnostic_completed.json").read_text())
    started = history.events[0].workflow_execution_started_event_attributes
    started.workflow_type.name = "ConversationWorkflow"
    with pytest.raises(NotATask):
        await rows_from_history(history, pydantic_data_converter)


async def test_the_table_aligns_columns_cuts_long_cells_and_says_when_there_is_nothing() -> None:
    rows = [*await rows_of("two_checkpoints"), *await rows_of("quorum_edit_withdraws_then_accept")]
    table = format_table(rows).splitlines()
    assert table[0].split()[:4] == ["AT", "(UTC)", "TASK", "AGENT"] and len(table) == 4
    starts = {line.index(rows[i].task_id) for i, line in enumerate(table[1:])}
    assert len(starts) == 1, "the TASK column starts at the same place on every line"
    assert "withdrawn: U_A" in table[3] and "approvers=U_A,U_B,U_C quorum=2" in table[3]
    assert format_table([]) == "No decisions." and format_json_lines([]) == ""


async def test_terminal_output_shows_control_characters_from_agents_as_question_marks() -> None:
    row = (await rows_of("two_checkpoints"))[0]
    hostile = replace(row, checkpoint_title="\x1b[2JWiped\x07", text="fine\x1b]0;owned\x07")
    table = format_table([hostile])
    status = render_status(make_status(), T0, trail=[hostile])
    for text in (table, status):
        assert "\x1b" not in text and "\x07" not in text
    assert "?[2JWiped?" in table and "?]0;owned?" in status
    assert "\\u001b" in format_json_lines([hostile]), "JSON escapes them"


def test_rows_from_a_status_know_who_and_when_but_not_the_arguments() -> None:
    status = make_status(approval=ApprovalPolicyV1(quorum=2), decisions=[DecisionRecordV1(
        checkpoint_id="cp-1", checkpoint_title="Restart web-1?", decision="edit", by="U02BOB", at=T0,
        approvals=[ApprovalV1(by="U01ALICE", decision="edit", args_digest="d", at=T0),
                   ApprovalV1(by="U02BOB", decision="accept", args_digest="d", at=T0)])])
    [row] = rows_from_status(status)
    assert [a.by for a in row.approvals] == ["U01ALICE", "U02BOB"] and row.args_diff is None
    assert row.requester.team_id == "T0BATON"


async def test_status_shows_a_decisions_section_with_the_quorum_and_what_the_edit_changed() -> None:
    trail = await rows_of("quorum_edit_withdraws_then_accept")
    text = render_status(make_status(phase="completed"), T0, trail=trail)
    decisions = text.split("Decisions:\n", 1)[1].splitlines()
    assert "edit by U_C; 2 of 2 approvals (U_B (edit), U_C); withdrawn: U_A" in decisions[0]
    assert decisions[1].strip().startswith("edited: steps")
    expired = render_status(make_status(phase="completed"), T0, trail=await rows_of("expired_after_escalation"))
    assert "Ship it?: reject by the policy's default on expiry" in expired
    assert "reason: No decision before the checkpoint expired" in expired
    assert "Decisions:" not in render_status(make_status(), T0)


def record(n: int, **overrides: object) -> DecisionRecordV1:
    values: dict[str, object] = {"checkpoint_id": f"cp-{n}", "checkpoint_title": f"Step {n}?", "decision": "accept",
                                 "by": "U01ALICE", "at": T0 + timedelta(minutes=n)}
    values.update(overrides)
    return DecisionRecordV1(**values)  # type: ignore[arg-type]


def test_final_message_lists_the_decisions_with_mentions_dates_and_the_quorum() -> None:
    decisions = [
        record(1, decision="edit", by="U02BOB", approvals=[
            ApprovalV1(by="U01ALICE", decision="edit", args_digest="d", at=T0),
            ApprovalV1(by="U02BOB", decision="accept", args_digest="d", at=T0)]),
        record(2, decision="reject", by="expiry", text="No decision before the checkpoint expired"),
    ]
    status = make_status(phase="completed", decisions=decisions, approval=ApprovalPolicyV1(quorum=2),
                         result=TaskResultV1(outcome="success", summary="done"))
    rendered = final_message(status)
    assert not block_errors(rendered.blocks)
    [trail] = [b for b in rendered.blocks if b["type"] == "context" and "*Decisions*" in b["elements"][0]["text"]]
    text = trail["elements"][0]["text"]
    first, second = text.splitlines()[1:]
    assert first.startswith("Step 1?: edited and approved by <@U02BOB> · <!date^")
    assert first.endswith("2 of 2 approvals: <@U01ALICE> (edit), <@U02BOB>")
    assert second.startswith("Step 2?: rejected by the policy's default on expiry · <!date^")


def test_final_message_decision_trail_escapes_titles_and_stops_at_ten_with_and_n_more() -> None:
    hostile = "<!channel> <@U09EVIL> <https://evil.example|bank.com>"
    decisions = [record(n, checkpoint_title=hostile, by="U0ADMIN>|<!channel") for n in range(25)]
    trail = decision_trail(decisions)
    assert trail is not None
    lines = trail.splitlines()
    assert len(lines) == 1 + MAX_DECISIONS_SHOWN + 1 and lines[-1] == "_and 15 more_"
    assert "<!channel>" not in trail and "<@U09EVIL>" not in trail and "<https://evil" not in trail
    status = make_status(phase="completed", decisions=decisions, result=TaskResultV1(outcome="success"))
    assert not block_errors(final_message(status).blocks)


def test_final_message_decision_trail_fits_a_context_element_whatever_the_titles() -> None:
    decisions = [record(n, checkpoint_title="&" * 500) for n in range(12)]  # each `&` is five characters escaped
    trail = decision_trail(decisions)
    assert trail is not None and len(trail) <= 2000
    assert trail.splitlines()[-1].startswith("_and ") and "12 more" not in trail
    assert decision_trail([]) is None
