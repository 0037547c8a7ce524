"""The interrupt adapter maps each convention to a checkpoint and each decision back to its exact resume value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import CheckpointV1, DecisionKind, DecisionV1
from workers.interrupts import checkpoint_from_interrupt, detect_convention, resume_command, resume_value
from workers.plain_answers import UNDECLARED_NOTE, PlainAnswers

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ID = "0123456789abcdef0123456789abcdef"

HITL_ONE = {
    "action_requests": [
        {"name": "apply_remediation", "args": {"host": "web-1", "fix": "patch"}, "description": "Patch web-1"}
    ],
    "review_configs": [{"action_name": "apply_remediation", "allowed_decisions": ["approve", "edit", "reject"]}],
}
HITL_TWO = {
    "action_requests": [
        {"name": "send_email", "args": {"to": "a@x"}, "description": "Email"},
        {"name": "delete_file", "args": {"path": "/r"}, "description": "Delete"},
    ],
    "review_configs": [
        {"action_name": "send_email", "allowed_decisions": ["approve", "edit", "reject", "respond"]},
        {"action_name": "delete_file", "allowed_decisions": ["approve", "reject"]},
    ],
}
PER_CALL = {
    "type": "tool_approval",
    "tool_call_id": "call_1",
    "name": "delete_file",
    "args": {"path": "/r"},
    "description": "Delete /r",
}
INBOX = [
    {
        "action_request": {"action": "confirm_scope", "args": {"region": "EMEA", "months": ["2024-01"]}},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
        "description": "Confirm the report scope",
    }
]


def decide(kind: DecisionKind, **extra: Any) -> DecisionV1:
    return DecisionV1(checkpoint_id=ID, decision=kind, by="U1", at=NOW, **extra)


def cp(value: Any, **kwargs: Any) -> CheckpointV1:
    return checkpoint_from_interrupt(ID, value, **kwargs)


AGENT_FIELDS = {"id", "title", "description", "proposed_action", "allowed_decisions", "convention", "raw_interrupt",
                "actions"}


@pytest.mark.parametrize("value", [HITL_ONE, HITL_TWO, PER_CALL, INBOX, "Which region?", {"question": "Proceed?"}])
def test_checkpoint_carries_what_the_agent_asked_and_no_policy_or_clock(value: Any) -> None:
    """Who may decide, the quorum, the clock and the state are the workflow's to stamp (its own tests check it)."""
    checkpoint = cp(value)
    assert checkpoint.id == ID
    assert checkpoint.model_fields_set <= AGENT_FIELDS
    assert checkpoint.allowed_users == [] and checkpoint.quorum == 1 and checkpoint.approvals == []
    assert checkpoint.created_at is None and checkpoint.expires_at is None and checkpoint.state == "pending"


def test_checkpoint_survives_a_json_round_trip_and_still_maps_decisions() -> None:
    for value in (HITL_ONE, HITL_TWO, PER_CALL, INBOX, "Which region?", {"question": "Proceed?"}):
        checkpoint = cp(value)
        again = CheckpointV1.model_validate_json(checkpoint.model_dump_json())
        assert again == checkpoint
        assert resume_value(again, decide("accept")) == resume_value(checkpoint, decide("accept"))


@pytest.mark.parametrize(
    ("value", "convention"),
    [
        (HITL_ONE, "hitl_middleware"),
        (PER_CALL, "hitl_middleware"),
        (INBOX, "agent_inbox"),
        (INBOX[0], "agent_inbox"),
        ("question?", "plain"),
        ({"question": "ok?"}, "plain"),
        (42, "plain"),
    ],
)
def test_conventions_are_detected_from_the_value(value: Any, convention: str) -> None:
    assert detect_convention(value) == convention


# -- HumanInTheLoopMiddleware ---------------------------------------------------------------------------------


def test_hitl_request_becomes_a_checkpoint_with_its_action_and_allowed_decisions() -> None:
    checkpoint = cp(HITL_ONE)
    assert checkpoint.convention == "hitl_middleware"
    assert checkpoint.title == "Approve apply_remediation?"
    assert checkpoint.description == "Patch web-1"
    assert checkpoint.proposed_action is not None
    assert (checkpoint.proposed_action.name, checkpoint.proposed_action.args) == (
        "apply_remediation",
        {"host": "web-1", "fix": "patch"},
    )
    assert checkpoint.allowed_decisions == ["accept", "edit", "reject"]


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (decide("accept"), {"decisions": [{"type": "approve"}]}),
        (
            decide("edit", edited_args={"host": "web-1", "fix": "restart"}),
            {
                "decisions": [
                    {
                        "type": "edit",
                        "edited_action": {"name": "apply_remediation", "args": {"host": "web-1", "fix": "restart"}},
                    }
                ]
            },
        ),
        (decide("reject"), {"decisions": [{"type": "reject"}]}),
        (
            decide("reject", text="Not during business hours"),
            {"decisions": [{"type": "reject", "message": "Not during business hours"}]},
        ),
        (
            decide("respond", text="Already patched by hand"),
            {"decisions": [{"type": "respond", "message": "Already patched by hand"}]},
        ),
        (decide("ignore"), {"decisions": [{"type": "reject", "message": "No decision was made in time."}]}),
    ],
)
def test_hitl_decisions_become_the_middlewares_hitl_response(decision: DecisionV1, expected: Any) -> None:
    assert resume_value(cp(HITL_ONE), decision) == expected


