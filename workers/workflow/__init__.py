"""The code that runs inside Temporal's workflow sandbox, fenced in one folder.

Everything here is deterministic: no I/O, no clocks but `workflow.now()` and timers, no randomness. The agents run in
activities (`workers.activities`), Slack is reached through the bot's `notify` activity. A test
(`tests/unit/test_import_boundaries.py`) fails if a module here imports an I/O library.

    agent_workflow.py    AgentWorkflow: one durable task
    catalog_workflow.py  AgentCatalogWorkflow: which agents the workers on a task queue offer
    ledger.py            the task's status, events and decisions (pure, time passed in)
    expiry.py            reminder / escalation / expiry plan for a checkpoint (pure, time passed in)
    thread_notifier.py   the loop that keeps a Slack thread current through the `notify` activity
    continuation.py      when a long-lived run should continue as new, and the quiet moment it waits for
"""
