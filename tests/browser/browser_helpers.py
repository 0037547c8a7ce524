"""Small helpers for the browser tests: locating messages, acting as a person, checking the page stayed healthy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Locator, Page

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
"""Where the README's screenshots are written by the end-to-end test."""
OpenAs = Callable[..., Awaitable[Page]]
"""open_as(user, channel="C02OPS"): the sandbox page as that person, live."""


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
