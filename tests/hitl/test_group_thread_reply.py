"""A reply in the thread answers a group's question when it can only mean one (issue #15), on the real dev server:
while two questions asked at once both wait for text, a reply is kept for the agent; once one is answered, the next
reply answers the other and the agent resumes with both. The history replays on today's workflow code."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from baton.gateway import TaskGateway
from contracts import DecisionV1, ThreadReplyOutcomeV1, ThreadReplyV1, utc_now
from contracts.names import REPLY_UPDATE
from tests.conftest import WorkerFactory
from tests.hitl.test_parallel_interrupts import BUDGET, REGISTRY
from tests.support import make_request, status_when
from workers.workflow.agent_workflow import AgentWorkflow


async def say(client: Client, task_id: str, event_id: str, text: str) -> ThreadReplyOutcomeV1:
    reply = ThreadReplyV1(event_id=event_id, user_id="U_ANA", text=text, ts="1700000000.000200", at=utc_now())
    return await client.get_workflow_handle(task_id).execute_update(
        REPLY_UPDATE, reply, id=event_id, result_type=ThreadReplyOutcomeV1)


async def test_a_thread_reply_answers_the_one_question_of_a_group_still_waiting_for_text(
        gateway: TaskGateway, agent_worker: WorkerFactory, temporal_client: Client) -> None:
    async with agent_worker(registry=REGISTRY):
        request = make_request("two_questions", "plan the report", user_id="U_ANA")
        await gateway.submit(request)
        status = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
        group = status.pending_checkpoint
        assert group is not None and len(group.actions) == 2
        budget = next(i for i, question in enumerate(group.actions) if BUDGET in question.title)

        both_open = await say(temporal_client, request.task_id, "Ev1", "Which of them do you mean?")
        assert both_open.outcome == "delivered", "two questions wait for text: the reply cannot say which"
        await gateway.decide(request.task_id, DecisionV1(checkpoint_id=group.id, action=budget, decision="respond",
                                                         text="EUR 5k", by="U_ANA", at=utc_now()))
        answered = await say(temporal_client, request.task_id, "Ev2", "EMEA")
        assert (answered.outcome, answered.checkpoint_id) == ("responded", group.id)
        final = await gateway.result(request.task_id)

    assert final.summary == "['budget=EUR 5k', 'region=EMEA'] after 1 report run"
    history = await temporal_client.get_workflow_handle(request.task_id).fetch_history()
    replayed = await Replayer(workflows=[AgentWorkflow], data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None
