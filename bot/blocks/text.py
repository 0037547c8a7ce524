"""The one way text reaches Slack: untrusted text is made inert, and only Baton's own markup stays live.

Agent output, model replies, request text and checkpoint fields are untrusted: `<!channel>`, `<@U123>` or
`<https://evil|bank.com>` written by any of them must neither ping nor spoof a link. Slack only gives `<`, `>` and
`&` a meaning, so escaping those three (https://docs.slack.dev/messaging/formatting-message-text#escaping) turns
every control sequence into plain text, and escaping `&` first keeps already-escaped text (`&lt;!channel&gt;`) from
being decoded into markup.

`Mrkdwn` is the proof that a string is safe: it is what `escape` returns, and what the helpers that build Baton's own
markup return (`mention`, `link`, `slack_date`, `code_block`). Every string that enters a Slack call passes through
`slack_text` (a message's text) or `safe_blocks` (blocks and views), which escape any plain `str`; so a value nobody
escaped is shown as typed, never interpreted. Mrkdwn built from pieces stays Mrkdwn through `mrkdwn(template, ...)`,
`+` and `Mrkdwn.join`, which escape every plain `str` they are given. An f-string gives a plain `str`: one holding
Baton's markup is escaped at the boundary (visibly wrong, never unsafe), so builders compose with the three above.
`plain_text` objects and input values are never parsed by Slack and take the text as it is (`plain`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

__all__ = [
    "MAX_ACTION_ID",
    "MAX_BLOCKS",
    "MAX_BUTTON_TEXT",
    "MAX_BUTTON_VALUE",
    "MAX_CONTEXT_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_INPUT_CHARS",
    "MAX_MESSAGE_TEXT",
    "MAX_POSTED_TEXT",
    "MAX_PRIVATE_METADATA",
    "MAX_SECTION_TEXT",
    "TRUNCATION_MARKER",
    "Mrkdwn",
    "code_block",
    "escape",
    "escape_keeping_mentions",
    "inert_label",
    "link",
    "mention",
    "mrkdwn",
    "plain",
    "safe_blocks",
    "slack_date",
    "slack_text",
    "to_mrkdwn",
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
MAX_POSTED_TEXT = 40_000
"""Slack's bound on a message's `text` (longer is refused as msg_too_long); escaping can make a text 5 times longer."""

TRUNCATION_MARKER = "… (truncated)"

S = TypeVar("S", bound=str)
T = TypeVar("T")


class Mrkdwn(str):
    """mrkdwn that is safe to send: escaped text, or markup Baton's own helpers built (see the module docstring).

    Calling `Mrkdwn(...)` directly vouches for the text: only this module does so, and elsewhere only on a literal
    Baton wrote (a separator, a fixed sentence)."""

    __slots__ = ()

    def __add__(self, other: str) -> Mrkdwn:
        return Mrkdwn(str.__add__(self, to_mrkdwn(other)))

    def __radd__(self, other: str) -> Mrkdwn:
        return Mrkdwn(str.__add__(to_mrkdwn(other), self))

    def join(self, parts: Iterable[str]) -> Mrkdwn:
        return Mrkdwn(str.join(self, [to_mrkdwn(part) for part in parts]))

    def format(self, *args: object, **kwargs: object) -> Mrkdwn:
        return Mrkdwn(str.format(self, *[_argument(a) for a in args], **{k: _argument(v) for k, v in kwargs.items()}))


def _argument(value: object) -> object:
    """A value going into a template: text escaped unless it is Mrkdwn; numbers as they are, so `{:,}` still works."""
    if isinstance(value, str):
        return to_mrkdwn(value)
    if isinstance(value, int | float):
        return value
    return escape(str(value))


def escape(text: str) -> Mrkdwn:
    """Make untrusted text inert in mrkdwn: `&` first so existing entities are not double-decoded into markup."""
    return Mrkdwn(str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def to_mrkdwn(text: str) -> Mrkdwn:
    """The choke point: Mrkdwn passes as it is, any other text is escaped."""
    return text if isinstance(text, Mrkdwn) else escape(text)


def mrkdwn(template: str, *args: object, **kwargs: object) -> Mrkdwn:
    """A sentence Baton writes: `template` is Baton's own (never untrusted text), every argument is escaped unless
    it is Mrkdwn already. `mrkdwn("Approved by {} {}", mention(user), slack_date(at))`."""
    return Mrkdwn(template).format(*args, **kwargs)


def slack_text(text: str, limit: int = MAX_POSTED_TEXT) -> Mrkdwn:
    """A message's top-level `text` (Slack parses it as mrkdwn, blocks or not), as it may enter a Slack call."""
    return truncate(to_mrkdwn(text), limit)


