"""Keeps `baton dev`'s processes up: a child that dies is started again after a backoff while the others keep running.

Locally, a worker killed by the OOM killer or a bot that crashed should not take the whole system down, and should
not come back in a tight loop either: restarts wait 1 s, 2 s, 4 s ... up to a cap, and the wait starts over once a
run has lasted long enough to count as stable. Each restart prints one line, e.g.
`worker exited (killed by SIGKILL); restarting in 1 s`. Stopping (Ctrl-C) ends supervision first, so nothing is
restarted while everything is being drained.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Backoff", "Child", "PythonModule", "Supervisor", "describe_exit"]


@dataclass
class Backoff:
    """The wait before each restart: `initial_s`, doubled after every quick failure, at most `cap_s`; a run that lasted
    `stable_after_s` or more resets it, so a process that fails once a day always comes back after `initial_s`."""

    initial_s: float = 1.0
    cap_s: float = 30.0
    stable_after_s: float = 60.0
    _next_s: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.cap_s:
            raise ValueError(f"need 0 < initial_s <= cap_s, got {self.initial_s} and {self.cap_s}")
        self._next_s = self.initial_s

    def after_run(self, ran_for_s: float) -> float:
        """The wait before the next start, given how long the run that just ended lasted."""
        if ran_for_s >= self.stable_after_s:
            self._next_s = self.initial_s
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.cap_s)
        return delay


def describe_exit(returncode: int) -> str:
    """`killed by SIGKILL` or `code 1`: how a child ended, as asyncio reports it (a negative code is a signal)."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"code {returncode}"


class Child(Protocol):
    """One supervised process: `start()` runs a fresh one; `command` is how the `starting` line shows it."""

    @property
    def name(self) -> str: ...

    @property
    def command(self) -> str: ...

    async def start(self) -> asyncio.subprocess.Process: ...


@dataclass(frozen=True)
class PythonModule:
    """`python -m <module>` with this environment, on the interpreter running `baton dev`."""

    name: str
    module: str
    env: Mapping[str, str]

    @property
    def command(self) -> str:
        return f"python -m {self.module}"

    async def start(self) -> asyncio.subprocess.Process:
        # A process group of its own: a Ctrl-C in the terminal reaches the supervisor alone, which stops the child
        # with one SIGTERM. A child that got the terminal's SIGINT too could take the second signal while its event
        # loop was closing, and CPython printed a traceback for it (the wakeup fd already closed).
        return await asyncio.create_subprocess_exec(sys.executable, "-m", self.module, env=dict(self.env),
                                                    process_group=0)


class Supervisor:
    """Starts children, restarts the ones that die until `stop()`, then stops them all (SIGTERM, then SIGKILL)."""

    def __init__(self, make_backoff: Callable[[], Backoff] = Backoff, grace_s: float = 35.0) -> None:
        self._make_backoff = make_backoff
        self._grace_s = grace_s
        self._stopping = asyncio.Event()
        self._current: dict[str, asyncio.subprocess.Process] = {}
        self._loops: list[asyncio.Task[None]] = []

    @property
    def processes(self) -> dict[str, asyncio.subprocess.Process]:
        """The live process of each child, by name (a child waiting out its backoff shows its last one)."""
        return dict(self._current)

    async def start(self, children: list[Child]) -> None:
        """Start every child now, in order, and keep each one running in the background. A child that cannot start
        the first time raises here: at start-up that is a mistake to show, not to retry."""
        for child in children:
            process = await self._spawn(child)
            self._loops.append(asyncio.create_task(self._keep_running(child, process), name=f"supervise-{child.name}"))

    async def stop(self) -> None:
        """End supervision (no restart from here on), then SIGTERM every child and wait up to `grace_s` for each;
        the worker uses that time to drain its in-flight activities."""
        self._stopping.set()
        await asyncio.gather(*self._loops)
        processes = [p for p in self._current.values() if p.returncode is None]
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), self._grace_s)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def _spawn(self, child: Child) -> asyncio.subprocess.Process:
        process = await child.start()
        self._current[child.name] = process
        print(f"  starting {child.name:8} {child.command} (pid {process.pid})", flush=True)
        return process

    async def _keep_running(self, child: Child, process: asyncio.subprocess.Process) -> None:
        loop = asyncio.get_running_loop()
        backoff = self._make_backoff()
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            while True:
                started = loop.time()
                exited = asyncio.create_task(process.wait())
                await asyncio.wait([exited, stopping], return_when=asyncio.FIRST_COMPLETED)
                if self._stopping.is_set():
                    exited.cancel()
                    return
                delay = backoff.after_run(loop.time() - started)
                self._say(f"{child.name} exited ({describe_exit(exited.result())}); restarting in {delay:g} s")
                while True:
                    await asyncio.wait([stopping], timeout=delay)
                    if self._stopping.is_set():
                        return
                    try:
                        process = await self._spawn(child)
                        break
                    except Exception as exc:  # a port still held, a server not ready: try again, later
                        delay = backoff.after_run(0)
                        self._say(f"{child.name} did not start ({exc}); retrying in {delay:g} s")
        finally:
            stopping.cancel()

    @staticmethod
    def _say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)
