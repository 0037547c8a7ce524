"""LangGraph's long-term store for the agents that ask for one (`AgentSpec.store`), kept where the checkpoints are.

One store per worker process, beside the checkpointer and in the same database: SQLite by default (the same file),
PostgreSQL when `BATON_CHECKPOINTER` is a DSN, so memories survive a worker restart and reach every worker host.
Each agent sees the store through `AgentStore`, which puts every namespace it names under its own:

    agent writes ("memories", "U123")  ->  stored as ("baton", <the spec's namespace>, "memories", "U123")

so an agent cannot read another's data, unless both specs name the same namespace (`store="team-notes"`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchOp,
)

__all__ = ["ROOT", "AgentStore", "open_store", "store_namespace"]

ROOT = "baton"
"""The first element of every namespace Baton writes, so the tables can hold other applications' data too."""


def store_namespace(agent_name: str, declared: bool | str) -> str | None:
    """The namespace an agent's spec asks for: its own name for True, the name it gives, or None for no store."""
    if declared is False:
        return None
    return agent_name if declared is True else declared


@asynccontextmanager
async def open_store(target: str, wanted: bool = True) -> AsyncIterator[BaseStore | None]:
    """The worker's store in the checkpointer's database (`target`: a `postgresql://` DSN or a SQLite file path),
    set up and closed with the worker; None when no registered agent wants one."""
    if not wanted:
        yield None
        return
    if target.startswith(("postgresql://", "postgres://")):
        from langgraph.store.postgres.aio import AsyncPostgresStore

        async with AsyncPostgresStore.from_conn_string(target, pool_config={"min_size": 1, "max_size": 5}) as pg:
            await pg.setup()
            yield pg
        return

    from langgraph.store.sqlite.aio import AsyncSqliteStore

    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteStore.from_conn_string(target) as sqlite:
        await sqlite.setup()
        yield sqlite


class AgentStore(BaseStore):
    """One namespace's view of the worker's store: every operation's namespace gains the prefix on the way in and
    loses it on the way out, so the agent's code reads as if it had the store to itself."""

    def __init__(self, inner: BaseStore, namespace: str) -> None:
        self._inner = inner
        self._prefix: tuple[str, ...] = (ROOT, namespace)
        self.supports_ttl = inner.supports_ttl
        self.ttl_config = inner.ttl_config

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return [self._outward(result) for result in self._inner.batch([self._inward(op) for op in ops])]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return [self._outward(result) for result in await self._inner.abatch([self._inward(op) for op in ops])]

    def _inward(self, op: Op) -> Op:
        if isinstance(op, GetOp | PutOp):
            return op._replace(namespace=(*self._prefix, *op.namespace))
        if isinstance(op, SearchOp):
            return op._replace(namespace_prefix=(*self._prefix, *op.namespace_prefix))
        if isinstance(op, ListNamespacesOp):
            conditions = [
                MatchCondition(c.match_type, (*self._prefix, *c.path)) if c.match_type == "prefix" else c
                for c in op.match_conditions or ()
            ]
            if not any(c.match_type == "prefix" for c in conditions):
                conditions.append(MatchCondition("prefix", self._prefix))
            depth = op.max_depth + len(self._prefix) if op.max_depth is not None else None
            return op._replace(match_conditions=tuple(conditions), max_depth=depth)
        raise TypeError(f"Unknown store operation {type(op).__name__}")

    def _outward(self, result: Any) -> Any:
        if isinstance(result, Item):
            result.namespace = self._strip(result.namespace)
            return result
        if isinstance(result, list):
            return [self._outward(each) if isinstance(each, Item) else self._strip(each) for each in result]
        return result

    def _strip(self, namespace: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(namespace[len(self._prefix):])
