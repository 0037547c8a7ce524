"""Helpers shared by the tests: building requests, and waiting on conditions (never on fixed sleeps)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import pytest

from baton.gateway import TaskGateway
from contracts import (
    ApprovalPolicyV1,
    ExecutionOptionsV1,
    RequesterV1,
    TaskRequestV1,
    TaskStatusV1,
    task_id_for,
    utc_now,
)

T = TypeVar("T")


def make_request(
    agent: str = "diagnostic",
    text: str = "hello",
    parameters: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    user_id: str = "U_REQUESTER",
    platform: str = "cli",
    channel_id: str | None = None,
    thread_ts: str | None = None,
    approval: ApprovalPolicyV1 | None = None,
    heartbeat_timeout_s: int = 30,
    max_attempts: int = 5,
) -> TaskRequestV1:
    key = key or f"test:{uuid.uuid4()}"
    return TaskRequestV1(
        task_id=task_id_for(agent, key),
        agent=agent,
        text=text,
        parameters=parameters or {},
        requester=RequesterV1(platform=platform, user_id=user_id, channel_id=channel_id, thread_ts=thread_ts),  # type: ignore[arg-type]
        approval=approval or ApprovalPolicyV1(),
        execution=ExecutionOptionsV1(
            heartbeat_timeout_s=heartbeat_timeout_s, max_attempts=max_attempts, initial_retry_interval_s=0.2
        ),
        idempotency_key=key,
        created_at=utc_now(),
    )


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll `probe` until it returns something truthy; fail with the last value after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        try:
            last = await probe()
        except Exception as exc:  # a probe may race a starting server; keep the last error for the failure message
            last = exc
        else:
            if last:
                return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
        await asyncio.sleep(interval)


async def status_when(
    gateway: TaskGateway, task_id: str, predicate: Callable[[TaskStatusV1], bool], timeout: float = 30.0
) -> TaskStatusV1:
    async def probe() -> TaskStatusV1 | None:
        status = await gateway.status(task_id)
        return status if predicate(status) else None

    return await eventually(probe, timeout)


POSTGRES_ADMIN_DSN = os.environ.get("BATON_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_postgres_database(prefix: str, password: str | None = None) -> Iterator[str]:
    """A new database on the local PostgreSQL (trust auth), dropped afterwards; yields its DSN, with `password` in it
    when given (trust auth accepts any). A missing server fails the test, never skips it: the Postgres paths are
    part of what `make test` proves."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN} (set BATON_TEST_POSTGRES): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    user_and_host = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    if password is not None:
        scheme, _, rest = user_and_host.partition("://")
        user, _, host = rest.rpartition("@")
        user_and_host = f"{scheme}://{user}:{password}@{host}"
    try:
        yield f"{user_and_host}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
