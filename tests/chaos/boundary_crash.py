"""Crash points between LangGraph nodes: act right after a node's writes are durable, before the next checkpoint.

LangGraph saves a superstep in two moves: each finished task's writes (`aput_writes`, filed under the checkpoint
the step started from), then, once every task of the step is done, the next checkpoint (`aput`). A crash between
the two leaves the latest checkpoint with its task's writes but no successor. `arm` wraps a saver so that a
callback fires exactly there, for a named node:

    "analyse"            after analyse's output writes are saved (the first time, in this process)
    "work#2"             after the 2nd output write of `work` (a node the graph runs several times)
    "review!interrupt"   after review saved its interrupt (the question), before the run reports it

A node that returns nothing still saves a `__no_writes__` marker, so every node has this boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT

PULL_PREFIX = "~__pregel_pull, "
"""How LangGraph spells the path of a node's task in `aput_writes`: `~__pregel_pull, <node>`."""


@dataclass(frozen=True)
class Boundary:
    node: str
    occurrence: int = 1
    interrupt: bool = False

    @classmethod
    def parse(cls, text: str) -> Boundary:
        """`node`, `node#n` or `node!interrupt` (see the module docstring)."""
        name, _, kind = text.partition("!")
        node, _, number = name.partition("#")
        if kind not in ("", "interrupt"):
            raise ValueError(f"Unknown boundary kind {kind!r} in {text!r}")
        return cls(node=node, occurrence=int(number or 1), interrupt=kind == "interrupt")

    def __str__(self) -> str:
        suffix = f"#{self.occurrence}" if self.occurrence != 1 else ""
        return f"{self.node}{suffix}{'!interrupt' if self.interrupt else ''}"

    def matches(self, task_path: str, channels: Sequence[str]) -> bool:
        """Writes of this boundary's node, of the kind it names (an interrupt, or the node's output)."""
        if task_path != f"{PULL_PREFIX}{self.node}" or ERROR in channels:
            return False
        return (INTERRUPT in channels) == self.interrupt


class Crashed(Exception):
    """Raised by a frozen saver: the in-process stand-in for a process that died at the boundary."""


def arm(
    saver: BaseCheckpointSaver[Any],
    plan: Callable[[str], Boundary | None],
    on_boundary: Callable[[str], None],
) -> None:
    """Call `on_boundary(thread_id)` right after the writes that `plan(thread_id)` names are saved (occurrences
    are counted per thread, on this saver instance: in this process).

    The callback runs in the task that saved the writes, before it yields to the event loop, so the loop cannot
    write the next checkpoint first.
    """
    original = saver.aput_writes
    seen: dict[str, int] = {}

    async def aput_writes(
        config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await original(config, writes, task_id, task_path)
        thread_id = str(config["configurable"]["thread_id"])
        boundary = plan(thread_id)
        if boundary is not None and boundary.matches(task_path, [channel for channel, _ in writes]):
            seen[thread_id] = seen.get(thread_id, 0) + 1
            if seen[thread_id] == boundary.occurrence:
                on_boundary(thread_id)

    saver.aput_writes = aput_writes  # type: ignore[method-assign]


def freeze_after(saver: BaseCheckpointSaver[Any], boundary: Boundary) -> None:
    """In-process crash: once the boundary's writes are saved, every later save or read raises `Crashed` and
    stores nothing, so the saver holds exactly what a process killed at the boundary would have left behind (and
    the dying attempt cannot report anything it read after the crash)."""
    frozen = False

    def freeze(thread_id: str) -> None:
        nonlocal frozen
        frozen = True

    arm(saver, lambda thread_id: boundary, freeze)
    armed_put_writes, original_put, original_get = saver.aput_writes, saver.aput, saver.aget_tuple

    async def aput_writes(
        config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        if frozen:
            raise Crashed(f"saver frozen after {boundary}")
        await armed_put_writes(config, writes, task_id, task_path)

    async def aput(config: RunnableConfig, checkpoint: Any, metadata: Any, new_versions: Any) -> RunnableConfig:
        if frozen:
            raise Crashed(f"saver frozen after {boundary}")
        return await original_put(config, checkpoint, metadata, new_versions)

    async def aget_tuple(config: RunnableConfig) -> CheckpointTuple | None:
        if frozen:
            raise Crashed(f"saver frozen after {boundary}")
        return await original_get(config)

    saver.aput_writes = aput_writes  # type: ignore[method-assign]
    saver.aput = aput  # type: ignore[method-assign]
    saver.aget_tuple = aget_tuple  # type: ignore[method-assign]


def thaw(saver: BaseCheckpointSaver[Any]) -> None:
    """The next attempt's saver: the same storage, with the crash wrappers removed."""
    for name in ("aput_writes", "aput", "aget_tuple"):
        saver.__dict__.pop(name, None)
