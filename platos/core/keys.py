"""Key material: parsing, validation at boot, key ids and keyrings.

This module is imported by ``platos/settings.py`` before Django is set up, so it
depends on nothing but the standard library and ``cryptography``. Every message
it produces names a variable, a length and a fix; none ever contains key bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
GOOD_KEY_COMMAND = "openssl rand -hex 16"  # 32 ASCII characters, the spec's form
GOOD_HEX_KEY_COMMAND = "openssl rand -hex 32"  # 64 hex characters, 256 bits of entropy

# The keyrings: name -> (current variable, next variable).
KEYRING_VARIABLES: dict[str, tuple[str, str]] = {
    "encryption": ("ENCRYPTION_KEY", "ENCRYPTION_KEY_NEXT"),
    "messages": ("PLATOS_MESSAGE_ENCRYPTION_KEY", "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT"),
}

# The placeholder values shipped in .env.example. They have a valid length on
# purpose (so copying the example file does not "work by accident" later when
# someone fixes the length): they are refused by name instead.
EXAMPLE_KEY_VALUES = frozenset(
    {
        "0123456789abcdef0123456789abcdef",
        "fedcba9876543210fedcba9876543210",
        "00112233445566778899aabbccddeeff",
    }
)

_HEX64 = re.compile(r"\A[0-9a-fA-F]{64}\Z")
_BASE64 = re.compile(r"\A[A-Za-z0-9+/_-]+={0,2}\Z")


class KeyConfigError(Exception):
    """A key variable is missing or malformed. The message never holds key bytes."""


class _KeyBytes:
    """32 raw key bytes that never show themselves in a repr, str or traceback."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def reveal(self) -> bytes:
        return self._raw

    def __repr__(self) -> str:
        return "<key bytes redacted>"

    __str__ = __repr__

    def __reduce__(self):  # never pickled into a cache or a dump
        raise TypeError("key material cannot be pickled")


def key_id(raw: bytes) -> str:
    """A short one-way fingerprint of a key: safe to print, store and log."""
    return hmac.new(raw, b"platos key id v1", hashlib.sha256).hexdigest()[:12]


def _hint(value: str) -> str:
    hints = []
    if len(value) == 64 and not _HEX64.match(value):
        hints.append("it has 64 characters but is not hex")
    elif len(value) in (43, 44) and _BASE64.match(value):
        try:
            decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) == KEY_BYTES:
            hints.append(
                "it looks like base64 (a Fernet key?); base64 is not accepted"
            )
    elif len(value) in (KEY_BYTES - 1, KEY_BYTES + 1, 63, 65):
        hints.append("it is one character off: was a character lost or added when pasting?")
    return ("; hint: " + "; ".join(hints)) if hints else ""


def parse_key(name: str, value: str | None) -> bytes:
    """Turn one key variable into 32 raw bytes, or raise KeyConfigError.

    Accepted: exactly 32 bytes of UTF-8 (the spec's form, used as the raw key) or
    exactly 64 hex characters (decoded). Nothing else, not even after stripping
    whitespace: a key that only works after silent cleanup is a key someone will
    paste wrong into the next process.
    """
    fix = (
        f"generate one with `{GOOD_KEY_COMMAND}` (32 characters) or "
        f"`{GOOD_HEX_KEY_COMMAND}` (64 hex characters), or run "
        "`python manage.py generate_keys`"
    )
    if value is None or value == "":
        raise KeyConfigError(
            f"{name} is not set (found 0 bytes; expected exactly {KEY_BYTES} bytes of "
            f"UTF-8 or 64 hex characters). There is no default key: {fix}."
        )
    if value in EXAMPLE_KEY_VALUES:
        raise KeyConfigError(
            f"{name} is the example value from .env.example, which is public; {fix}."
        )
    if _HEX64.match(value):
        return bytes.fromhex(value)
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        encoded = value.encode("utf-8", errors="surrogatepass")
        raise KeyConfigError(
            f"{name} is not valid UTF-8 text ({len(encoded)} bytes); {fix}."
        ) from None
    if value != value.strip():
        raise KeyConfigError(
            f"{name} has surrounding whitespace or a newline: found {len(encoded)} bytes, "
            f"expected exactly {KEY_BYTES} bytes of UTF-8 or 64 hex characters with "
            f"nothing around them. Fix: remove the whitespace, or {fix}."
        )
    if len(encoded) == KEY_BYTES:
        return encoded
    raise KeyConfigError(
        f"{name} has the wrong length: found {len(encoded)} bytes, expected exactly "
        f"{KEY_BYTES} bytes of UTF-8 or 64 hex characters{_hint(value)}. Fix: {fix}."
    )


