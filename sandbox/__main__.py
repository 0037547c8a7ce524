"""`python -m sandbox`: the offline Slack alone (fake Web API + page), for a bot you start yourself.

The bot must share the sandbox's token and signing secret: both are read from SLACK_BOT_TOKEN /
SLACK_SIGNING_SECRET when set (start the bot with the same values and SLACK_API_URL=<printed API URL>), else the
package's fixed sandbox-only defaults are used. `baton dev` starts everything together with fresh secrets instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from sandbox.delivery import DEFAULT_SIGNING_SECRET
from sandbox.fake_slack import DEFAULT_BOT_TOKEN
from sandbox.web_run import SandboxSecrets, run_sandbox, sandbox_port


async def serve(events_url: str, port: int) -> None:
    shared = SandboxSecrets(bot_token=os.environ.get("SLACK_BOT_TOKEN") or DEFAULT_BOT_TOKEN,
                            signing_secret=os.environ.get("SLACK_SIGNING_SECRET") or DEFAULT_SIGNING_SECRET)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with run_sandbox(events_url=events_url, secrets=shared, port=port) as sandbox:
        print(f"Baton sandbox: open {sandbox.url}", flush=True)
        print(f"  Slack Web API for the bot: SLACK_API_URL={sandbox.api_url}", flush=True)
        print(f"  delivering to the bot at {events_url}", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--events-url", default=os.environ.get("BATON_SANDBOX_EVENTS_URL",
                                                                "http://127.0.0.1:3000/slack/events"))
    parser.add_argument("--port", type=int, default=None, help="default: BATON_SANDBOX_PORT or 3100")
    args = parser.parse_args()
    asyncio.run(serve(args.events_url, sandbox_port() if args.port is None else args.port))


if __name__ == "__main__":
    main()
