"""Contract values for the bot's tests: one valid status / checkpoint, with only the fields a test cares about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import (
    ApprovalPolicyV1,
    CheckpointV1,
    ProgressV1,
    ProposedActionV1,
    RequesterV1,
    TaskStatusV1,
)

T0 = datetime(2025, 1, 2, 10, 0, tzinfo=UTC)


def make_checkpoint(**overrides: Any) -> CheckpointV1:
    values: dict[str, Any] = {
        "id": "cp-1",
        "title": "Restart web-1?",
        "description": "web-1 answers 502 on /health.",
        "proposed_action": ProposedActionV1(name="restart_service", args={"host": "web-1", "graceful": True}),
        "allowed_decisions": ["accept", "edit", "reject", "respond"],
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=24),
    }
    values.update(overrides)
    return CheckpointV1(**values)


def make_status(**overrides: Any) -> TaskStatusV1:
    values: dict[str, Any] = {
        "task_id": "ops_audit-0123456789ab",
        "agent": "ops_audit",
        "request_text": "audit the web tier",
        "requester": RequesterV1(platform="slack", team_id="T0BATON", user_id="U02BOB", channel_id="C01OPS",
                                 thread_ts="1700000000.000100"),
        "approval": ApprovalPolicyV1(),
        "phase": "running",
        "progress": ProgressV1(step=2, total=5, percent=40.0, message="inspecting web-1"),
        "created_at": T0,
        "started_at": T0,
        "updated_at": T0 + timedelta(minutes=3),
    }
    values.update(overrides)
    return TaskStatusV1(**values)
