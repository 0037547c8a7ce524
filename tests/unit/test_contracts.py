"""Contracts: strict at the edge, stable on the wire, and free of every framework."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from contracts import (
    MAX_REQUEST_TEXT,
    CheckpointV1,
    DecisionV1,
    ProposedActionV1,
    TaskResultV1,
    TaskStatusV1,
    UsageV1,
    task_id_for,
)
from contracts.registry import EXPORTED_MODELS
from contracts.schema_export import SCHEMA_DIR, render_schemas
from tests.support import make_request

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _examples() -> list[BaseModel]:
    request = make_request(parameters={"steps": 2, "nested": {"a": [1, 2]}})
    checkpoint = CheckpointV1(
        id="cp-1",
        title="Apply the remediation?",
        proposed_action=ProposedActionV1(name="apply", args={"hosts": ["web-1"]}),
        allowed_decisions=["accept", "edit", "reject"],
        created_at=NOW,
    )
    status = TaskStatusV1(
        task_id=request.task_id,
        agent=request.agent,
        request_text=request.text,
        requester=request.requester,
        approval=request.approval,
        phase="waiting_for_human",
        pending_checkpoint=checkpoint,
        created_at=NOW,
        updated_at=NOW,
    )
    decision = DecisionV1(checkpoint_id="cp-1", decision="edit", edited_args={"hosts": []}, by="U1", at=NOW)
    result = TaskResultV1(outcome="success", summary="done", usage=UsageV1(llm_calls=2, input_tokens=10))
    return [request, checkpoint, status, decision, result]


@pytest.mark.parametrize("model", _examples(), ids=lambda m: type(m).__name__)
def test_every_contract_round_trips_through_json_unchanged(model: BaseModel) -> None:
    again = type(model).model_validate_json(model.model_dump_json())
    assert again == model


@pytest.mark.parametrize("model", _examples(), ids=lambda m: type(m).__name__)
def test_an_unknown_field_is_rejected(model: BaseModel) -> None:
    payload = json.loads(model.model_dump_json())
    payload["surprise"] = 1
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        type(model).model_validate(payload)


def test_oversized_request_text_is_rejected_with_a_readable_error() -> None:
    with pytest.raises(ValidationError) as info:
        make_request(text="x" * (MAX_REQUEST_TEXT + 1))
    assert f"at most {MAX_REQUEST_TEXT} characters" in str(info.value)


def test_agent_names_and_task_ids_are_constrained() -> None:
    with pytest.raises(ValidationError, match="agent"):
        make_request(agent="Robert'); DROP TABLE")
    assert task_id_for("diagnostic", "k") == task_id_for("diagnostic", "k")
    assert task_id_for("diagnostic", "k") != task_id_for("diagnostic", "k2")


def test_every_contract_carries_the_schema_version_its_name_says() -> None:
    for model in EXPORTED_MODELS:
        assert model.model_fields["schema_version"].default == int(model.__name__.rsplit("V", 1)[1]), model.__name__


def test_committed_json_schemas_match_the_models() -> None:
    expected = render_schemas()
    committed = {path.name: path.read_text(encoding="utf-8") for path in SCHEMA_DIR.glob("*.json")}
    stale = sorted(name for name in expected if committed.get(name) != expected[name])
    extra = sorted(set(committed) - set(expected))
    assert not stale and not extra, f"run `make schemas` (stale: {stale}, not a contract any more: {extra})"


def test_importing_contracts_loads_no_framework() -> None:
    probe = (
        "import sys, contracts, contracts.registry, contracts.schema_export\n"
        "banned = ('temporalio', 'langchain', 'langchain_core', 'langgraph', 'slack_sdk', 'slack_bolt', 'openai')\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in banned})))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
