"""A task's status message as a live plan: the agent's graph steps moving from pending to complete, the checkpoint
as a step waiting for people, a failure or a Stop shown on the step it hit, today's blocks where Slack refuses plan
blocks, and the thread's agent session following the task. Real worker, dev server, bot and fake Slack."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from baton.gateway import TaskGateway
from bot.blocks.ids import ACTION_CANCEL
from bot.origin import SlackOrigin, default_policy, task_request
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import CancellationV1
from sandbox import FakeSlackApi, Message, SlackDelivery
from sandbox.block_limits import block_errors
from tests.bot.test_slack_flows import CHANNEL, final, labels, root_messages, start_ops_audit, task_id_of
from tests.conftest import WorkerFactory
from tests.support import make_request
from workers.plan import plan_of
from workers.registry import AgentContext, load_spec

OPS_AUDIT_STEPS = ["Load", "Scan", "Analyse", "Review", "Apply", "Report"]


@pytest.fixture
def bot_settings(bot_settings: BotSettings) -> BotSettings:
    """The bot as configured for an AI-app workspace: plan rendering (the default) and agent sessions on; the
    requester approves."""
    return bot_settings.model_copy(update={"baton_agent_sessions": True, "baton_approvers": ["U02BOB"]})


def plan(message: Message) -> list[tuple[str, str]]:
    """The (title, status) of every task card of the message's plan block; empty when it has none."""
    blocks = [b for b in message.blocks if b["type"] == "plan"]
    return [(t["title"], t["status"]) for b in blocks for t in b["tasks"]]


def phase_shown(message: Message) -> str:
    """The phase the plan's title names ("ops_audit: Waiting for a decision")."""
    titles = [b["title"] for b in message.blocks if b["type"] == "plan"]
    return titles[0].split(": ", 1)[-1] if titles else ""


def card_details(message: Message, title_prefix: str) -> list[dict[str, Any]]:
    [task] = [t for b in message.blocks if b["type"] == "plan" for t in b["tasks"]
              if t["title"].startswith(title_prefix)]
    assert "details" in task, f"no details on {title_prefix!r}: {message.blocks}"
    return list(task["details"]["elements"][0]["elements"])


async def status_when(slack: FakeSlackApi, root: Message, shows: Callable[[Message], bool]) -> Message:
    """The task's status message once it `shows` what the test waits for."""
    shown = await slack.wait_for(lambda: m if shows(m := slack.message(CHANNEL, root.ts)) else None, timeout=60)
    return copy.deepcopy(shown)  # the fake edits its messages in place


def steps(message: Message) -> list[tuple[str, str]]:
    """The plan without the checkpoint's card."""
    return [(title, state) for title, state in plan(message) if not title.startswith("Decision:")]


