"""Encryption of every Temporal payload Baton writes (inputs, results, signals, updates, queries, memos, failure
messages), so the Temporal server and anyone who reads its histories see no request text.

`BATON_PAYLOAD_KEYS` holds one or more `id:base64key` pairs, comma-separated, each key 32 random bytes (AES-256-GCM):

    BATON_PAYLOAD_KEYS=k2:<new key>,k1:<old key>

The first key encrypts; every listed key decrypts (each payload names its key id). A key is rotated in two rollouts:
the new key last everywhere (all can read it, none writes it), then first; the old one is dropped only once no
history still needed holds payloads under it. Generate a key with `python -m baton.codec new-key [ID]`.

The layout is the one of Temporal's encryption samples (encoding `binary/encrypted`, metadata `encryption-key-id`,
data = 12-byte nonce + ciphertext and tag of the serialized payload), so their codec servers and tools read it too.

Search attributes are not payloads: Temporal indexes them in clear, which is why they hold only ids and names
(agent, requester id, channel id, phase), never request text.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from baton.errors import BatonError

__all__ = ["ENCODING", "KEY_ID_METADATA", "EncryptionCodec", "PayloadKeyError", "new_key", "parse_payload_keys"]

VARIABLE = "BATON_PAYLOAD_KEYS"
ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_GENERATE = "generate one with `python -m baton.codec new-key`"


class PayloadKeyError(BatonError):
    """A payload cannot be decrypted with the keys this process has; str() is one line naming BATON_PAYLOAD_KEYS.

    Deliberately not a non-retryable ApplicationError: in a worker it fails the workflow task, which Temporal
    retries, so the task waits (losing nothing) until a worker with the right key takes it."""


def parse_payload_keys(value: str) -> list[tuple[str, bytes]]:
    """(key id, key) pairs in their order in BATON_PAYLOAD_KEYS, or ValueError saying what is wrong.

    The message never quotes a key: it reaches logs and terminals."""
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate((part.strip() for part in value.split(",")), start=1):
        if not entry:
            continue
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon:
            raise ValueError(f"entry {position} is not ID:BASE64KEY")
        if not _KEY_ID.fullmatch(key_id):
            raise ValueError(f"entry {position}: a key id is 1-64 letters, digits, '.', '_' or '-'")
        if any(known == key_id for known, _ in keys):
            raise ValueError(f"key id '{key_id}' is listed twice")
        try:
            key = base64.b64decode(encoded.strip().replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"the key of '{key_id}' is not base64; {_GENERATE}") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"the key of '{key_id}' is {len(key)} bytes, AES-256 needs {KEY_BYTES}; {_GENERATE}")
        keys.append((key_id, key))
    if not keys:
        raise ValueError(f"no keys; {_GENERATE}")
    return keys


def new_key(key_id: str | None = None) -> str:
    """A fresh `id:base64key` entry for BATON_PAYLOAD_KEYS; the id defaults to today's date and a random suffix."""
    key_id = key_id or f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError("a key id is 1-64 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM with the first key; decryption with whichever listed key a payload names.

    With no keys it encrypts nothing and passes clear payloads through, but an encrypted one still fails with a
    line naming BATON_PAYLOAD_KEYS, instead of the data converter's "unknown encoding"."""

    def __init__(self, keys: Sequence[tuple[str, bytes]] = ()) -> None:
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}
        self._encrypting = keys[0][0] if keys else None

    @classmethod
    def from_setting(cls, value: str | None) -> EncryptionCodec:
        return cls(parse_payload_keys(value) if value else ())

    @property
    def encrypts(self) -> bool:
        return self._encrypting is not None

    @property
    def key_ids(self) -> list[str]:
        """The configured key ids, the encrypting one first (ids are not secret: every payload carries one)."""
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self._encrypting is None:
            return list(payloads)
        cipher, key_id = self._ciphers[self._encrypting], self._encrypting.encode()
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), None)
            encoded.append(Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id}, data=data))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(payload) if payload.metadata.get("encoding") == ENCODING else payload
                for payload in payloads]

    def _decrypt(self, payload: Payload) -> Payload:
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        shown = _shown(key_id)
        if cipher is None:
            if not self._ciphers:
                raise PayloadKeyError(f"A Temporal payload is encrypted with key id {shown}, but {VARIABLE} is not "
                                      "set: give this process the keys the other Baton processes use")
            raise PayloadKeyError(f"A Temporal payload is encrypted with key id {shown}, which is not in {VARIABLE} "
                                  f"(it has {', '.join(self._ciphers)}): add that key back; rotate by putting a new "
                                  "key first, never by dropping one that open tasks still use")
        data = payload.data
        try:
            return Payload.FromString(cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None))
        except (InvalidTag, ValueError):  # ValueError: shorter than a nonce, or not a serialized payload
            raise PayloadKeyError(f"A Temporal payload does not decrypt with key id {shown} of {VARIABLE}: that id "
                                  "holds a different key than the one that encrypted it, or the payload is damaged"
                                  ) from None


def _shown(key_id: str) -> str:
    """A key id fit for a log line: it comes from the payload, which a codec-server caller controls."""
    return repr(key_id[:64]) if key_id.isprintable() else "(unreadable)"


class _OneLineForKeyErrors(logging.Filter):
    """temporalio logs a failed workflow activation or activity with its whole traceback, again on every retry;
    for a missing or wrong key the cause is a line an operator can act on, so the record becomes that line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None and not isinstance(error, PayloadKeyError):
            error = error.__cause__ or error.__context__
        if error is not None:
            record.msg, record.args = "%s: %s", (record.getMessage(), error)
            record.exc_info, record.exc_text = None, None
        return True


_FILTER = _OneLineForKeyErrors()


def quiet_key_errors() -> None:
    """Install the one-line filter on the loggers temporalio reports workflow-task and activity failures to."""
    for name in ("temporalio.worker._workflow", "temporalio.activity", "temporalio.worker._activity"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "new-key" or len(args) > 2:
        print("usage: python -m baton.codec new-key [ID]   (prints an ID:KEY entry for BATON_PAYLOAD_KEYS)",
              file=sys.stderr)
        return 2
    try:
        print(new_key(args[1] if len(args) == 2 else None))
    except ValueError as exc:
        print(f"baton.codec: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
