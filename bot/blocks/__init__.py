"""Pure Block Kit builders: contracts in, Slack blocks out, no I/O. Their mrkdwn is `Mrkdwn` (bot.blocks.text):
untrusted text escaped, Baton's own mentions and links live; `slack_text` and `safe_blocks` guard every Slack call."""

from baton.render import progress_bar
from bot.blocks.checkpoint import DECISION_LABELS, checkpoint_card, decided_card, format_args
from bot.blocks.common import FileUpload, Rendered, TaskLinks, format_duration
from bot.blocks.final import final_message, format_usage
from bot.blocks.home import home_view
from bot.blocks.ids import ButtonRef
from bot.blocks.modals import edit_modal, parse_edit, reject_modal, respond_modal, submitted_json, submitted_text
from bot.blocks.status import status_message
from bot.blocks.text import Mrkdwn, escape, mrkdwn, safe_blocks, slack_text, truncate

__all__ = [
    "DECISION_LABELS",
    "ButtonRef",
    "FileUpload",
    "Mrkdwn",
    "Rendered",
    "TaskLinks",
    "checkpoint_card",
    "decided_card",
    "edit_modal",
    "escape",
    "final_message",
    "format_args",
    "format_duration",
    "format_usage",
    "home_view",
    "mrkdwn",
    "parse_edit",
    "progress_bar",
    "reject_modal",
    "respond_modal",
    "safe_blocks",
    "slack_text",
    "status_message",
    "submitted_json",
    "submitted_text",
    "truncate",
]