async def test_the_status_message_shows_the_graphs_steps_through_a_checkpoint_to_complete(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        waiting = await status_when(slack, root, lambda m: any(t.startswith("Decision:") for t, _ in plan(m)))
        session = slack.methods.sessions.session(CHANNEL, root.ts)
        assert session is not None and session.status == "active", "the session is idle while a person decides"
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        await slack.wait_for(lambda: final(slack, root), timeout=60)
        done = await status_when(slack, root, lambda m: "Completed" in str(m.blocks))
    assert steps(waiting) == [("Load", "complete"), ("Scan", "complete"), ("Analyse", "complete"),
                              ("Review", "complete"), ("Apply", "pending"), ("Report", "pending")]
    decision = [(t, s) for t, s in plan(waiting) if t.startswith("Decision:")]
    assert decision == [(decision[0][0], "in_progress")] and [t for t, _ in plan(waiting)].index(decision[0][0]) == 4
    assert card_details(waiting, "Decision:")[0] == {"type": "text", "text": "Waiting for "}
    assert {"type": "user", "user_id": "U02BOB"} in card_details(waiting, "Decision:")
    assert labels(waiting) == ["Stop"], "the Cancel path, presented as Stop"
    assert plan(done) == [(title, "complete") for title in OPS_AUDIT_STEPS] and labels(done) == []
    # Each notify renders the task as it is when it runs: on a busy machine the first one may already find the task
    # waiting for a person, so the session may open "active" without a "processing" first.
    assert session.history[0] in ("processing", "active") and "active" in session.history
    assert session.history[-1] == "closed"
    assert session.initiator_user_id == "U02BOB"


async def test_a_failure_shows_on_the_step_it_happened_in(
        slack: FakeSlackApi, bot: BotRuntime, agent_worker: WorkerFactory, gateway: TaskGateway,
        notify_task_queue: str) -> None:
    origin = SlackOrigin(team_id=slack.team_id, channel_id=CHANNEL, user_id="U02BOB", identity_ts="1700000000.000300")
    request = task_request(origin, "diagnostic", "fail on purpose", default_policy(bot.settings),
                           notify_task_queue=notify_task_queue,
                           parameters={"steps": 2, "fail": "always", "fail_at_step": 2})
    async with agent_worker():
        assert (await gateway.submit(request)).started
        root = (await slack.wait_for(lambda: root_messages(slack), timeout=30))[0]
        failed = await status_when(slack, root, lambda m: phase_shown(m) == "Failed")
    assert plan(failed) == [("Work", "error"), ("Ask", "pending"), ("Finish", "pending")]
    assert "Diagnostic failure requested at step 2" in card_details(failed, "Work")[0]["text"]


async def test_stop_by_the_requester_cancels_the_task_and_the_plan_shows_who_stopped_it(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        await slack.wait_for(lambda: labels(slack.message(CHANNEL, root.ts)) == ["Stop"])
        clicked = await sender.send_block_actions(user_id="U02BOB", action_id=ACTION_CANCEL, channel_id=CHANNEL,
                                                  message_ts=root.ts, value=_stop_value(slack, root))
        assert clicked.status == 200
        stopped = await status_when(slack, root, lambda m: phase_shown(m) == "Cancelled")
        status = await gateway.status(task_id_of(checkpoint))
    assert status.phase == "cancelled" and status.cancellation is not None and status.cancellation.by == "U02BOB"
    assert steps(stopped)[3] == ("Review", "error"), [(e.node, e.node_finished, e.message) for e in status.events]
    assert steps(stopped)[4:] == [("Apply", "pending"),
                                                                                ("Report", "pending")]
    assert card_details(stopped, "Review")[:2] == [{"type": "text", "text": "Stopped by "},
                                                    {"type": "user", "user_id": "U02BOB"}]
    assert labels(stopped) == []
    session = slack.methods.sessions.session(CHANNEL, root.ts)
    assert session is not None and session.status == "closed"


async def test_stop_by_someone_else_is_refused_privately_and_the_task_keeps_waiting(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        task_id = task_id_of(checkpoint)
        await slack.wait_for(lambda: labels(slack.message(CHANNEL, root.ts)) == ["Stop"])
        await sender.send_block_actions(user_id="U03CAROL", action_id=ACTION_CANCEL, channel_id=CHANNEL,
                                        message_ts=root.ts, value=_stop_value(slack, root))
        [refusal] = await slack.wait_for(lambda: slack.ephemerals(user="U03CAROL"))
        status = await gateway.status(task_id)
        await gateway.cancel(task_id, CancellationV1(by="test", reason="cleanup"))
    assert "Only the requester" in refusal.text
    assert status.phase == "waiting_for_human" and status.cancellation is None
    assert not [m for m in slack.messages_in(CHANNEL) if m.user == "U03CAROL"], "nothing public"


def session_stopped(user: str, root: Message) -> dict[str, Any]:
    """Slack's event for a click on its own Stop control (docs.slack.dev/reference/events/agent_session_stopped)."""
    return {"type": "agent_session_stopped", "channel": CHANNEL, "thread_ts": root.ts, "user": user,
            "streaming_message_ts": [], "event_ts": "1800000000.000100"}


async def test_slacks_stop_control_on_the_agent_session_cancels_the_task_for_its_requester_only(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory,
        gateway: TaskGateway) -> None:
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        task_id = task_id_of(checkpoint)
        refused = await sender.send_event(session_stopped("U03CAROL", root))
        [refusal] = await slack.wait_for(lambda: slack.ephemerals(user="U03CAROL"))
        still = await gateway.status(task_id)
        stopped = await sender.send_event(session_stopped("U02BOB", root))
        shown = await status_when(slack, root, lambda m: phase_shown(m) == "Cancelled")
        status = await gateway.status(task_id)
    assert refused.status == 200 and "Only the requester" in refusal.text and still.cancellation is None
    assert stopped.status == 200 and status.phase == "cancelled" and status.cancellation is not None
    assert status.cancellation.by == "U02BOB" and status.cancellation.reason == "Slack stop control"
    assert card_details(shown, "Review")[:2] == [{"type": "text", "text": "Stopped by "},
                                                  {"type": "user", "user_id": "U02BOB"}]
    session = await slack.wait_for(lambda: (s := slack.methods.sessions.session(CHANNEL, root.ts))
                                   and s.status == "closed" and s)
    assert session.history[-1] == "closed"


async def test_a_workspace_that_refuses_plan_blocks_gets_todays_status_message(
        slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery, agent_worker: WorkerFactory) -> None:
    slack.methods.refused_block_types = {"plan", "task_card"}
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        await slack.wait_for(lambda: final(slack, root), timeout=60)
        done = await status_when(slack, root, lambda m: "Completed" in str(m.blocks))
    assert plan(done) == [] and {b["type"] for b in done.blocks} <= {"section", "context"}
    refused = [c for c in slack.calls if c.method in ("chat.postMessage", "chat.update")
               and c.response.get("error") == "invalid_blocks"]
    assert len(refused) == 1, "refused once; this process then sends today's blocks to the channel directly"


@pytest.mark.parametrize("style", ["blocks", "plan", "plan+sessions"])
async def test_slack_calls_per_task_with_the_plan_and_with_todays_rendering(
        style: str, slack: FakeSlackApi, bot: BotRuntime, sender: SlackDelivery,
        agent_worker: WorkerFactory) -> None:
    """One ops_audit run, approved, counted as Slack sees it: the figure the README quotes (printed with -s)."""
    bot.notifier.status_style = "blocks" if style == "blocks" else "plan"
    bot.notifier.sessions.enabled = style == "plan+sessions"
    async with agent_worker():
        root, checkpoint = await start_ops_audit(slack, sender)
        await sender.send_block_actions(user_id="U02BOB", action_id="baton.decide.accept", channel_id=CHANNEL,
                                        message_ts=checkpoint.ts)
        await slack.wait_for(lambda: final(slack, root), timeout=60)
        await slack.wait_for(lambda: "Completed" in str(slack.message(CHANNEL, root.ts).blocks))
    counted: dict[str, int] = {}
    for call in slack.calls:
        counted[call.method] = counted.get(call.method, 0) + 1
    print(f"\nSlack calls for one ops_audit task ({style}): {sum(counted.values())} {sorted(counted.items())}")
    assert all(c.ok for c in slack.calls if c.method.startswith("chat.")), "nothing refused"
    assert (plan(slack.message(CHANNEL, root.ts)) != []) == (style != "blocks")
    sessions = counted.get("agents.sessions.setStatus", 0)
    assert (2 <= sessions <= 4) if style == "plan+sessions" else sessions == 0, \
        "one call per change of the session's status, at most: processing, active, processing, closed"


def _stop_value(slack: FakeSlackApi, root: Message) -> str:
    message = slack.message(CHANNEL, root.ts)
    return str(next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]))


def test_the_fake_checks_plan_and_task_card_blocks_as_slack_documents_them() -> None:
    good = {"type": "plan", "title": "ops_audit: Running", "tasks": [
        {"type": "task_card", "task_id": "step-0", "title": "Load", "status": "complete"},
        {"type": "task_card", "task_id": "step-1", "title": "Scan", "status": "in_progress",
         "details": {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": []}]}},
    ]}
    assert block_errors([good]) == []
    bad = {"type": "plan", "tasks": [
        {"type": "task_card", "task_id": "", "title": "Load", "status": "done"},
        {"type": "task_card", "task_id": "t", "title": "Scan", "details": {"type": "mrkdwn", "text": "x"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "not a task"}},
    ]}
    assert [e.split("[json-pointer:")[1] for e in block_errors([bad])] == [
        "/blocks/0/title]", "/blocks/0/tasks/0/task_id]", "/blocks/0/tasks/0/status]",
        "/blocks/0/tasks/1/details]", "/blocks/0/tasks/2]"]
    assert block_errors([good], refused={"plan"}) == ["[ERROR] unsupported type: plan [json-pointer:/blocks/0/type]"]


def test_an_agents_label_map_is_its_plan_in_its_order() -> None:
    spec = load_spec("ops_audit")
    graph = spec.build(AgentContext(request=make_request("ops_audit"))).compile()
    labelled = replace(spec, step_labels={"scan": "Scan the fleet", "review": "Ask a person", "apply": "Fix it"})
    assert [(s.node, s.label) for s in plan_of(labelled, graph)] == [
        ("scan", "Scan the fleet"), ("review", "Ask a person"), ("apply", "Fix it")]
    assert [s.node for s in plan_of(spec, graph)] == ["load", "scan", "analyse", "review", "apply", "report"]


def test_a_plan_is_drawn_once_a_graph_shape_and_again_for_a_graph_that_changed_shape() -> None:
    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    from workers import plan as plan_module

    class State(TypedDict):
        n: int

    def graph_of(*nodes: str) -> Any:
        builder = StateGraph(State)
        for node in nodes:
            builder.add_node(node, lambda state: state)
        for source, target in zip((START, *nodes), (*nodes, END), strict=True):
            builder.add_edge(source, target)
        return builder.compile()

    spec = load_spec("ops_audit")
    plan_module._orders.clear()
    assert [s.node for s in plan_of(spec, graph_of("fetch", "sum"))] == ["fetch", "sum"]
    assert [s.node for s in plan_of(spec, graph_of("fetch", "sum"))] == ["fetch", "sum"]
    assert len(plan_module._orders) == 1, "a second build of the same shape reuses the drawn order"
    assert [s.node for s in plan_of(spec, graph_of("sum", "fetch", "mail"))] == ["sum", "fetch", "mail"]
    assert len(plan_module._orders) == 2
