"""The `/baton` grammar: each subcommand parses to its typed result; anything else gets an actionable error."""

from __future__ import annotations

import pytest

from bot.grammar import (
    AgentsCommand,
    CancelCommand,
    HelpCommand,
    ListCommand,
    ParseError,
    RunCommand,
    StatusCommand,
    parse_command,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run ops_audit check the web tier", RunCommand("ops_audit", "check the web tier")),
        ("  RUN   sales_report  Q3 numbers\nby region ", RunCommand("sales_report", "Q3 numbers\nby region")),
        ("status", StatusCommand()),
        ("status ops_audit-0123456789ab", StatusCommand("ops_audit-0123456789ab")),
        ("cancel ops_audit-0123456789ab", CancelCommand("ops_audit-0123456789ab")),
        ("cancel ops_audit-0123456789ab wrong host", CancelCommand("ops_audit-0123456789ab", "wrong host")),
        ("list", ListCommand()),
        ("agents", AgentsCommand()),
        ("help", HelpCommand()),
        ("", HelpCommand()),
    ],
)
def test_each_subcommand_parses_to_its_typed_result(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("rnu ops_audit x", "Did you mean `run`"),
        ("stat", "Did you mean `status`"),
        ("deploy prod", "Unknown subcommand `deploy`"),
        ("run", "Which agent?"),
        ("run ops_audit", "What should `ops_audit` do?"),
        ("run Ops-Audit go", "is not an agent name"),
        ("cancel", "Which task?"),
        ("status <!channel>", "is not a task id"),
    ],
)
def test_mistakes_get_a_helpful_error(text: str, words: str) -> None:
    result = parse_command(text)
    assert isinstance(result, ParseError) and words in result.message


def test_errors_never_echo_markup_back() -> None:
    result = parse_command("<!channel>")
    assert isinstance(result, ParseError) and "<!channel>" not in result.message
