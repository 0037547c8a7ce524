"""What a new workflow costs the worker before it runs a line: the sandbox's imports, before and after item 4.

    python -m bench.compare_sandbox [--instances 40]

Temporal's sandbox builds a fresh module world for every workflow it starts (and every one it replays after a
cache eviction): each module not passed through is imported again. Measured here in one process, the CPU to create
an AgentWorkflow instance, on Temporal's default sandbox and on Baton's (workers.worker.WORKFLOW_RUNNER, which passes
contracts and workers.workflow through), with the bytecode `make setup` compiles, and without any (a cache prefix
with nothing in it, what PYTHONDONTWRITEBYTECODE=1 without compileall amounts to). Writes
bench/results/compare_sandbox.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.support import REPO_ROOT, print_table, write_results


async def per_instance_ms(instances: int) -> dict[str, float]:
    """Each runner's CPU a new AgentWorkflow instance, after one warm-up (prepare_workflow creates one)."""
    import temporalio.workflow
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    from workers.worker import WORKFLOW_RUNNER
    from workers.workflow.agent_workflow import AgentWorkflow

    definition = temporalio.workflow._Definition.must_from_class(AgentWorkflow)
    costs = {}
    for name, runner in (("default sandbox", SandboxedWorkflowRunner()), ("baton's sandbox", WORKFLOW_RUNNER)):
        runner.prepare_workflow(definition)
        began = time.process_time()
        for _ in range(instances):
            runner.prepare_workflow(definition)
        costs[name] = round((time.process_time() - began) / instances * 1000, 2)
    return costs


def measure(instances: int, bytecode: bool) -> dict[str, float]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if not bytecode:
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="baton-no-bytecode-")
    out = subprocess.run([sys.executable, "-m", "bench.compare_sandbox", "--child", str(instances)], cwd=REPO_ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main(instances: int) -> dict[str, Any]:
    subprocess.run([sys.executable, "-m", "compileall", "-q", "contracts", "workers", "baton"], cwd=REPO_ROOT,
                   check=True)  # what `make setup` does
    rows = {"with bytecode": measure(instances, True), "without bytecode": measure(instances, False)}
    print_table(["", "default sandbox, ms CPU a new workflow", "baton's sandbox, ms CPU a new workflow"],
                [[k, v["default sandbox"], v["baton's sandbox"]] for k, v in rows.items()])
    results = {"benchmark": "compare_sandbox", "workflow": "AgentWorkflow", "instances": instances,
               "cpu_ms_a_new_workflow": rows,
               "machine": {"cores": os.cpu_count(), "load_average": os.getloadavg(), "note": "shared"}}
    print(f"results: {write_results('compare_sandbox', results)}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=40)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(per_instance_ms(args.child))))
    else:
        main(args.instances)
