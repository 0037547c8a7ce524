"""A scripted chat model for running Baton without an API key: no network, deterministic, and honest about it.

It reads the structured blocks Baton's example agents put in their prompts (`FINDINGS_JSON`, `FACTS_JSON`,
`FIGURES_JSON`) and answers the way a capable model would (a `ProposeRemediation` tool call, a report, a
narrative), so both agents run through their real graphs, tools and checkpoints. Every text it writes carries
the `[demo model]` label, so nobody mistakes its output for a real model's (the shell and the label are shared with
the front agent's scripted model: sandbox/scripted_chat_model.py).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata

from sandbox.scripted_chat_model import DEMO_LABEL, ScriptedChatModel

__all__ = ["DEMO_LABEL", "DemoChatModel"]
_BLOCK = re.compile(r"(FINDINGS_JSON|FACTS_JSON|FIGURES_JSON):\s*(\{.*\}|\[.*\])\s*$", re.DOTALL)
_ids = itertools.count(1)


class DemoChatModel(ScriptedChatModel):
    """The scripted, content-driven model for the example agents; supports `bind_tools` like a real provider."""

    max_steps: int = 5
    """Most remediation steps it proposes (highest severity first)."""

    @property
    def _llm_type(self) -> str:
        return "baton-demo"

    def _script(self, messages: list[BaseMessage], tool_names: set[str]) -> AIMessage:
        prompt = _last_human_text(messages)
        kind, data = _block(prompt)
        if kind == "FINDINGS_JSON" and "ProposeRemediation" in tool_names:
            message = AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": "ProposeRemediation",
                        "args": self._proposal(data),
                        "id": f"demo_call_{next(_ids)}",
                        "type": "tool_call",
                    }
                ],
            )
        elif kind == "FACTS_JSON":
            message = AIMessage(content=_ops_report(data))
        elif kind == "FIGURES_JSON":
            message = AIMessage(content=_sales_narrative(data))
        else:
            message = AIMessage(
                content=f"{DEMO_LABEL} Baton is running without a model API key, so this is a "
                f"scripted answer. Set OPENAI_API_KEY for real answers. You asked: "
                f"{prompt[:300]}"
            )
        message.usage_metadata = _usage(messages, message)
        return message

    def _proposal(self, findings: Any) -> dict[str, Any]:
        chosen = [f for f in findings if f.get("severity") == "high"][: self.max_steps] if findings else []
        steps = [
            {
                "finding_id": f.get("id", ""),
                "host": f["host"],
                "action": f["suggested_action"],
                "target": f.get("target", ""),
                "reason": f.get("detail", ""),
            }
            for f in chosen
        ]
        hosts = sorted({s["host"] for s in steps})
        summary = f"{DEMO_LABEL} Fix the {len(steps)} highest-severity findings first, on {', '.join(hosts)}."
        return {"summary": summary, "steps": steps}


def _last_human_text(messages: list[BaseMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.content if isinstance(message.content, str) else str(message.content)
    return ""


def _block(prompt: str) -> tuple[str | None, Any]:
    match = _BLOCK.search(prompt)
    if not match:
        return None, None
    try:
        return match.group(1), json.loads(match.group(2))
    except json.JSONDecodeError:
        return None, None


def _ops_report(facts: dict[str, Any]) -> str:
    changes = facts.get("changes") or []
    applied = sum(c.get("status") == "applied" for c in changes)
    decision = facts.get("decision", "none")
    outcome = {
        "approve": f"The reviewer approved the plan; {applied} step(s) were applied.",
        "edit": f"The reviewer edited the plan; {applied} step(s) were applied as edited.",
        "reject": "The reviewer rejected the plan; nothing was changed.",
        "respond": "The reviewer answered instead of approving; nothing was changed.",
    }.get(decision, "No remediation was proposed; nothing was changed.")
    note = f" Reviewer's note: {facts['decision_note']}" if facts.get("decision_note") else ""
    return (
        f"{DEMO_LABEL} **Audit summary.** {facts.get('findings', 0)} findings, {facts.get('high', 0)} of them "
        f"high severity. {outcome}{note} Remaining findings stay open for the next audit."
    )


def _sales_narrative(facts: dict[str, Any]) -> str:
    figures = facts.get("figures", {})

    def best(key: str, pick: Callable[..., Any]) -> str:
        data = figures.get(key) or {}
        return pick(data, key=lambda name: data[name]["revenue"]) if data else "n/a"

    growth = figures.get("first_to_last_month_growth_pct")
    trend = f"Revenue moved {growth:+.1f}% from the first to the last month." if growth is not None else ""
    note = f" As requested: {facts['note_from_requester']}." if facts.get("note_from_requester") else ""
    return (
        f"{DEMO_LABEL} **Sales overview.** Revenue reached {figures.get('revenue', 0):,.2f} from "
        f"{figures.get('units', 0):,} units. Strongest region: {best('by_region', max)}; weakest: "
        f"{best('by_region', min)}. Top product: {best('by_product', max)}. {trend}{note}"
    ).strip()


def _usage(messages: list[BaseMessage], reply: AIMessage) -> UsageMetadata:
    """Token estimates (4 characters a token) so usage accounting works in demo runs too."""
    prompt_chars = sum(len(str(m.content)) for m in messages)
    output_chars = len(str(reply.content)) + len(json.dumps([c["args"] for c in reply.tool_calls]))
    input_tokens, output_tokens = max(1, prompt_chars // 4), max(1, output_chars // 4)
    return UsageMetadata(
        input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
    )
