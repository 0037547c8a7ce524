"""Baton's operator side: the Temporal client gateway shared by the CLI and the Slack bot, and the `baton` CLI."""
