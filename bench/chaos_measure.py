"""What a chaos run left behind, read back from Temporal (each task's status and history) and from the fake Slack
(each task's thread), and the per-run counts `bench.chaos` reports. Every count has one exact right value."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from baton.gateway import TaskGateway
from bench.chaos_people import APPROVER, Click, Person
from bench.chaos_slack import HoldingSlack, buttons, thread_messages
from contracts import names
from sandbox import Message

__all__ = ["TaskOutcome", "checkpoint_history", "measure_task", "summarize"]


@dataclass
class TaskOutcome:
    task_id: str
    channel: str
    agent: str
    phase: str
    finals: int
    statuses: int
    cards: dict[str, int]
    """Cards posted per checkpoint id the workflow asked about (and any card for an id it never asked about)."""
    approvals_asked: int
    """Times the agent asked for a decision (run_agent results that were a checkpoint)."""
    decisions_accepted: int
    """`decide` updates Temporal accepted."""
    decisions_per_checkpoint: dict[str, int]
    card_shows_decision: bool
    card_state: list[str]
    """Each card's buttons and text as the person sees it at the end (for diagnosis)."""
    final_completed: bool
    notes: list[str] = field(default_factory=list)


async def checkpoint_history(client: Client, task_id: str) -> tuple[list[str], int]:
    """(checkpoint ids the agent asked about, in order; accepted `decide` updates) from the workflow's history."""
    history = await client.get_workflow_handle(task_id).fetch_history()
    scheduled: dict[int, str] = {}
    asked: list[str] = []
    accepted = 0
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            update = event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            accepted += update == names.DECIDE_UPDATE
        elif event.HasField("activity_task_completed_event_attributes"):
            done = event.activity_task_completed_event_attributes
            if scheduled.get(done.scheduled_event_id) == names.RUN_AGENT_ACTIVITY:
                output: dict[str, Any] = json.loads(done.result.payloads[0].data)
                if output.get("kind") == "interrupted":
                    asked.append(str((output.get("checkpoint") or {}).get("id")))
    return asked, accepted


async def measure_task(client: Client, slack: HoldingSlack, person: Person) -> TaskOutcome:
    assert person.task_id is not None
    task_id = person.task_id
    status = await TaskGateway(client).status(task_id)
    asked, accepted = await checkpoint_history(client, task_id)
    parts = thread_messages(slack, person.channel, task_id)
    cards = {cid: len(parts.get(f"checkpoint:{cid}", [])) for cid in asked}
    cards.update({p.split(":", 1)[1]: len(m) for p, m in parts.items()
                  if p.startswith("checkpoint:") and p.split(":", 1)[1] not in cards})
    decided = Counter(d.checkpoint_id for d in status.decisions)
    card_messages = [m for p, found in parts.items() if p.startswith("checkpoint:") for m in found]
    finals = parts.get("final", [])
    return TaskOutcome(
        task_id=task_id, channel=person.channel, agent=person.agent, phase=status.phase,
        finals=len(finals), statuses=len(parts.get("status", [])), cards=cards, approvals_asked=len(asked),
        decisions_accepted=accepted, decisions_per_checkpoint=dict(decided),
        card_shows_decision=bool(card_messages) and all(
            not buttons(m) and f"by <@{APPROVER}>" in str(m.blocks) for m in card_messages),
        card_state=[f"buttons={buttons(m)} text={_texts(m)[:300]!r}" for m in card_messages],
        final_completed=len(finals) == 1 and "Completed" in str(finals[0].blocks),
        notes=list(person.notes),
    )


def _texts(message: Message) -> str:
    return " | ".join(str((b.get("text") or {}).get("text", "")) for b in message.blocks if b.get("type") == "section")


def _counter(values: list[int]) -> dict[str, int]:
    """{value: how many}, keys as strings (JSON), sorted: {"1": 30} is the only right answer for most counts."""
    return {str(k): v for k, v in sorted(Counter(values).items())}


def summarize(tasks: int, persons: list[Person], outcomes: list[TaskOutcome], clicks: list[Click],
              kills: dict[str, int], planned_kills: dict[str, int]) -> dict[str, Any]:
    """The per-run counts, and whether each is exact."""
    started = [p for p in persons if p.task_id]
    finished = [p for p in started if p.finished_at is not None]
    completed = [o for o in outcomes if o.phase == "completed"]
    checkpoints = [n for o in outcomes for n in o.cards.values()]
    twice = sum(1 for o in outcomes for n in o.decisions_per_checkpoint.values() if n > 1) + sum(
        1 for o in outcomes if o.decisions_accepted > max(o.approvals_asked, 1))
    kinds = Counter(c.kind or ("undelivered" if c.delivery_error or c.status != 200 else "unanswered")
                    for c in clicks)
    counts: dict[str, Any] = {
        "tasks_started": len(started),
        "tasks_completed": len(completed),
        "finals_per_task": _counter([o.finals for o in outcomes]),
        "status_messages_per_task": _counter([o.statuses for o in outcomes]),
        "cards_per_checkpoint": _counter(checkpoints),
        "approvals_asked_per_checkpoint": _counter([o.approvals_asked for o in outcomes]),
        "decisions_recorded_twice": twice,
        "approvers_wrongly_refused": kinds.get("no_longer_pending", 0),
        "tasks_stuck": len(started) - len(finished) + (tasks - len(started)),
        "kills": kills,
        "clicks": {"total": len(clicks), **dict(sorted(kinds.items()))},
        "cards_not_showing_the_decision": sum(1 for o in outcomes if not o.card_shows_decision),
    }
    exact = {
        "tasks_completed": len(completed) == tasks,
        "finals_per_task": counts["finals_per_task"] == {"1": tasks},
        "status_messages_per_task": counts["status_messages_per_task"] == {"1": tasks},
        "cards_per_checkpoint": counts["cards_per_checkpoint"] == {"1": tasks},
        "approvals_asked_per_checkpoint": counts["approvals_asked_per_checkpoint"] == {"1": tasks},
        "decisions_recorded_twice": twice == 0,
        "approvers_wrongly_refused": counts["approvers_wrongly_refused"] == 0,
        "tasks_stuck": counts["tasks_stuck"] == 0,
        "kills": kills == planned_kills,
        "cards_show_the_decision": counts["cards_not_showing_the_decision"] == 0,
    }
    counts["exact"] = exact
    counts["all_exact"] = all(exact.values())
    return counts
