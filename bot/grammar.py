"""The `/baton` grammar, parsed without a model: `run AGENT REQUEST | status [TASK] | cancel TASK [REASON] | list |
agents | help`. The front agent falls back to the same grammar when no model is configured."""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.common import AGENT_NAME_PATTERN, TASK_ID_PATTERN

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

AGENT_NAME = re.compile(AGENT_NAME_PATTERN)
TASK_ID = re.compile(TASK_ID_PATTERN)

HELP_TEXT = """\
*Baton* runs long agent jobs and reports in the thread.
• `/baton run <agent> <request>`: start a task, e.g. `/baton run ops_audit check the web tier`
• `/baton status [task]`: a task's status (without an id: your running tasks)
• `/baton cancel <task> [reason]`: cancel a task you started
• `/baton list`: your running tasks and the approvals waiting for you
• `/baton agents`: the agents you can run
• `/baton help`: this message
You can also mention me or send me a DM in plain words."""


@dataclass(frozen=True)
class RunCommand:
    agent: str
    request: str


@dataclass(frozen=True)
class StatusCommand:
    task_id: str | None = None


@dataclass(frozen=True)
class CancelCommand:
    task_id: str
    reason: str = ""


@dataclass(frozen=True)
class ListCommand:
    pass


@dataclass(frozen=True)
class AgentsCommand:
    pass


@dataclass(frozen=True)
class HelpCommand:
    pass


@dataclass(frozen=True)
class ParseError:
    """Not a command we understand; `message` tells the person what to type instead."""

    message: str


Command = RunCommand | StatusCommand | CancelCommand | ListCommand | AgentsCommand | HelpCommand

_SUBCOMMANDS = ("run", "status", "cancel", "list", "agents", "help")


def parse_command(text: str) -> Command | ParseError:
    words = text.strip().split(maxsplit=1)
    if not words:
        return HelpCommand()
    sub, rest = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    if sub in ("help", "-h", "--help", "?"):
        return HelpCommand()
    if sub == "run":
        return _run(rest)
    if sub == "status":
        if not rest:
            return StatusCommand()
        return _task_id(rest.split()[0], "status") or StatusCommand(rest.split()[0])
    if sub == "cancel":
        if not rest:
            return ParseError("Which task? Usage: `/baton cancel <task> [reason]`.")
        task, _, reason = rest.partition(" ")
        return _task_id(task, "cancel") or CancelCommand(task, reason.strip())
    if sub in ("list", "ls"):
        return ListCommand()
    if sub == "agents":
        return AgentsCommand()
    suggestion = _closest(sub)
    hint = f" Did you mean `{suggestion}`?" if suggestion else ""
    return ParseError(f"Unknown subcommand `{_quote(sub)}`.{hint} Try `/baton help`.")


def _run(rest: str) -> RunCommand | ParseError:
    agent, _, request = rest.partition(" ")
    agent, request = agent.strip(), request.strip()
    if not agent:
        return ParseError("Which agent? Usage: `/baton run <agent> <request>`; `/baton agents` lists them.")
    if not AGENT_NAME.match(agent):
        return ParseError(f"`{_quote(agent)}` is not an agent name; `/baton agents` lists them.")
    if not request:
        return ParseError(f"What should `{agent}` do? Usage: `/baton run {agent} <request>`.")
    return RunCommand(agent=agent, request=request)


def _task_id(task: str, sub: str) -> ParseError | None:
    if TASK_ID.match(task):
        return None
    return ParseError(f"`{_quote(task[:60])}` is not a task id. Usage: `/baton {sub} <task>`.")


def _closest(word: str) -> str | None:
    """A likely intended subcommand (one typo or a prefix away), to make the error actionable."""
    for candidate in _SUBCOMMANDS:
        if candidate.startswith(word) or word.startswith(candidate) or _one_edit(word, candidate):
            return candidate
    return None


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _quote(word: str) -> str:
    """User words echoed back inside backticks: escaped so they cannot ping or break out."""
    return word.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")[:60]
