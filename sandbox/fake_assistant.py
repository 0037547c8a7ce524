"""The assistant pane's Web API methods (assistant.threads.setStatus, setSuggestedPrompts, setTitle) and what the pane
shows, per assistant thread: its status, suggested prompts and title, for the tests and the sandbox page to read.

The checks are the ones Slack documents (docs.slack.dev/reference/methods/assistant.threads.*): channel_id, thread_ts
and the method's own field required; a channel the workspace does not have is `channel_not_found`, a thread_ts that
names no message there `invalid_thread_ts`; at most 4 suggested prompts, each with a title and a message; at most 10
loading messages. A status is cleared by an empty one, and disappears once the app posts in the thread (as Slack
clears it when the reply arrives); Slack also drops it after two minutes without a reply, which the fake does not
act out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.workspace import StateChange, Workspace

__all__ = [
    "MAX_LOADING_MESSAGES",
    "MAX_SUGGESTED_PROMPTS",
    "PANE_CHANGED",
    "AssistantMethods",
    "AssistantPane",
    "SuggestedPrompt",
]

MAX_SUGGESTED_PROMPTS = 4
MAX_LOADING_MESSAGES = 10
PANE_CHANGED = "assistant_pane_changed"
"""The StateChange kind announced after each successful call, for live views (the sandbox page)."""

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class AssistantError(Exception):
    """Slack's `ok: false` answer, as sandbox.api_methods.SlackError (kept apart: this module imports no sibling but
    the workspace, so api_methods can import it)."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            out["response_metadata"] = {"messages": self.messages}
        return out


@dataclass(frozen=True)
class SuggestedPrompt:
    title: str
    message: str


@dataclass
class AssistantPane:
    """One assistant thread as the person sees it."""

    channel: str
    thread_ts: str
    status: str = ""
    status_ts: str = ""
    """The workspace clock when the status was set: a later message from the app clears it."""
    loading_messages: list[str] = field(default_factory=list)
    prompts: list[SuggestedPrompt] = field(default_factory=list)
    prompts_title: str | None = None
    title: str | None = None
    history: list[tuple[str, str]] = field(default_factory=list)
    """Every (method, value) set, oldest first: statuses come and go faster than a test can look."""


class AssistantMethods:
    """The three methods over one Workspace, and the panes they changed."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.panes: dict[tuple[str, str], AssistantPane] = {}
        self.handlers: dict[str, Handler] = {
            "assistant.threads.setStatus": self._answering(self.set_status),
            "assistant.threads.setSuggestedPrompts": self._answering(self.set_suggested_prompts),
            "assistant.threads.setTitle": self._answering(self.set_title),
        }

    def pane(self, channel: str, thread_ts: str) -> AssistantPane:
        """The pane of a thread (an empty one when nothing was set there yet)."""
        return self.panes.get((channel, thread_ts)) or AssistantPane(channel, thread_ts)

    def status_shown(self, channel: str, thread_ts: str) -> str:
        """The status the person sees now: the last one set, unless the app has posted in the thread since."""
        pane = self.pane(channel, thread_ts)
        if not pane.status:
            return ""
        replied = any(m.thread_ts == thread_ts and m.bot_id == self.ws.bot_id and float(m.ts) > float(pane.status_ts)
                      for m in self.ws.messages.get(channel, []))
        return "" if replied else pane.status

    # methods -----------------------------------------------------------------------------------------------------
    def set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        pane = self._pane(args)
        if args.get("status") is None:
            raise AssistantError("invalid_arguments", ["[ERROR] missing required field: status"])
        loading = _json(args, "loading_messages")
        if loading is not None and (not isinstance(loading, list) or not all(isinstance(m, str) for m in loading)):
            raise AssistantError("invalid_arguments", ["[ERROR] must be an array of strings "
                                                       "[json-pointer:/loading_messages]"])
        if loading is not None and len(loading) > MAX_LOADING_MESSAGES:
            raise AssistantError("invalid_arguments", [f"[ERROR] no more than {MAX_LOADING_MESSAGES} items allowed "
                                                       "[json-pointer:/loading_messages]"])
        pane.status, pane.status_ts = str(args["status"]), self.ws.clock.next()
        pane.loading_messages = list(loading or [])
        pane.history.append(("status", pane.status))
        return self._changed(pane)

    def set_suggested_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        pane = self._pane(args, thread_optional=True)
        prompts = _json(args, "prompts")
        if not isinstance(prompts, list) or not prompts:
            raise AssistantError("invalid_arguments", ["[ERROR] missing required field: prompts"])
        if len(prompts) > MAX_SUGGESTED_PROMPTS:
            raise AssistantError("invalid_arguments", [f"[ERROR] no more than {MAX_SUGGESTED_PROMPTS} items allowed "
                                                       "[json-pointer:/prompts]"])
        parsed = []
        for i, prompt in enumerate(prompts):
            fields = [prompt.get(k) if isinstance(prompt, dict) else None for k in ("title", "message")]
            missing = [k for k, v in zip(("title", "message"), fields, strict=True) if not isinstance(v, str) or not v]
            if missing:
                raise AssistantError("invalid_arguments", [f"[ERROR] missing required field: {missing[0]} "
                                                           f"[json-pointer:/prompts/{i}/{missing[0]}]"])
            parsed.append(SuggestedPrompt(str(fields[0]), str(fields[1])))
        pane.prompts = parsed
        pane.prompts_title = str(args["title"]) if args.get("title") else None
        pane.history.append(("prompts", json.dumps([p.title for p in parsed])))
        return self._changed(pane)

    def set_title(self, args: dict[str, Any]) -> dict[str, Any]:
        pane = self._pane(args)
        title = args.get("title")
        if not isinstance(title, str) or not title:
            raise AssistantError("invalid_arguments", ["[ERROR] missing required field: title"])
        pane.title = title
        pane.history.append(("title", title))
        return self._changed(pane)

    # helpers -----------------------------------------------------------------------------------------------------
    def _changed(self, pane: AssistantPane) -> dict[str, Any]:
        self.ws.announce(StateChange(PANE_CHANGED, {"channel": pane.channel, "thread_ts": pane.thread_ts},
                                     pane.channel, pane.thread_ts))
        return {"ok": True}

    def _pane(self, args: dict[str, Any], *, thread_optional: bool = False) -> AssistantPane:
        """The thread the call names, after Slack's checks: the channel exists, thread_ts names a message in it.
        Where thread_ts is optional (suggested prompts), the channel's latest message is the thread."""
        channel, thread_ts = args.get("channel_id"), args.get("thread_ts")
        if not channel or str(channel) not in self.ws.channels:
            raise AssistantError("channel_not_found")
        if not thread_ts and thread_optional and self.ws.messages[str(channel)]:
            thread_ts = self.ws.messages[str(channel)][-1].ts
        if not thread_ts or self.ws.find(str(channel), str(thread_ts)) is None:
            raise AssistantError("invalid_thread_ts")
        key = (str(channel), str(thread_ts))
        return self.panes.setdefault(key, AssistantPane(*key))

    @staticmethod
    def _answering(method: Handler) -> Handler:
        def answer(args: dict[str, Any]) -> dict[str, Any]:
            try:
                return method(args)
            except AssistantError as exc:
                return exc.body()

        return answer


def _json(args: dict[str, Any], key: str) -> Any:
    """Form-encoded calls carry arrays as JSON strings; JSON calls carry them as arrays."""
    value = args.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise AssistantError("invalid_arguments", [f"[ERROR] invalid JSON [json-pointer:/{key}]"]) from exc
    return value
