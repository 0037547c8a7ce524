"""Modal submissions: Edit (JSON arguments, validated before the modal closes), Reject (reason), Respond (text).

Everything that can go wrong with the submission itself is found before the ack: a form Baton did not write or that
does not say who sent it is replaced by a modal saying nothing was sent; bad input keeps the modal open with the
error under the field. An edit is checked against the pending checkpoint too (size, the tool's argument schema),
which takes a status query: it gets `EDIT_CHECK_BUDGET_S` of Slack's 3 seconds; when the workflow does not answer
in time, the modal closes without it and the edit is checked again with the decision, a refusal told privately.
A valid submission's `decide` update is sent before the ack (bot.intake): the ack, which closes the modal, comes once
the workflow has accepted the decision, or once BATON_INTAKE_TIMEOUT_S (counted from the submission's arrival) has run
out, the update then going on in the background. Every outcome is told to the person privately after the ack, and
nothing escapes (bolt would drop the ack)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError
from bot.blocks import ButtonRef, parse_edit, submitted_json, submitted_text
from bot.blocks.ids import INPUT_BLOCK, VIEW_EDIT, VIEW_REJECT, VIEW_RESPOND
from bot.blocks.modals import unreadable_modal
from bot.blocks.text import MAX_INPUT_CHARS
from bot.decisions import Answer, Check, check_decision, ready_answer, send_decision
from bot.intake import ack_only, before_ack
from bot.listeners.reading import dig, slack_id, unreadable
from bot.listeners.replies import SOMETHING_WENT_WRONG, answer_or_apology, tell
from bot.services import BotServices
from contracts import DecisionKind

__all__ = ["register"]

log = logging.getLogger(__name__)
_KINDS: dict[str, DecisionKind] = {VIEW_EDIT: "edit", VIEW_REJECT: "reject", VIEW_RESPOND: "respond"}
EDIT_CHECK_BUDGET_S = 1.5
"""How long an edit's submission waits for the workflow's status, of its BATON_INTAKE_TIMEOUT_S before the ack."""


def register(app: AsyncApp, services: BotServices) -> None:
    async def submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        kind = _KINDS[view["callback_id"]]  # bolt matched this listener on it
        user = slack_id(dig(body, "user", "id"))
        try:
            ref = ButtonRef.decode(view.get("private_metadata"))
        except ValueError:
            ref = None
        if user is None or ref is None:
            unreadable("view_submission", "user" if user is None else "private_metadata")
            await ack(response_action="update", view=unreadable_modal())
            return
        budget = services.settings.baton_intake_timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        text = submitted_text(view)
        error: str | None = None
        edited: dict[str, Any] | None = None
        check: Check | None = None
        if len(text) > MAX_INPUT_CHARS:
            error = f"Keep it under {MAX_INPUT_CHARS} characters."
        elif kind == "edit":
            edited, error = parse_edit(text)
            if error is None:
                check = await _check_within_budget(services, ref, user, min(EDIT_CHECK_BUDGET_S, budget))
                if check is not None and check.checkpoint is not None:
                    edited, error = parse_edit(text, check.checkpoint)
        elif kind == "respond" and not text:
            error = "Write an answer for the agent."
        elif kind == "respond" and submitted_json(view):
            error = _not_json(text)
        if error is not None:
            # Keeps the modal open with the error under the field: nothing is sent until the input is valid.
            await ack(response_action="errors", errors={INPUT_BLOCK: error})
            return

        async def told(answer: Answer) -> None:
            said = await answer_or_apology(answer(), f"The {kind} decision on {ref.task_id}")
            await tell(client, ref.channel_id, user, said, ref.message_ts)

        marked_json = kind == "respond" and submitted_json(view)
        await before_ack(services.intakes, deadline - loop.time(), send(kind, ref, user, text, edited, check,
                                                                        marked_json),
                         ack=ack_only(ack), answer=told, name=f"The {kind} submission of {user}")

    async def send(kind: DecisionKind, ref: ButtonRef, user: str, text: str, edited: dict[str, Any] | None,
                   check: Check | None, marked_json: bool = False) -> Answer:
        """Check the decision (unless that was done before) and send it; returns once Temporal has accepted it (or
        it was refused)."""
        try:
            if check is None:
                check = await check_decision(services, ref.task_id, ref.checkpoint_id, kind, user)
                if kind == "edit" and check.checkpoint is not None:
                    edited, error = parse_edit(text, check.checkpoint)
                    if error is not None:
                        return ready_answer(f"Your edit was not applied: {error}")
            return await send_decision(services, ref.task_id, check, kind, user,
                                       edited_args=edited if kind == "edit" else None,
                                       text=text if kind != "edit" else None, text_is_json=marked_json or None)
        except BatonError as exc:
            return ready_answer(str(exc))
        except Exception:
            log.exception("The %s decision on %s failed", kind, ref.task_id)
            return ready_answer(SOMETHING_WENT_WRONG)

    for callback_id in _KINDS:
        app.view_submission(callback_id)(submit)


def _not_json(text: str) -> str | None:
    """Why an answer marked as JSON is not JSON, or None when it is."""
    try:
        json.loads(text)
    except ValueError as exc:
        return f"That is not valid JSON: {exc}. Untick \"My answer is JSON\" to send it as text."
    return None


async def _check_within_budget(services: BotServices, ref: ButtonRef, user: str, budget_s: float) -> Check | None:
    """The edit's check against the workflow, or None when it could not be had within `budget_s` (it runs before the
    ack, so nothing may escape)."""
    try:
        return await asyncio.wait_for(
            check_decision(services, ref.task_id, ref.checkpoint_id, "edit", user), budget_s
        )
    except Exception:  # TimeoutError included: the check is made again after the ack
        log.info("No pre-ack check of the edit on %s; checking after the ack", ref.task_id, exc_info=True)
        return None
