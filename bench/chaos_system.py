"""What else ran on the machine during a benchmark: load average, and the processes that used the most CPU in the
interval (this benchmark's own children marked), read from /proc. Results from a shared 2-core machine mean little
without it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MachineLoad"]

_TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (command, parent pid, CPU seconds so far) for every process still readable."""
    found: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = ((cmdline or name)[:120], int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    return found


@dataclass
class MachineLoad:
    began: float
    load_before: tuple[float, float, float]
    cpu_before: dict[int, tuple[str, int, float]]

    @classmethod
    def start(cls) -> MachineLoad:
        return cls(time.monotonic(), os.getloadavg(), _processes())

    def stop(self, top: int = 8) -> dict[str, Any]:
        """Load averages, and the `top` processes by CPU used since start (processes that both started and ended
        in between, such as killed incarnations, are not seen)."""
        elapsed = time.monotonic() - self.began
        now = _processes()
        me = os.getpid()
        used: list[dict[str, Any]] = []
        for pid, (command, parent, cpu) in now.items():
            before = self.cpu_before.get(pid)
            delta = cpu - (before[2] if before and before[0] == command else 0.0)
            if delta > 0.5:
                used.append({"pid": pid, "command": command, "cpu_s": round(delta, 1),
                             "ours": pid == me or parent == me})
        used.sort(key=lambda p: -float(p["cpu_s"]))
        return {
            "seconds": round(elapsed, 1),
            "loadavg_before": [round(x, 2) for x in self.load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "cpu_s_by_others": round(sum(p["cpu_s"] for p in used if not p["ours"]), 1),
            "top_processes": used[:top],
        }
