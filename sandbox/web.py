"""The sandbox's web page: a Slack-like channel in the browser, served by the fake Slack's own aiohttp app.

The page is plain HTML/CSS/JS from `static/` (no build step, nothing fetched from the internet). What a person does
in it goes to the bot exactly as Slack would send it (SlackDelivery: signed events, slash commands, block_actions,
view_submission to the bot's real /slack/events); what the bot does through the Web API reaches the page live over
a WebSocket, filtered per viewer (ephemerals and modals only for their person).

    GET  /                         the page
    GET  /sandbox/api/state?user=  snapshot of what that user sees (the WebSocket sends the same first)
    GET  /sandbox/ws?user=         snapshot, then every visible change
    POST /sandbox/api/compose      {user, channel, text, thread_ts?}: a message, a mention or a slash command
    POST /sandbox/api/action       {user, action_id, channel + message_ts | view_id, block_id?, rating?}: a click
                                   (with `rating`, "positive" or "negative": a feedback button's thumbs up or down)
    POST /sandbox/api/submit       {user, view_id, values: {block_id: {action_id: value}}}: a modal submission
    POST /sandbox/api/close        {user, view_id}: the person closed a modal
    POST /sandbox/api/home         {user}: the person opened the bot's Home tab (an `app_home_opened` event)
    POST /sandbox/api/assistant    {user, context_channel?}: the person opened the app's assistant pane (a new
                                   thread in their DM and `assistant_thread_started`); answers its thread_ts
    POST /sandbox/api/assistant/context  {user, thread_ts, context_channel}: pane open, they moved to a channel

The bot's DM with each person is the D… conversation `dm_channel(user)`: the composer posts to it like to a channel,
and SlackDelivery sends those as `message` events with channel_type "im". Only its person sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.delivery import DeliveryResult, SlackDelivery
from sandbox.fake_slack import FakeSlackApi
from sandbox.payloads import new_ts
from sandbox.web_assistant import PaneRequests
from sandbox.web_compose import SlashCommand, compose
from sandbox.web_state import dm_channel, snapshot, viewer_event
from sandbox.workspace import Ephemeral, Message

__all__ = ["STATIC_DIR", "SandboxWeb"]

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
_NO_CACHE = {"Cache-Control": "no-store"}


class BadRequest(Exception):
    """A request the page should never make; answered 400 with the reason."""


class SandboxWeb:
    """Adds the page's routes to `slack.app`; call before `slack.start()` (aiohttp freezes the router then)."""

    def __init__(self, slack: FakeSlackApi, delivery: SlackDelivery) -> None:
        self.slack = slack
        self.delivery = delivery
        self._sockets: set[web.WebSocketResponse] = set()
        self._panes = PaneRequests(slack, delivery, BadRequest)
        app = slack.app
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC_DIR, append_version=True)
        app.router.add_get("/sandbox/api/state", self._state)
        app.router.add_get("/sandbox/ws", self._socket)
        app.router.add_post("/sandbox/api/compose", self._compose)
        app.router.add_post("/sandbox/api/action", self._action)
        app.router.add_post("/sandbox/api/submit", self._submit)
        app.router.add_post("/sandbox/api/close", self._close)
        app.router.add_post("/sandbox/api/home", self._home)
        app.router.add_post("/sandbox/api/assistant", self._assistant)
        app.router.add_post("/sandbox/api/assistant/context", self._assistant_context)
        app.on_shutdown.append(self._close_sockets)

    @property
    def url(self) -> str:
        return self.slack.root_url

    # reading -----------------------------------------------------------------------------------------------------
    async def _index(self, _: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers=_NO_CACHE)

    def _viewer(self, user: str | None) -> str:
        if not user or user not in self.slack.users or self.slack.users[user].is_bot:
            raise BadRequest(f"unknown user {user!r}")
        return user

    async def _state(self, request: web.Request) -> web.Response:
        try:
            viewer = self._viewer(request.query.get("user"))
        except BadRequest as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response(snapshot(self.slack.workspace, viewer, self.slack.methods), headers=_NO_CACHE)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        """Subscribe before the snapshot is taken, so nothing between the two is lost (the page applies updates
        idempotently, by ts and view id)."""
        if not _same_origin(request):
            return web.Response(status=403, text="cross-origin WebSocket refused")
        try:
            viewer = self._viewer(request.query.get("user"))
        except BadRequest as exc:
            return web.Response(status=400, text=str(exc))
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self._sockets.add(ws)
        stream = self.slack.subscribe()
        reader = asyncio.create_task(self._drain(ws))
        try:
            await ws.send_json(snapshot(self.slack.workspace, viewer, self.slack.methods))
            while not ws.closed:
                getter = asyncio.ensure_future(stream.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                event = viewer_event(getter.result(), viewer, self.slack.workspace, self.slack.methods)
                if event is not None:
                    await ws.send_json(event)
        except (StopAsyncIteration, ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        finally:
            stream.close()
            reader.cancel()
            self._sockets.discard(ws)
            await ws.close()
        return ws

    async def _drain(self, ws: web.WebSocketResponse) -> None:
        """The page sends nothing; reading is how a closed socket is noticed."""
        async for _ in ws:
            pass

    async def disconnect_all(self) -> None:
        """Close every page's live connection; pages reconnect and catch up from a fresh snapshot."""
        for ws in list(self._sockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"sandbox stopping")

    async def _close_sockets(self, _: web.Application) -> None:
        await self.disconnect_all()

    # doing -------------------------------------------------------------------------------------------------------
    async def _body(self, request: web.Request) -> dict[str, Any]:
        # JSON only: a cross-site form cannot send it without a CORS preflight, which this server never grants.
        if request.content_type != "application/json":
            raise BadRequest("send application/json")
        try:
            body = await request.json()
        except ValueError as exc:
            raise BadRequest("invalid JSON") from exc
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object")
        body["user"] = self._viewer(body.get("user"))
        return body

    async def _guarded(self, request: web.Request, handler: Any) -> web.Response:
        try:
            body = await self._body(request)
            answer = await handler(body)
        except BadRequest as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        except (aiohttp.ClientError, TimeoutError) as exc:
            where = self.delivery.events_url
            log.warning("The bot did not answer at %s: %s", where, exc)
            return web.json_response({"ok": False, "error": f"The bot did not answer at {where} ({exc!r})."},
                                     status=502)
        return web.json_response({"ok": True, **answer})

    async def _compose(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._do_compose)

    async def _action(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._do_action)

    async def _submit(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._do_submit)

    async def _close(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._do_close)

    async def _home(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._do_home)

    async def _assistant(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._panes.open)

    async def _assistant_context(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._panes.context_changed)

    async def _do_home(self, body: dict[str, Any]) -> dict[str, Any]:
        """Slack sends `app_home_opened` each time the person opens the tab, with the view it last published."""
        user = body["user"]
        ts = new_ts()
        event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": dm_channel(user),
                                 "tab": "home", "event_ts": ts}
        published = self.slack.workspace.home_views.get(user)
        if published is not None:
            event["view"] = self.slack.workspace.view_to_slack(published)
        result = await self.delivery.send_event(event)
        if result.status != 200:
            return {"notice": f"The bot refused the app_home_opened event (HTTP {result.status})."}
        return {}

    def _check_channel(self, channel: str, user: str) -> None:
        """Channels are open to everyone; a D… conversation only to its own person."""
        if channel.startswith("D"):
            if channel != dm_channel(user):
                raise BadRequest(f"{channel!r} is not your conversation with the bot")
        elif channel not in self.slack.workspace.channels:
            raise BadRequest(f"unknown channel {channel!r}")

    async def _do_compose(self, body: dict[str, Any]) -> dict[str, Any]:
        user, channel = body["user"], str(body.get("channel") or "")
        text = str(body.get("text") or "")
        thread_ts = body.get("thread_ts") or None
        self._check_channel(channel, user)
        if not text.strip():
            raise BadRequest("nothing to send")
        ws = self.slack.workspace
        names = {u.name.lower(): u.id for u in ws.users.values()}
        composed = compose(text, names, ws.bot_user.id)
        if isinstance(composed, SlashCommand):
            if composed.command != "/baton":
                return {"notice": f"`{composed.command}` is not a valid command. In the sandbox, try `/baton help`."}
            result = await self.delivery.send_slash_command(composed.text, user, channel, composed.command)
            return self._command_answer(result, composed, user, channel)
        delivered, _event = await self.delivery.say(user, channel, composed.text, thread_ts)
        if delivered.status != 200:
            return {"notice": f"The bot refused the event (HTTP {delivered.status})."}
        return {}

    def _command_answer(self, result: DeliveryResult, command: SlashCommand, user: str,
                        channel: str) -> dict[str, Any]:
        """Slack's rules for a slash command's HTTP answer: an error is shown by Slackbot; a body is a reply."""
        if result.status != 200:
            return {"notice": f"{command.command} failed with the error \"http_{result.status}\"."}
        if not result.body.strip():
            return {}
        try:
            answer = json.loads(result.body)
        except ValueError:
            answer = {"text": result.body}
        if not isinstance(answer, dict):
            answer = {"text": result.body}
        ws = self.slack.workspace
        text, blocks = str(answer.get("text") or ""), answer.get("blocks") or []
        if answer.get("response_type") == "in_channel":
            ws.post(Message(channel=channel, ts=ws.clock.next(), text=text, user=ws.bot_user.id, blocks=blocks,
                            bot_id=ws.bot_id, via_response_url=True))
        else:
            ws.post_ephemeral(Ephemeral(channel=channel, user=user, message_ts=ws.clock.next(), text=text,
                                        blocks=blocks))
        return {}

    async def _do_action(self, body: dict[str, Any]) -> dict[str, Any]:
        action_id = str(body.get("action_id") or "")
        if not action_id:
            raise BadRequest("action_id is required")
        view_id = body.get("view_id") or None
        channel, message_ts = body.get("channel") or None, body.get("message_ts") or None
        if view_id is None and (channel is None or message_ts is None):
            raise BadRequest("a click needs channel + message_ts, or view_id")
        if channel is not None:
            self._check_channel(str(channel), body["user"])
        if view_id is not None:
            view = self.slack.workspace.views.get(str(view_id))
            if view is None or view.user != body["user"]:
                raise BadRequest(f"no view {view_id!r} for this user")
        rating = body.get("rating")
        if rating is not None:
            return await self._feedback(body["user"], str(rating), channel, message_ts)
        try:
            result = await self.delivery.send_block_actions(
                user_id=body["user"], action_id=action_id, channel_id=channel, message_ts=message_ts,
                view_id=view_id, block_id=body.get("block_id") or None)
        except (LookupError, KeyError) as exc:
            raise BadRequest(f"nothing to click: {exc}") from exc
        if result.status != 200:
            return {"notice": f"The app did not accept the click (HTTP {result.status})."}
        return {}

    async def _feedback(self, user: str, rating: str, channel: str | None, message_ts: str | None) -> dict[str, Any]:
        """A thumbs up or down: Slack's block_actions carries the feedback_buttons element and the pressed button."""
        if rating not in ("positive", "negative") or channel is None or message_ts is None:
            raise BadRequest("a feedback click needs rating positive|negative, channel and message_ts")
        try:
            result = await self.delivery.send_feedback(user_id=user, channel_id=str(channel),
                                                       message_ts=str(message_ts), rating=rating)
        except LookupError as exc:
            raise BadRequest(f"nothing to click: {exc}") from exc
        if result.status != 200:
            return {"notice": f"The app did not accept the feedback (HTTP {result.status})."}
        return {}

    async def _do_submit(self, body: dict[str, Any]) -> dict[str, Any]:
        view_id = str(body.get("view_id") or "")
        view = self.slack.workspace.views.get(view_id)
        if view is None or view.user != body["user"] or not view.is_open:
            raise BadRequest(f"no open modal {view_id!r} for this user")
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise BadRequest("values must be {block_id: {action_id: value}}")
        result = await self.delivery.send_view_submission(user_id=body["user"], view_id=view_id, values=values)
        if result.status != 200:
            return {"notice": f"The app did not accept the submission (HTTP {result.status})."}
        answer: Any = None
        with contextlib.suppress(ValueError):
            answer = result.json()
        if isinstance(answer, dict) and answer.get("response_action") == "errors":
            return {"errors": answer.get("errors") or {}}
        return {}

    async def _do_close(self, body: dict[str, Any]) -> dict[str, Any]:
        view = self.slack.workspace.views.get(str(body.get("view_id") or ""))
        if view is not None and view.user == body["user"]:
            for open_view in self.slack.workspace.open_views_for(body["user"]):
                self.slack.close_view(open_view.id)
        return {}


def _same_origin(request: web.Request) -> bool:
    """Browsers send Origin on WebSocket handshakes; another site's page must not read the workspace."""
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"
