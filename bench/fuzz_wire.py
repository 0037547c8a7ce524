"""Wire-level mutation categories: what is wrong with the signature, the timestamp or the bytes themselves.

A `Mutation` is one request before it is sent: body bytes, content type, extra headers and how it is signed. The
signature is made at send time (`signed_headers`), so a valid one is never stale by the time it is sent.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bench.fuzz_kinds import FORM, JSON, Kind, Target, encode
from bench.fuzz_tree import huge_string, set_at, show, string_paths
from sandbox.delivery import sign

__all__ = ["VALID", "WIRE_CATEGORIES", "Mutation", "Signing", "deep", "signed_headers"]

TIMESTAMP = "X-Slack-Request-Timestamp"
SIGNATURE = "X-Slack-Signature"


@dataclass(frozen=True)
class Signing:
    """How a request is signed. `valid`: as Slack does. The others are deliberately wrong."""

    mode: str = "valid"
    timestamp: str | None = None
    """The timestamp header to send and sign over instead of now; `{now}` in it is replaced by the current time."""
    age_s: float = 0.0
    signature: str | None = None
    """`literal` mode: this exact X-Slack-Signature."""
    other_body: bytes = b""

    @property
    def forged(self) -> bool:
        """True when no request signed like this may be accepted."""
        return self.mode not in ("valid", "timestamp")


VALID = Signing()


@dataclass(frozen=True)
class Mutation:
    label: str
    body: bytes
    content_type: str | None
    signing: Signing = VALID
    headers: dict[str, str] = field(default_factory=dict)
    together: bool = False
    """Sent at the same moment as the previous request of its batch (concurrent duplicates)."""


def signed_headers(m: Mutation, secret: str, now: float) -> dict[str, str]:
    s, body = m.signing, m.body
    ts = str(int(now - s.age_s))
    if s.timestamp is not None:
        ts = s.timestamp.replace("{now}", str(int(now)))
    headers: dict[str, str] = {"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    if m.content_type is not None:
        headers["Content-Type"] = m.content_type
    if s.mode != "none":
        headers[TIMESTAMP] = ts
    if s.mode in ("valid", "timestamp", "stale", "no_timestamp"):
        headers[SIGNATURE] = sign(secret, ts, body)
    elif s.mode == "wrong_secret":
        headers[SIGNATURE] = sign("forged-" + secrets.token_hex(8), ts, body)
    elif s.mode == "other_body":
        headers[SIGNATURE] = sign(secret, ts, s.other_body)
    elif s.mode == "uppercase":
        headers[SIGNATURE] = "v0=" + sign(secret, ts, body)[3:].upper()
    elif s.mode == "other_timestamp":
        headers[SIGNATURE] = sign(secret, str(int(ts) - 1), body)
    elif s.mode == "literal" and s.signature is not None:
        headers[SIGNATURE] = s.signature
    if s.mode == "no_timestamp":
        del headers[TIMESTAMP]
    headers.update(m.headers)
    return headers


def base_wire(kind: Kind, t: Target, rng: random.Random) -> tuple[bytes, str]:
    return encode(kind.wire, kind.build(t, rng))


def deep(depth: int, obj: bool = False) -> str:
    return ('{"a":' * depth + "1" + "}" * depth) if obj else ("[" * depth + "]" * depth)


def _wrap(kind: Kind, raw: str) -> tuple[bytes, str]:
    """Raw JSON text where this kind carries JSON: the body, or the `payload` form field."""
    if kind.wire == "payload":
        return f"payload={quote(raw, safe='')}".encode(), FORM
    return raw.encode(), JSON


def junk(kind: Kind, t: Target, rng: random.Random) -> tuple[str, bytes, str]:
    """A body for the unsigned and forged categories: the kind's valid body or typical junk."""
    choice = rng.randrange(8)
    if choice < 2:
        return ("valid body", *base_wire(kind, t, rng))
    if choice == 2:
        return ("[]", *_wrap(kind, "[]"))
    if choice == 3:
        return ("{not json", *_wrap(kind, "{not json"))
    if choice == 4:
        return ("10k-deep array", *_wrap(kind, deep(10_000)))
    if choice == 5:
        body, ctype = base_wire(kind, t, rng)
        return ("invalid UTF-8", body[:20] + b"\xff\xfe\xc3\x28" + body[20:], ctype)
    if choice == 6:
        return ("payload=[] form", b"payload=%5B%5D", FORM)
    return ("1.2 MB body", *_wrap(kind, json.dumps({"type": "event_callback", "pad": "x" * 1_200_000})))


