"""The upgrade tests' fixtures: the previous release's tree, and the bot's settings (today's bot takes over the
thread of a task the old release started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.releases import previous_release
from tests.bot.conftest import bot_settings
from tests.upgrade.old_release import check_out

__all__ = ["bot_settings"]


@pytest.fixture(scope="session")
def old_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous release's packages, checked out once for the session."""
    return check_out(previous_release(), tmp_path_factory.mktemp("previous-release"))
