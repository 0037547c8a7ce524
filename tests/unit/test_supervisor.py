"""baton.supervisor: the wait before a restart, how a child's end is told, and the restarts themselves (with real,
short-lived Python processes and waits of a twentieth of a second)."""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass

import pytest

from baton.supervisor import Backoff, Supervisor, describe_exit
from tests.support import eventually


def test_quick_failures_wait_twice_as_long_each_time_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=1, cap_s=10, stable_after_s=60)
    assert [backoff.after_run(0.5) for _ in range(7)] == [1, 2, 4, 8, 10, 10, 10]


def test_a_run_that_lasted_long_enough_starts_the_wait_over() -> None:
    backoff = Backoff(initial_s=1, cap_s=30, stable_after_s=60)
    for _ in range(4):
        backoff.after_run(1)
    assert backoff.after_run(60) == 1
    assert backoff.after_run(5) == 2


def test_a_backoff_that_could_never_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(initial_s=0)
    with pytest.raises(ValueError, match="cap_s"):
        Backoff(initial_s=5, cap_s=1)


def test_an_exit_is_told_by_its_signal_name_or_its_code() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert describe_exit(1) == "code 1"
    assert describe_exit(0) == "code 0"
    assert describe_exit(-200) == "killed by signal 200"


@dataclass
class Script:
    """A child that runs a line of Python; `fail_starts_after` makes every start after that many raise instead."""

    name: str
    code: str
    fail_starts_after: int | None = None
    starts: int = 0

    @property
    def command(self) -> str:
        return "python -c ..."

    async def start(self) -> asyncio.subprocess.Process:
        self.starts += 1
        if self.fail_starts_after is not None and self.starts > self.fail_starts_after:
            raise RuntimeError("port 7233 is busy")
        return await asyncio.create_subprocess_exec(sys.executable, "-c", self.code)


def fast() -> Backoff:
    return Backoff(initial_s=0.05, cap_s=0.2, stable_after_s=60)


class Printed:
    """What the supervisor printed, read through pytest's capture (stdout, then stderr: compare lines of one kind)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.lines: list[str] = []

    def having(self, text: str) -> list[str]:
        captured = self._capsys.readouterr()
        self.lines.extend((captured.out + captured.err).splitlines())
        return [line for line in self.lines if text in line]

    async def at_least(self, count: int, text: str) -> list[str]:
        async def probe() -> list[str] | None:
            found = self.having(text)
            return found if len(found) >= count else None

        return await eventually(probe, timeout=10)


@pytest.fixture
def printed(capsys: pytest.CaptureFixture[str]) -> Printed:
    return Printed(capsys)


async def test_a_child_that_keeps_dying_is_restarted_after_growing_waits_with_a_line_each_time(
    printed: Printed,
) -> None:
    supervisor = Supervisor(make_backoff=fast)
    await supervisor.start([Script("flaky", "raise SystemExit(3)")])
    try:
        await printed.at_least(4, "flaky exited")
    finally:
        await supervisor.stop()
    assert printed.having("flaky exited")[:4] == [
        "flaky exited (code 3); restarting in 0.05 s",
        "flaky exited (code 3); restarting in 0.1 s",
        "flaky exited (code 3); restarting in 0.2 s",
        "flaky exited (code 3); restarting in 0.2 s",
    ]


async def test_the_others_keep_running_while_one_is_restarted_and_stop_ends_them_all(
    printed: Printed,
) -> None:
    supervisor = Supervisor(make_backoff=fast)
    await supervisor.start([Script("steady", "import time; time.sleep(60)"), Script("flaky", "raise SystemExit(1)")])
    steady = supervisor.processes["steady"]
    await printed.at_least(2, "flaky exited")
    assert steady.returncode is None and supervisor.processes["steady"] is steady
    await supervisor.stop()
    assert steady.returncode == -signal.SIGTERM
    assert all(process.returncode is not None for process in supervisor.processes.values())


async def test_stopping_during_the_wait_starts_nothing_more(printed: Printed) -> None:
    child = Script("flaky", "raise SystemExit(1)")
    supervisor = Supervisor(make_backoff=lambda: Backoff(initial_s=30))
    await supervisor.start([child])
    assert await printed.at_least(1, "flaky exited") == ["flaky exited (code 1); restarting in 30 s"]
    await asyncio.wait_for(supervisor.stop(), 5)
    assert child.starts == 1


async def test_a_child_that_cannot_start_again_is_retried_on_the_backoff(printed: Printed) -> None:
    supervisor = Supervisor(make_backoff=fast)
    await supervisor.start([Script("temporal", "raise SystemExit(0)", fail_starts_after=1)])
    try:
        await printed.at_least(2, "did not start")
    finally:
        await supervisor.stop()
    assert printed.having("temporal exited") == ["temporal exited (code 0); restarting in 0.05 s"]
    assert printed.having("did not start")[:2] == [
        "temporal did not start (port 7233 is busy); retrying in 0.1 s",
        "temporal did not start (port 7233 is busy); retrying in 0.2 s",
    ]
