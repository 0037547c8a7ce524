"""Baton as a Slack AI app, in a real browser against the real bot, worker and Temporal (#13): the assistant pane
opened from the app's entry suggests the catalog's agents, a picked prompt shows a status and an answer that streams
in piece by piece, the task's live plan stops at its checkpoint and completes once approved, and a thumbs up is
recorded on the task; a task's Stop button cancels it and the plan says who stopped it. The README's pictures of
these are taken here (`make screenshots`)."""

from __future__ import annotations

import re
from argparse import Namespace
from typing import Any

import pytest
from browser_helpers import LONG, OpenAs, assert_no_page_errors, screenshot, start_ops_audit
from playwright.async_api import Locator, Page, expect

from baton import commands
from baton.gateway import TaskGateway
from bot.runtime import BotRuntime
from contracts import names
from sandbox.web_run import Sandbox
from tests.conftest import WorkerFactory
from tests.support import eventually, status_when

pytestmark = pytest.mark.timeout(180)

TASK_ID = re.compile(r"ops_audit-[0-9a-f]{12}")
# Everything the pane showed, however briefly: a status lasts until the answer's first piece, a piece until the next.
RECORD = """() => {
  const seen = { statuses: [], pieces: [] };
  window.__seen = seen;
  new MutationObserver(() => {
    const line = document.querySelector("#assistant-status");
    const status = line && !line.hidden ? line.textContent.replace(/\\s+/g, " ").trim() : "";
    if (status && seen.statuses.at(-1) !== status) seen.statuses.push(status);
    for (const m of document.querySelectorAll("#assistant-messages .message.streaming")) {
      const piece = `${m.dataset.ts}:${m.querySelector(".content").textContent.length}`;
      if (!seen.pieces.includes(piece)) seen.pieces.push(piece);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
}"""


def pane(page: Page) -> Locator:
    return page.locator("#assistant")


def pane_messages(page: Page) -> Locator:
    return page.locator("#assistant-messages .message")


def plan_message(page: Page) -> Locator:
    return pane_messages(page).filter(has=page.locator(".bk-plan"))


async def test_an_assistant_thread_suggests_streams_plans_through_approval_and_records_a_thumbs_up(
    open_as: OpenAs, sandbox: Sandbox, baton_bot: BotRuntime, agent_worker: WorkerFactory, gateway: TaskGateway
) -> None:
    async with agent_worker():
        page = await open_as("U01ALICE")

        # The app's entry opens the pane on a new thread; the bot suggests the live catalog's agents as chips.
        await page.click(".assistant-entry")
        await expect(pane(page)).to_be_visible()
        chip = pane(page).locator(".prompt-chip[data-prompt^='run ops_audit']")
        await chip.wait_for(timeout=LONG)
        assert await pane(page).locator(".prompt-chip").count() >= 2
        await screenshot(page, "sandbox-assistant-pane.png")

        # Picking a prompt sends it as Alice's message in the thread: a status shows while Baton works, then the
        # answer streams in, piece by piece, with a caret until the stream stops.
        await page.evaluate(RECORD)
        prompt = await chip.get_attribute("data-prompt")
        await chip.click()
        await pane_messages(page).filter(has_text=str(prompt)).wait_for()
        await expect(pane(page).locator(".prompt-chip")).to_have_count(0)
        answer = pane_messages(page).filter(has_text="[demo model]")
        await answer.first.wait_for(timeout=LONG)
        await expect(answer.first).not_to_have_class(re.compile(r"\bstreaming\b"), timeout=LONG)
        assert await answer.first.locator(".stream-caret").count() == 0
        seen: dict[str, Any] = await page.evaluate("window.__seen")
        assert any(s.startswith("Baton is checking the catalog") for s in seen["statuses"]), seen
        answer_ts = await answer.first.get_attribute("data-ts")
        whole = len(await answer.first.locator(".content").text_content() or "")
        shown = [int(p.split(":")[1]) for p in seen["pieces"] if p.startswith(f"{answer_ts}:")]
        assert shown and min(shown) < whole, f"no part of the answer showed, caret and all, before the whole: {seen}"
        found = TASK_ID.search(await answer.first.inner_text())
        assert found, await answer.first.inner_text()
        task_id = found.group(0)
        await expect(page.locator("#assistant-title")).not_to_have_text("New chat")

        # The task's live plan, in the thread: its steps up to the checkpoint, which waits for a person.
        plan = plan_message(page)
        waiting = plan.locator(".bk-task-in_progress").filter(has_text="Decision:")
        await waiting.wait_for(timeout=LONG)
        assert await plan.locator(".bk-task-complete").count() >= 1
        await screenshot(page, "sandbox-live-plan.png", top=plan)

        # Alice approves from the card in the thread; the plan completes and the answer carries the thumbs.
        card = pane_messages(page).filter(has=page.locator("button.bk-button", has_text="Approve"))
        await card.locator("button.bk-button", has_text="Approve").click()
        await expect(plan.locator(".bk-task-pending, .bk-task-in_progress, .bk-task-error")).to_have_count(
            0, timeout=LONG)
        final = pane_messages(page).filter(has=page.locator(".bk-feedback"))
        await final.wait_for(timeout=LONG)
        thumbs_up = final.locator('.bk-feedback[data-rating="positive"]')
        await thumbs_up.click()
        await expect(thumbs_up).to_have_attribute("aria-pressed", "true")
        await pane(page).locator(".message[data-ephemeral]").last.wait_for(timeout=LONG)
        await screenshot(page, "sandbox-feedback.png", top=final)
        # The picture of the streamed answer once nothing more arrives in the thread to scroll it away.
        await screenshot(page, "sandbox-streamed-answer.png", top=pane_messages(page).filter(has_text=str(prompt)))

        async def rated() -> str | None:
            shown = await commands.status(gateway, Namespace(task=task_id, json=False))
            return shown if "Feedback: 1 positive, 0 negative" in shown else None

        shown = await eventually(rated, timeout=30)
        assert "positive: U01ALICE" in shown, shown
        await gateway.client.get_workflow_handle(names.feedback_workflow_id(task_id)).terminate("test over")
    assert_no_page_errors(page)


async def test_the_stop_button_cancels_the_task_and_the_plan_shows_who_stopped_it(
    open_as: OpenAs, sandbox: Sandbox, baton_bot: BotRuntime, agent_worker: WorkerFactory, gateway: TaskGateway
) -> None:
    async with agent_worker():
        page = await open_as("U01ALICE")
        ts = await start_ops_audit(page, "check the web fleet")
        status = page.locator(f'#messages .message[data-ts="{ts}"]')
        stop = status.locator("button.bk-button", has_text="Stop")
        await stop.wait_for(timeout=LONG)
        started = page.locator("#messages .message[data-ephemeral]").filter(has_text="Started ops_audit-").last
        found = TASK_ID.search(await started.inner_text())
        assert found
        task_id = found.group(0)

        # Stop asks first, as Slack's confirm dialog does; then the task is cancelled through the Cancel path.
        await stop.click()
        await page.locator("#confirm-root .confirm-ok").click()
        stopped = status.locator(".bk-task-error").filter(has_text="Stopped by")
        await stopped.wait_for(timeout=LONG)
        assert "Alice" in await stopped.inner_text()
        await expect(stop).to_have_count(0)
        final = await status_when(gateway, task_id, lambda s: s.is_terminal, timeout=30)
        assert final.phase == "cancelled"
    assert_no_page_errors(page)
