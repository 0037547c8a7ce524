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
import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, Field, ValidationError

from contracts import ArtifactV1, TaskRequestV1, TaskResultV1
from workers.registry import AgentContext, AgentSpec

ActionKind = Literal["upgrade_package", "close_port", "free_disk_space", "renew_certificate"]
ACTION = "apply_remediation"
DATA_DIR = Path(__file__).parent / "data"


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


def load_inventory() -> dict[str, Any]:
    return dict(json.loads((DATA_DIR / "inventory.json").read_text(encoding="utf-8")))


# -- tools: pure functions over the inventory, also usable by a tool-calling model ---------------------------


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(n), s) for n, s in re.findall(r"(\d+)([a-z]*)", version.lower()))


@tool
def check_versions(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """Packages older than the baseline's minimum versions."""
    minimums: dict[str, str] = inventory["baseline"]["min_versions"]
    found = []
    for host in inventory["hosts"]:
        for package, version in sorted(host["packages"].items()):
            wanted = minimums.get(package)
            if wanted and _version_key(version) < _version_key(wanted):
                major_behind = _version_key(version)[:1] < _version_key(wanted)[:1]
                found.append(
                    _finding(
                        host,
                        "outdated_package",
                        "high" if major_behind else "medium",
                        f"{package} {version} is older than {wanted}",
                        "upgrade_package",
                        package,
                    )
                )
    return found


@tool
def check_open_ports(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """Ports open beyond what the host's exposure allows (telnet anywhere, internal services on public hosts)."""
    baseline = inventory["baseline"]
    found = []
    for host in inventory["hosts"]:
        allowed = set(
            baseline["public_ports"] if host["public"] else baseline["public_ports"] + baseline["internal_ports"]
        )
        for port in host["open_ports"]:
            if port == 23 or port not in allowed:
                severity = "high" if port == 23 or host["public"] else "medium"
                found.append(_finding(host, "exposed_port", severity, f"port {port} is open", "close_port", str(port)))
    return found


@tool
def check_disks(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """Disks above the baseline's warning level."""
    limit = inventory["baseline"]["disk_warn_pct"]
    return [
        _finding(
            h,
            "disk_pressure",
            "high" if h["disk_used_pct"] >= 90 else "medium",
            f"disk {h['disk_used_pct']}% used",
            "free_disk_space",
        )
        for h in inventory["hosts"]
        if h["disk_used_pct"] >= limit
    ]


@tool
def check_certificates(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """TLS certificates expiring within the baseline's warning window (counted from the inventory's date)."""
    as_of = date.fromisoformat(inventory["as_of"])
    found = []
    for host in inventory["hosts"]:
        if host.get("cert_expiry"):
            days = (date.fromisoformat(host["cert_expiry"]) - as_of).days
            if days <= inventory["baseline"]["cert_warn_days"]:
                found.append(
                    _finding(
                        host,
                        "certificate_expiry",
                        "high" if days <= 7 else "medium",
                        f"certificate expires in {days} days",
                        "renew_certificate",
                    )
                )
    return found


INVENTORY_TOOLS = (check_versions, check_open_ports, check_disks, check_certificates)


def _finding(
    host: dict[str, Any], kind: str, severity: str, detail: str, action: str, target: str = ""
) -> dict[str, Any]:
    return {
        "host": host["name"],
        "kind": kind,
        "severity": severity,
        "detail": detail,
        "suggested_action": action,
        "target": target,
    }


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
