"""Leave a process without interpreter finalization once its work is done and its output flushed.

temporalio's Rust core can abort the interpreter while Python finalizes (`Fatal Python error: PyGILState_Release`,
exit 134, or a segfault, exit 139): seen here in about 1 of 10 short CLI runs and noted in docs/architecture.md for the
test server. Finalization has nothing left to do for us, so skipping it makes the exit code the one we chose.
"""

from __future__ import annotations

import os
import sys


def exit_now(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
