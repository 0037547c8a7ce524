"""Fuzz benchmark: hostile deliveries to the bot's Slack endpoint over real HTTP, against the whole system running on
this machine (Temporal dev server, `python -m workers`, `python -m bot`, the fake Slack Web API in this process).

    python -m bench.fuzz [--deliveries 5200] [--seed N] [--concurrency 8] [--only CAT,CAT] [--show CAT:N]

Every payload kind Slack sends (slash command, app_mention, DM message, app_home_opened, assistant_thread_*,
block_actions, view_submission, url_verification) is mutated in 19 categories, signed and unsigned; the categories
run one after another (so each one's tracebacks can be told apart), each with `--concurrency` senders. Targets:
0 answers >= 500, 0 tracebacks in the bot's log, p99 of the HTTP answer < 100 ms, and afterwards a real signed
`/baton run diagnostic ...` that starts a task which finishes. Results: bench/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import aiohttp

from bench.fuzz_checks import final_check, prepare
from bench.fuzz_kinds import FORM, Kind, Target
from bench.fuzz_mutations import CATEGORIES, budgets, item
from bench.fuzz_report import (
    Outcome,
    by_body_size,
    group_tracebacks,
    markdown_table,
    parse_tracebacks,
    summarize,
)
from bench.fuzz_stack import REPO_ROOT, MachineWatch, System, running_system
from bench.fuzz_wire import Mutation, signed_headers
from bot.blocks.ids import ButtonRef

RESULTS = Path(__file__).parent / "results" / "fuzz.json"
TIMEOUT_S = 10.0
SLOW_MS = 1000.0
"""Answers slower than this are kept as evidence too: an ack dropped after an exception hangs until Slack's 3 s."""
EXAMPLES_PER_CATEGORY = 8


def _evidence(m: Mutation, headers: dict[str, str], answer: str) -> dict[str, Any]:
    return {
        "label": m.label,
        "headers": {k: (v if len(v) < 120 else v[:120] + "...") for k, v in headers.items()},
        "body_len": len(m.body),
        "body_sha256": hashlib.sha256(m.body).hexdigest(),
        # Form bodies are shown decoded (`payload=` JSON readable); 4 KB is enough to rebuild any small input.
        "body": (unquote_plus(m.body[:4000].decode("latin-1")) if m.content_type == FORM
                 else m.body[:4000].decode(errors="backslashreplace")),
        "answer": answer[:300],
    }


async def _send(session: aiohttp.ClientSession, system: System, category: str, kind: Kind, number: int,
                m: Mutation) -> Outcome:
    headers = signed_headers(m, system.signing_secret, time.time())
    skip = () if m.content_type is not None else ("Content-Type",)
    answer = ""
    started = time.perf_counter()
    status: int | str
    try:
        async with session.post(system.events_url, data=m.body, headers=headers, skip_auto_headers=skip) as response:
            answer = await response.text(errors="replace")
            status = response.status
    except TimeoutError:
        status = "timeout"
    except aiohttp.ClientError as exc:
        status = f"error:{type(exc).__name__}"
    ms = (time.perf_counter() - started) * 1000
    outcome = Outcome(category, kind.name, m.label, number, status, ms, m.signing.forged, len(m.body))
    failed = not isinstance(status, int) or status >= 500 or (m.signing.forged and status < 300) or ms > SLOW_MS
    if failed:
        outcome.evidence = _evidence(m, headers, answer)
    return outcome


def _generate(category: str, budget: int, seed: int, target: Target) -> list[tuple[int, Kind, list[Mutation]]]:
    """The category's requests, built before any is sent (building a 2 MB body must not delay reading answers)."""
    batches, count, number = [], 0, 0
    while count < budget:
        kind, mutations = item(category, number, seed, target)
        mutations = mutations[: budget - count]
        batches.append((number, kind, mutations))
        count += len(mutations)
        number += 1
    return batches


async def _run_category(system: System, category: str, budget: int, seed: int, target: Target,
                        concurrency: int) -> list[Outcome]:
    batches = iter(_generate(category, budget, seed, target))
    outcomes: list[Outcome] = []
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:

        async def sender() -> None:
            for number, kind, mutations in batches:
                groups: list[list[Mutation]] = []
                for m in mutations:  # a duplicate sent `together` goes at the same moment as the one before it
                    if m.together and groups:
                        groups[-1].append(m)
                    else:
                        groups.append([m])
                for group in groups:
                    sent = [_send(session, system, category, kind, number, m) for m in group]
                    outcomes.extend(await asyncio.gather(*sent))

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return outcomes


