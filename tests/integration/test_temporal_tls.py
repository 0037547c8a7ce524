"""The worker, the bot and the CLI reach Temporal over mutual TLS with the same TEMPORAL_TLS_* settings.

In front of the session's dev server runs a TLS-terminating loopback proxy whose certificate a private CA signed;
it accepts only clients whose certificate the same CA signed, offers ALPN `h2` (gRPC needs it), and records the
common name of every client certificate it accepts. Each process gets its own client certificate, so the record
proves which processes came through the proxy with their certificate, and a task started through it by the CLI
and one started from Slack by the bot both complete on the worker behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from baton.devserver import DevServer, free_port
from baton.gateway import TaskGateway
from sandbox import DEFAULT_SIGNING_SECRET, FakeSlackApi, SlackDelivery
from tests.support import eventually

CHANNEL = "C02OPS"
T = TypeVar("T")
PROCESS_TIMEOUT_S = 60


# --- a private CA, the proxy's server certificate and one client certificate per process -----------------------


@dataclass(frozen=True)
class Pem:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    pem = Pem(directory / f"{stem}.pem", directory / f"{stem}.key")
    pem.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return pem


class PrivateCa:
    """A self-signed CA that issues server and client certificates as PEM files in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = (
            self._builder(_name("Baton test CA"), self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert = directory / "ca.pem"
        self.cert.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def _builder(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        issuer = self._cert.subject if hasattr(self, "_cert") else subject
        return (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )

    def issue(self, common_name: str, *, server: bool = False) -> Pem:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            self._builder(_name(common_name), key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        if server:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return _write(self.directory, common_name, builder.sign(self._key, hashes.SHA256()), key)


# --- the TLS-terminating proxy ------------------------------------------------------------------------------------


class MutualTlsProxy:
    """Terminates TLS for `upstream` on a loopback port, requiring a client certificate signed by `ca`."""

    def __init__(self, upstream: str, server: Pem, ca: Path) -> None:
        self.upstream = upstream
        self.client_names: list[str] = []
        """The common name of each accepted client certificate, one entry per connection."""
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(server.cert, server.key)
        self._context.load_verify_locations(ca)
        self._context.verify_mode = ssl.CERT_REQUIRED
        self._context.set_alpn_protocols(["h2"])
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> MutualTlsProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._context)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for connection in list(self._connections):
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            subject = dict(pair for rdn in client_writer.get_extra_info("peercert")["subject"] for pair in rdn)
            self.client_names.append(subject["commonName"])
            host, port = self.upstream.rsplit(":", 1)
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
            await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
        finally:
            self._connections.discard(task)
            client_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()  # one side ended: end the other, so neither half lingers


@pytest.fixture
async def proxy(temporal_server: DevServer, tmp_path: Path) -> AsyncIterator[tuple[MutualTlsProxy, PrivateCa]]:
    ca = PrivateCa(tmp_path)
    async with MutualTlsProxy(temporal_server.address, ca.issue("localhost", server=True), ca.cert) as running:
        yield running, ca


# --- the processes ------------------------------------------------------------------------------------------------


def _env(**settings: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_"))}
    return {**keep, "PYTHONUNBUFFERED": "1", **settings}


def _tls_env(proxy: MutualTlsProxy, ca: PrivateCa, client: Pem) -> dict[str, str]:
    """What an operator sets for a cluster behind a private CA: the same variables for every process."""
    return {
        "TEMPORAL_ADDRESS": proxy.address,
        "TEMPORAL_TLS_CERT_PATH": str(client.cert),
        "TEMPORAL_TLS_KEY_PATH": str(client.key),
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(ca.cert),
        "TEMPORAL_TLS_SERVER_NAME": "localhost",
    }


@contextlib.asynccontextmanager
async def _process(module: str, env: Mapping[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m module` for the block, then SIGTERM; its output goes to `log` (shown when a test fails)."""
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", module, env=dict(env), stdout=out,
                                                       stderr=asyncio.subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), PROCESS_TIMEOUT_S)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            print(_tail(log))  # pytest shows it when the test failed


def _tail(log: Path) -> str:
    return f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}"


async def _run(env: Mapping[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(*args, env=dict(env), stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT_S)
    return process.returncode or 0, out.decode(), err.decode()


async def _while_running(condition: Awaitable[T], *processes: asyncio.subprocess.Process) -> T:
    """Wait for `condition`, but fail at once when one of `processes` exits first (its log says why)."""
    waiting = asyncio.ensure_future(condition)
    exits = [asyncio.ensure_future(process.wait()) for process in processes]
    done, _ = await asyncio.wait([waiting, *exits], return_when=asyncio.FIRST_COMPLETED)
    for exit_ in exits:
        exit_.cancel()
    if waiting not in done:
        waiting.cancel()
        raise AssertionError(f"a process exited (codes {[p.returncode for p in processes]}) before the condition")
    return waiting.result()


async def _healthy(port: int) -> bool:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status == 200


def _completed_from_slack(slack: FakeSlackApi, request: str) -> bool:
    """The bot's status message for the task it started from `request` shows it completed."""
    return any(m.thread_ts is None and "Completed" in str(m.blocks) and request in str(m.blocks)
               for m in slack.messages_in(CHANNEL))


async def test_worker_bot_and_cli_all_reach_temporal_through_mtls_with_the_same_settings(
    proxy: tuple[MutualTlsProxy, PrivateCa], slack: FakeSlackApi, task_queue: str, notify_task_queue: str,
    gateway: TaskGateway, tmp_path: Path,
) -> None:
    mtls, ca = proxy
    worker_env = _env(
        **_tls_env(mtls, ca, ca.issue("worker")), BATON_TASK_QUEUE=task_queue, BATON_AGENTS="diagnostic",
        BATON_CHECKPOINTER=str(tmp_path / "checkpoints.sqlite"), BATON_HEARTBEAT_THROTTLE_S="0.5",
        BATON_HEARTBEAT_INTERVAL_S="0.5",
        BATON_STICKY_QUEUE_TIMEOUT_S="1", BATON_PROGRESS_INTERVAL_S="0.05", BATON_DRAIN_TIMEOUT_S="1",
    )
    bot_port = free_port()
    bot_env = _env(
        **_tls_env(mtls, ca, ca.issue("bot")), BATON_TASK_QUEUE=task_queue, BATON_NOTIFY_TASK_QUEUE=notify_task_queue,
        SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=DEFAULT_SIGNING_SECRET, SLACK_API_URL=slack.base_url,
        BATON_HTTP_HOST="127.0.0.1", BATON_HTTP_PORT=str(bot_port),
    )
    cli_env = _env(**_tls_env(mtls, ca, ca.issue("cli")), BATON_TASK_QUEUE=task_queue)

    async with (
        _process("workers", worker_env, tmp_path / "worker.log") as worker,
        _process("bot", bot_env, tmp_path / "bot.log") as bot,
    ):
        # Both are up once the worker answers the catalog query (it reaches the server only through the proxy) and
        # the bot serves HTTP (it does so only after connecting to Temporal).
        await _while_running(eventually(gateway.agents, timeout=PROCESS_TIMEOUT_S), worker, bot)
        await _while_running(eventually(lambda: _healthy(bot_port), timeout=PROCESS_TIMEOUT_S), worker, bot)

        code, out, err = await _run(cli_env, sys.executable, "-m", "baton.cli", "submit", "diagnostic", "over mTLS",
                                    "--param", "steps=1", "--wait")
        assert code == 0, err
        assert "phase     completed" in out and "Diagnostic finished 1 step(s)" in out

        async with SlackDelivery(DEFAULT_SIGNING_SECRET, f"http://127.0.0.1:{bot_port}/slack/events",
                                 slack=slack) as sender:
            answer = await sender.send_slash_command("run diagnostic from Slack over mTLS", "U02BOB", CHANNEL)
        assert answer.status == 200
        completed = slack.wait_for(lambda: _completed_from_slack(slack, "from Slack over mTLS"), PROCESS_TIMEOUT_S)
        await _while_running(completed, worker, bot)
        assert worker.returncode is None and bot.returncode is None

    assert (worker.returncode, bot.returncode) == (0, 0)
    assert {"worker", "bot", "cli"} <= set(mtls.client_names), mtls.client_names
    assert set(mtls.client_names) <= {"worker", "bot", "cli"}, "only the certificates handed out came through"


async def test_a_missing_certificate_file_stops_each_process_with_one_line_naming_the_setting(
    tmp_path: Path, slack: FakeSlackApi
) -> None:
    missing = tmp_path / "nowhere" / "client.pem"
    tls = {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", "TEMPORAL_TLS_CERT_PATH": str(missing),
           "TEMPORAL_TLS_KEY_PATH": str(tmp_path / "nowhere" / "client.key")}
    runs = await asyncio.gather(
        _run(_env(**tls), sys.executable, "-m", "baton.cli", "agents"),
        _run(_env(**tls, BATON_AGENTS="diagnostic"), sys.executable, "-m", "workers"),
        _run(_env(**tls, SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=DEFAULT_SIGNING_SECRET,
                  SLACK_API_URL=slack.base_url, BATON_HTTP_PORT=str(free_port())), sys.executable, "-m", "bot"),
    )
    for (code, out, err), name in zip(runs, ("baton agents", "python -m workers", "python -m bot"), strict=True):
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, f"{name}: exit {code}\n{err}"
        assert "TEMPORAL_TLS_CERT_PATH" in lines[0] and str(missing) in lines[0], f"{name}: {lines[0]}"
        assert "Traceback" not in err + out
