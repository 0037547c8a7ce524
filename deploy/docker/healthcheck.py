"""The image's HEALTHCHECK: exit 0 when the Baton process in this container answers `GET /healthz` with a 2xx.

One check serves every process the image runs, as each serves /healthz on a port of its own: the bot in HTTP mode
on `BATON_HTTP_PORT` (3000), the worker and the notifier on `BATON_METRICS_PORT` (the image sets 9464). It asks
both on 127.0.0.1 and is healthy when either answers. `BATON_HEALTHCHECK_URL` names the one URL to ask instead.

Standard library only, never through a proxy (`HTTP_PROXY` may be set for the model's API), a short timeout.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping

TIMEOUT_S = 3.0
DEFAULT_HTTP_PORT = "3000"
DEFAULT_METRICS_PORT = "9464"


def candidate_urls(environ: Mapping[str, str]) -> list[str]:
    """The URLs to ask, in order: the explicit one, else /healthz on the metrics port and the HTTP port."""
    explicit = environ.get("BATON_HEALTHCHECK_URL", "").strip()
    if explicit:
        return [explicit]
    ports = [
        environ.get("BATON_METRICS_PORT") or DEFAULT_METRICS_PORT,
        environ.get("BATON_HTTP_PORT") or DEFAULT_HTTP_PORT,
    ]
    return [f"http://127.0.0.1:{port}/healthz" for port in dict.fromkeys(ports) if port.strip() not in ("", "0")]


def answers(url: str, timeout_s: float = TIMEOUT_S) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout_s) as response:
            return 200 <= int(response.status) < 300
    except (OSError, ValueError):  # refused, timed out, an HTTP error status (HTTPError is an OSError), a bad URL
        return False


def main(environ: Mapping[str, str] = os.environ) -> int:
    urls = candidate_urls(environ)
    if any(answers(url) for url in urls):
        return 0
    print(f"unhealthy: no answer from {', '.join(urls) or 'any port (all set to 0)'}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
