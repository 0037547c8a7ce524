"""The slash command's grammar (no LLM needed)."""

from bot.commands.parser import (
    HELP_TEXT,
    AgentsCommand,
    CancelCommand,
    Command,
    HelpCommand,
    ListCommand,
    ParseError,
    RunCommand,
    StatusCommand,
    parse_command,
)

__all__ = [
    "HELP_TEXT",
    "AgentsCommand",
    "CancelCommand",
    "Command",
    "HelpCommand",
    "ListCommand",
    "ParseError",
    "RunCommand",
    "StatusCommand",
    "parse_command",
]
