"""Browser fixtures: Debian's headless Chromium driven by Playwright, and a running sandbox (fake Slack + page).

Chromium is Debian's package, which `make test` installs (as root where apt-get exists; `make setup` and `make run`
never need it); it is never downloaded by Playwright. When it is missing the tests fail and say how to install it: a
browser test that silently skips proves nothing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from browser_helpers import OpenAs
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from temporalio.client import Client

from bot.runtime import BotRuntime
from bot.settings import load_settings
from sandbox.web_run import Sandbox, run_sandbox

CHROMIUM = Path(os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium"))
"""Debian's package puts it here; BATON_CHROMIUM overrides it (another distribution's Chromium build)."""
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        found = shutil.which("chromium")
        pytest.fail(
            f"Debian's Chromium is missing at {CHROMIUM}{f' (found {found})' if found else ''}: the browser tests need "
            "it. Install it with `sudo apt-get install -y chromium fonts-noto-color-emoji` (`make test` does as root), "
            "or set BATON_CHROMIUM to a Chromium binary; never run `playwright install`.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium_path), headless=True,
                                                   args=["--no-sandbox", "--disable-gpu"])
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-US",
                                    timezone_id="Europe/Paris")
    ctx.set_default_timeout(15_000)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]  # read by browser_helpers.assert_no_page_errors
    return page


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(port=0, events_url="http://127.0.0.1:9/slack/events") as running:
        yield running


@pytest.fixture
def open_as(page: Page, sandbox: Sandbox) -> OpenAs:
    """Open the sandbox as a user in #ops and wait for the live connection's first snapshot."""

    async def open_page(user: str, channel: str = "C02OPS") -> Page:
        await page.goto(f"{sandbox.url}?user={user}&channel={channel}")
        await page.wait_for_selector(f"body[data-connected=true][data-viewer={user}]")
        return page

    return open_page


@pytest.fixture
async def baton_bot(sandbox: Sandbox, temporal_client: Client, task_queue: str) -> AsyncIterator[BotRuntime]:
    """The real bot, configured exactly as `baton dev` configures it for the sandbox (its bot_env()), with the
    labelled demo front model whatever the environment holds (no key is read, no network is used)."""
    env = {key.lower(): value for key, value in sandbox.bot_env().items()}
    settings = load_settings(
        **env,
        baton_http_host="127.0.0.1",
        baton_http_port=0,
        baton_model=None,
        baton_front_agent="demo",
        baton_temporal_ui_url="http://127.0.0.1:8233",
        baton_notify_task_queue=f"{task_queue}-slack-{uuid.uuid4().hex[:6]}",
    )
    async with BotRuntime(settings, temporal_client, agents_task_queue=task_queue) as runtime:
        sandbox.connect_bot(runtime.events_url)
        yield runtime
