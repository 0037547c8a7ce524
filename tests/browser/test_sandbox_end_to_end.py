"""The whole product in a real browser: the sandbox page, the real bot (Slack app + notify worker), the real worker
with the demo model, the real Temporal dev server. What a newcomer sees after `make run`, clicked through in
headless Chromium; the screenshots for the README are taken here."""

from __future__ import annotations

import pytest
from browser_helpers import (
    LONG,
    OpenAs,
    assert_no_page_errors,
    screenshot,
    start_ops_audit,
    status_text,
    switch_user,
    thread_messages,
)
from playwright.async_api import Locator, Page

from bot.runtime import BotRuntime
from sandbox.web_run import Sandbox
from tests.conftest import WorkerFactory

pytestmark = pytest.mark.timeout(240)

async def open_card(page: Page, status_ts: str) -> Locator:
    replies = page.locator(f'#messages .message[data-ts="{status_ts}"] .replies')
    await replies.wait_for(timeout=LONG)
    await replies.click()
    card = thread_messages(page).filter(has=page.locator("button", has_text="Approve"))
    await card.wait_for(timeout=LONG)
    return card


async def test_run_approve_refuse_and_reject_in_the_browser(
    open_as: OpenAs, sandbox: Sandbox, baton_bot: BotRuntime, agent_worker: WorkerFactory
) -> None:
    async with agent_worker():
        page = await open_as("U01ALICE")

        # Alice runs an audit: the status message appears and is edited in place as the task moves (here to
        # "Waiting for a decision"; below, while the page watches, to "Completed" under the same ts).
        ts = await start_ops_audit(page, "check the web fleet")
        await status_text(page, ts).filter(has_text="Waiting for a decision").wait_for(timeout=LONG)
        # Edited at most once by now: on a busy machine the first notify may already find the task waiting, so the
        # message can be posted as it is; "Completed" under the same ts below proves the edit in place.
        assert await page.locator(f'#messages .message[data-ts="{ts}"] .edited').count() <= 1
        card = await open_card(page, ts)
        card_ts = await card.get_attribute("data-ts")
        card_buttons = page.locator(f'#thread-messages .message[data-ts="{card_ts}"] button.bk-button')
        assert {"Approve", "Reject"} <= set(await card_buttons.all_inner_texts())

        # Bob is not an approver: his click is refused, privately, and the card keeps its buttons.
        await switch_user(page, "U02BOB")
        await page.locator(f'#thread-messages .message[data-ts="{card_ts}"] button', has_text="Approve").click()
        refusal = thread_messages(page).filter(has_text="not an approver")
        await refusal.wait_for(timeout=LONG)
        assert await refusal.get_attribute("data-ephemeral") == "true"
        assert await card_buttons.count() >= 2

        # Alice does not see Bob's refusal; her screen is the README's approval-card picture.
        await switch_user(page, "U01ALICE")
        await card_buttons.first.wait_for()
        assert await thread_messages(page).filter(has_text="not an approver").count() == 0
        await screenshot(page, "sandbox-approval-card.png", top=card)

        # Alice approves: the card records it and loses its buttons, the result arrives in the thread.
        await card_buttons.filter(has_text="Approve").click()
        decided = page.locator(f'#thread-messages .message[data-ts="{card_ts}"]')
        await decided.filter(has_text="Approved by @Alice Martin").wait_for(timeout=LONG)
        assert await decided.locator("button").count() == 0
        final = thread_messages(page).filter(has_text="tokens in")
        await final.wait_for(timeout=LONG)
        assert "Completed" in await final.inner_text()
        await status_text(page, ts).filter(has_text="Completed").wait_for(timeout=LONG)
        assert await page.locator(f'#messages .message[data-ts="{ts}"] button.bk-button').count() == 0
        await screenshot(page, "sandbox-result.png", top=final)

        # Carol (an approver) rejects a second audit with a reason typed in the modal.
        await page.click(".thread-close")
        await switch_user(page, "U03CAROL")
        ts2 = await start_ops_audit(page, "restart the payments workers")
        card2 = await open_card(page, ts2)
        card2_ts = await card2.get_attribute("data-ts")
        await card2.locator("button", has_text="Reject").click()
        modal = page.locator(".modal")
        await modal.wait_for(timeout=LONG)
        await modal.locator("textarea").fill("not during business hours")
        await screenshot(page, "sandbox-reject-modal.png")
        await modal.locator(".modal-submit").click()
        await modal.wait_for(state="detached", timeout=LONG)
        rejected = page.locator(f'#thread-messages .message[data-ts="{card2_ts}"]')
        await rejected.filter(has_text="Rejected by @Carol Petit").wait_for(timeout=LONG)
        assert "not during business hours" in await rejected.inner_text()
        await thread_messages(page).filter(has_text="tokens in").wait_for(timeout=LONG)
    assert_no_page_errors(page)
