"""Fixtures for the agent tests: a fresh fake OpenAI server per test and real ChatOpenAI clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from langchain_openai import ChatOpenAI

from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
def chat_model(fake_openai: FakeOpenAI) -> Callable[..., ChatOpenAI]:
    """A factory of real ChatOpenAI clients talking to the fake server (no retries: Temporal retries)."""

    def make(**overrides: object) -> ChatOpenAI:
        kwargs: dict[str, object] = {
            "base_url": fake_openai.base_url,
            "api_key": fake_openai.api_key,
            "model": "fake-model",
            "max_retries": 0,
            "timeout": 5.0,
        }
        kwargs.update(overrides)
        return ChatOpenAI(**kwargs)  # type: ignore[arg-type]

    return make