async def _settle(log: Path, quiet_s: float = 1.0, limit_s: float = 20.0) -> None:
    """Wait until the bot's log stops growing: work a request started after its answer is logged by then."""
    deadline = time.monotonic() + limit_s
    size, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = log.stat().st_size  # noqa: ASYNC240 - a stat between categories
        if now_size != size:
            size, quiet_since = now_size, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        await asyncio.sleep(0.25)


def _read_from(log: Path, offset: int) -> tuple[str, int]:
    with log.open("rb") as f:
        f.seek(offset)
        data = f.read()
    return data.decode(errors="replace"), offset + len(data)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


async def fuzz(deliveries: int, seed: int, concurrency: int, only: list[str]) -> dict[str, Any]:
    workdir = REPO_ROOT / ".baton" / "bench-fuzz" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    watch = MachineWatch()
    results: dict[str, Any] = {}
    async with running_system(workdir) as system:
        print(f"system up: bot {system.events_url}, logs in {workdir}", flush=True)
        target, preflight = await prepare(system)
        print(f"preflight: {preflight}", flush=True)
        sampler = asyncio.create_task(watch.run())
        await asyncio.sleep(0)
        offset = system.bot_log.stat().st_size
        categories: dict[str, Any] = {}
        everything: list[Outcome] = []
        all_tracebacks = []
        started = time.perf_counter()
        for category, budget in budgets(deliveries, only, seed):
            outcomes = await _run_category(system, category, budget, seed, target, concurrency)
            await _settle(system.bot_log)
            text, offset = _read_from(system.bot_log, offset)
            found = parse_tracebacks(text)
            all_tracebacks.extend(found)
            everything.extend(outcomes)
            summary = summarize(outcomes, sum(1 for line in text.splitlines() if line.startswith("Traceback")))
            summary["5xx_by_kind"] = dict(Counter(o.kind for o in outcomes if isinstance(o.status, int)
                                                  and o.status >= 500))
            summary["failing_inputs"] = [{"item": o.item, "kind": o.kind, "status": o.status, **o.evidence}
                                         for o in outcomes if o.evidence][:EXAMPLES_PER_CATEGORY]
            summary["slowest"] = [{"item": o.item, "kind": o.kind, "label": o.label[:100], "body_len": o.body_len,
                                   "status": o.status, "ms": round(o.ms, 1)}
                                  for o in sorted(outcomes, key=lambda o: -o.ms)[:5]]
            summary["tracebacks_grouped"] = group_tracebacks(found)
            categories[category] = summary
            print(f"{category:22} {summary['deliveries']:5} requests  5xx {summary['5xx']:4}  no answer "
                  f"{summary['no_answer']:3}  tracebacks {summary['tracebacks']:4}  p99 {summary['ms']['p99']} ms",
                  flush=True)
            if system.bot.returncode is not None:
                print(f"the bot exited with {system.bot.returncode}; stopping", flush=True)
                break
        wall_s = time.perf_counter() - started
        watch.sample()
        sampler.cancel()
        final = await final_check(system)
        bot_lines = system.bot_log.read_text(errors="replace").splitlines()
        bot_log_tracebacks = sum(1 for line in bot_lines if line.startswith("Traceback"))
        log_levels = {level: sum(1 for line in bot_lines if f" {level} " in line[:40])
                      for level in ("ERROR", "WARNING")}
        worker_tracebacks = sum(1 for line in system.worker_log.read_text(errors="replace").splitlines()
                                if line.startswith("Traceback"))
        ours = {pid: role for role, pid in system.pids.items()}
        shared = [{"pid": p.pid, "process": p.name, "role": ours.get(p.pid, "not part of the benchmark"),
                   "cpu_s": p.cpu_s} for p in watch.top()]
    overall = summarize(everything, sum(c["tracebacks"] for c in categories.values()))
    overall["ms_by_body_size"] = by_body_size(everything)
    overall["signed_ms_by_body_size"] = by_body_size([o for o in everything if not o.forged])
    results.update(
        tree={"commit": _git("rev-parse", "--short", "HEAD"), "subject": _git("log", "-1", "--format=%s"),
              "uncommitted_in_bot": _git("status", "--porcelain", "--", "bot").splitlines()},
        deliveries=len(everything), seed=seed, concurrency=concurrency, timeout_s=TIMEOUT_S, wall_s=round(wall_s, 1),
        logs=str(workdir),
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                 "load_1m": {"start": round(watch.load[0], 2), "mean": round(sum(watch.load) / len(watch.load), 2),
                             "max": round(max(watch.load), 2), "end": round(watch.load[-1], 2)},
                 "cpu_s_by_process_during_fuzz": shared},
        preflight=preflight, overall=overall, categories=categories, final_check=final,
        bot_log_lines=log_levels,
        tracebacks={"bot_log_total_including_preflight_and_final": bot_log_tracebacks,
                    "worker_log_total": worker_tracebacks, "grouped": group_tracebacks(all_tracebacks)},
    )
    results["targets"] = {
        "no_5xx": overall["5xx"] == 0, "no_tracebacks": bot_log_tracebacks == 0,
        "acked_within_3s": overall["no_answer"] == 0 and overall["over_3s"] == 0,
        "p99_below_100_ms": overall["ms"]["p99"] < 100,
        "forged_never_accepted": overall["forged_accepted"] == 0, "real_run_afterwards": bool(final.get("ok")),
    }
    results["targets"]["all_met"] = all(results["targets"].values())
    return results