@dataclass(frozen=True)
class Key:
    """One configured key: its id (safe to show) and its bytes (never shown)."""

    id: str
    variable: str
    material: _KeyBytes

    @classmethod
    def from_bytes(cls, raw: bytes, *, variable: str) -> Key:
        return cls(id=key_id(raw), variable=variable, material=_KeyBytes(raw))

    @cached_property
    def cipher(self) -> AESGCM:
        """The AES-256-GCM instance for this key, made once per process."""
        return AESGCM(self.material.reveal())


@dataclass(frozen=True)
class Keyring:
    """The keys of one boundary.

    ``write`` is the next key when one is set (spec: "writes use K2"), else the
    current one. ``read`` holds every configured key by id: an envelope names its
    key id, so a read picks its key directly.
    """

    name: str
    current: Key
    next: Key | None

    @property
    def write(self) -> Key:
        return self.next or self.current

    @cached_property
    def keys(self) -> dict[str, Key]:
        keys = {self.current.id: self.current}
        if self.next is not None:
            keys[self.next.id] = self.next
        return keys

    def __repr__(self) -> str:
        nxt = self.next.id if self.next else None
        return f"Keyring({self.name!r}, current={self.current.id}, next={nxt})"


def load_keyrings(environ: Mapping[str, str]) -> dict[str, Keyring]:
    """Parse every key variable; raise one KeyConfigError listing every problem."""
    problems: list[str] = []
    rings: dict[str, Keyring] = {}
    seen: dict[bytes, str] = {}
    for ring, (cur_name, next_name) in KEYRING_VARIABLES.items():
        current = nxt = None
        try:
            current = Key.from_bytes(parse_key(cur_name, environ.get(cur_name)), variable=cur_name)
        except KeyConfigError as exc:
            problems.append(str(exc))
        next_value = environ.get(next_name)
        if next_value:  # _NEXT is optional; empty means "not set"
            try:
                nxt = Key.from_bytes(parse_key(next_name, next_value), variable=next_name)
            except KeyConfigError as exc:
                problems.append(str(exc))
        for key in (current, nxt):
            if key is None:
                continue
            raw = key.material.reveal()
            if raw in seen:
                other = seen[raw]
                if {other, key.variable} == {cur_name, next_name}:
                    problems.append(
                        f"{next_name} is the same key as {cur_name} (key id {key.id}); "
                        f"set {next_name} to a new key to rotate, or unset it."
                    )
                else:
                    problems.append(
                        f"{key.variable} and {other} hold the same key (key id {key.id}); "
                        "each boundary needs its own key."
                    )
            else:
                seen[raw] = key.variable
        if current is not None:
            rings[ring] = Keyring(name=ring, current=current, next=nxt)
    if problems:
        raise KeyConfigError("\n".join(f"- {p}" for p in problems))
    return rings


def boot_message(error: KeyConfigError) -> str:
    """The one message every entry point prints when the keys are wrong."""
    return (
        "Platos cannot start: the encryption keys are not configured correctly.\n"
        f"{error}\n"
        "See README.md, 'Fix an ENCRYPTION_KEY length error'."
    )
