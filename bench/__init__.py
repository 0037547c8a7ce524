"""Benchmarks for issue 3 (not part of `make test`): `python -m bench.crash_waste`, `python -m bench.concurrency`."""
