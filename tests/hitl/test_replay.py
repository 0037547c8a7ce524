"""Every recorded history of every release (tests/histories/*.json for 0.1.0, tests/histories/<version>/ after it)
replays against today's workflows (AgentWorkflow, the catalog, ConversationWorkflow) without a non-determinism
error, so a workflow change that would break tasks already in flight fails here first.

Record the current release's set with `make histories`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.workflow.agent_workflow import AgentWorkflow
from workers.workflow.catalog_workflow import AgentCatalogWorkflow
from workers.workflow.conversation_workflow import ConversationWorkflow
from workers.workflow.feedback_workflow import TaskFeedbackWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def history_files() -> list[Path]:
    return sorted(HISTORIES.rglob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def test_the_recorded_histories_include_runs_with_checkpoints() -> None:
    names = {path.stem for path in history_files()}
    assert {"ops_audit_approved", "sales_report_edited", "two_checkpoints", "expired_after_escalation"} <= names
    assert "conversation_answered_refused_and_limited" in names
    assert "feedback_rated_then_idle_closed" in names


@pytest.mark.parametrize("path", history_files(), ids=lambda p: p.relative_to(HISTORIES).with_suffix("").as_posix())
async def test_a_recorded_history_replays_without_nondeterminism(path: Path) -> None:
    history = load(path)
    replayer = Replayer(workflows=[AgentWorkflow, AgentCatalogWorkflow, ConversationWorkflow, TaskFeedbackWorkflow],
                        data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure!r}"
