"""ops_audit: audits the bundled infrastructure inventory and applies a remediation a person approved.

    START -> load -> scan -> analyse -> review --+--> apply --> report -> END
                     tools   model #1  interrupt |                ^   model #2
                                       (HITL)    +----------------+
                                       rejected, answered or nothing proposed: no change

`scan` runs the inventory tools (versions, ports, disks, certificates); `analyse` asks the model once to pick the
findings worth fixing and propose steps through the `ProposeRemediation` tool; `review` pauses with a
`HumanInTheLoopMiddleware`-style request (approve / edit / reject / respond) before any side effect; `apply`
changes the inventory only as approved or edited; `report` asks the model once for the narrative. Two model
calls per run, whatever the decision.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, Field, ValidationError

from contracts import ArtifactV1, TaskRequestV1, TaskResultV1
from workers.agents.inventory import INVENTORY_TOOLS, load_inventory
from workers.registry import AgentContext, AgentSpec

ActionKind = Literal["upgrade_package", "close_port", "free_disk_space", "renew_certificate"]
ACTION = "apply_remediation"


class RemediationStep(BaseModel):
    finding_id: str = ""
    host: str
    action: ActionKind
    target: str = ""
    """The package to upgrade or the port to close; empty for disks and certificates."""
    reason: str = ""


class ProposeRemediation(BaseModel):
    """Propose remediation steps for the chosen findings; a person approves them before anything changes."""

    summary: str = Field(description="One or two sentences: what to fix and why now.")
    steps: list[RemediationStep] = Field(max_length=12)


class OpsAuditState(TypedDict, total=False):
    request_text: str
    inventory: dict[str, Any]
    findings: list[dict[str, Any]]
    proposal: dict[str, Any] | None
    decision: str
    decision_note: str
    plan: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    report: str


# -- nodes -----------------------------------------------------------------------------------------------------


async def load(state: OpsAuditState) -> OpsAuditState:
    inventory = load_inventory()
    get_stream_writer()({"progress": f"Loaded {len(inventory['hosts'])} hosts"})
    return {"inventory": inventory}


async def scan(state: OpsAuditState) -> OpsAuditState:
    findings: list[dict[str, Any]] = []
    for check in INVENTORY_TOOLS:
        findings.extend(await check.ainvoke({"inventory": state["inventory"]}))
    order = {"high": 0, "medium": 1, "low": 2}
    findings.sort(key=lambda f: (order[f["severity"]], f["host"], f["kind"]))
    for number, finding in enumerate(findings, 1):
        finding["id"] = f"F{number}"
    get_stream_writer()({"progress": f"Found {len(findings)} issues on {len({f['host'] for f in findings})} hosts"})
    return {"findings": findings}


ANALYSE_PROMPT = (
    "You are Baton's operations auditor. From the findings, pick the ones worth fixing now (high severity first, at "
    "most 8) and call ProposeRemediation once. Use only hosts, actions and targets that appear in the findings."
)


async def analyse(state: OpsAuditState, *, chat_model: Callable[[], BaseChatModel]) -> OpsAuditState:
    if not state["findings"]:
        return {"proposal": None}
    model = chat_model().bind_tools([ProposeRemediation], tool_choice="ProposeRemediation")
    reply = await model.ainvoke(
        [
            SystemMessage(ANALYSE_PROMPT),
            HumanMessage(
                f"Request: {state.get('request_text', '')}\n\nFINDINGS_JSON:\n{json.dumps(state['findings'])}"
            ),
        ]
    )
    calls = reply.tool_calls if isinstance(reply, AIMessage) else []
    proposal = _valid_proposal(calls[0]["args"]) if calls else None
    return {"proposal": proposal}


async def review(state: OpsAuditState) -> OpsAuditState:
    """Cheap on purpose: LangGraph re-runs this node from the top on resume."""
    proposal = state.get("proposal")
    if not proposal or not proposal["steps"]:
        return {"decision": "none", "plan": []}
    request = {
        "action_requests": [{"name": ACTION, "args": proposal, "description": describe_plan(proposal)}],
        "review_configs": [{"action_name": ACTION, "allowed_decisions": ["approve", "edit", "reject", "respond"]}],
    }
    decision = interrupt(request)["decisions"][0]
    kind = decision["type"]
    if kind == "approve":
        return {"decision": "approve", "plan": proposal["steps"]}
    if kind == "edit":
        edited = _valid_proposal(decision["edited_action"]["args"]) or {"steps": []}
        return {"decision": "edit", "plan": edited["steps"]}
    return {"decision": kind, "decision_note": decision.get("message") or "", "plan": []}


async def apply(state: OpsAuditState) -> OpsAuditState:
    inventory = json.loads(json.dumps(state["inventory"]))
    hosts = {h["name"]: h for h in inventory["hosts"]}
    changes = [_apply_step(inventory, hosts, step) for step in state["plan"]]
    applied = sum(c["status"] == "applied" for c in changes)
    get_stream_writer()({"progress": f"Applied {applied} of {len(changes)} remediation steps"})
    return {"inventory": inventory, "changes": changes}


REPORT_PROMPT = (
    "Write a short audit report for the on-call team in Markdown: what was found, what changed, what is "
    "left. At most 150 words. No tables (Baton adds them)."
)


async def report(state: OpsAuditState, *, chat_model: Callable[[], BaseChatModel]) -> OpsAuditState:
    facts = {
        "findings": len(state["findings"]),
        "high": sum(f["severity"] == "high" for f in state["findings"]),
        "decision": state.get("decision", "none"),
        "decision_note": state.get("decision_note", ""),
        "changes": state.get("changes", []),
    }
    reply = await chat_model().ainvoke(
        [SystemMessage(REPORT_PROMPT), HumanMessage(f"FACTS_JSON:\n{json.dumps(facts)}")]
    )
    return {"report": str(reply.content)}


def after_review(state: OpsAuditState) -> Literal["apply", "report"]:
    return "apply" if state.get("plan") else "report"


def make_ops_audit_graph(ctx: AgentContext) -> StateGraph:
    builder = StateGraph(OpsAuditState)
    builder.add_node("load", load)
    builder.add_node("scan", scan)
    builder.add_node("analyse", partial(analyse, chat_model=ctx.chat_model))
    builder.add_node("review", review)
    builder.add_node("apply", apply)
    builder.add_node("report", partial(report, chat_model=ctx.chat_model))
    builder.add_edge(START, "load")
    builder.add_edge("load", "scan")
    builder.add_edge("scan", "analyse")
    builder.add_edge("analyse", "review")
    builder.add_conditional_edges("review", after_review, ["apply", "report"])
    builder.add_edge("apply", "report")
    builder.add_edge("report", END)
    return builder


# -- helpers ---------------------------------------------------------------------------------------------------


def _valid_proposal(args: Any) -> dict[str, Any] | None:
    """Keep the steps that validate: a model's (or a person's) one malformed step must not sink the rest."""
    if not isinstance(args, dict):
        return None
    steps = []
    for raw in args.get("steps") or []:
        try:
            steps.append(RemediationStep.model_validate(raw).model_dump())
        except ValidationError:
            continue
    return {"summary": str(args.get("summary") or ""), "steps": steps}


def describe_plan(proposal: dict[str, Any]) -> str:
    lines = [proposal.get("summary") or "Proposed remediation:"]
    for step in proposal["steps"]:
        target = f" {step['target']}" if step["target"] else ""
        why = f" ({step['finding_id']}: {step['reason']})" if step["reason"] else ""
        lines.append(f"- {step['host']}: {step['action']}{target}{why}")
    return "\n".join(lines)


def _apply_step(inventory: dict[str, Any], hosts: dict[str, dict[str, Any]], step: dict[str, Any]) -> dict[str, Any]:
    host = hosts.get(step["host"])
    action, target = step["action"], step["target"]
    if host is None:
        return {**step, "status": "skipped", "detail": "unknown host"}
    if action == "upgrade_package":
        wanted = inventory["baseline"]["min_versions"].get(target)
        if target not in host["packages"] or wanted is None:
            return {**step, "status": "skipped", "detail": f"no baseline for package {target!r} on this host"}
        before, host["packages"][target] = host["packages"][target], wanted
        return {**step, "status": "applied", "detail": f"{target} {before} -> {wanted}"}
    if action == "close_port":
        if not target.isdigit() or int(target) not in host["open_ports"]:
            return {**step, "status": "skipped", "detail": f"port {target} is not open"}
        host["open_ports"].remove(int(target))
        return {**step, "status": "applied", "detail": f"closed port {target}"}
    if action == "free_disk_space":
        before, host["disk_used_pct"] = host["disk_used_pct"], min(host["disk_used_pct"], 60)
        return {**step, "status": "applied", "detail": f"disk {before}% -> {host['disk_used_pct']}%"}
    expiry = (date.fromisoformat(inventory["as_of"]) + timedelta(days=90)).isoformat()
    host["cert_expiry"] = expiry
    return {**step, "status": "applied", "detail": f"certificate renewed until {expiry}"}


def _markdown(state: dict[str, Any]) -> str:
    rows = ["| id | host | severity | finding |", "|---|---|---|---|"]
    rows += [f"| {f['id']} | {f['host']} | {f['severity']} | {f['detail']} |" for f in state.get("findings", [])]
    parts = [state.get("report", ""), "", "### Findings", *rows]
    if state.get("changes"):
        parts += ["", "### Changes", "| host | action | status | detail |", "|---|---|---|---|"]
        parts += [
            f"| {c['host']} | {c['action']} {c['target']} | {c['status']} | {c['detail']} |" for c in state["changes"]
        ]
    return "\n".join(parts)


def initial_state(request: TaskRequestV1) -> dict[str, Any]:
    return {"request_text": request.text}


def result_from_state(state: dict[str, Any]) -> TaskResultV1:
    decision = state.get("decision", "none")
    applied = [c for c in state.get("changes", []) if c["status"] == "applied"]
    findings = state.get("findings", [])
    if decision == "reject":
        why = f" Reason: {state['decision_note']}" if state.get("decision_note") else ""
        change = f"The remediation was rejected; nothing was changed.{why}"
    elif decision == "respond":
        change = f"Nothing was changed; the reviewer answered: {state.get('decision_note', '')}"
    elif decision == "none":
        change = "No remediation was proposed; nothing was changed."
    else:
        change = f"Applied {len(applied)} remediation step(s){' as edited' if decision == 'edit' else ''}."
    artifacts = [
        ArtifactV1(name="ops_audit_report.md", content_type="text/markdown", content=_markdown(state)[:200_000])
    ]
    if state.get("changes"):
        artifacts.append(
            ArtifactV1(
                name="changes.json", content_type="application/json", content=json.dumps(state["changes"], indent=2)
            )
        )
    return TaskResultV1(
        outcome="rejected" if decision == "reject" else "success",
        summary=f"Audited {len(state.get('inventory', {}).get('hosts', []))} hosts: {len(findings)} findings. {change}",
        artifacts=artifacts,
    )


SPEC = AgentSpec(
    name="ops_audit",
    description="Audits the sample infrastructure inventory and applies a remediation once a person approves it.",
    build=make_ops_audit_graph,
    initial_state=initial_state,
    result_from_state=result_from_state,
    total_steps=6,
)
