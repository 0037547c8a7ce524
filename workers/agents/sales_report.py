"""sales_report: analyses the bundled sales data in several steps, with a person confirming the scope first.

    START -> load -> propose_scope -> confirm_scope --+--> aggregate -> narrate -> report -> END
                                      interrupt        |    pure python  model #1
                                      (Agent Inbox)    +--> END  (ignored: nothing is computed)

`confirm_scope` pauses with an Agent Inbox `HumanInterrupt`: accept the proposed scope, edit it (regions,
products, months), respond with a note for the narrative, or ignore (the report is cancelled). Numbers come
from plain Python over the CSV; the model only writes the narrative, in one call.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from contracts import ArtifactV1, TaskRequestV1, TaskResultV1
from workers.registry import AgentContext, AgentSpec

DATA_DIR = Path(__file__).parent / "data"
_QUARTERS = {
    "Q1": ("01", "03"),
    "Q2": ("04", "06"),
    "Q3": ("07", "09"),
    "Q4": ("10", "12"),
    "H1": ("01", "06"),
    "H2": ("07", "12"),
}


class SalesState(TypedDict, total=False):
    request_text: str
    parameters: dict[str, Any]
    catalog: dict[str, list[str]]
    scope: dict[str, Any]
    scope_status: str
    note: str
    figures: dict[str, Any]
    narrative: str


def load_rows() -> list[dict[str, Any]]:
    with (DATA_DIR / "sales.csv").open(encoding="utf-8", newline="") as f:
        return [{**r, "units": int(r["units"]), "revenue": float(r["revenue"])} for r in csv.DictReader(f)]


async def load(state: SalesState) -> SalesState:
    rows = load_rows()
    catalog = {key: sorted({r[key] for r in rows}) for key in ("region", "product", "month")}
    get_stream_writer()({"progress": f"Loaded {len(rows)} sales rows"})
    return {"catalog": catalog}


async def propose_scope(state: SalesState) -> SalesState:
    return {"scope": scope_from_request(state.get("request_text", ""), state.get("parameters", {}), state["catalog"])}


async def confirm_scope(state: SalesState) -> SalesState:
    """Cheap on purpose: LangGraph re-runs this node from the top on resume."""
    request = {
        "action_request": {"action": "confirm_scope", "args": state["scope"]},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
        "description": f"Confirm the scope of the sales report: {describe_scope(state['scope'])}. "
        "Edit it, or answer with a note for the write-up.",
    }
    response = interrupt([request])[0]
    if response["type"] == "accept":
        return {"scope_status": "accepted"}
    if response["type"] == "edit":
        scope = normalize_scope(response["args"]["args"], state["catalog"])
        return {"scope": scope, "scope_status": "edited"}
    if response["type"] == "response":
        return {"scope_status": "accepted", "note": str(response["args"])}
    return {"scope_status": "ignored"}


async def aggregate(state: SalesState) -> SalesState:
    scope = state["scope"]
    rows = [
        r
        for r in load_rows()
        if r["region"] in scope["regions"]
        and r["product"] in scope["products"]
        and scope["start_month"] <= r["month"] <= scope["end_month"]
    ]
    get_stream_writer()({"progress": f"Aggregated {len(rows)} rows in scope"})
    return {"figures": figures(rows)}


NARRATE_PROMPT = (
    "You are Baton's sales analyst. Write a short narrative (at most 150 words, Markdown, no tables) "
    "about the figures: the headline, the strongest and weakest region and product, the trend. Use "
    "only the numbers given."
)


async def narrate(state: SalesState, *, chat_model: Callable[[], BaseChatModel]) -> SalesState:
    if not state["figures"]["rows"]:
        return {"narrative": "No sales match this scope."}
    facts = {"scope": state["scope"], "figures": state["figures"], "note_from_requester": state.get("note", "")}
    reply = await chat_model().ainvoke(
        [
            SystemMessage(NARRATE_PROMPT),
            HumanMessage(f"Request: {state.get('request_text', '')}\n\nFIGURES_JSON:\n{json.dumps(facts)}"),
        ]
    )
    return {"narrative": str(reply.content)}


async def report(state: SalesState) -> SalesState:
    get_stream_writer()({"progress": "Report ready"})
    return {}


def after_confirm(state: SalesState) -> str:
    return END if state.get("scope_status") == "ignored" else "aggregate"


def make_sales_report_graph(ctx: AgentContext) -> StateGraph:
    builder = StateGraph(SalesState)
    builder.add_node("load", load)
    builder.add_node("propose_scope", propose_scope)
    builder.add_node("confirm_scope", confirm_scope)
    builder.add_node("aggregate", aggregate)
    builder.add_node("narrate", partial(narrate, chat_model=ctx.chat_model))
    builder.add_node("report", report)
    builder.add_edge(START, "load")
    builder.add_edge("load", "propose_scope")
    builder.add_edge("propose_scope", "confirm_scope")
    builder.add_conditional_edges("confirm_scope", after_confirm, ["aggregate", END])
    builder.add_edge("aggregate", "narrate")
    builder.add_edge("narrate", "report")
    builder.add_edge("report", END)
    return builder


# -- scope -----------------------------------------------------------------------------------------------------


def scope_from_request(text: str, parameters: dict[str, Any], catalog: dict[str, list[str]]) -> dict[str, Any]:
    """Regions, products and months named in the request (parameters win); whatever is not named is all."""
    regions = [r for r in catalog["region"] if re.search(rf"\b{re.escape(r)}\b", text)]
    products = [p for p in catalog["product"] if p.lower() in text.lower()]
    year = catalog["month"][0][:4]
    start, end = catalog["month"][0], catalog["month"][-1]
    if period := re.search(r"\b(Q[1-4]|H[12])\b", text, re.IGNORECASE):
        first, last = _QUARTERS[period.group(1).upper()]
        start, end = f"{year}-{first}", f"{year}-{last}"
    months = re.findall(r"\b\d{4}-\d{2}\b", text)
    if months:
        start, end = min(months), max(months)
    proposed = {"regions": regions, "products": products, "start_month": start, "end_month": end}
    proposed.update({k: v for k, v in parameters.items() if k in proposed})
    return normalize_scope(proposed, catalog)


def normalize_scope(scope: Any, catalog: dict[str, list[str]]) -> dict[str, Any]:
    """A scope limited to what the data has: unknown names are dropped, an empty list means everything."""
    scope = scope if isinstance(scope, dict) else {}

    def pick(key: str, known: list[str]) -> list[str]:
        values = scope.get(key) or []
        values = [values] if isinstance(values, str) else list(values)
        lowered = {v.lower(): v for v in known}
        chosen = [lowered[str(v).lower()] for v in values if str(v).lower() in lowered]
        return sorted(set(chosen)) or list(known)

    months = catalog["month"]
    start = str(scope.get("start_month") or months[0])
    end = str(scope.get("end_month") or months[-1])
    start, end = (start, end) if start <= end else (end, start)
    return {
        "regions": pick("regions", catalog["region"]),
        "products": pick("products", catalog["product"]),
        "start_month": max(start, months[0]),
        "end_month": min(end, months[-1]),
    }


def describe_scope(scope: dict[str, Any]) -> str:
    return (
        f"regions {', '.join(scope['regions'])}; products {', '.join(scope['products'])}; "
        f"{scope['start_month']} to {scope['end_month']}"
    )


# -- figures and report ----------------------------------------------------------------------------------------


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def totals(key: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(lambda: {"revenue": 0.0, "units": 0})
        for r in rows:
            out[r[key]]["revenue"] = round(out[r[key]]["revenue"] + r["revenue"], 2)
            out[r[key]]["units"] += r["units"]
        return dict(sorted(out.items()))

    by_month = totals("month")
    revenue = round(sum(r["revenue"] for r in rows), 2)
    months = list(by_month)
    growth = None
    if len(months) >= 2 and by_month[months[0]]["revenue"]:
        growth = round(100 * (by_month[months[-1]]["revenue"] / by_month[months[0]]["revenue"] - 1), 1)
    return {
        "rows": len(rows),
        "revenue": revenue,
        "units": sum(r["units"] for r in rows),
        "by_region": totals("region"),
        "by_product": totals("product"),
        "by_month": by_month,
        "first_to_last_month_growth_pct": growth,
    }


def _table(title: str, key: str, data: dict[str, dict[str, float]], total: float) -> list[str]:
    lines = [f"### {title}", f"| {key} | revenue | units | share |", "|---|---:|---:|---:|"]
    for name, v in data.items():
        share = f"{100 * v['revenue'] / total:.1f}%" if total else "-"
        lines.append(f"| {name} | {v['revenue']:,.2f} | {int(v['units']):,} | {share} |")
    return lines


def markdown(state: dict[str, Any]) -> str:
    f = state["figures"]
    parts = [
        state.get("narrative", ""),
        "",
        f"Scope: {describe_scope(state['scope'])}.",
        f"Total revenue {f['revenue']:,.2f} from {f['units']:,} units.",
        "",
    ]
    parts += [*_table("By region", "region", f["by_region"], f["revenue"]), ""]
    parts += [*_table("By product", "product", f["by_product"], f["revenue"]), ""]
    parts += _table("By month", "month", f["by_month"], f["revenue"])
    return "\n".join(parts)


def summary_csv(state: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["dimension", "name", "revenue", "units"])
    for dimension in ("region", "product", "month"):
        for name, v in state["figures"][f"by_{dimension}"].items():
            writer.writerow([dimension, name, f"{v['revenue']:.2f}", int(v["units"])])
    return out.getvalue()


def initial_state(request: TaskRequestV1) -> dict[str, Any]:
    return {"request_text": request.text, "parameters": dict(request.parameters)}


def result_from_state(state: dict[str, Any]) -> TaskResultV1:
    if state.get("scope_status") == "ignored" or "figures" not in state:
        return TaskResultV1(
            outcome="rejected", summary="The sales report was cancelled at the scope check; nothing was computed."
        )
    f = state["figures"]
    edited = " (scope edited by a reviewer)" if state.get("scope_status") == "edited" else ""
    return TaskResultV1(
        outcome="success",
        summary=f"Sales report for {describe_scope(state['scope'])}{edited}: revenue {f['revenue']:,.2f} "
        f"from {f['units']:,} units.",
        artifacts=[
            ArtifactV1(name="sales_report.md", content_type="text/markdown", content=markdown(state)),
            ArtifactV1(name="sales_summary.csv", content_type="text/csv", content=summary_csv(state)),
        ],
    )


SPEC = AgentSpec(
    name="sales_report",
    description="Analyses the sample sales data for a scope a person confirms, and writes a report with tables.",
    build=make_sales_report_graph,
    initial_state=initial_state,
    result_from_state=result_from_state,
    total_steps=6,
)
