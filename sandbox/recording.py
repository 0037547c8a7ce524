"""What the fake remembers about calls, and the failures it was told to answer with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "Faults", "RecordedCall"]


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received; `args` never contains the token."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


@dataclass
class Fault:
    """Answer the next `remaining` calls of `method` with `error` (429 carries Retry-After)."""

    method: str
    error: str
    status: int
    retry_after: int | None
    remaining: int


class Faults:
    """Injected failures, consumed in the order they were added."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []

    def add(self, method: str, error: str, status: int | None, retry_after: int | None, times: int) -> None:
        if status is None:
            status = 429 if error == "ratelimited" else 200
        self._queue.append(Fault(method, error, status, retry_after if status == 429 else None, times))

    def take(self, method: str) -> Fault | None:
        for fault in self._queue:
            if fault.method == method and fault.remaining > 0:
                fault.remaining -= 1
                return fault
        return None