def safe_blocks(value: T) -> T:
    """Blocks, a view or a whole message payload as they may enter a Slack call: a copy in which every mrkdwn text
    object holds Mrkdwn, so a plain `str` put into a hand-built block is escaped rather than interpreted."""
    if isinstance(value, dict):
        copy = {key: safe_blocks(item) for key, item in value.items()}
        if copy.get("type") == "mrkdwn" and isinstance(copy.get("text"), str):
            copy["text"] = to_mrkdwn(copy["text"])
        return copy  # type: ignore[return-value]
    if isinstance(value, list):
        return [safe_blocks(item) for item in value]  # type: ignore[return-value]
    return value


def escape_keeping_mentions(text: str, user_ids: Iterable[str]) -> Mrkdwn:
    """`text` escaped, then its `<@id>` mentions of `user_ids` made live again: for wording that names people as
    `<@id>` but is written outside the bot (the approval rules' refusals). Only the ids the caller vouches for (a Slack
    user the bot itself read) become mentions; any other `<@...>` in the text stays inert."""
    escaped = str(escape(text))
    for user_id in dict.fromkeys(user_ids):
        live = mention(user_id)
        if live.startswith("<@"):
            escaped = escaped.replace(f"&lt;@{user_id}&gt;", live)
    return Mrkdwn(escaped)


def truncate(text: S, limit: int, marker: str = TRUNCATION_MARKER) -> S:
    """`text` cut to at most `limit` characters, ending with `marker` when something was cut.

    Cuts never split an escape entity (`&amp;`), which Slack would otherwise render as a stray `&am`, and never
    split Baton's own markup in Mrkdwn (a mention or link cut open); Mrkdwn stays Mrkdwn.
    """
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(marker))
    cut = text[:keep]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp <= 5:
        cut = cut[:amp]
    if isinstance(text, Mrkdwn):
        opened = cut.rfind("<")
        if opened > cut.rfind(">"):  # in Mrkdwn every `<` opens Baton's markup: drop it rather than leave it open
            cut = cut[:opened]
        return Mrkdwn(str(cut) + str(escape(marker)))  # type: ignore[return-value]
    return cut + marker  # type: ignore[return-value]


def plain(text: str, limit: int) -> str:
    """Text for `plain_text` objects and input values: Slack never parses them, so no escaping (an escape would
    show as `&lt;`), only the length limit."""
    return truncate(str(text), limit)


def inert_label(text: str, limit: int = 255) -> str:
    """A label shown by Slack outside Block Kit whose parsing Slack does not document (a file's title): angle
    brackets become look-alikes, so no control sequence can form and nothing shows as an entity."""
    return plain(str(text).replace("<", "‹").replace(">", "›"), limit)


def code_block(text: str, limit: int = MAX_SECTION_TEXT) -> Mrkdwn:
    """Escaped text in a ``` block that fits `limit` including the fences; backticks cannot close it early."""
    body = str(escape(text)).replace("```", "`\u200b``")
    return Mrkdwn("```" + truncate(body, limit - 6) + "```")


def mention(user_id: str) -> Mrkdwn:
    """A user mention we mean to make; the id is checked so that only a real-looking id becomes markup."""
    if not user_id or not user_id.replace("_", "").isalnum() or not user_id.isascii():
        return escape(user_id)
    return Mrkdwn(f"<@{user_id}>")


def link(url: str, label: str) -> Mrkdwn:
    """A link we build (Temporal UI): the label is escaped and `|` in it cannot change the target."""
    safe_label = escape(label).replace("|", "¦")
    return Mrkdwn(f"<{escape(url).replace('|', '%7C')}|{safe_label}>")


def slack_date(at: datetime) -> Mrkdwn:
    """A timestamp every reader sees in their own time zone, with a UTC fallback for old clients."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return Mrkdwn(f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>")
