"""What the fuzzer reports: per-category figures, the tracebacks in the bot's log (with the frames that matter),
and the markdown table."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Outcome",
    "Traceback",
    "by_body_size",
    "group_tracebacks",
    "markdown_table",
    "parse_tracebacks",
    "percentile",
    "summarize",
]

_FRAME = re.compile(r'^\s+File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+)$')
_REPO = str(Path(__file__).resolve().parents[1]) + "/"


def _short(path: str) -> str:
    """A frame's file as a reader finds it: `slack_bolt/...` for a library, `bot/...` for Baton."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if path.startswith(_REPO):
        return path[len(_REPO):]
    return "/".join(path.split("/")[-2:])


@dataclass
class Outcome:
    """One HTTP request the fuzzer sent and what came back."""

    category: str
    kind: str
    label: str
    item: int
    status: int | str
    """The HTTP status, or `timeout` / `error:<type>` when no answer came."""
    ms: float
    forged: bool
    body_len: int
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Traceback:
    record: str
    """The log line the traceback belongs to (the logger's message)."""
    frames: tuple[str, ...]
    exception: str

    @property
    def key(self) -> tuple[str, str]:
        return self.exception.split(":", 1)[0], self.frames[-1] if self.frames else ""


def parse_tracebacks(text: str) -> list[Traceback]:
    """Every `Traceback (most recent call last):` block in a log, with its innermost frames and exception line."""
    lines = text.splitlines()
    found = []
    record = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("Traceback"):
            if line and not line[0].isspace() and not line.startswith(("During handling", "The above exception")):
                record = line
            i += 1
            continue
        frames: list[str] = []
        i += 1
        while i < len(lines) and (lines[i].startswith(" ") or not lines[i]):
            match = _FRAME.match(lines[i])
            if match:
                frames.append(f"{_short(match['file'])}:{match['line']} in {match['func']}")
            i += 1
        exception = lines[i] if i < len(lines) else ""
        found.append(Traceback(record[:300], tuple(frames), exception[:300]))
    return found


def group_tracebacks(found: list[Traceback], top_frames: int = 6) -> list[dict[str, Any]]:
    """Tracebacks grouped by exception type and innermost frame, most frequent first."""
    groups: dict[tuple[str, str], list[Traceback]] = {}
    for tb in found:
        groups.setdefault(tb.key, []).append(tb)
    rows = []
    for _, members in sorted(groups.items(), key=lambda item: -len(item[1])):
        example = members[0]
        baton = [f for f in example.frames if f.startswith(("bot/", "baton/", "contracts/"))]
        rows.append({"count": len(members), "exception": example.exception, "logged_as": example.record,
                     "innermost_frames": list(example.frames[-top_frames:]), "baton_frames": baton})
    return rows


def percentile(values: list[float], pct: float) -> float:
    """Nearest rank: p99 of 1,000 samples is the 990th smallest."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


_SIZES = (("up to 64 KiB", -1, 64 << 10), ("64 KiB to 1 MiB", 64 << 10, 1 << 20), ("over 1 MiB", 1 << 20, 1 << 40))


def by_body_size(outcomes: list[Outcome]) -> dict[str, Any]:
    """Latency by body size: a large body that passes the signature check costs the bot parsing time."""
    rows = {}
    for name, low, high in _SIZES:
        ms = [o.ms for o in outcomes if isinstance(o.status, int) and low < o.body_len <= high]
        if ms:
            rows[name] = {"deliveries": len(ms), "p50": round(percentile(ms, 50), 1),
                          "p99": round(percentile(ms, 99), 1), "max": round(max(ms), 1)}
    return rows


def summarize(outcomes: list[Outcome], tracebacks: int) -> dict[str, Any]:
    latencies = [o.ms for o in outcomes if isinstance(o.status, int)]
    statuses = Counter(str(o.status) for o in outcomes)
    return {
        "deliveries": len(outcomes),
        "status": dict(sorted(statuses.items())),
        "5xx": sum(1 for o in outcomes if isinstance(o.status, int) and o.status >= 500),
        "no_answer": sum(1 for o in outcomes if not isinstance(o.status, int)),
        "over_3s": sum(1 for o in outcomes if isinstance(o.status, int) and o.ms >= 3000),
        "forged_accepted": sum(1 for o in outcomes if o.forged and isinstance(o.status, int) and o.status < 300),
        "tracebacks": tracebacks,
        "ms": {"p50": round(percentile(latencies, 50), 1), "p99": round(percentile(latencies, 99), 1),
               "max": round(max(latencies, default=float("nan")), 1)},
    }


def markdown_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    head = ("| category | deliveries | status codes | 5xx | no answer | answered after 3 s | forged accepted "
            "| tracebacks | p50 ms | p99 ms | max ms |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for name, s in rows:
        codes = " ".join(f"{code}×{n}" for code, n in s["status"].items())
        lines.append(f"| {name} | {s['deliveries']} | {codes} | {s['5xx']} | {s['no_answer']} | {s['over_3s']} "
                     f"| {s['forged_accepted']} | {s['tracebacks']} | {s['ms']['p50']} | {s['ms']['p99']} "
                     f"| {s['ms']['max']} |")
    return "\n".join(lines)
