"""The bot's own pane in the sandbox (sidebar: Apps -> Baton), end to end with the real bot, worker and Temporal:
the Home tab sends `app_home_opened` and shows the view the bot publishes for this person; the Messages tab is the
person's DM with the bot, where plain words reach the front agent (the labelled demo model) and start a task."""

from __future__ import annotations

import re

import pytest
from browser_helpers import (
    LONG,
    OpenAs,
    assert_no_page_errors,
    channel_messages,
    start_ops_audit,
    status_text,
    switch_user,
    thread_messages,
    type_and_send,
)
from playwright.async_api import Locator, Page, expect

from baton.gateway import TaskGateway
from bot.runtime import BotRuntime
from contracts.status import CancellationV1
from sandbox.web_run import Sandbox
from tests.conftest import WorkerFactory
from tests.support import status_when

pytestmark = pytest.mark.timeout(240)

TASK_ID = re.compile(r"ops_audit-[0-9a-f]{12}")


def home(page: Page) -> Locator:
    return page.locator("#home .home-view")


async def open_tab(page: Page, tab: str) -> None:
    await page.click(f'.app-tab[data-app-tab="{tab}"]')
    await expect(page.locator(f'.app-tab[data-app-tab="{tab}"]')).to_have_class(re.compile(r"\bactive\b"))


async def test_the_home_tab_shows_my_waiting_approval_and_a_dm_in_plain_words_starts_a_task(
    open_as: OpenAs, sandbox: Sandbox, baton_bot: BotRuntime, agent_worker: WorkerFactory, gateway: TaskGateway
) -> None:
    async with agent_worker():
        page = await open_as("U01ALICE")
        ts = await start_ops_audit(page, "check the web fleet")
        await status_text(page, ts).filter(has_text="Waiting for a decision").wait_for(timeout=LONG)
        started = page.locator("#messages .message[data-ephemeral]").filter(has_text="Started ops_audit-").last
        found = TASK_ID.search(await started.inner_text())
        assert found
        audit = found.group(0)

        # Apps -> Baton opens the Home tab: the page sends app_home_opened, the bot publishes Alice's Home, live.
        await page.click(".app-link")
        await expect(page.locator("#app-tabs")).to_be_visible()
        await home(page).filter(has_text=audit).wait_for(timeout=LONG)
        text = await home(page).inner_text()
        assert "Approvals waiting for me" in text and "My running tasks" in text
        assert text.count(audit) == 2, "Alice (an approver) sees her task both as hers and as waiting for her"
        assert sandbox.slack.home_view("U01ALICE") is not None
        assert await page.locator("#composer").is_hidden()

        # Messages: Alice's DM with the bot. Plain words go to the front agent as a `message` (channel_type im);
        # the demo model's labelled answer arrives live in the thread, and the task it started is real.
        await open_tab(page, "messages")
        await expect(page.locator("#messages .intro")).to_contain_text("direct message")
        await type_and_send(page, "please audit the web fleet")
        mine = channel_messages(page).filter(has_text="please audit the web fleet")
        await mine.wait_for()
        assert await mine.get_attribute("data-channel") == "D01ALICE"
        await mine.locator(".replies").click(timeout=LONG)
        answer = thread_messages(page).filter(has_text="[demo model]")
        await answer.first.wait_for(timeout=LONG)
        found = TASK_ID.search(await answer.first.inner_text())
        assert found, await answer.first.inner_text()
        from_dm = found.group(0)
        assert from_dm != audit
        status = await gateway.status(from_dm)
        assert status.agent == "ops_audit" and status.requester.user_id == "U01ALICE"

        # Bob's pane is his own: an empty DM with the bot, and a Home without Alice's tasks.
        await switch_user(page, "U02BOB")
        await expect(channel_messages(page)).to_have_count(0)
        await open_tab(page, "home")
        await home(page).filter(has_text="My running tasks").wait_for(timeout=LONG)
        assert audit not in await home(page).inner_text()

        # Back as Alice, opening Home again republishes it: both her tasks are listed now.
        await switch_user(page, "U01ALICE")
        await home(page).filter(has_text=from_dm).wait_for(timeout=LONG)
        assert audit in await home(page).inner_text()

        for task_id in (audit, from_dm):  # leave nothing running for the session's other tests
            await gateway.cancel(task_id, CancellationV1(by="U01ALICE", reason="test over"))
            await status_when(gateway, task_id, lambda s: s.is_terminal, timeout=60)
    assert_no_page_errors(page)
