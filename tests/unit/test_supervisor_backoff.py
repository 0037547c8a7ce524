"""baton.supervisor's pure parts: the wait before a restart, and how a child's end is told."""

from __future__ import annotations

import signal

import pytest

from baton.supervisor import Backoff, describe_exit


def test_quick_failures_wait_twice_as_long_each_time_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=1, cap_s=10, stable_after_s=60)
    assert [backoff.after_run(0.5) for _ in range(7)] == [1, 2, 4, 8, 10, 10, 10]


def test_a_run_that_lasted_long_enough_starts_the_wait_over() -> None:
    backoff = Backoff(initial_s=1, cap_s=30, stable_after_s=60)
    for _ in range(4):
        backoff.after_run(1)
    assert backoff.after_run(60) == 1
    assert backoff.after_run(5) == 2


def test_a_backoff_that_could_never_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(initial_s=0)
    with pytest.raises(ValueError, match="cap_s"):
        Backoff(initial_s=5, cap_s=1)


def test_an_exit_is_told_by_its_signal_name_or_its_code() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert describe_exit(1) == "code 1"
    assert describe_exit(0) == "code 0"
    assert describe_exit(-200) == "killed by signal 200"
