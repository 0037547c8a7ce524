"""The front agent's scripted model, used when no model is configured: no network, deterministic, and labelled.

It sits where ChatOpenAI would (the same LangGraph agent, system prompt and delegation tools through `bind_tools`),
so a newcomer without a key still sees a mention become a task. From plain words it picks one tool call:

    "cancel <task id>"                                   -> temporal_cancel
    "status ..." / "how is <task id> going"              -> temporal_status
    "run <agent> ...", or an agent's name                -> temporal_submit(that agent)
    audit / fleet / servers / ports / disks / certs ...  -> temporal_submit(ops_audit)
    sales / revenue / report / region / quarter ...      -> temporal_submit(sales_report)
    anything else                                        -> a short help text, no tool

After the tool answers it says so in one short sentence. Every reply starts with `[demo model]`, like the worker's
own demo model's: both are scripted models on the same shell (sandbox/scripted_chat_model.py), so nobody mistakes
either for a real model.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from sandbox.scripted_chat_model import DEMO_LABEL, ScriptedChatModel

__all__ = ["DEMO_LABEL", "DemoFrontModel", "ToolCall", "help_text", "route"]

# Words that point at an agent, with a weight: "report" alone leans to sales, but "audit report" is an audit.
_AGENT_WORDS: dict[str, dict[str, float]] = {
    "ops_audit": dict.fromkeys(
        ("audit", "audits", "auditing", "infrastructure", "infra", "fleet", "server", "servers", "host", "hosts",
         "port", "ports", "disk", "disks", "certificate", "certificates", "cert", "certs", "tls", "ssl"), 1.0),
    "sales_report": {**dict.fromkeys(("sales", "revenue", "region", "regions", "quarter", "quarterly", "q1", "q2",
                                      "q3", "q4"), 1.0), "report": 0.5, "reports": 0.5},
}
_STATUS_WORDS = frozenset({"status", "progress", "done", "finished"})
_HOW_GOING = re.compile(r"\bhow(?:'s|\s+is|\s+are)\b.*\b(?:going|doing)\b", re.IGNORECASE | re.DOTALL)
_CANCEL_WORDS = frozenset({"cancel", "abort"})
_BATON_TASK_ID = re.compile(r"\b([a-z][a-z0-9_]{0,47}-[0-9a-f]{12})\b")
"""Baton's own task ids (contracts.task_id_for): the agent's name and 12 hex digits."""
_QUOTED_TASK_ID = re.compile(r"`([A-Za-z0-9][A-Za-z0-9._:-]{0,199})`")
_CATALOG_LINE = re.compile(r"^- ([a-z][a-z0-9_]{0,47}): ", re.MULTILINE)
_STARTED = re.compile(r"^Started `(?P<task>[^`]+)` \((?P<agent>[^)]+)\)\. Progress will appear in (?P<where>.+)\.$")
_call_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: dict[str, str] = field(default_factory=dict)


def route(text: str, agents: Sequence[str] = ()) -> ToolCall | None:
    """The tool call the demo model makes for a person's words, or None (it answers with help).

    `agents` are the catalog's names (from the system prompt); when given, only those are started.
    """
    words = re.findall(r"[a-z0-9_]+", text.lower())
    task_id = _task_id(text)
    if _CANCEL_WORDS & set(words):
        return ToolCall("temporal_cancel", {"task_id": task_id, "reason": ""}) if task_id else None
    if _STATUS_WORDS & set(words) or _HOW_GOING.search(text):
        # Without an id: the person's running tasks ("what's the status of my audit?" starts nothing).
        return ToolCall("temporal_status", {"task_id": task_id})
    agent = _agent_for(words, agents)
    if agent is None:
        return None
    return ToolCall("temporal_submit", {"agent": agent, "request": _request(text, agent)})


def _task_id(text: str) -> str:
    match = _BATON_TASK_ID.search(text) or _QUOTED_TASK_ID.search(text)
    return match.group(1) if match else ""


def _agent_for(words: list[str], agents: Sequence[str]) -> str | None:
    named = [w for w in words if w in agents or (not agents and w in _AGENT_WORDS)]
    if named:
        return named[0]
    scores = {name: sum(weights.get(w, 0.0) for w in words) for name, weights in _AGENT_WORDS.items()
              if not agents or name in agents}
    best = max(scores, key=lambda name: scores[name], default=None)
    return best if best is not None and scores[best] > 0 else None


def _request(text: str, agent: str) -> str:
    """The person's words, without a leading `run <agent>` (as in `/baton run`)."""
    rest = re.sub(rf"^\s*(run\s+)?{re.escape(agent)}\b[\s:,]*", "", text.strip(), count=1, flags=re.IGNORECASE)
    return rest.strip() or text.strip()


class DemoFrontModel(ScriptedChatModel):
    """The scripted model for the front agent; supports `bind_tools` like a real provider."""

    @property
    def _llm_type(self) -> str:
        return "baton-demo-front"

    def _script(self, messages: list[BaseMessage], tool_names: set[str]) -> AIMessage:
        agents = _catalog(messages)
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            return AIMessage(content=_after_tool(last))
        text = _text(last) if isinstance(last, HumanMessage) else ""
        call = route(text, agents)
        if call is None or call.name not in tool_names:
            return AIMessage(content=help_text(agents))
        return AIMessage(content="", tool_calls=[
            {"name": call.name, "args": dict(call.args), "id": f"demo_front_call_{next(_call_ids)}",
             "type": "tool_call"},
        ])


def help_text(agents: Sequence[str] = ()) -> str:
    names = ", ".join(f"`{a}`" for a in agents) or "`ops_audit`, `sales_report`"
    return (
        f"{DEMO_LABEL} No OPENAI_API_KEY or OPENAI_BASE_URL is set, so a scripted demo model reads your words: ask "
        f"me to audit the servers, for a sales report by region or quarter, how a task is going (with its id), or to "
        f"cancel a task. Agents: {names}. `/baton run <agent> <request>` and `/baton help` work too."
    )


def _after_tool(result: ToolMessage) -> str:
    text = _text(result).strip()
    started = _STARTED.match(text)
    if started:
        return (f"{DEMO_LABEL} Started `{started['task']}` ({started['agent']}); its progress and approvals will "
                f"appear in {started['where']}.")
    return f"{DEMO_LABEL} {text}" if text else f"{DEMO_LABEL} Done."


def _catalog(messages: list[BaseMessage]) -> list[str]:
    """The agents listed in the front agent's system prompt (`- name: description` lines)."""
    prompt = next((m for m in messages if isinstance(m, SystemMessage)), None)
    return _CATALOG_LINE.findall(_text(prompt)) if prompt is not None else []


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)