def unsigned(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    label, body, ctype = junk(kind, t, rng)
    mode = rng.choice(("none", "none", "no_signature", "no_timestamp"))
    return [Mutation(f"{mode}: {label}", body, ctype, Signing(mode))]


def bad_signature(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    label, body, ctype = junk(kind, t, rng)
    literal = rng.choice(("", "v0=", "v0=" + "0" * 64, "v1=" + "a" * 64, "garbage", "v0=" + "z" * 64,
                          "v0=" + "a" * 10_000, "v0=" + "é" * 10))
    signing = rng.choice((Signing("wrong_secret"), Signing("other_body", other_body=b"{}"), Signing("uppercase"),
                          Signing("other_timestamp"), Signing("literal", signature=literal)))
    shown = f"{signing.mode} {literal[:20]!r}" if signing.mode == "literal" else signing.mode
    return [Mutation(f"{shown}: {label}", body, ctype, signing)]


def stale_timestamp(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    label, body, ctype = junk(kind, t, rng) if rng.random() < 0.3 else ("valid body", *base_wire(kind, t, rng))
    age = rng.choice((301, 310, 600, 3600, 86_400, 86_400 * 365, -301, -3600, -86_400))
    when = f"{age} s ago" if age > 0 else f"{-age} s ahead"
    return [Mutation(f"signed {when}: {label}", body, ctype, Signing("stale", age_s=age))]


_BAD_TIMESTAMPS = ("abc", "", " ", "1e9", "NaN", "inf", "-1", "0", "9" * 30, "{now}.5", " {now}", "{now} ",
                   "0x6553F100", "{now}\t", "+{now}", "١٧٠٠٠٠٠٠٠٠", "{now}abc", "None", "[]")


def nonnumeric_timestamp(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body, ctype = base_wire(kind, t, rng)
    ts = rng.choice(_BAD_TIMESTAMPS)
    return [Mutation(f"timestamp {ts!r} (signed over it)", body, ctype, Signing("timestamp", timestamp=ts))]


_INVALID_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xc0\xaf",
                 b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80")


def invalid_utf8(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    bad = rng.choice(_INVALID_UTF8)
    targets = string_paths(body)
    how = rng.randrange(4)
    if how < 2 and targets:
        path = rng.choice(targets)
        set_at(body, path, "FUZZMARK")
        raw, ctype = encode(kind.wire, body)
        marker = bad if how == 0 or kind.wire == "json" else quote(bad).encode()
        return [Mutation(f"{bad!r} in {show(path)}", raw.replace(b"FUZZMARK", marker), ctype)]
    raw, ctype = encode(kind.wire, body)
    if how == 2:
        at = rng.randrange(len(raw))
        return [Mutation(f"{bad!r} at byte {at}", raw[:at] + bad + raw[at:], ctype)]
    return [Mutation("whole body random bytes", rng.randbytes(rng.randint(1, 2048)), ctype)]


def invalid_json(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    raw, _ = encode(kind.wire, body)
    text = json.dumps(body)
    if kind.wire == "form":
        variants: list[tuple[str, bytes, str | None]] = [
            ("form body sent as application/json", raw, JSON), ("JSON body sent as a form", text.encode(), FORM),
            ("{not json as a form", b"{not json", FORM), ("bad percent escapes", b"a=%ZZ&%%%&&==&text=%E0%A4", FORM),
            ("no content type", raw, None), ("text/plain", raw, "text/plain"),
            ("payload={not json", b"payload=%7Bnot", FORM),
        ]
    else:
        cut = rng.randint(1, max(1, len(text) - 1))
        as_json = [
            ("truncated", text[:cut]), ("{not json", "{not json"), ("python repr", repr(body)),
            ("trailing }}", text + "}}"), ("NaN and Infinity", text.replace("{", '{"n": NaN, "i": -Infinity, ', 1)),
            ("empty", ""), ("whitespace", " \n\t"),
            ("BOM first", "\ufeff" + text), ("comment first", "/* c */" + text), ("two documents", text + text),
            ("duplicate keys", text.replace("{", '{"type": "url_verification", "challenge": "dup", ', 1)),
        ]
        label, bad = rng.choice(as_json)
        wrapped, wrapped_type = _wrap(kind, bad)
        variants = [(label, wrapped, wrapped_type), ("no content type", raw, None), ("text/plain", raw, "text/plain"),
                    ("form body with JSON content type" if kind.wire == "payload" else "JSON sent as a form", raw,
                     JSON if kind.wire == "payload" else FORM)]
        variants = [variants[0]] * 4 + variants[1:]
    label, data, content_type = rng.choice(variants)
    return [Mutation(label, data, content_type)]


_NOT_OBJECTS = ("[]", "1", '"x"', "null", "true", "[{}]", "1e999", "-0", '""', "[null]", "[[], {}]")


def json_not_object(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    value = rng.choice(_NOT_OBJECTS)
    if kind.wire == "form":
        data, ctype = rng.choice(((value.encode(), JSON), (value.encode(), FORM),
                                  (f"payload={quote(value)}".encode(), FORM)))
        return [Mutation(f"{value} as {ctype}", data, ctype)]
    if kind.wire == "json" and rng.random() < 0.4:
        body = kind.build(t, rng)
        key = "event" if "event" in body else rng.choice(list(body))
        body[key] = json.loads(value)
        return [Mutation(f"{key} = {value}", *encode(kind.wire, body))]
    return [Mutation(value, *_wrap(kind, value))]


def deep_nesting(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    depth = rng.choice((10_000, 10_000, 10_000, 1_000, 50_000))
    nested = deep(depth, obj=rng.random() < 0.5)
    body = kind.build(t, rng)
    how = rng.randrange(3)
    if how == 0:
        label, (data, ctype) = f"whole body {depth} deep", _wrap(kind, nested)
        if kind.wire == "form":
            data, ctype = nested.encode(), rng.choice((JSON, FORM))
        return [Mutation(label, data, ctype)]
    if how == 1 or kind.wire == "form":
        # A string field holding deep JSON: harmless until a listener json.loads it (button values, modal input).
        path = _string_target(kind, body, rng)
        set_at(body, path, nested)
        return [Mutation(f"{show(path)} = {depth}-deep JSON text", *encode(kind.wire, body))]
    key = rng.choice([k for k in ("event", "actions", "view", "state", "container", "user", "team") if k in body]
                     or list(body))
    body[key] = "__FUZZ_DEEP__"
    data, ctype = encode(kind.wire, body)
    marker = b'"__FUZZ_DEEP__"' if kind.wire == "json" else quote('"__FUZZ_DEEP__"', safe="").encode()
    inner = nested.encode() if kind.wire == "json" else quote(nested, safe="").encode()
    return [Mutation(f"{key} = {depth}-deep JSON", data.replace(marker, inner), ctype)]


def _string_target(kind: Kind, body: dict[str, Any], rng: random.Random) -> tuple[str | int, ...]:
    preferred = {"block_actions": ("actions", 0, "value"), "view_submission": ("view", "private_metadata"),
                 "slash_command": ("text",)}
    if kind.name == "view_submission" and rng.random() < 0.5:
        return ("view", "state", "values", "baton_input", "value", "value")
    path = preferred.get(kind.name)
    if path is not None and rng.random() < 0.8:
        return path
    return rng.choice(string_paths(body))


def oversized_body(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    """1 to 2 MB on the wire (aiohttp's default limit is 1 MiB, so some fit under it and some do not)."""
    want = rng.randint(1_000_000, 2_000_000)
    if kind.wire == "form" and rng.random() < 0.3:
        fields = "&".join(f"f{i}=1" for i in range(want // 9))
        return [Mutation(f"{want // 9:,} form fields", fields.encode(), FORM)]
    template, how = kind.build(t, rng), rng.randrange(3)
    path = rng.choice(string_paths(template))
    alphabet_seed = rng.random()

    def build(size: int) -> tuple[str, tuple[bytes, str]]:
        body = json.loads(json.dumps(template))
        if how == 0:
            set_at(body, path, huge_string(random.Random(alphabet_seed), size, ascii_only=True))
            label = f"{show(path)} of {size:,} chars"
        elif how == 1:
            body["fuzz_padding"] = "x" * size
            label = f"padding field of {size:,} bytes"
        else:
            body["fuzz_keys"] = {f"k{i}": i for i in range(size // 14)}
            label = f"object with {size // 14:,} keys"
        return label, encode(kind.wire, body)

    label, (data, ctype) = build(want)
    if len(data) > want:  # percent-encoding grew it: scale to the size wanted on the wire
        label, (data, ctype) = build(int(want * want / len(data)))
    return [Mutation(f"{label} ({len(data):,} bytes)", data, ctype)]


WIRE_CATEGORIES: dict[str, Callable[[Kind, Target, random.Random], list[Mutation]]] = {
    "unsigned": unsigned,
    "bad_signature": bad_signature,
    "stale_timestamp": stale_timestamp,
    "nonnumeric_timestamp": nonnumeric_timestamp,
    "invalid_utf8": invalid_utf8,
    "invalid_json": invalid_json,
    "json_not_object": json_not_object,
    "deep_nesting": deep_nesting,
    "oversized_body": oversized_body,
}
