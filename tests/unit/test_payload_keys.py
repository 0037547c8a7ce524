"""BATON_PAYLOAD_KEYS: parsed at start into one line naming the variable, and a codec that decrypts with any listed
key, refuses the rest with one line naming the variable, and never lets a key reach a message."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError

from baton.codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadKeyError,
    new_key,
    parse_payload_keys,
    quiet_key_errors,
)
from baton.temporal import TemporalSettingsError, data_converter, load_temporal_settings
from workers.config import WorkerSettings

KEY_A, KEY_B = new_key("a"), new_key("b")
CLEAR = Payload(metadata={"encoding": b"json/plain"}, data=b'{"text": "the quarterly payroll of ZEBRA-7781"}')


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith(("TEMPORAL_", "BATON_")):
            monkeypatch.delenv(name)


def codec(keys: str | None) -> EncryptionCodec:
    return EncryptionCodec.from_setting(keys)


def secret_of(entry: str) -> str:
    return entry.partition(":")[2]


async def test_the_first_key_encrypts_every_listed_key_decrypts_and_nothing_stays_readable() -> None:
    [sealed] = await codec(f"{KEY_A}").encode([CLEAR])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID_METADATA] == b"a"
    assert b"ZEBRA" not in sealed.SerializeToString()
    rotated = codec(f"{KEY_B},{KEY_A}")
    assert await rotated.decode([sealed]) == [CLEAR], "an old key still decrypts after a new one went first"
    [resealed] = await rotated.encode([CLEAR])
    assert resealed.metadata[KEY_ID_METADATA] == b"b"


async def test_clear_payloads_pass_through_so_turning_encryption_on_keeps_older_tasks_readable() -> None:
    assert await codec(KEY_A).decode([CLEAR]) == [CLEAR]
    assert await codec(None).encode([CLEAR]) == [CLEAR], "no keys: nothing is encrypted"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (KEY_B, r"^A Temporal payload is encrypted with key id 'a', which is not in BATON_PAYLOAD_KEYS \(it has b\)"),
        (None, r"^A Temporal payload is encrypted with key id 'a', but BATON_PAYLOAD_KEYS is not set"),
        (f"a:{secret_of(KEY_B)}", r"^A Temporal payload does not decrypt with key id 'a' of BATON_PAYLOAD_KEYS"),
    ],
    ids=["unknown key id", "no keys at all", "same id, wrong key"],
)
async def test_a_payload_no_key_opens_fails_with_one_line_naming_the_variable(keys: str | None, expected: str) -> None:
    [sealed] = await codec(KEY_A).encode([CLEAR])
    with pytest.raises(PayloadKeyError, match=expected) as raised:
        await codec(keys).decode([sealed])
    message = str(raised.value)
    assert "\n" not in message
    assert secret_of(KEY_A) not in message and secret_of(KEY_B) not in message


async def test_a_damaged_payload_or_a_hostile_key_id_is_refused_without_echoing_it() -> None:
    [sealed] = await codec(KEY_A).encode([CLEAR])
    damaged = Payload(metadata=sealed.metadata, data=sealed.data[:5])
    with pytest.raises(PayloadKeyError, match="does not decrypt"):
        await codec(KEY_A).decode([damaged])
    hostile = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"x\n" * 500}, data=b"")
    with pytest.raises(PayloadKeyError, match=r"key id \(unreadable\)"):
        await codec(KEY_A).decode([hostile])


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("justakey", "entry 1 is not ID:BASE64KEY"),
        (f"{KEY_A},{KEY_A}", "key id 'a' is listed twice"),
        ("a:not base64!", "the key of 'a' is not base64"),
        (f"a:{base64.b64encode(b'x' * 16).decode()}", "the key of 'a' is 16 bytes, AES-256 needs 32"),
        (f"bad id:{secret_of(KEY_A)}", "entry 1: a key id is 1-64 letters"),
        (" , ", "no keys"),
    ],
)
def test_a_malformed_setting_stops_every_process_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_payload_keys(value)
    monkeypatch.setenv("BATON_PAYLOAD_KEYS", value)
    with pytest.raises(TemporalSettingsError) as raised:
        load_temporal_settings()
    assert str(raised.value).startswith(f"Invalid Temporal settings: BATON_PAYLOAD_KEYS ({reason}")
    assert secret_of(KEY_A) not in str(raised.value)


def test_the_worker_process_stops_at_start_with_that_line() -> None:
    worker = subprocess.run([sys.executable, "-m", "workers"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BATON_PAYLOAD_KEYS": f"a:{secret_of(KEY_A)[:20]}"})
    assert worker.returncode == 2
    assert worker.stderr.strip().endswith(
        "BATON_PAYLOAD_KEYS (the key of 'a' is 15 bytes, AES-256 needs 32; generate one with "
        "`python -m baton.codec new-key`)"
    )
    assert secret_of(KEY_A)[:20] not in worker.stderr + worker.stdout


def test_the_keys_are_a_secret_of_the_settings_and_the_worker_shares_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_PAYLOAD_KEYS", f"{KEY_B},{KEY_A}")
    settings, worker = load_temporal_settings(), WorkerSettings()
    assert isinstance(settings.baton_payload_keys, SecretStr)
    assert secret_of(KEY_A) not in repr(settings) and secret_of(KEY_A) not in repr(worker)
    converter = data_converter(worker)
    assert isinstance(converter.payload_codec, EncryptionCodec) and converter.payload_codec.key_ids == ["b", "a"]


def test_new_key_prints_an_entry_the_setting_accepts() -> None:
    printed = subprocess.run([sys.executable, "-m", "baton.codec", "new-key", "k2"], capture_output=True, text=True,
                             check=True, timeout=60).stdout.strip()
    [(key_id, key)] = parse_payload_keys(printed)
    assert key_id == "k2" and len(key) == 32
    assert parse_payload_keys(new_key())[0][0], "an id is made up when none is given"


@pytest.mark.parametrize("logger", ["temporalio.activity", "temporalio.worker._workflow"])
def test_temporalio_s_failure_log_for_a_key_error_is_one_line_without_traceback(
    logger: str, caplog: pytest.LogCaptureFixture
) -> None:
    """What temporalio logs when an activity's arguments (or a workflow activation) cannot be decoded: the cause is
    our PayloadKeyError, chained under its own error; the record keeps temporalio's words and gains ours."""
    quiet_key_errors()
    try:
        try:
            raise PayloadKeyError("A Temporal payload is encrypted with key id 'a', which is not in BATON_PAYLOAD_KEYS")
        except PayloadKeyError as exc:
            raise ApplicationError("Failed decoding arguments") from exc
    except ApplicationError:
        logging.getLogger(logger).warning("Completing activity %s as failed", "run_agent", exc_info=True)
    [record] = caplog.records
    assert record.exc_info is None
    assert record.getMessage() == ("Completing activity run_agent as failed: A Temporal payload is encrypted with key "
                                   "id 'a', which is not in BATON_PAYLOAD_KEYS")
    logging.getLogger(logger).warning("Unrelated", exc_info=ValueError("kept"))
    assert caplog.records[-1].exc_info is not None, "other failures keep their traceback"
