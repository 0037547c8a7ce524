"""Streamed answers on the demo front model: Slack calls per answer and the time to the first streamed words.

The whole stack on loopback (Temporal dev server, the real worker and bot, the fake Slack, signed deliveries), the
front agent on the scripted demo model (it streams a word at a time). Each round is one mention in its own thread,
answered in turn: half ask for help (a text answer), half for an audit (a tool call that starts a task, then a
sentence). For each answer it records the time from the signed delivery to the first chat.startStream Slack accepted,
the time to the stream's end, and every Web API call the answer made in its thread (stream calls, posts, updates).
Then the writer alone, fed by a model that writes 30 tokens a second for 1 s to 5 min: its calls per answer.

    python -m bench.streaming [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bench._slack_common import percentile, print_table, slack_stack, write_results
from bot.answer_stream import AnswerWriter, StreamTarget
from sandbox import FakeSlackApi

CHANNEL = "C02OPS"
USER = "U02BOB"
ANSWER_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream", "chat.postMessage", "chat.update",
                  "chat.delete")
PROMPTS = ("<@U0BATONBOT> what can you do?", "<@U0BATONBOT> please audit the web fleet")


async def run(rounds: int) -> dict[str, Any]:
    first_words: list[float] = []
    whole: list[float] = []
    calls_per_answer: list[int] = []
    by_method: dict[str, int] = dict.fromkeys(ANSWER_METHODS, 0)
    async with slack_stack() as stack:
        slack = stack.slack
        for i in range(rounds):
            started = time.monotonic()
            _, event = await stack.delivery.say(USER, CHANNEL, PROMPTS[i % 2])
            thread = event["ts"]

            def started_stream(ts: str = thread) -> bool:
                return any(c.args.get("thread_ts") == ts for c in slack.calls_to("chat.startStream", ok=True))

            def stopped_whole(ts: str = thread) -> bool:
                made = _answer_ts(slack, ts)
                return any(c.response.get("ts") in made and "part" not in str(c.args.get("metadata"))
                           for c in slack.calls_to("chat.stopStream", ok=True) if c.args.get("metadata"))

            await slack.wait_for(started_stream, timeout=30)
            first_words.append(time.monotonic() - started)
            await slack.wait_for(stopped_whole, timeout=30)
            whole.append(time.monotonic() - started)
            made = _answer_ts(slack, thread)
            calls = [c for c in slack.calls if c.method in ANSWER_METHODS and c.response.get("ok")
                     and (c.args.get("thread_ts") == thread or c.args.get("ts") in made)]
            calls_per_answer.append(len(calls))
            for call in calls:
                by_method[call.method] += 1
    return {
        "rounds": rounds,
        "model": "demo front model (scripted, streams a word at a time)",
        "append_every_s": 1.0,
        "slack_calls_per_answer": {"mean": statistics.mean(calls_per_answer), "max": max(calls_per_answer),
                                   "by_method_total": by_method},
        "first_streamed_words_ms": {"p50": round(percentile(first_words, 50) * 1000, 1),
                                    "p95": round(percentile(first_words, 95) * 1000, 1),
                                    "max": round(max(first_words) * 1000, 1)},
        "whole_answer_ms": {"p50": round(percentile(whole, 50) * 1000, 1),
                            "p95": round(percentile(whole, 95) * 1000, 1)},
    }


async def paced(seconds: int, tokens_per_s: int = 30) -> dict[str, Any]:
    """The writer alone on the fake Slack, fed by a model writing `tokens_per_s` four-character tokens for `seconds`
    (a simulated clock: the figure is the writer's calls, not the wall time)."""
    async with FakeSlackApi() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        person = slack.post_user_message(CHANNEL, USER, "go")
        now = [0.0]
        writer = AnswerWriter(client, StreamTarget(CHANNEL, person.ts, slack.team_id, USER, "EvBENCH"),
                              clock=lambda: now[0])
        for i in range(seconds * tokens_per_s):
            now[0] += 1 / tokens_per_s
            await writer.add("abc " if i % 2 else "defg")
        await writer.finish()
        if client.session is not None:
            await client.session.close()
        return {"seconds": seconds, "characters": len(writer.text), "slack_calls": writer.calls,
                "messages": len(writer.messages)}


def _answer_ts(slack: Any, thread_ts: str) -> set[str]:
    return {m.ts for m in slack.messages_in(CHANNEL, thread_ts) if m.user == slack.bot_user_id}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=20)
    results = asyncio.run(run(parser.parse_args().rounds))
    results["paced_model_30_tokens_per_s"] = [asyncio.run(paced(seconds)) for seconds in (1, 10, 60, 300)]
    print_table("Streamed answers (demo front model)", [
        ("Slack calls per answer (mean / max)", f"{results['slack_calls_per_answer']['mean']:.1f} / "
                                                f"{results['slack_calls_per_answer']['max']}"),
        ("first streamed words p50 / p95 (ms)", f"{results['first_streamed_words_ms']['p50']} / "
                                                f"{results['first_streamed_words_ms']['p95']}"),
        ("whole answer p50 / p95 (ms)", f"{results['whole_answer_ms']['p50']} / {results['whole_answer_ms']['p95']}"),
        *[(f"paced model, {p['seconds']} s of writing: calls / messages", f"{p['slack_calls']} / {p['messages']}")
          for p in results["paced_model_30_tokens_per_s"]],
    ])
    print(f"results: {write_results('streaming', results)}")


if __name__ == "__main__":
    main()
