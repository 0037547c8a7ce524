"""Contract evolution: TaskRequestV2 joins V1 without breaking a task in flight.

Readers of both versions come first (the workflow's input, `run_agent`'s input, a continuation, the request memo),
a V1 reader refuses a V2 loudly instead of dropping its field, and one converter upgrades a V1 at the edge. The
recorded V1 payloads of every history are decoded by today's code.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts import (
    AgentCatalogV1,
    AgentInfoV1,
    RunAgentInputV1,
    TaskContinuationV1,
    TaskRequestV1,
    TaskRequestV2,
    names,
    read_task_request,
    upgrade_task_request,
)
from tests.support import make_request
from workers.workflow.agent_workflow import AgentWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
AGENT_WORKFLOW_INPUT = typing.get_type_hints(AgentWorkflow.run)["start"]
"""The type Temporal decodes AgentWorkflow's input with: the workflow's own annotation, not a copy of it."""


def agent_workflow_histories(pattern: str = "*.json") -> list[WorkflowHistory]:
    """AgentWorkflow's recorded histories: by default the 0.1.0 set (tests/histories/*.json), all of it V1; later
    releases' sets (tests/histories/<version>/) hold what their gateway submitted, V2 included."""
    paths = sorted(HISTORIES.glob(pattern))
    histories = (WorkflowHistory.from_json(p.stem, p.read_text(encoding="utf-8")) for p in paths)
    return [h for h in histories if _started(h.events[0]).workflow_type.name == names.AGENT_WORKFLOW]


def _started(event: HistoryEvent) -> typing.Any:
    return event.workflow_execution_started_event_attributes


def _decode(payloads: typing.Any, type_hint: typing.Any) -> typing.Any:
    [value] = pydantic_data_converter.payload_converter.from_payloads(list(payloads), [type_hint])
    return value


@pytest.mark.parametrize("history", agent_workflow_histories(), ids=lambda h: h.workflow_id)
def test_every_recorded_v1_request_decodes_with_the_new_code_and_upgrades_unchanged(history: WorkflowHistory) -> None:
    start = _decode(_started(history.events[0]).input.payloads, AGENT_WORKFLOW_INPUT)
    request = start.request if isinstance(start, TaskContinuationV1) else start
    assert type(request) is TaskRequestV1, "a V1 payload stays a V1: nothing is guessed for it"
    scheduled = [e.activity_task_scheduled_event_attributes for e in history.events
                 if e.HasField("activity_task_scheduled_event_attributes")]
    inputs = [_decode(a.input.payloads, RunAgentInputV1) for a in scheduled
              if a.activity_type.name == names.RUN_AGENT_ACTIVITY]
    assert all(type(i.request) is TaskRequestV1 and i.request == request for i in inputs)

    upgraded = upgrade_task_request(request)
    assert (upgraded.schema_version, upgraded.agent_version) == (2, None)
    assert upgraded.model_dump(exclude={"schema_version", "agent_version"}) == request.model_dump(
        exclude={"schema_version"})


@pytest.mark.parametrize("history", agent_workflow_histories("*/*.json"), ids=lambda h: h.workflow_id)
def test_every_later_release_request_decodes_as_the_version_it_was_sent(history: WorkflowHistory) -> None:
    start = _decode(_started(history.events[0]).input.payloads, AGENT_WORKFLOW_INPUT)
    request = start.request if isinstance(start, TaskContinuationV1) else start
    assert type(request) is (TaskRequestV2 if request.schema_version == 2 else TaskRequestV1)
    upgraded = upgrade_task_request(request)
    assert upgraded.model_dump(exclude={"schema_version", "agent_version"}) == request.model_dump(
        exclude={"schema_version", "agent_version"})


def test_the_recorded_histories_hold_v1_requests_to_decode() -> None:
    assert len(agent_workflow_histories()) >= 10


def test_upgrading_names_the_version_and_keeps_a_v2s_own_unless_told() -> None:
    v1 = make_request("ops_audit", parameters={"hosts": ["web-1"]})
    v2 = upgrade_task_request(v1, "3")
    assert isinstance(v2, TaskRequestV2) and v2.agent_version == "3" and v2.task_id == v1.task_id
    assert upgrade_task_request(v2) is v2
    assert upgrade_task_request(v2, "4").agent_version == "4"


def test_a_v2_is_read_whole_by_every_reader_of_both_and_refused_by_a_v1_reader() -> None:
    v2 = upgrade_task_request(make_request(), "2")
    wire = v2.model_dump_json()
    for carried in (_decode(pydantic_data_converter.payload_converter.to_payloads([v2]), AGENT_WORKFLOW_INPUT),
                    RunAgentInputV1.model_validate_json(RunAgentInputV1(request=v2).model_dump_json()).request,
                    read_task_request(v2.model_dump(mode="json"))):
        assert type(carried) is TaskRequestV2 and carried == v2
    with pytest.raises(ValidationError, match="agent_version"):
        TaskRequestV1.model_validate_json(wire)  # a process that predates V2 fails loudly, never drops the field


def test_a_v1_is_still_read_as_a_v1_everywhere() -> None:
    v1 = make_request()
    assert type(_decode(pydantic_data_converter.payload_converter.to_payloads([v1]), AGENT_WORKFLOW_INPUT)) is \
        TaskRequestV1
    assert type(read_task_request(v1.model_dump(mode="json"))) is TaskRequestV1


def test_a_catalog_without_versions_is_written_as_before() -> None:
    """The catalog's `version` is a grown field: left out while unused, so bots that predate it read the catalog of
    workers that predate it."""
    unversioned = AgentCatalogV1(agents=[AgentInfoV1(name="ops_audit")])
    assert '"version"' not in unversioned.model_dump_json()
    versioned = AgentCatalogV1(agents=[AgentInfoV1(name="ops_audit", version="2")])
    assert (versioned.version_of("ops_audit"), versioned.version_of("other")) == ("2", None)
    assert unversioned.version_of("ops_audit") is None