def _print(results: dict[str, Any]) -> None:
    rows = [(name, s) for name, s in results["categories"].items()] + [("**overall**", results["overall"])]
    print("\n" + markdown_table(rows))
    m = results["machine"]
    tree = results["tree"]
    dirty = f", uncommitted in bot/: {' '.join(tree['uncommitted_in_bot'])}" if tree["uncommitted_in_bot"] else ""
    print(f"\ntree {tree['commit']} ({tree['subject'][:100]}){dirty}")
    print(f"{results['deliveries']} requests, {results['concurrency']} senders, {results['wall_s']} s")
    print(f"machine: {m['cpus']} CPUs; 1-min load start {m['load_1m']['start']}, mean {m['load_1m']['mean']}, "
          f"max {m['load_1m']['max']}, end {m['load_1m']['end']}")
    print("CPU seconds during the fuzz, by process (the benchmark's and any other on the machine):")
    for p in m["cpu_s_by_process_during_fuzz"]:
        print(f"  {p['cpu_s']:7.2f} s  pid {p['pid']:<7} {p['process']:<28} {p['role']}")
    for name, row in results["overall"]["ms_by_body_size"].items():
        print(f"latency, bodies {name}: {row['deliveries']} answered, p50 {row['p50']} ms, p99 {row['p99']} ms, "
              f"max {row['max']} ms")
    print(f"final check: {results['final_check']}")
    print(f"tracebacks: {results['tracebacks']['bot_log_total_including_preflight_and_final']} in the bot's log, "
          f"{results['tracebacks']['worker_log_total']} in the worker's")
    for group in results["tracebacks"]["grouped"][:12]:
        print(f"  {group['count']:5} x {group['exception'][:120]}")
        print(f"          logged as: {group['logged_as'][:140]}")
        for frame in dict.fromkeys(group["baton_frames"][-2:] + group["innermost_frames"][-3:]):
            print(f"          {frame}")
    print(f"targets: {results['targets']}")


def show(spec: str, seed: int) -> None:
    """Print item N of a category as it would be sent (with made-up trigger ids and response_urls)."""
    category, _, number = spec.partition(":")
    target = Target("T0SANDBOX", "baton-sandbox", "A0BATON", "U0BATONBOT", ("U01ALICE", "U02BOB", "U03CAROL"),
                    ("C01GENERAL", "C02OPS"), lambda c, u: f"http://127.0.0.1:3100/response/{c}-{u}",
                    lambda u: f"{int(time.time())}.1.{u}", (ButtonRef("ops_audit-0123456789ab", "cp-1"),))
    kind, mutations = item(category, int(number or 0), seed, target)
    for m in mutations:
        print(f"kind {kind.name}; {m.label}; signing {m.signing.mode}; content type {m.content_type}; "
              f"headers {signed_headers(m, 'the-secret', time.time())}; {len(m.body):,} bytes:\n{m.body[:1500]!r}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5200)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", default="", help="comma-separated categories (default: all 19)")
    parser.add_argument("--show", metavar="CATEGORY:N", help="print one item of a category and exit")
    args = parser.parse_args()
    if args.show:
        show(args.show, args.seed)
        return
    only = [c for c in args.only.split(",") if c] or list(CATEGORIES)
    unknown = set(only) - set(CATEGORIES)
    if unknown:
        parser.error(f"unknown categories {sorted(unknown)}; known: {', '.join(CATEGORIES)}")
    results = asyncio.run(fuzz(args.deliveries, args.seed, args.concurrency, only))
    payload = {"benchmark": "fuzz", "at": datetime.now(UTC).isoformat(timespec="seconds"), **results}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    _print(results)
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
