"""Modal submissions: Edit (JSON arguments, validated before the modal closes), Reject (reason), Respond (text)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError
from bot.blocks import ButtonRef, parse_edit, submitted_text
from bot.blocks.ids import INPUT_BLOCK, VIEW_EDIT, VIEW_REJECT, VIEW_RESPOND
from bot.decisions import check_decision, decide
from bot.listeners.actions import tell
from bot.services import BotServices
from contracts import DecisionKind

__all__ = ["register"]

log = logging.getLogger(__name__)
_KINDS: dict[str, DecisionKind] = {VIEW_EDIT: "edit", VIEW_REJECT: "reject", VIEW_RESPOND: "respond"}


def register(app: AsyncApp, services: BotServices) -> None:
    async def submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        kind = _KINDS[view["callback_id"]]
        text = submitted_text(view)
        edited: dict[str, Any] | None = None
        if kind == "edit":
            edited, error = parse_edit(text)
            if error is not None:
                # Keeps the modal open with the error under the field: nothing is sent until the JSON is valid.
                await ack(response_action="errors", errors={INPUT_BLOCK: error})
                return
        elif kind == "respond" and not text:
            await ack(response_action="errors", errors={INPUT_BLOCK: "Write an answer for the agent."})
            return
        await ack()
        user = body["user"]["id"]
        try:
            ref = ButtonRef.decode(view.get("private_metadata", ""))
        except ValueError:
            log.warning("view_submission with a foreign private_metadata from %s", user)
            return
        try:
            check = await check_decision(services, ref.task_id, ref.checkpoint_id, kind, user)
            if check.refusal is not None:
                answer = check.refusal
            else:
                answer = await decide(services, ref.task_id, check, kind, user,
                                      edited_args=edited if kind == "edit" else None,
                                      text=text if kind != "edit" else None)
        except BatonError as exc:
            answer = str(exc)
        await tell(client, ref.channel_id, user, answer, ref.message_ts)

    for callback_id in _KINDS:
        app.view_submission(callback_id)(submit)
