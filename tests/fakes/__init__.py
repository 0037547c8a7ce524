"""Fakes of remote services that tests talk to over real HTTP on 127.0.0.1."""
