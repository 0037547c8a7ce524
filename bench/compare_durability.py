"""LangGraph's durability modes on bench.compare's graph: CPU a task and checkpoints saved, in one process.

    python -m bench.compare_durability --tasks N     (the fake model named by OPENAI_BASE_URL; prints JSON)

Baton's runner streams with durability="sync": a node's checkpoint is saved before the next node starts, which is
what bounds a crash to one repeated model call. "async" saves it while the next node runs (a crash in that window
loses it); "exit" saves only when the graph stops, so a crash repeats every call. Without a checkpointer nothing is
saved. The CPU figures include the model client's, the same in every mode: the differences are the checkpointer's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from bench.compare_graph import make_graph

Durability = Literal["exit", "async", "sync"]
GUARANTEE = {
    "none": "no: nothing saved",
    "exit": "no: one checkpoint at the end, a crash repeats every call",
    "async": "not strictly: each node's checkpoint is written while the next node runs",
    "sync": "yes: each node's checkpoint is saved before the next node starts",
}


async def run(tasks: int, saver: Any, durability: Durability | None) -> dict[str, Any]:
    graph = make_graph().compile(checkpointer=saver)
    configs: list[RunnableConfig] = [{"configurable": {"thread_id": uuid.uuid4().hex}} for _ in range(tasks)]
    cpu = time.process_time()
    runs = (graph.ainvoke({"text": f"task {i}"}, c, durability=durability) for i, c in enumerate(configs))
    await asyncio.gather(*runs)
    cpu_ms = (time.process_time() - cpu) / tasks * 1000
    saved = len([c async for c in saver.alist(configs[0])]) if saver is not None else 0
    return {"cpu_ms_a_task": round(cpu_ms, 2), "checkpoints_a_task": saved}


async def main(tasks: int) -> list[dict[str, Any]]:
    rows = []
    await run(5, None, None)  # warm up: imports, the model client's connection pool
    rows.append({"mode": "none", "saver": "-", **await run(tasks, None, None), "guarantee": GUARANTEE["none"]})
    work = Path(tempfile.mkdtemp(prefix="baton-bench-durability-"))
    for mode in ("exit", "async", "sync"):
        async with AsyncSqliteSaver.from_conn_string(str(work / f"{mode}.sqlite")) as saver:
            await saver.setup()
            row = await run(tasks, saver, mode)
            rows.append({"mode": mode, "saver": "sqlite", **row, "guarantee": GUARANTEE[mode]})
    rows.append({"mode": "sync", "saver": "memory", **await run(tasks, InMemorySaver(), "sync"),
                 "guarantee": "yes, but in memory: lost with the process"})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=50)
    print(json.dumps(asyncio.run(main(parser.parse_args().tasks))), flush=True)