def test_hitl_edit_without_args_keeps_the_proposed_args() -> None:
    value = resume_value(cp(HITL_ONE), decide("edit"))
    assert value["decisions"][0]["edited_action"]["args"] == {"host": "web-1", "fix": "patch"}


def test_hitl_batch_offers_only_decisions_every_action_allows_and_answers_each() -> None:
    checkpoint = cp(HITL_TWO)
    assert checkpoint.allowed_decisions == ["accept", "reject"]
    assert checkpoint.title == "Approve 2 actions?"
    assert resume_value(checkpoint, decide("accept")) == {"decisions": [{"type": "approve"}, {"type": "approve"}]}
    assert resume_value(checkpoint, decide("reject", text="no")) == {
        "decisions": [{"type": "reject", "message": "no"}, {"type": "reject", "message": "no"}]
    }


def test_hitl_per_call_request_resumes_with_a_single_decision() -> None:
    checkpoint = cp(PER_CALL)
    assert checkpoint.allowed_decisions == ["accept", "edit", "respond", "reject"]
    assert resume_value(checkpoint, decide("accept")) == {"type": "approve"}
    assert resume_value(checkpoint, decide("edit", edited_args={"path": "/s"})) == {
        "type": "edit",
        "edited_action": {"name": "delete_file", "args": {"path": "/s"}},
    }


def test_hitl_per_call_response_schema_narrows_the_allowed_decisions() -> None:
    schema = {"oneOf": [{"properties": {"type": {"const": "approve"}}}, {"properties": {"type": {"const": "reject"}}}]}
    assert cp(PER_CALL, response_schema=schema).allowed_decisions == ["accept", "reject"]


# -- Agent Inbox ----------------------------------------------------------------------------------------------


def test_human_interrupt_becomes_a_checkpoint_with_the_allowed_flags() -> None:
    checkpoint = cp(INBOX)
    assert checkpoint.convention == "agent_inbox"
    assert checkpoint.title == "confirm_scope" and checkpoint.description == "Confirm the report scope"
    assert checkpoint.allowed_decisions == ["accept", "edit", "respond", "ignore"]
    narrow = [
        {
            **INBOX[0],
            "config": {"allow_accept": True, "allow_edit": False, "allow_respond": False, "allow_ignore": True},
        }
    ]
    assert cp(narrow).allowed_decisions == ["accept", "ignore"]


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (decide("accept"), [{"type": "accept", "args": None}]),
        (
            decide("edit", edited_args={"region": "APAC", "months": ["2024-02"]}),
            [{"type": "edit", "args": {"action": "confirm_scope", "args": {"region": "APAC", "months": ["2024-02"]}}}],
        ),
        (decide("respond", text="Use fiscal months"), [{"type": "response", "args": "Use fiscal months"}]),
        (decide("ignore"), [{"type": "ignore", "args": None}]),
        (decide("reject"), [{"type": "ignore", "args": None}]),
        (decide("reject", text="expired"), [{"type": "ignore", "args": None}]),
    ],
)
def test_inbox_decisions_become_a_one_item_list_of_human_responses(decision: DecisionV1, expected: Any) -> None:
    assert resume_value(cp(INBOX), decision) == expected
    assert resume_value(cp(INBOX[0]), decision) == expected


# -- plain ----------------------------------------------------------------------------------------------------


def test_undeclared_plain_question_offers_respond_alone_and_passes_the_answer_as_typed() -> None:
    checkpoint = cp("Which region should the report cover?\nDefault: all.")
    assert checkpoint.convention == "plain"
    assert checkpoint.title == "Which region should the report cover?"
    assert checkpoint.description == f"Which region should the report cover?\nDefault: all.\n\n{UNDECLARED_NOTE}"
    assert checkpoint.allowed_decisions == ["respond"]
    assert resume_value(checkpoint, decide("respond", text="EMEA")) == "EMEA"
    assert resume_value(checkpoint, decide("respond", text='{"region": "EMEA"}', text_is_json=True)) == {
        "region": "EMEA"
    }


def test_declared_plain_question_offers_and_resumes_with_the_declared_values() -> None:
    declared = PlainAnswers(approve=True, reject=False, respond="text")
    checkpoint = cp("Which region should the report cover?", plain=declared)
    assert checkpoint.allowed_decisions == ["accept", "respond", "reject"]
    assert resume_value(checkpoint, decide("respond", text="EMEA"), declared) == "EMEA"
    assert resume_value(checkpoint, decide("accept"), declared) is True
    assert resume_value(checkpoint, decide("reject"), declared) is False
    assert resume_value(checkpoint, decide("ignore"), declared) is False


def test_plain_dict_uses_its_question_as_title_and_the_rest_as_description() -> None:
    checkpoint = cp({"question": "Proceed with the migration?", "details": {"tables": 3}})
    assert checkpoint.title == "Proceed with the migration?"
    assert checkpoint.description == f'details: {{"tables": 3}}\n\n{UNDECLARED_NOTE}'


def test_resume_command_is_keyed_by_the_interrupt_id() -> None:
    command = resume_command(cp("q?"), decide("respond", text="a"))
    assert command.resume == {ID: "a"}
