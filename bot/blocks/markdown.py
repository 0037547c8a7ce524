"""Untrusted text made inert for Slack's `markdown_text` (the chat.*Stream methods), the sibling of `escape` in
bot/blocks/text.py, which does the same for mrkdwn.

markdown_text is standard markdown, not mrkdwn, so escaping `<`, `>` and `&` alone is not enough: a model could still
write a markdown link whose label disguises its target (`[bank.com](https://evil)`, or its reference and image
forms), or a bare `@channel`. So:

* `&`, `<`, `>` become entities, as in mrkdwn: no `<!channel>`, `<@U…>` or `<url|label>` can form;
* a `]` followed by `(`, `[` or `:` gets a zero-width space in between: no inline, reference or image link can form
  (the text reads the same; a bare URL still shows itself, so it cannot lie about where it goes);
* `@channel`, `@here` and `@everyone` get a word joiner after the `@`: none can broadcast.

No rule looks across whitespace, so a writer that escapes a text's whole prefix up to a whitespace (bot/answer_stream.py
streams whole words) never sees a later token change what it already sent.
"""

from __future__ import annotations

import re

__all__ = ["WORD_JOINER", "ZERO_WIDTH_SPACE", "inert_markdown"]

ZERO_WIDTH_SPACE = "\u200b"
WORD_JOINER = "\u2060"
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_LINK = re.compile(r"\](?=[(\[:])")
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)


def inert_markdown(text: str) -> str:
    """`text` as Slack's markdown shows it literally: no mention, broadcast or disguised link can form."""
    escaped = str(text).translate(_ENTITIES)
    return _BROADCAST.sub("@" + WORD_JOINER, _LINK.sub("]" + ZERO_WIDTH_SPACE, escaped))
