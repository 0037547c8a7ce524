"""`baton status` on a checkpoint decided one action at a time lists each action with what it allows while pending
and its decision once made; a group of questions shows each question with its state."""

from __future__ import annotations

from baton.render import render_status
from contracts import CheckpointV1, DecisionV1, TaskStatusV1, utc_now
from tests.support import make_request
from workers.actions import group_checkpoint, per_action_checkpoint


def status_waiting_at(checkpoint: CheckpointV1) -> TaskStatusV1:
    request = make_request("batch", "tidy up")
    return TaskStatusV1.of_request(request, "waiting_for_human", utc_now(), pending_checkpoint=checkpoint)


def decided(checkpoint: CheckpointV1, index: int, decision: DecisionV1) -> CheckpointV1:
    actions = list(checkpoint.actions)
    actions[index] = actions[index].model_copy(update={"decision": decision})
    return checkpoint.model_copy(update={"actions": actions})


def test_status_lists_each_action_with_its_allowed_decisions_or_the_decision_so_far() -> None:
    checkpoint = per_action_checkpoint("cp", {
        "action_requests": [{"name": "write_file", "args": {"path": "/a"}},
                            {"name": "delete_rows", "args": {"table": "orders"}},
                            {"name": "send_email", "args": {"to": "ops"}}],
        "review_configs": [{"action_name": "write_file", "allowed_decisions": ["approve", "edit", "reject"]},
                           {"action_name": "delete_rows", "allowed_decisions": ["approve", "reject"]},
                           {"action_name": "send_email", "allowed_decisions": ["approve", "edit"]}],
    })
    now = utc_now()
    checkpoint = decided(checkpoint, 1, DecisionV1(checkpoint_id="cp", action=1, decision="reject",
                                                   text="keep the orders\x1b[2J", by="U_LEAD", at=now))
    checkpoint = decided(checkpoint, 2, DecisionV1(checkpoint_id="cp", action=2, decision="edit",
                                                   edited_args={"to": "oncall"}, by="U_OPS", at=now))
    status = status_waiting_at(checkpoint)
    lines = render_status(status, now).splitlines()

    at = lines.index("waiting   Approve 3 actions? [pending] id=cp")
    assert lines[at + 1:at + 5] == [
        f"          decide each action with: baton decide {status.task_id} DECISION --action NUMBER|NAME",
        '          1. write_file {"path":"/a"}: pending (accept | edit | reject)',
        '          2. delete_rows {"table":"orders"}: reject by U_LEAD: keep the orders?[2J',
        '          3. send_email {"to":"ops"}: edit by U_OPS: {"to":"oncall"}',
    ]
    assert not any(line.startswith("          decide with:") for line in lines)


def test_status_shows_each_question_of_a_group_with_its_state() -> None:
    region = CheckpointV1(id="i-region", title="Which region?", allowed_decisions=["respond"])
    budget = CheckpointV1(id="i-budget", title="What budget?", allowed_decisions=["respond"])
    group = group_checkpoint([region, budget])
    now = utc_now()
    group = decided(group, 1, DecisionV1(checkpoint_id=group.id, action=1, decision="respond", text="$500",
                                         by="U_LEAD", at=now))
    status = status_waiting_at(group)
    lines = render_status(status, now).splitlines()

    at = lines.index("waiting   2 questions are waiting [pending] id=i-region")
    assert lines[at + 1:at + 4] == [
        f"          decide each question with: baton decide {status.task_id} DECISION --action NUMBER",
        "          1. Question 1 of 2: Which region?: pending (respond)",
        "          2. Question 2 of 2: What budget?: respond by U_LEAD: $500",
    ]
