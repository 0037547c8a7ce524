"""Baton's built-in agents. Each module exposes `SPEC: AgentSpec` and a `make_<name>_graph()` factory."""
