"""Small helpers for the browser tests: locating messages, acting as a person, checking the page stayed healthy."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Locator, Page, expect

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
"""Where the README's screenshots are written by the end-to-end test."""
LONG = 90_000
"""ms: the agent's steps run on a shared 2-core machine."""
OpenAs = Callable[..., Awaitable[Page]]
"""open_as(user, channel="C02OPS"): the sandbox page as that person, live."""


async def screenshot(page: Page, name: str, top: Locator | None = None) -> None:
    """A README picture: `top` (a message in the thread) scrolled to the top of its pane, animations settled, the
    pointer moved away (its hover would shade the message it rests on)."""
    await page.mouse.move(0, 0)
    if top is not None:
        await top.evaluate("el => el.scrollIntoView({block: 'start'})")
    picture = await page.screenshot(animations="disabled")
    assert picture[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("BATON_SCREENSHOTS") == "1":  # `make screenshots`: refresh the README's pictures
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        (DOCS_IMG / name).write_bytes(picture)


def assert_no_page_errors(page: Page) -> None:
    errors = getattr(page, "errors", [])
    assert not errors, f"JavaScript errors in the page: {errors}"


async def type_and_send(page: Page, text: str, *, in_thread: bool = False) -> None:
    box = page.locator("#thread-input" if in_thread else "#composer-input")
    await box.fill(text)
    await box.press("Enter")


async def switch_user(page: Page, user: str) -> None:
    await page.click(f".user-chip[data-user={user}]")
    await page.wait_for_selector(f"body[data-connected=true][data-viewer={user}]")


def channel_messages(page: Page) -> Locator:
    return page.locator("#messages .message")


def thread_messages(page: Page) -> Locator:
    return page.locator("#thread-messages .message")


def status_messages(page: Page) -> Locator:
    """The bot's messages at the channel's top level that name the agent (ephemerals excluded)."""
    return (
        page.locator("#messages .message:not([data-ephemeral])")
        .filter(has=page.locator(".app-badge"))
        .filter(has_text="ops_audit")
    )


def status_text(page: Page, ts: str) -> Locator:
    return page.locator(f'#messages .message[data-ts="{ts}"] .content')


async def start_ops_audit(page: Page, request: str) -> str:
    """Type the slash command, wait for the status message; returns its ts (it is edited in place from then on)."""
    before = await status_messages(page).count()
    await type_and_send(page, f"/baton run ops_audit {request}")
    started = page.locator("#messages .message[data-ephemeral]").filter(has_text="Started ops_audit-")
    await started.last.wait_for(timeout=LONG)
    await expect(status_messages(page)).to_have_count(before + 1, timeout=LONG)
    ts = await status_messages(page).last.get_attribute("data-ts")
    assert ts
    return ts
