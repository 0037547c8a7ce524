"""Hostile text on every bot path reaches Slack inert: only the mentions and links Baton builds itself are live.

Slack markup (`<!channel>`, `<@U…>`, `<#C…>`, `<https://…|label>`) is hostile when an agent, a model, a request or a
checkpoint writes it. This test puts such text everywhere it can enter (a `/baton run` request, the worker's agent
description, a progress message, two checkpoints, a person's answer, a cancel reason, an agent's error, its summary
and artifacts, the front agent's replies to a mention and a DM) and drives every surface through the real bot, the
real worker and the real Temporal dev server: commands, ephemerals, the status message, cards, modals, App Home,
reminders, final messages, refusals and "already decided". Then it reads every call the fake Slack received, and
every answer the bot gave Slack's requests, and finds no control sequence that Baton did not build itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import SecretStr
from temporalio.client import Client

from baton.gateway import TaskGateway
from bot.blocks import ButtonRef
from bot.runtime import BotRuntime
from bot.settings import BotSettings
from contracts import AgentInfoV1, ArtifactV1, NotifyInputV1, TaskRequestV1, TaskResultV1
from sandbox import DEFAULT_SIGNING_SECRET, DeliveryResult, FakeSlackApi, Message, SlackDelivery
from sandbox.openai_server import FakeOpenAI
from tests.conftest import WorkerFactory
from tests.support import status_when
from workers.errors import AgentError
from workers.plain_answers import PlainAnswers
from workers.registry import AgentContext, AgentRegistry, AgentSpec

CHANNEL = "C02OPS"
DM = "D01BOB"
REQUESTER, APPROVER, BYSTANDER = "U02BOB", "U01ALICE", "U03CAROL"
PEOPLE = (REQUESTER, APPROVER, BYSTANDER)
"""Every person the test acts as: the only ids Baton may mention (as requester, approver, decider or clicker)."""

HOSTILE = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S01APPROVERS|@approvers>",
    "<!date^1700000000^{date}|soon>",
    "<@U0ADMIN>",
    "<@U0ADMIN|admin>",
    "<#C0SECRET>",
    "<#C0SECRET|secret>",
    "<https://evil.example|click me>",
    "<http://evil.example>",
    "<mailto:boss@evil.example|your boss>",
    "&lt;!channel&gt;",  # already escaped: must stay text, never be decoded into markup
    "*bold* _italic_ ~strike~ `code` ```fence``` > quote",
)
HOSTILE_TEXT = " ".join(HOSTILE)
LONG_HOSTILE = (HOSTILE_TEXT + "\n") * 40  # ~9,000 characters: cut, uploaded, never a markup fragment
ALREADY_ESCAPED_SHOWN = "&amp;lt;!channel&amp;gt;"

ACTION_NAME = "<!channel> restart <@U0ADMIN>"
QUESTION = "<!here> ship it to <#C0SECRET>? <https://evil.example|yes>"
DESCRIPTION = "Audits nothing <!channel> <@U0ADMIN> <https://evil.example|docs>"

DANGEROUS = re.compile(r"<(?:!|@|#|https?:|mailto:)", re.IGNORECASE)
"""What makes Slack ping, name a channel or show a link: `<!…>`, `<@…>`, `<#…>`, `<http…>`, `<mailto:…>`."""


# -- the hostile agent ----------------------------------------------------------------------------------------


class HostileState(TypedDict, total=False):
    text: str
    mode: str
    first: Any
    second: Any


async def work(state: HostileState) -> HostileState:
    get_stream_writer()({"progress": "Looking at " + HOSTILE_TEXT, "node": "work"})
    if state["mode"] == "fail":
        raise AgentError("The agent failed: " + HOSTILE_TEXT)
    return {}


async def first_gate(state: HostileState) -> HostileState:
    request = {
        "action_requests": [{"name": ACTION_NAME, "description": HOSTILE_TEXT,
                             "args": {"host": HOSTILE_TEXT, "link": "<https://evil.example|click me>"}}],
        "review_configs": [{"action_name": ACTION_NAME, "allowed_decisions": ["approve", "edit", "reject", "respond"]}],
    }
    return {"first": interrupt(request)["decisions"][0]}


async def second_gate(state: HostileState) -> HostileState:
    return {"second": interrupt({"question": QUESTION, "why": HOSTILE_TEXT})}


def make_hostile_graph(ctx: AgentContext) -> StateGraph[HostileState]:
    """START -> work (progress; raises in "fail" mode) -> first_gate (HITL) -> second_gate (plain) -> END"""
    builder = StateGraph(HostileState)
    builder.add_node("work", work)
    builder.add_node("first_gate", first_gate)
    builder.add_node("second_gate", second_gate)
    builder.add_edge(START, "work")
    builder.add_edge("work", "first_gate")
    builder.add_edge("first_gate", "second_gate")
    builder.add_edge("second_gate", END)
    return builder


def initial_state(request: TaskRequestV1) -> dict[str, Any]:
    return {"text": request.text, "mode": request.text.split(" ", 1)[0]}


def result_from_state(state: dict[str, Any]) -> TaskResultV1:
    summary = f"Done for {state.get('text')}\nFirst answer: {state.get('first')}\n{LONG_HOSTILE}"
    return TaskResultV1(outcome="success", summary=summary, artifacts=[
        ArtifactV1(name="<!here> report <#C0SECRET>", content=HOSTILE_TEXT),
        ArtifactV1(name="<!channel> dump <https://evil.example|x>", content=LONG_HOSTILE),
    ])


HOSTILE_AGENT = AgentSpec(name="hostile", description=DESCRIPTION, build=make_hostile_graph,
                          initial_state=initial_state, result_from_state=result_from_state, total_steps=3,
                          plain_answers={"second_gate": PlainAnswers(approve=True, reject=False, respond="text")})


# -- reading what Slack received ------------------------------------------------------------------------------


def allowed_markup(ui_url: str) -> re.Pattern[str]:
    """The control sequences Baton builds: mentions of the people in this test, Slack dates, Temporal UI links."""
    people = "|".join(PEOPLE)
    return re.compile(
        rf"<@(?:{people})>"
        r"|<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>|]*>"
        rf"|<{re.escape(ui_url)}/[^\s|<>]*\|[^<>|]*>"
    )


def displayed_strings(value: Any) -> Iterator[str]:
    """Every string Slack may parse as mrkdwn in a call's arguments (JSON-encoded arguments included).

    Skipped, because Slack never parses them: the text of `plain_text` objects (headers, buttons, labels) and an
    input's `initial_value` (the Edit modal's arguments, which must stay exact)."""
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return
        for key, item in value.items():
            if key != "initial_value":
                yield from displayed_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from displayed_strings(item)
    elif isinstance(value, str):
        if value[:1] in "[{":
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                yield from displayed_strings(parsed)
                return
        yield value


def violations(value: Any, allowed: re.Pattern[str]) -> list[str]:
    found = []
    for text in displayed_strings(value):
        for hit in DANGEROUS.finditer(text):
            if not allowed.match(text, hit.start()):
                found.append(text[max(0, hit.start() - 30):hit.start() + 50])
    return found


def posted(slack: FakeSlackApi, task_id: str, part: str) -> list[Message]:
    """The messages the notifier posted for `task_id` whose part starts with `part` (status, checkpoint:, final)."""
    found = []
    for message in slack.messages_in(CHANNEL):
        payload = (message.metadata or {}).get("event_payload") or {}
        if payload.get("task_id") == task_id and str(payload.get("part", "")).startswith(part):
            found.append(message)
    return found


def started_task(slack: FakeSlackApi, user: str, already: set[str]) -> str | None:
    """The id in the newest "Started `…`" answer to `user` that is not in `already`."""
    for ephemeral in reversed(slack.ephemerals(user=user)):
        match = re.search(r"Started `([^`]+)`", ephemeral.text)
        if match and match.group(1) not in already:
            return match.group(1)
    return None


def has_buttons(message: Message) -> bool:
    return any(b.get("type") == "actions" for b in message.blocks)


# -- the test -------------------------------------------------------------------------------------------------


async def test_hostile_text_on_every_bot_path_reaches_slack_inert(
        slack: FakeSlackApi, bot_settings: BotSettings, temporal_client: Client, task_queue: str,
        agent_worker: WorkerFactory, gateway: TaskGateway) -> None:
    settings = bot_settings.model_copy(update={"baton_approvers": [APPROVER]})
    async with FakeOpenAI() as model:
        settings = settings.model_copy(update={"baton_model": "fake-model", "openai_base_url": model.base_url,
                                               "openai_api_key": SecretStr(model.api_key)})
        model.script(HOSTILE_TEXT, LONG_HOSTILE)  # the front agent's answers: to the mention, then to the DM
        answers: list[DeliveryResult] = []
        inputs: list[str] = []
        agents = [AgentInfoV1(name="hostile", description=DESCRIPTION)]
        async with agent_worker(registry=AgentRegistry([HOSTILE_AGENT])), \
                BotRuntime(settings, temporal_client, agents=agents, agents_task_queue=task_queue) as bot, \
                SlackDelivery(DEFAULT_SIGNING_SECRET, bot.events_url, slack=slack) as sender:

            async def command(text: str, user: str = REQUESTER) -> None:
                seen = len(slack.ephemerals(user=user))
                answers.append(await sender.send_slash_command(text, user, CHANNEL))
                await slack.wait_for(lambda: len(slack.ephemerals(user=user)) > seen, timeout=30)

            async def click(user: str, action_id: str, message: Message, value: str | None = None) -> None:
                answers.append(await sender.send_block_actions(user_id=user, action_id=action_id, channel_id=CHANNEL,
                                                               message_ts=message.ts, value=value))

            def told(user: str, start: str) -> bool:
                return any(e.text.startswith(start) for e in slack.ephemerals(user=user))

            async def run(text: str) -> str:
                known = {t for e in slack.ephemerals(user=REQUESTER) for t in re.findall(r"Started `([^`]+)`", e.text)}
                await command(f"run hostile {text}")
                task_id = await slack.wait_for(lambda: started_task(slack, REQUESTER, known), timeout=30)
                return task_id

            # Commands: the catalog (the worker's agent description), a parse error quoting the person, three runs.
            await command("agents")
            parse_error = await sender.send_slash_command("run <!channel> <@U0ADMIN>", REQUESTER, CHANNEL)
            answers.append(parse_error)  # a refusal is answered in the ack itself
            inputs += ["agent description", "command words"]
            task_a = await run("ask " + HOSTILE_TEXT)
            task_b = await run("fail " + HOSTILE_TEXT)
            task_c = await run("wait " + HOSTILE_TEXT)
            inputs += ["request text", "progress message", "checkpoint title, description, action and arguments"]
            [card_a] = await slack.wait_for(lambda: posted(slack, task_a, "checkpoint:"), timeout=60)
            await slack.wait_for(lambda: posted(slack, task_c, "checkpoint:"), timeout=60)
            [final_b] = await slack.wait_for(lambda: posted(slack, task_b, "final"), timeout=60)
            inputs.append("agent error")

            # Reading: a task's status, my tasks, the approvals list, App Home.
            await command(f"status {task_a}")
            await command("status")
            await command("list", user=APPROVER)
            answers.append(await sender.send_event({"type": "app_home_opened", "user": APPROVER, "channel": "D01ALICE",
                                                    "tab": "home", "event_ts": "1.000001"}))
            await slack.wait_for(lambda: slack.home_view(APPROVER), timeout=30)

            # A reminder that pings the approver about the hostile checkpoint (what the workflow's timer asks for).
            status_a = await status_when(gateway, task_a, lambda s: bool(s.slack.checkpoint_ts), timeout=60)
            assert status_a.pending_checkpoint is not None
            first_checkpoint = status_a.pending_checkpoint.id
            await bot.notifier.notify(NotifyInputV1(task_id=task_a, kind="reminder", checkpoint_id=first_checkpoint,
                                                    mention=[APPROVER]))
            reminder = await slack.wait_for(lambda: [m for m in slack.messages_in(CHANNEL) if "reminder" in m.text])

            # Refusals: a bystander's approval and a bystander's cancel.
            await click(BYSTANDER, "baton.decide.accept", card_a)
            await slack.wait_for(lambda: told(BYSTANDER, "You cannot decide this"), timeout=30)
            [status_c] = posted(slack, task_c, "status")
            await click(BYSTANDER, "baton.cancel", status_c)
            await slack.wait_for(lambda: told(BYSTANDER, "Only the requester"), timeout=30)

            # Modals: Edit, Reject and Respond open over the hostile checkpoint; Respond is sent with hostile words.
            for count, kind in enumerate(("edit", "reject", "respond"), start=1):
                await click(APPROVER, f"baton.decide.{kind}", card_a)
                await slack.wait_for(lambda n=count: len(slack.views(user=APPROVER)) >= n, timeout=30)
            respond = next(v for v in slack.views(user=APPROVER, open_only=True)
                           if v.payload.get("callback_id") == "baton.view.respond")
            answers.append(await sender.send_view_submission(user_id=APPROVER, view_id=respond.id,
                                                             values={"baton_input": {"value": HOSTILE_TEXT}}))
            inputs.append("a person's answer")
            await slack.wait_for(lambda: told(APPROVER, "Done: you chose to respond"), timeout=60)
            cards = await slack.wait_for(lambda: len(posted(slack, task_a, "checkpoint:")) == 2
                                         and posted(slack, task_a, "checkpoint:"), timeout=60)
            card_a2 = next(m for m in cards if m.ts != card_a.ts)
            await slack.wait_for(lambda: has_buttons(slack.message(CHANNEL, card_a2.ts)), timeout=30)

            # A late click on the decided checkpoint, then the second checkpoint approved: the task completes.
            await click(APPROVER, "baton.decide.accept", card_a,
                        value=ButtonRef(task_a, first_checkpoint).encode())
            await slack.wait_for(lambda: told(APPROVER, "This is no longer pending"), timeout=30)
            await click(APPROVER, "baton.decide.accept", slack.message(CHANNEL, card_a2.ts))
            await slack.wait_for(lambda: told(APPROVER, "Done: you chose to approve"), timeout=60)
            await slack.wait_for(lambda: posted(slack, task_a, "final"), timeout=60)
            inputs += ["result summary", "artifact names and contents"]

            # A cancel with a hostile reason, and Retry on the failed task.
            await command(f"cancel {task_c} {HOSTILE_TEXT}")
            inputs.append("cancel reason")
            await slack.wait_for(lambda: posted(slack, task_c, "final"), timeout=60)
            known = {task_a, task_b, task_c}
            await click(REQUESTER, "baton.retry", final_b)
            task_d = await slack.wait_for(lambda: started_task(slack, REQUESTER, known), timeout=30)
            await slack.wait_for(lambda: posted(slack, task_d, "final"), timeout=60)

            # The front agent: a mention and a DM, answered by a model that writes hostile text.
            answer, event = await sender.say(REQUESTER, CHANNEL, "<@U0BATONBOT> <!channel> status? <@U0ADMIN>")
            answers.append(answer)
            mention_reply = await slack.wait_for(lambda: [m for m in slack.messages_in(CHANNEL, event["ts"])
                                                 if not slack.methods.streams.streaming(CHANNEL, m.ts)], timeout=60)
            answer, dm = await sender.say(REQUESTER, DM, "<!here> what runs? <#C0SECRET>")
            answers.append(answer)
            dm_reply = await slack.wait_for(lambda: [m for m in slack.messages_in(DM, dm["ts"])
                                                 if not slack.methods.streams.streaming(DM, m.ts)], timeout=60)
            inputs += ["a mention", "a DM", "model reply to a mention", "model reply to a DM"]

    # Every call the fake Slack received, and every answer the bot gave to Slack's requests.
    allowed = allowed_markup(str(settings.baton_temporal_ui_url))
    found = [(call.method, v) for call in slack.calls for v in violations(call.args, allowed)]
    found += [("ack", v) for a in answers for v in violations(_json_or_text(a.body), allowed)]
    methods = sorted({c.method for c in slack.calls})
    print(f"\nhostile strings: {len(HOSTILE)} (+ a {len(LONG_HOSTILE):,}-character text) in {len(inputs)} inputs; "
          f"calls inspected: {len(slack.calls)} ({', '.join(methods)}); acks inspected: {len(answers)}; "
          f"violations: {len(found)}")
    assert found == []
    assert not [c for c in slack.calls if c.args.get("link_names") in (True, 1, "1", "true")
                or c.args.get("parse") == "full"], "no call asks Slack to turn plain @names into pings"

    # The hostile text did reach Slack, as text, on each surface; Baton's own markup stayed live.
    everything = json.dumps([c.args for c in slack.calls])
    assert everything.count("&lt;!channel&gt;") > 20 and ALREADY_ESCAPED_SHOWN in everything
    surfaces = {
        "status message": posted(slack, task_a, "status")[0].blocks,
        "checkpoint card": slack.message(CHANNEL, card_a.ts).blocks,
        "final message": posted(slack, task_a, "final")[0].blocks,
        "failed final message": posted(slack, task_b, "final")[0].blocks,
        "cancelled final message": posted(slack, task_c, "final")[0].blocks,
        "App Home": getattr(slack.home_view(APPROVER), "payload", None),
        "modals": [v.payload for v in slack.views(user=APPROVER)],
        "ephemerals": [e.text for e in slack.ephemerals()] + [e.blocks for e in slack.ephemerals()],
        "a refused command's ack": parse_error.json(),
        "reminder": reminder[0].text,
        "mention reply": mention_reply[0].text,
        "DM reply": dm_reply[0].text,
    }
    for surface, shown in surfaces.items():
        assert "&lt;!channel&gt;" in json.dumps(shown) or "&lt;!here&gt;" in json.dumps(shown), surface
    assert f"<@{APPROVER}> reminder" in reminder[0].text
    texts = [e.text for e in slack.ephemerals()]
    assert any(f"<@{BYSTANDER}> is not an approver" in t for t in texts)
    assert any(f"Only the requester (<@{REQUESTER}>)" in t for t in texts)
    assert any(f"<@{APPROVER}> already chose" in t for t in texts)
    assert f"<{settings.baton_temporal_ui_url}/" in json.dumps(posted(slack, task_a, "status")[0].blocks)
    titles = [f.get("title", "") for c in slack.calls_to("files.completeUploadExternal")
              for f in json.loads(c.args["files"])]
    assert titles and not [t for t in titles if "<" in t or ">" in t], titles


def _json_or_text(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body
