"""How a listener answers the person who acted, privately: through the payload's response_url, or an ephemeral
message in the channel. Neither raises: this runs after the ack, where an exception would make bolt drop it.

Answers quote checkpoint titles, task errors and people's own words: the text goes through `slack_text` and blocks
through `safe_blocks`, so only Baton's own mentions and links (Mrkdwn) stay live."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import BatonError
from baton.redaction import scrub
from bot.blocks import safe_blocks, slack_text
from bot.services import BotServices

__all__ = ["SOMETHING_WENT_WRONG", "answer_or_apology", "answer_privately", "tell"]

log = logging.getLogger(__name__)
T = TypeVar("T")
SOMETHING_WENT_WRONG = "Something went wrong on Baton's side; please try again."


async def tell(client: AsyncWebClient, channel: str | None, user: str, text: str, thread_ts: str | None = None) -> None:
    """An ephemeral answer to one person; a failure to answer is logged on one line, never raised into the handler
    (Slack refusing it, or not answering, is no bug of ours)."""
    if not channel:
        return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=scrub(slack_text(text)),
                                         thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("Could not tell %s in %s: Slack answered %s", user, channel, exc.response.get("error"))
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("Could not tell %s in %s: %s", user, channel, type(exc).__name__)


async def answer_privately(services: BotServices, response_url: object, text: str,
                           blocks: list[dict[str, Any]] | None = None) -> None:
    """Tell the person who acted, through the payload's response_url when it has one; never raises."""
    if isinstance(response_url, str) and response_url.startswith(("https://", "http://")):
        # text may quote an error
        await services.responder.send(response_url, scrub(slack_text(text)), safe_blocks(blocks))


async def answer_or_apology(outcome: Awaitable[T], what: str) -> T | str:
    """`outcome`, or what to tell the person when it failed (a Baton error's own words, else an apology and one log
    line with the traceback): for work finished after an ack, where nothing may escape."""
    try:
        return await outcome
    except BatonError as exc:
        return str(exc)
    except Exception:
        log.exception("%s failed", what)
        return SOMETHING_WENT_WRONG
