"""Text that is safe to put in Slack mrkdwn, and Block Kit's size limits.

Agent output and request text are untrusted: `<!channel>`, `<@U123>` or `<https://evil|bank.com>` written by an
agent must neither ping nor spoof a link. Slack only gives `<`, `>` and `&` a meaning, so escaping those three
(https://docs.slack.dev/messaging/formatting-message-text#escaping) turns every control sequence into plain text.
Text we write ourselves (mentions of approvers, links to the Temporal UI) is built with the helpers below after
escaping, so nothing outside them can produce a control sequence.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "MAX_ACTION_ID",
    "MAX_BLOCKS",
    "MAX_BUTTON_TEXT",
    "MAX_BUTTON_VALUE",
    "MAX_CONTEXT_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_INPUT_CHARS",
    "MAX_PRIVATE_METADATA",
    "MAX_SECTION_TEXT",
    "TRUNCATION_MARKER",
    "code_block",
    "escape",
    "link",
    "mention",
    "plain",
    "slack_date",
    "truncate",
]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_PRIVATE_METADATA = 3000
MAX_INPUT_CHARS = 3000
MAX_MESSAGE_TEXT = 3000
"""Our own cap for a message's fallback `text` (Slack truncates at 40k; notifications only need a line)."""

TRUNCATION_MARKER = "… (truncated)"


def escape(text: str) -> str:
    """Make untrusted text inert in mrkdwn: `&` first so existing entities are not double-decoded into markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, marker: str = TRUNCATION_MARKER) -> str:
    """`text` cut to at most `limit` characters, ending with `marker` when something was cut.

    Cuts never split an escape entity (`&amp;`), which Slack would otherwise render as a stray `&am`.
    """
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(marker))
    cut = text[:keep]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp <= 5:
        cut = cut[:amp]
    return cut + marker


def plain(text: str, limit: int) -> str:
    """Text for `plain_text` objects: no escaping needed (Slack never parses it), only the length limit."""
    return truncate(text, limit)


def code_block(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """Escaped text in a ``` block that fits `limit` including the fences; backticks cannot close it early."""
    body = escape(text).replace("```", "`\u200b``")
    return "```" + truncate(body, limit - 6) + "```"


def mention(user_id: str) -> str:
    """A user mention we mean to make; the id is checked so that only a real-looking id becomes markup."""
    if not user_id.replace("_", "").isalnum():
        return escape(user_id)
    return f"<@{user_id}>"


def link(url: str, label: str) -> str:
    """A link we build (Temporal UI): the label is escaped and `|` in it cannot change the target."""
    safe_label = escape(label).replace("|", "¦")
    return f"<{escape(url)}|{safe_label}>"


def slack_date(at: datetime) -> str:
    """A timestamp every reader sees in their own time zone, with a UTC fallback for old clients."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
