"""Model-provider faults on the real dev server: a 429 is retried by Temporal after the provider's Retry-After;
a 401 fails the task at once, with a message a person can act on and a single model call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from langchain_core.language_models import BaseChatModel
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from baton.gateway import TaskGateway
from contracts import DecisionV1, utc_now
from tests.conftest import WorkerFactory
from tests.hitl.conftest import GatedOpenAI
from tests.support import make_request, status_when
from workers.llm import make_chat_model


async def test_a_429_with_retry_after_is_waited_out_and_the_task_completes(
    gateway: TaskGateway, agent_worker: WorkerFactory, fake_openai: GatedOpenAI, chat_model: Callable[[], BaseChatModel]
) -> None:
    fake_openai.fail_next(1, status=429, retry_after=1)
    request = make_request("sales_report", "Sales for Q2")
    async with agent_worker(chat_model=chat_model):
        await gateway.submit(request)
        waiting = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
        assert waiting.pending_checkpoint is not None
        await gateway.decide(
            request.task_id,
            DecisionV1(checkpoint_id=waiting.pending_checkpoint.id, decision="accept", by="U_A", at=utc_now()),
        )
        async with asyncio.timeout(30):
            await fake_openai.wait_for_calls(1)
        limited_at = time.monotonic()
        await fake_openai.wait_for_calls(2)
        retried_after = time.monotonic() - limited_at
        result = await gateway.result(request.task_id)
    assert result.outcome == "success"
    assert [c.status for c in fake_openai.calls] == [429, 200]
    assert retried_after >= 0.9, f"the retry waited for Retry-After (1 s), not {retried_after:.2f} s"
    assert result.usage.llm_calls == 1, "the refused call is not counted as model usage"
    final = await gateway.status(request.task_id)
    assert final.attempt == 2


async def test_a_401_fails_the_task_at_once_with_a_readable_error_and_no_retry(
    gateway: TaskGateway, agent_worker: WorkerFactory, fake_openai: GatedOpenAI
) -> None:
    def wrong_key() -> BaseChatModel:
        return make_chat_model(model="fake-model", api_key="sk-wrong-key-123456", base_url=fake_openai.base_url)

    request = make_request("ops_audit", "Audit prod", max_attempts=5)
    async with agent_worker(chat_model=wrong_key):
        await gateway.submit(request)
        handle = gateway.client.get_workflow_handle(request.task_id)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        description = await handle.describe()
        history = await handle.fetch_history()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "LLMAuthError"
    assert "rejected Baton's API key (401). Check OPENAI_API_KEY" in cause.message
    assert "sk-wrong" not in cause.message, "the key never reaches a message"
    assert description.status == WorkflowExecutionStatus.FAILED
    assert fake_openai.call_count == 1
    started = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    assert [e.activity_task_started_event_attributes.attempt for e in started] == [1]
    final = await gateway.status(request.task_id)
    assert final.phase == "failed"
    assert final.result is not None and final.result.error is not None
    assert final.result.error.type == "LLMAuthError" and not final.result.error.retryable


async def test_a_task_failing_after_a_checkpoint_keeps_the_usage_of_the_runs_before(
    gateway: TaskGateway, agent_worker: WorkerFactory, fake_openai: GatedOpenAI, chat_model: Callable[[], BaseChatModel]
) -> None:
    request = make_request("ops_audit", "Audit prod")
    async with agent_worker(chat_model=chat_model):
        await gateway.submit(request)
        waiting = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
        assert waiting.pending_checkpoint is not None
        fake_openai.fail_next(1, status=401)  # the report call, after the approval
        await gateway.decide(
            request.task_id,
            DecisionV1(checkpoint_id=waiting.pending_checkpoint.id, decision="accept", by="U_A", at=utc_now()),
        )
        with pytest.raises(WorkflowFailureError):
            await gateway.result(request.task_id)
    final = await gateway.status(request.task_id)
    assert final.phase == "failed" and final.result is not None
    assert final.result.usage.llm_calls == 1, "the analyse call before the checkpoint still counts"
    assert final.result.usage.input_tokens > 0
